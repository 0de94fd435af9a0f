"""/healthz, /readyz and the OpenAPI document."""

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from geo_service.api.app import create_app
from geo_service.settings import Settings


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_when_migrated(client):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_readyz_says_not_ready_when_the_database_is_unreachable(settings):
    # A port where nothing listens: the process is up, the database is not.
    broken = Settings(database_url="postgresql://postgres@127.0.0.1:9/geo_service")
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            assert (await c.get("/healthz")).status_code == 200
            ready = await c.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "not ready"
            assert "Retry-After" in ready.headers
            # Even telling who asks needs the database: 503 too, not 401 or 500.
            post = await c.get("/api/v1/incidents", headers={"X-API-Key": "gsk_0a1b2c3d_x"})
            assert post.status_code == 503
            assert post.headers["content-type"] == "application/problem+json"
            assert post.headers["retry-after"] == "5"


async def test_readyz_says_not_ready_when_migrations_are_behind(settings, migrated):
    engine = create_async_engine(
        settings.database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    from geo_service.store.migrate import head_revision, schema_status

    status = await schema_status(engine)
    assert status.ready
    async with engine.begin() as conn:
        await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    try:
        status = await schema_status(engine)
        assert not status.ready and "old" in status.reason
    finally:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE alembic_version SET version_num = %(head)s", {"head": head_revision()}
            )
        await engine.dispose()


async def test_every_route_is_documented_with_examples(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    expected = {
        ("/api/v1/incidents", "post"),
        ("/api/v1/incidents", "get"),
        ("/api/v1/incidents/{incident_id}", "get"),
        ("/api/v1/incidents/{incident_id}", "patch"),
        ("/api/v1/incidents/{incident_id}", "delete"),
        ("/api/v1/imports", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    }
    documented = {(p, m) for p, ops in paths.items() for m in ops}
    assert expected <= documented
    for path, method in expected:
        assert paths[path][method].get("summary"), (path, method)
    schemas = spec["components"]["schemas"]
    assert schemas["IncidentFeature"]["examples"][0]["properties"]["agency"] == "BIH_BP"
    assert "Problem" in schemas and "example" in schemas["Problem"]
    body = paths["/api/v1/incidents"]["post"]["requestBody"]["content"]
    assert body["application/geo+json"]["schema"]["$ref"] == "#/components/schemas/IncidentFeature"
    imports = paths["/api/v1/imports"]["post"]["requestBody"]["content"]
    assert "example" in imports["text/csv"]
    assert (
        "example"
        in paths["/api/v1/incidents/{incident_id}"]["patch"]["requestBody"]["content"][
            "application/merge-patch+json"
        ]
    )
    params = {p["name"]: p for p in paths["/api/v1/incidents"]["get"]["parameters"]}
    assert {
        "bbox",
        "datetime",
        "category",
        "agency",
        "nationality",
        "crossing_point",
        "border_section",
        "limit",
        "cursor",
    } <= set(params)
    assert params["bbox"]["schema"].get("examples") or params["bbox"].get("examples")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_load_nothing_from_outside(client, path):
    page = await client.get(path)
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200, asset
