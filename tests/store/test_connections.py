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


async def test_a_statement_run_again_is_planned_for_its_values(settings, migrated):
    """A statement a connection runs often is prepared, yet planned for the values of each run:
    a plan made once for any values cannot tell a tile's time window from any other."""
    engine = create_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(
                "PREPARE since(timestamptz) AS SELECT id FROM incidents WHERE occurred_at >= $1"
            )
            for _ in range(8):  # PostgreSQL's own choice is made after five runs
                await conn.exec_driver_sql("EXECUTE since(now() - interval '30 days')")
            plan = await conn.exec_driver_sql("EXPLAIN EXECUTE since('2026-01-01T00:00:00Z')")
            lines = " ".join(plan.scalars().all())
        assert "2026-01-01" in lines and "$1" not in lines
    finally:
        await engine.dispose()


async def test_the_counting_triggers_keep_postgresqls_own_plan_choice(migrated):
    """The functions keeping the counts per cell read the rows of one write, and a plan for
    any values serves them all: they are exempt from the connections' setting (migration
    0011), which would plan their statements afresh on every write."""
    with psycopg.connect(libpq_url(migrated)) as conn:
        found = conn.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname LIKE 'hex\\_rollup\\_%'"
        ).fetchall()
    assert len(found) >= 9, found
    assert all(config == ["plan_cache_mode=auto"] for _, config in found), found
