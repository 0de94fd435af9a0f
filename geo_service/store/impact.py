"""The pressure on each border section (incidents and persons in a period and before it) and
the impact levels set on sections by hand."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.models import incidents, section_impact_overrides
from geo_service.store.visibility import Caller, visible_incidents


async def pressure(
    conn: AsyncConnection, caller: Caller, since: datetime, start: datetime, end: datetime
) -> Sequence[Any]:
    """Per section with incidents: `section`, `incidents` and `persons` in [start, end), and
    `before` (incidents in [since, start))."""
    c = incidents.c
    now = and_(c.occurred_at >= start, c.occurred_at < end)
    stmt = (
        visible_incidents(
            caller,
            c.border_section.label("section"),
            func.count().filter(now).label("incidents"),
            func.coalesce(func.sum(c.persons_involved).filter(now), 0).label("persons"),
            func.count().filter(c.occurred_at < start).label("before"),
        )
        .where(c.occurred_at >= since, c.occurred_at < end, c.border_section.is_not(None))
        .group_by(c.border_section)
    )
    return (await conn.execute(stmt)).all()


def _latest() -> Any:
    o = section_impact_overrides.c
    return (
        select(section_impact_overrides)
        .ext(distinct_on(o.section_id))
        .order_by(o.section_id, o.set_at.desc(), o.id.desc())
    )


async def current_overrides(conn: AsyncConnection) -> dict[str, Any]:
    """The newest override of each section that has one (a withdrawal has no level)."""
    return {r.section_id: r for r in (await conn.execute(_latest())).all()}


async def override_history(conn: AsyncConnection, section_id: str) -> Sequence[Any]:
    o = section_impact_overrides.c
    stmt = (
        select(section_impact_overrides)
        .where(o.section_id == section_id)
        .order_by(o.set_at.desc(), o.id.desc())
    )
    return (await conn.execute(stmt)).all()


async def add_override(
    conn: AsyncConnection, section_id: str, level: str | None, reason: str, set_by: str
) -> Any:
    stmt = (
        insert(section_impact_overrides)
        .values(section_id=section_id, level=level, reason=reason, set_by=set_by)
        .returning(section_impact_overrides)
    )
    return (await conn.execute(stmt)).one()
