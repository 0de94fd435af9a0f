"""Connections: one async SQLAlchemy engine on psycopg 3; raw psycopg for COPY."""

from typing import cast

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from geo_service.settings import Settings, sqlalchemy_url


def create_engine(settings: Settings, url: str | None = None) -> AsyncEngine:
    """The service's engine: a pool of psycopg connections, statements bounded in time; on
    `url` (a read replica) instead of the primary when given."""
    timeout_ms = int(settings.statement_timeout_s * 1000)
    return create_async_engine(
        sqlalchemy_url(url or settings.database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # No ping before each use: a connection the database dropped fails its request (503,
        # retry) and is replaced, rather than every request paying a round trip.
        pool_pre_ping=False,
        pool_timeout=10,
        echo=settings.log_sql,
        # JIT compiling costs tens of milliseconds per statement, more than the aggregations
        # of a map request take; the service's statements are all short.
        connect_args={
            "options": f"-c statement_timeout={timeout_ms} -c timezone=UTC -c jit=off "
            f"-c max_parallel_workers_per_gather={settings.db_parallel_workers}",
            "connect_timeout": 5,
            "application_name": "geo-service",
        },
    )


async def raw_connection(conn: AsyncConnection) -> psycopg.AsyncConnection:
    """The psycopg connection under a SQLAlchemy one, for COPY."""
    raw = await conn.get_raw_connection()
    return cast(psycopg.AsyncConnection, raw.driver_connection)
