"""Backup and restore: a dump restored into a fresh database holds the same incidents, the
same counts kept per cell and gives the same hot spots; restoring again over it changes
nothing (the kept counts are restored, not counted twice by the triggers)."""

import psycopg
import pytest
from sqlalchemy import text

from geo_service.services import bulk_import, hotspots, synthetic
from geo_service.services.readers import Table
from geo_service.settings import Settings, libpq_url
from geo_service.store.db import create_engine
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import SERVICE
from tests.test_cli import run

FIGURES = {
    "incidents": "SELECT count(*) FROM incidents",
    "apprehended": "SELECT coalesce(sum(persons), 0) FROM apprehensions",
    "categories": "SELECT string_agg(category || ':' || n, ',' ORDER BY category) FROM "
    "(SELECT category, count(*) n FROM incidents GROUP BY category) c",
    "kept": "SELECT sum(n_unauthorised_crossing + n_drug_smuggling), count(*) FROM hex_counts",
    "nationalities": "SELECT sum(a_unauthorised_crossing), count(*) FROM hex_nationalities",
}


async def figures(engine) -> dict:
    async with engine.connect() as conn:
        return {k: tuple((await conn.execute(text(q))).one()) for k, q in FIGURES.items()}


@pytest.fixture
def fresh_url(settings):
    server, own = libpq_url(settings.database_url).rsplit("/", 1)
    name = f"{own}_restored"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_backup_restores_the_same_incidents_counts_and_hot_spots(
    db, geography, settings, fresh_url, tmp_path
):
    frame = synthetic.incidents(geography, 2_000, seed=23)
    await bulk_import.import_table(db, SERVICE, geography, Table.of_points(frame))
    dump = tmp_path / "geo.dump"
    made = run(settings, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 10_000

    restored_settings = Settings(database_url=fresh_url)
    restored = run(restored_settings, "restore", str(dump))
    assert restored.returncode == 0, restored.stderr
    engine = create_engine(restored_settings)
    try:
        before = await figures(db)
        assert before["incidents"] == (2_000,)
        assert await figures(engine) == before
        where = IncidentFilter()
        _, ours = await hotspots.gi_star_cells(db, SERVICE, geography, where, 7)
        _, theirs = await hotspots.gi_star_cells(engine, SERVICE, geography, where, 7)
        assert theirs == ours and any(c["class"] != "not-significant" for c in ours)

        again = run(restored_settings, "restore", str(dump))  # over what is there now
        assert again.returncode == 0, again.stderr
        assert await figures(engine) == before
    finally:
        await engine.dispose()

    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a dump")
    refused = run(restored_settings, "restore", str(broken))
    assert refused.returncode == 1 and refused.stderr.strip()
