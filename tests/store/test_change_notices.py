"""What the change notices tell each process: after every kind of write, the days (UTC) whose
kept counts moved, as the database's triggers name them — none for a change that moves no
count, not known for a TRUNCATE or a write of the process itself."""

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.changes import Changes
from geo_service.store.visibility import SERVICE
from tests.conftest import as_owner

FIRST, LAST = date(2026, 10, 3), date(2026, 10, 9)
# A notice of no change (valid, naming no days): once it arrives, so have all before it.
SETTLED = """SELECT pg_notify('geo_service_changes', '{"op": "settled", "days": null}')"""


@pytest.fixture
async def changes(migrated):
    listener = Changes(migrated)
    await listener.start()
    assert listener.listening
    yield listener
    await listener.stop()


async def settled(changes: Changes, engine) -> None:
    """Once `changes` has had the notice of every change committed before."""
    queue = changes.subscribe()
    try:
        async with engine.begin() as conn:
            await conn.execute(text(SETTLED))
        while (await asyncio.wait_for(queue.get(), 5)).get("op") != "settled":
            pass
    finally:
        changes.unsubscribe(queue)


async def moved_by(changes: Changes, engine, *statements: str, owner: bool = False):
    """What `changes` learns the statements (one transaction) moved."""
    before = changes.version
    if owner:
        await as_owner(engine, *statements)
    else:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    await settled(changes, engine)
    return changes.moved_since(before)


async def test_notices_name_the_days_whose_counts_moved(db, geography, changes):
    frame = synthetic.incidents(
        geography,
        40,
        seed=61,
        start=datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC),
        end=datetime(LAST.year, LAST.month, LAST.day, 23, tzinfo=UTC),
    )
    before = changes.version
    assert (await bulk_import.import_table(db, SERVICE, geography, Table.of_points(frame))).created
    days = {d.date() for d in frame["occurred_at"].map(datetime.fromisoformat)}
    await settled(changes, db)
    moved = changes.moved_since(before)  # the incidents' days, their groups' days
    assert moved and (min(days), max(days)) in moved
    assert all(min(days) <= first <= last <= max(days) for first, last in moved)

    async with db.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT DISTINCT ON (2) i.id, (i.occurred_at AT TIME ZONE 'UTC')::date "
                "FROM incidents i "
                "WHERE EXISTS (SELECT 1 FROM apprehensions a WHERE a.incident_id = i.id) "
                "ORDER BY 2, 1"
            )
        )
        (one, day_one), (two, day_two), (three, day_three), *_ = rows.all()  # three days

    assert await moved_by(changes, db, "UPDATE incidents SET narrative = 'rewritten'") == []
    assert await moved_by(
        changes, db, f"UPDATE incidents SET category = 'drug_smuggling' WHERE id = {one}"
    ) == [(day_one, day_one)]
    assert await moved_by(
        changes, db, f"UPDATE incidents SET occurred_at = '2026-11-20T10:00Z' WHERE id = {one}"
    ) == [(day_one, date(2026, 11, 20))]
    assert await moved_by(
        changes, db, f"UPDATE apprehensions SET persons = persons + 1 WHERE incident_id = {two}"
    ) == [(day_two, day_two)]
    assert await moved_by(
        changes, db, f"UPDATE incidents SET deleted_at = now() WHERE id = {two}"
    ) == [(day_two, day_two)]
    # A hard delete: the incident's days; its groups go with it and move nothing more.
    assert await moved_by(changes, db, f"DELETE FROM incidents WHERE id = {three}") == [
        (day_three, day_three)
    ]
    # Two statements in one transaction: each notice names its own days.
    both = await moved_by(
        changes,
        db,
        f"UPDATE incidents SET category = 'other_crime' WHERE id = {one}",
        f"UPDATE incidents SET deleted_at = NULL WHERE id = {two}",
    )
    assert sorted(both) == [(day_two, day_two), (date(2026, 11, 20), date(2026, 11, 20))]
    assert await moved_by(changes, db, "TRUNCATE incidents CASCADE", owner=True) is None
    now = changes.version
    changes.written()  # this process's own write: its days are not known
    assert changes.moved_since(now) is None
