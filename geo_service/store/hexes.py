"""Incidents counted per H3 cell inside PostgreSQL: a GROUP BY on the stored cell column of
the asked resolution (each computed from the point, so counts match the hexagons drawn)."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, desc, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.domain import H3_RESOLUTIONS
from geo_service.store.incidents import IncidentFilter, matching
from geo_service.store.models import apprehensions, incidents
from geo_service.store.visibility import Caller, visible_incidents


async def per_cell(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    *,
    limit: int,
    after: int | None = None,
) -> Sequence[Any]:
    """Per cell with incidents, in cell order after `after`: `cell`, `incidents`,
    `persons_involved`, `persons_apprehended`, `by_category` (a JSON object) and
    `top_nationality` (most persons apprehended; ties to the first code)."""
    if resolution not in H3_RESOLUTIONS:
        raise ValueError(f"resolution {resolution} is not stored")
    c = incidents.c
    cell = c[f"h3_res{resolution}"]

    def chosen(*columns: Any) -> Any:
        stmt = matching(visible_incidents(caller, *columns), where)
        return stmt if after is None else stmt.where(cell > after)

    # One pass over the chosen incidents for the counts, one over their apprehensions.
    per_category = (
        chosen(
            cell.label("cell"),
            c.category,
            func.count().label("n"),
            func.sum(c.persons_involved).label("persons"),
        )
        .group_by(cell, c.category)
        .subquery("per_category")
    )
    totals = (
        select(
            per_category.c.cell,
            func.sum(per_category.c.n).cast(Integer).label("incidents"),
            func.sum(per_category.c.persons).cast(BigInteger).label("persons_involved"),
            func.json_object_agg(per_category.c.category, per_category.c.n).label("by_category"),
        )
        .group_by(per_category.c.cell)
        .subquery("totals")
    )
    per_nationality = (
        chosen(
            cell.label("cell"),
            apprehensions.c.nationality,
            func.sum(apprehensions.c.persons).label("persons"),
        )
        .join(apprehensions, apprehensions.c.incident_id == c.id)
        .group_by(cell, apprehensions.c.nationality)
        .subquery("per_nationality")
    )
    nationality = select(
        per_nationality.c.cell,
        func.sum(per_nationality.c.persons)
        .over(partition_by=per_nationality.c.cell)
        .label("apprehended"),
        per_nationality.c.nationality,
        func.row_number()
        .over(
            partition_by=per_nationality.c.cell,
            order_by=(desc(per_nationality.c.persons), per_nationality.c.nationality),
        )
        .label("rank"),
    ).subquery("nationality")
    top = select(nationality).where(nationality.c.rank == 1).subquery("top")
    stmt = (
        select(
            totals.c.cell,
            totals.c.incidents,
            totals.c.persons_involved,
            func.coalesce(top.c.apprehended, literal_column("0")).label("persons_apprehended"),
            totals.c.by_category,
            top.c.nationality.label("top_nationality"),
        )
        .outerjoin(top, top.c.cell == totals.c.cell)
        .order_by(totals.c.cell)
        .limit(limit)
    )
    return (await conn.execute(stmt)).all()
