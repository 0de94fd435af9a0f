"""Incidents, persons involved and persons apprehended per period and per key (category,
agency, nationality, border section or H3 cell), counted in PostgreSQL."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.incidents import IncidentFilter, matching
from geo_service.store.models import apprehensions, incidents
from geo_service.store.visibility import Caller, visible_incidents

TRUNC = {"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month"}


# Each incident's groups, read by its key (an index probe per incident of the window rather
# than a scan of every group ever stored; OFFSET 0 keeps the planner from turning the lateral
# subquery back into a plain join, which it would hash over the whole table).
_groups = (
    select(apprehensions.c.nationality, apprehensions.c.persons)
    .where(apprehensions.c.incident_id == incidents.c.id)
    .offset(0)
    .lateral("groups")
)


def _key(by: str, resolution: int) -> Any:
    c = incidents.c
    if by == "nationality":
        return _groups.c.nationality
    if by == "hexagon":
        return func.to_hex(c[f"h3_res{resolution}"])
    if by == "section":
        return func.coalesce(c.border_section, literal("-"))
    return c[by]


async def series(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    *,
    by: str | None,
    step: str | None,
    resolution: int = 7,
    zone: str = "UTC",
) -> Sequence[Any]:
    """Rows of `key` (None when not grouped), `start` of the period (None when not split;
    periods begin at midnight, or on the hour, in the time zone `zone`),
    `incidents`, `persons_involved`, `persons_apprehended`; for `by="nationality"` the
    incidents with persons of that nationality and those persons."""
    c = incidents.c
    key = _key(by, resolution) if by else literal(None)
    period = func.date_trunc(TRUNC[step], c.occurred_at, zone) if step else literal(None)
    if by == "nationality":
        persons = func.sum(_groups.c.persons)
        stmt = matching(
            visible_incidents(
                caller,
                key.label("key"),
                period.label("start"),
                func.count(c.id.distinct()).label("incidents"),
                func.sum(c.persons_involved).label("persons_involved"),
                persons.label("persons_apprehended"),
            ),
            where,
        ).join(_groups, true())
    else:
        # Each incident's apprehended persons looked up by its key, likewise.
        persons_each = (
            select(func.sum(apprehensions.c.persons))
            .where(apprehensions.c.incident_id == c.id)
            .scalar_subquery()
        )
        stmt = matching(
            visible_incidents(
                caller,
                key.label("key"),
                period.label("start"),
                func.count().label("incidents"),
                func.sum(c.persons_involved).label("persons_involved"),
                func.coalesce(func.sum(persons_each), 0).label("persons_apprehended"),
            ),
            where,
        )
    stmt = stmt.group_by(key, period).order_by(key, period)
    rows = (await conn.execute(stmt)).all()
    return [
        (
            r.key,
            r.start,
            int(r.incidents),
            int(r.persons_involved or 0),
            int(r.persons_apprehended or 0),
        )
        for r in rows
    ]
