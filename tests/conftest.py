"""Fixtures: a real PostGIS database, migrated and loaded with the reference geography.

`./dev test` provides the database (a project-local cluster, or DATABASE_URL) and sets
GEO_SERVICE_TEST_DATABASE_URL; tests never touch the service's own database. It runs the
tests in two worker processes (pytest-xdist, a file's tests in one), each on a database of
its own (tests/credentials.py).
"""

import asyncio
import fcntl
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.api.app import create_app
from geo_service.geo.reference import Geography, load_geography
from geo_service.settings import Settings, libpq_url
from geo_service.store import migrate
from geo_service.store.db import create_engine
from geo_service.store.reference import load_reference
from tests.credentials import TEST_DATABASE_URL, bearer

pytest_plugins = ["tests.browser"]  # the `browser` fixture
ROOT = Path(__file__).resolve().parents[1]
# The suite asks far faster, and logs in far more often, than people do, all from one
# address: the rate limits are raised out of its way (tests/api/test_hardening.py checks them
# on an app of its own).
RAISED_RATE_LIMITS = {
    f"{limit}_{what}": 1_000_000
    for limit in ("rate_per_address", "rate_per_credential")
    for what in ("per_s", "burst")
} | {"login_attempts_per_minute": 1_000_000, "login_attempts_burst": 1_000_000}


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, alert_interval_s=0, **RAISED_RATE_LIMITS)


@pytest.fixture(scope="session")
def geography(settings: Settings) -> Geography:
    return load_geography(settings.borders_dir)


def ensure_database(url: str) -> None:
    """Create the test database (with PostGIS) on its server when it is missing."""
    server, name = libpq_url(url).rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Iterator[str]:
    """The test database, emptied and migrated to the newest revision."""
    service_url = os.environ.get("DATABASE_URL")
    if service_url and libpq_url(service_url) == libpq_url(settings.database_url):
        pytest.exit("the tests empty their database: give them one of their own", returncode=2)
    ensure_database(settings.database_url)
    # The migrations make the service's roles, which the server's databases share: one
    # worker process (pytest-xdist) at a time.
    with open(Path(tempfile.gettempdir()) / "geo-service-tests-migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        migrate.downgrade(settings.database_url, "base")
        migrate.upgrade(settings.database_url)
    yield settings.database_url


@pytest.fixture(scope="session")
async def engine(
    migrated: str, settings: Settings, geography: Geography
) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await load_reference(conn, geography)
    yield engine
    await engine.dispose()


async def as_owner(engine: AsyncEngine, *statements: str) -> None:
    """Statements only the tables' owner may run (the service's role may not), on a
    connection of their own as the user of the database URL."""
    url = libpq_url(engine.url.render_as_string(hide_password=False))
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement)  # type: ignore[arg-type]


async def truncate(engine: AsyncEngine) -> None:
    await as_owner(
        engine,
        "TRUNCATE incidents, apprehensions, section_impact_overrides, alerts, alert_states, "
        "users, api_keys, sessions, audit RESTART IDENTITY CASCADE",
    )


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """The engine, with no incidents stored when the test starts."""
    await truncate(engine)
    yield engine


@pytest.fixture(scope="session")
async def app(engine: AsyncEngine, settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def caught_up(app: object, engine: AsyncEngine):
    """Wait until the app's change listener has had every notice committed before the call
    (notices arrive in commit order: a marker sent now arrives after them)."""

    async def wait() -> None:
        changes = app.state.changes  # type: ignore[attr-defined]
        queue = changes.subscribe()
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT pg_notify('geo_service_changes', 'caught-up')"))
            while (await asyncio.wait_for(queue.get(), 5))["op"] != "caught-up":
                pass
        finally:
            changes.unsubscribe(queue)

    return wait


class RequestTransport(httpx.ASGITransport):
    """The app called in a task of its own per request, as a server would: what a request
    sets in context variables (who the caller is) stays in that request."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await asyncio.create_task(super().handle_async_request(request))


@pytest.fixture
async def client(app: object, db: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, presenting an API key of an officer of BiH's border police (the
    agency of the example incident); `bearer(agency, role)` gives headers for another."""
    transport = RequestTransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=bearer()
    ) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, **settings: str) -> subprocess.Popen[bytes]:
    """`geo-service serve` on `port` and `database_url` (and other settings given as
    environment variables), once it answers /readyz."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GEO_SERVICE_ALERT_INTERVAL_S": "0",
        **{f"GEO_SERVICE_{name.upper()}": str(value) for name, value in RAISED_RATE_LIMITS.items()},
        **settings,
    }
    command = [str(Path(sys.executable).parent / "geo-service"), "serve", "--port", str(port)]
    # Its log goes to a file: a pipe nobody reads would fill and stall the service.
    log = Path(tempfile.gettempdir()) / f"geo-service-test-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=out)
    for _ in range(120):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.25)
    process.terminate()
    raise RuntimeError(f"the service did not start; its log: {log}")


@pytest.fixture(scope="session")
def live_server(migrated: str) -> Iterator[str]:
    """The service running as its own process on a free port, on the test database."""
    port = free_port()
    process = start_server(migrated, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)
