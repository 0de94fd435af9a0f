# syntax=docker/dockerfile:1

# geo-service: FastAPI API on PostGIS. Every dependency (geopandas, pyogrio, shapely,
# pyproj, h3, h3ronpy, pgpq, psycopg[binary], scipy) ships manylinux wheels with its
# native libraries inside, so neither stage needs compilers or GDAL packages.

# --- build: install the package and its dependencies into a virtualenv --------------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY geo_service/ geo_service/
RUN pip install --no-cache-dir .

# --- web: the map pages' libraries from the npm registry, served by the service ---------
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GEO_SERVICE_HOST=0.0.0.0 \
    GEO_SERVICE_PORT=8000 \
    GEO_SERVICE_BORDERS_DIR=/app/data/borders \
    GEO_SERVICE_LAYERS_DIR=/app/layers \
    GEO_SERVICE_WEB_DIR=/app/web \
    GEO_SERVICE_SCENARIOS_DIR=/app/data/scenarios

RUN groupadd --system --gid 10001 geo \
    && useradd --system --uid 10001 --gid geo --create-home --home-dir /home/geo \
       --shell /usr/sbin/nologin geo

# Same path and same base image as the build stage, so the venv's interpreter links hold.
COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY geo_service/ geo_service/
COPY data/ data/
COPY layers/ layers/
COPY web/ web/
COPY --from=web /web/node_modules web/node_modules

USER 10001:10001
EXPOSE 8000

# /readyz answers 200 once the database is reachable and migrated, 503 otherwise;
# urlopen raises on 503 or no answer. The first start loads demo data, hence the grace.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request\ntry:\n    urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)\nexcept Exception as exc:\n    sys.exit(f'not ready: {exc}')"]

# Migrate, load the reference geography (idempotent), load demo incidents when the store
# is empty, in demo mode (GEO_SERVICE_DEMO=1) make the demo users (their passwords go to the
# log, once), then replace the shell with the server so it receives SIGTERM directly.
# GEO_SERVICE_WORKERS sets the number of uvicorn worker processes (default 1).
CMD ["sh", "-c", "geo-service db upgrade && geo-service reference load && geo-service demo ensure && if [ \"${GEO_SERVICE_DEMO:-0}\" = 1 ]; then geo-service demo users; fi && exec geo-service serve --host 0.0.0.0 --port 8000 --workers \"${GEO_SERVICE_WORKERS:-1}\""]
