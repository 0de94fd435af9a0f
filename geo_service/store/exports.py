"""SQL of exports: a selection of incidents as flat rows (CSV, GeoPackage) or GeoJSON
Features, read in pieces — PostgreSQL's COPY for CSV, a server-side cursor otherwise — so
that no export is held whole in memory. Every export starts from the visibility filter."""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Integer, Numeric, Select, Text, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.db import raw_connection
from geo_service.store.incidents import FEATURE_JSON, IncidentFilter, iso_time, matching
from geo_service.store.models import H3_COLUMNS, apprehensions, incidents
from geo_service.store.visibility import Caller, visible_incidents

c = incidents.c
a = apprehensions.c


def _groups(value: Any, name: str) -> Any:
    return select(value).where(a.incident_id == c.id).scalar_subquery().label(name)


def flat_columns(*, as_text: bool) -> tuple[Any, ...]:
    """One row per incident, one column per value; the apprehended groups summed, and listed
    as "AFG:3; SYR:2" (nationality and persons, by nationality). `as_text`: times as the API
    writes them and coordinates rounded to 6 decimals (CSV); else times and numbers as they
    are (GeoPackage)."""

    def time(name: str) -> Any:
        return iso_time(c[name]).label(name) if as_text else c[name]

    def rounded(value: Any, digits: int, name: str) -> Any:
        if not as_text:
            return value.label(name)
        return func.round(cast(value, Numeric), digits).label(name)

    return (
        c.id,
        c.agency,
        c.external_ref,
        c.category,
        time("occurred_at"),
        time("reported_at"),
        rounded(func.ST_X(c.geom), 6, "longitude"),
        rounded(func.ST_Y(c.geom), 6, "latitude"),
        c.location_accuracy_m,
        c.direction,
        c.attempted,
        c.detection,
        c.means,
        c.persons_involved,
        _groups(func.coalesce(func.sum(a.persons), 0).cast(Integer), "persons_apprehended"),
        _groups(func.coalesce(func.sum(a.minors), 0).cast(Integer), "minors"),
        _groups(func.coalesce(func.sum(a.women), 0).cast(Integer), "women"),
        _groups(
            func.string_agg(
                a.nationality.concat(literal_column("':'", Text)).concat(cast(a.persons, Text)),
                aggregate_order_by(literal_column("'; '", Text), a.nationality),
            ),
            "nationalities",
        ),
        c.crossing_point,
        c.border_section,
        c.border_pair,
        c.country,
        rounded(c.distance_to_border_m, 1, "distance_to_border_m"),
        c.impact,
        c.sharing,
        c.status,
        time("updated_at"),
        func.to_hex(c[H3_COLUMNS[-1]]).label("h3_cell"),
        c.narrative,
    )


FLAT_NAMES = tuple(col.name for col in flat_columns(as_text=True))


def _selection(caller: Caller, where: IncidentFilter, *columns: Any) -> Select[Any]:
    """The selection in a stable order: when it happened, then the id."""
    return matching(visible_incidents(caller, *columns), where).order_by(c.occurred_at, c.id)


async def count(conn: AsyncConnection, caller: Caller, where: IncidentFilter) -> int:
    stmt = matching(visible_incidents(caller, func.count()), where)
    return int((await conn.execute(stmt)).scalar_one())


async def allow_seconds(conn: AsyncConnection, seconds: float) -> None:
    """Let this transaction's statements run for `seconds` (a large export outlasts the
    bound of a map request)."""
    await conn.execute(select(func.set_config("statement_timeout", f"{int(seconds * 1000)}", True)))


async def csv_chunks(
    conn: AsyncConnection, caller: Caller, where: IncidentFilter
) -> AsyncIterator[bytes]:
    """The selection as CSV with a header row (PostgreSQL's COPY), in the pieces it sends."""
    compiled = _selection(caller, where, *flat_columns(as_text=True)).compile(
        dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
    )
    raw = await raw_connection(conn)
    query = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, HEADER, ENCODING 'UTF8')"
    async with raw.cursor().copy(query, compiled.params) as copy:
        async for data in copy:
            yield bytes(data)


async def flat_rows(
    conn: AsyncConnection, caller: Caller, where: IncidentFilter, size: int
) -> AsyncIterator[Sequence[Any]]:
    """The selection as rows of FLAT_NAMES, times and numbers as they are, `size` at a time
    (a server-side cursor)."""
    result = await conn.stream(_selection(caller, where, *flat_columns(as_text=False)))
    async for rows in result.partitions(size):
        yield rows


async def feature_texts(
    conn: AsyncConnection, caller: Caller, where: IncidentFilter, size: int
) -> AsyncIterator[list[str]]:
    """The selection as GeoJSON Feature texts (the API's own), `size` at a time."""
    result = await conn.stream(_selection(caller, where, FEATURE_JSON.label("feature")))
    async for rows in result.partitions(size):
        yield [r.feature for r in rows]
