"""The service's connections are opened ahead of the first requests and warmed up: each has
loaded the coordinate transformations (every tile transforms) before a request borrows it."""

import psycopg

from geo_service.settings import libpq_url
from geo_service.store.db import WARM_UP, create_engine, fill_pool


def warmed(url: str) -> int:
    """The idle connections of the service whose last statement was the warm-up (read as the
    database's owner, who sees every session's statement)."""
    with psycopg.connect(libpq_url(url)) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'geo-service' AND state = 'idle' AND query = %s",
            (WARM_UP,),
        )
        return int(found.fetchone()[0])  # type: ignore[index]


async def test_a_filled_pool_holds_warmed_connections(settings, migrated):
    before = warmed(migrated)
    engine = create_engine(settings, pool_size=3, warm=True)
    try:
        await fill_pool(engine, 3)
        assert engine.pool.checkedin() == 3  # open, and back in the pool
        assert warmed(migrated) - before == 3
    finally:
        await engine.dispose()
