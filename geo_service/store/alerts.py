"""Alerts and the last state seen of each subject they are about."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.models import alert_states, alerts

# One process at a time checks for alerts (a transaction-level advisory lock).
LOCK = 0x6765_6F61_6C72  # "geoalr"


async def take_lock(conn: AsyncConnection) -> bool:
    return bool((await conn.execute(text(f"SELECT pg_try_advisory_xact_lock({LOCK})"))).scalar())


async def claim_check(conn: AsyncConnection, seconds: float) -> bool:
    """Claim the next periodic check for alerts, unless a process claimed one in the last
    `seconds` (one check per interval among the processes that each run the timer)."""
    s = alert_states.c
    stmt = upsert(alert_states).values(kind="check", subject="last", state="claimed")
    stmt = stmt.on_conflict_do_update(
        index_elements=[s.kind, s.subject],
        set_={"updated_at": func.now()},
        where=s.updated_at <= func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds),
    )
    return (await conn.execute(stmt.returning(s.kind))).first() is not None


async def states(conn: AsyncConnection, kind: str) -> dict[str, str]:
    s = alert_states.c
    rows = await conn.execute(select(s.subject, s.state).where(s.kind == kind))
    return {r.subject: r.state for r in rows}


async def set_states(conn: AsyncConnection, kind: str, new: Mapping[str, str | None]) -> None:
    """Record each subject's state; None forgets it."""
    s = alert_states.c
    gone = [k for k, v in new.items() if v is None]
    if gone:
        await conn.execute(delete(alert_states).where(s.kind == kind, s.subject.in_(gone)))
    kept = [{"kind": kind, "subject": k, "state": v} for k, v in new.items() if v is not None]
    if kept:
        stmt = upsert(alert_states).values(kept)
        stmt = stmt.on_conflict_do_update(
            index_elements=[s.kind, s.subject],
            set_={"state": stmt.excluded.state, "updated_at": func.now()},
        )
        await conn.execute(stmt)


async def raise_alerts(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(alerts), list(rows))


async def latest(
    conn: AsyncConnection, limit: int, ids: Sequence[int] | None = None
) -> Sequence[Any]:
    stmt = select(alerts).order_by(alerts.c.id.desc()).limit(limit)
    if ids is not None:
        stmt = stmt.where(alerts.c.id.in_(list(ids)))
    return (await conn.execute(stmt)).all()


async def raised_between(conn: AsyncConnection, start: datetime, end: datetime) -> Sequence[Any]:
    """The alerts raised in [start, end), oldest first."""
    stmt = (
        select(alerts)
        .where(alerts.c.raised_at >= start, alerts.c.raised_at < end)
        .order_by(alerts.c.raised_at, alerts.c.id)
    )
    return (await conn.execute(stmt)).all()
