"""Alerts: raised once when a section's level rises or a cell becomes a hot spot, not on
every check; raised again after the state fell back; pushed to the live stream."""

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import text

from geo_service.services import alerts
from geo_service.services.stream import events
from geo_service.store.visibility import SERVICE
from tests.factories import feature


async def surge(client, count: int, ref: str, sharing: str = "pcc") -> None:
    for i in range(count):
        when = (datetime.now(UTC) - timedelta(hours=i % 48)).isoformat()
        body = feature(f"{ref}-{i}", coordinates=[19.53, 43.95], sharing=sharing, occurred_at=when)
        assert (await client.post("/api/v1/incidents", json=body)).status_code == 201


async def test_a_rise_is_alerted_once_and_again_after_it_fell(client, db, geography, settings):
    await surge(client, 40, "SK")
    assert await alerts.check(db, geography, settings) >= 2  # the section and its hot cell
    raised = await alerts.latest(db)
    kinds = {(a["kind"], a["level"]) for a in raised}
    assert ("section-level", "critical") in kinds and any(k == "hot-spot" for k, _ in kinds)
    assert await alerts.check(db, geography, settings) == 0  # nothing changed: no alert
    section = next(a for a in raised if a["kind"] == "section-level")
    assert section["detail"]["from"] == "low" and section["detail"]["incidents_7d"] == 40
    # The incidents gone, the level falls back; a new surge is a new alert.
    async with db.begin() as conn:
        await conn.execute(text("UPDATE incidents SET deleted_at = now()"))
    assert await alerts.check(db, geography, settings) == 0
    await surge(client, 40, "SK2")
    assert await alerts.check(db, geography, settings) >= 1


async def test_national_records_raise_no_alert(client, db, geography, settings):
    await surge(client, 40, "NAT", sharing="national")
    assert await alerts.check(db, geography, settings) == 0


async def test_alerts_reach_the_live_stream(client, db, geography, settings):
    await surge(client, 40, "ST")
    await alerts.check(db, geography, settings)
    ids = [a["id"] for a in await alerts.latest(db)]
    made = await events(
        db, SERVICE, {"table": "alerts", "op": "INSERT", "ids": ids, "count": len(ids)}
    )
    assert {e for e, _ in made} == {"alert"}
    assert {orjson.loads(d)["id"] for _, d in made} == set(ids)
    listed = (await client.get("/api/v1/alerts")).json()["alerts"]
    assert {a["id"] for a in listed} == set(ids)


async def test_processes_each_on_a_timer_check_once_per_interval_among_them(
    db, geography, settings, monkeypatch
):
    """Every process of a host runs the timer; one of them checks in each interval."""
    checked = []
    real_check = alerts.check

    async def counted(*args, **kwargs) -> int:
        checked.append(asyncio.get_running_loop().time())
        return await real_check(*args, **kwargs)

    monkeypatch.setattr(alerts, "check", counted)
    every = 0.5
    timers = [
        asyncio.create_task(alerts.keep_checking(db, geography, settings, every)) for _ in range(3)
    ]
    await asyncio.sleep(every * 4.5)
    for timer in timers:
        timer.cancel()
    await asyncio.gather(*timers, return_exceptions=True)
    assert 3 <= len(checked) <= 5  # one per interval of the four, not one per timer
