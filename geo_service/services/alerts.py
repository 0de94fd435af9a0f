"""Alerts: a border section's impact level rising, a cell of the corridor becoming a hot
spot. Checked from the picture all partners share (what the PCC sees), written once per
change of state whatever the number of processes checking, and pushed to the live stream
by the database's notice of each new alert."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.metrics import ALERTS_RAISED
from geo_service.services import hotspots, impact
from geo_service.settings import Settings
from geo_service.store import alerts as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

SHARED = Caller(agency="PCC", role="analyst")  # what every partner may see
RANK = {level: i for i, level in enumerate(impact.LEVELS)}
HOT = ("hot-99", "hot-95")
HOT_SPOT_RESOLUTION = 7
log = logging.getLogger(__name__)


def as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "subject": row.subject,
        "level": row.level,
        "detail": orjson.loads(row.detail),
        "raised_at": row.raised_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


async def check(
    engine: AsyncEngine, geo: Geography, settings: Settings, now: datetime | None = None
) -> int:
    """Raise the alerts of the changes since the last check; how many were raised."""
    now = now or datetime.now(UTC)
    levels = await impact.section_levels(engine, SHARED, geo, settings, end=now)
    week = IncidentFilter(start=now - timedelta(days=7), end=now)
    _, cells = await hotspots.gi_star_cells(engine, SHARED, geo, week, HOT_SPOT_RESOLUTION)
    raised: list[dict[str, Any]] = []
    async with engine.begin() as conn:
        if not await store.take_lock(conn):
            return 0  # another process is checking
        seen = await store.states(conn, "section-level")
        section_states: dict[str, str | None] = {}
        for sid, s in levels.items():
            before = seen.get(sid, "low")
            if RANK[s.level] > RANK[before]:
                detail = {"from": before, "to": s.level, "incidents_7d": s.incidents}
                raised.append(
                    {"kind": "section-level", "subject": sid, "level": s.level,
                     "detail": orjson.dumps(detail).decode()}
                )  # fmt: skip
            if s.level != before or sid in seen:
                section_states[sid] = None if s.level == "low" else s.level
        await store.set_states(conn, "section-level", section_states)
        hot_before = await store.states(conn, "hot-spot")
        hot_now = {c["h3"]: c for c in cells if c["class"] in HOT}
        for cell, c in hot_now.items():
            if cell not in hot_before:
                detail = {
                    "z": round(c["z"], 2),
                    "p_fdr": c["p_fdr"],
                    "incidents_7d": c["incidents"],
                }
                raised.append(
                    {"kind": "hot-spot", "subject": cell, "level": c["class"],
                     "detail": orjson.dumps(detail).decode()}
                )  # fmt: skip
        changes: dict[str, str | None] = dict.fromkeys(set(hot_before) - set(hot_now))
        changes.update({cell: "hot" for cell in hot_now})
        await store.set_states(conn, "hot-spot", changes)
        await store.raise_alerts(conn, raised)
    return len(raised)


async def latest(engine: AsyncEngine, limit: int = 100) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [as_dict(r) for r in await store.latest(conn, limit)]


async def by_id(engine: AsyncEngine, ids: list[int]) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [as_dict(r) for r in await store.latest(conn, len(ids), ids)]


async def raised_between(
    engine: AsyncEngine, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [as_dict(r) for r in await store.raised_between(conn, start, end)]


async def keep_checking(
    engine: AsyncEngine, geo: Geography, settings: Settings, every_s: float
) -> None:
    """Check every `every_s` seconds until cancelled, unless another process has checked in
    the meantime (each of a host's processes runs this: one check per interval among them);
    a failed check is logged and retried."""
    while True:
        await asyncio.sleep(every_s)
        try:
            async with engine.begin() as conn:
                if not await store.claim_check(conn, every_s * 0.9):
                    continue
            ALERTS_RAISED.inc(await check(engine, geo, settings))
        except Exception:  # a failed check must not end the checking
            log.exception("alert check failed")
