"""Connections: one async SQLAlchemy engine on psycopg 3; raw psycopg for COPY.

Every connection works as the service's role (`Settings.db_role`), and as the role of
agency callers, `geo_service_caller` with the agency named, while it is lent to a request
made for an agency (row-level security, migration 0005)."""

import contextlib
from typing import Any, cast

import orjson
import psycopg
import psycopg.types.json
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from geo_service.settings import Settings, sqlalchemy_url
from geo_service.store.visibility import CURRENT_CALLER

CALLER_ROLE = "geo_service_caller"
# JSON from the database (counts per category of every hexagon, details of alerts and audit
# entries) parsed by orjson: several times faster than the standard library's parser.
psycopg.types.json.set_json_loads(orjson.loads)


def create_engine(
    settings: Settings, url: str | None = None, pool_size: int | None = None, *, warm: bool = False
) -> AsyncEngine:
    """The service's engine: a pool of psycopg connections (`pool_size`, else the settings'),
    statements bounded in time; on `url` (a read replica) instead of the primary when given.
    With `warm`, each new connection loads the coordinate transformations first (`WARM_UP`)."""
    pool_size = pool_size or settings.db_pool_size
    timeout_ms = int(settings.statement_timeout_s * 1000)
    role = f" -c role={settings.db_role}" if settings.db_role else ""
    engine = create_async_engine(
        sqlalchemy_url(url or settings.database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping before each use: a connection the database dropped fails its request (503,
        # retry) and is replaced, rather than every request paying a round trip.
        pool_pre_ping=False,
        pool_timeout=10,
        echo=settings.log_sql,
        # JIT compiling costs tens of milliseconds per statement, more than the aggregations
        # of a map request take; the service's statements are all short. Statements a
        # connection runs often are prepared (psycopg), but planned for their values each
        # time: a plan made once for any values (PostgreSQL's choice after five runs) cannot
        # tell a tile's box and time window from any other: a zoom-12 tile of the last 30
        # days took 9.8 ms under it against 3.3 ms (bench/plans, bench/RESULTS.md).
        connect_args={
            "options": f"-c statement_timeout={timeout_ms} -c timezone=UTC -c jit=off "
            "-c plan_cache_mode=force_custom_plan "
            f"-c max_parallel_workers_per_gather={settings.db_parallel_workers}{role}",
            "connect_timeout": 5,
            "application_name": "geo-service",
        },
    )
    event.listen(engine.sync_engine, "connect", _works_as_service)
    if warm:
        event.listen(engine.sync_engine, "connect", _warm_up)
    event.listen(engine.sync_engine, "checkout", _works_for_caller)
    return engine


# A database session's first transformation between coordinate systems loads PROJ's
# definitions (~70 ms); every tile transforms. Paid when a connection is opened instead.
WARM_UP = "SELECT ST_Transform(ST_SetSRID(ST_MakePoint(0, 0), 4326), 3857)"


def _works_as_service(dbapi_connection: Any, record: Any) -> None:
    record.info["agency"] = None


def _warm_up(dbapi_connection: Any, record: Any) -> None:
    _at_once(dbapi_connection, WARM_UP)


def _at_once(dbapi_connection: Any, statement: str, params: tuple[Any, ...] = ()) -> None:
    """One statement in autocommit: one round trip, no COMMIT after it (and nothing left open
    for the borrower's transaction to undo)."""
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement, params or None)
        cursor.close()
    finally:
        dbapi_connection.autocommit = False


async def fill_pool(engine: AsyncEngine, n: int) -> None:
    """Open `n` connections of `engine`'s pool now (warmed up), rather than when the first
    requests need them."""
    async with contextlib.AsyncExitStack() as opened:
        for _ in range(n):
            await opened.enter_async_context(engine.connect())


def _works_for_caller(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Before a connection is lent out: the role and agency of the caller it is lent for
    (one statement, only when they differ from its last caller's; committed, so that the end
    of the borrower's transaction does not undo them)."""
    agency = CURRENT_CALLER.get().agency
    if record.info.get("agency") == agency:
        return
    if agency is None:
        _at_once(dbapi_connection, "RESET ROLE; RESET geo_service.agency")
    else:
        _at_once(
            dbapi_connection,
            "SELECT set_config('role', %s, false), set_config('geo_service.agency', %s, false)",
            (CALLER_ROLE, agency),
        )
    record.info["agency"] = agency


async def raw_connection(conn: AsyncConnection) -> psycopg.AsyncConnection:
    """The psycopg connection under a SQLAlchemy one, for COPY."""
    raw = await conn.get_raw_connection()
    return cast(psycopg.AsyncConnection, raw.driver_connection)
