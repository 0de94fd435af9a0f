"""Request parameters shared by routes, each parsed once, and request-scoped resources."""

import contextlib
from collections.abc import Collection
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service import domain
from geo_service.api.problems import HTTPProblem
from geo_service.geo.h3cells import parse_cell
from geo_service.geo.reference import Geography
from geo_service.metrics import READS
from geo_service.services.errors import FieldError
from geo_service.services.result_cache import READ_AS_OF, ResultCache
from geo_service.settings import Settings
from geo_service.store.incidents import IncidentFilter
from geo_service.store.replica import parse_lsn
from geo_service.store.visibility import CURRENT_CALLER, SERVICE, Caller

MAX_LIMIT = 10_000
# The cookie a write's answer sets when reads may go to a replica: the primary's WAL position
# after the write, so that the writer's next reads see it (read-your-writes).
WRITTEN_COOKIE = "geo_service_written"


async def engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


async def read_engine(request: Request) -> AsyncEngine:
    """The engine for a request that only reads: the replica when it holds what the reader
    must see (its own last write, every change this process was told of), else the
    primary."""
    written = None
    with contextlib.suppress(ValueError, AttributeError):
        written = parse_lsn(request.cookies.get(WRITTEN_COOKIE))  # type: ignore[arg-type]
    target = await request.app.state.read_routing.for_read(written)
    READS.labels(target.target, target.reason).inc()
    request.state.read_target = target.target
    READ_AS_OF.set(target.as_of)
    return target.engine


async def settings(request: Request) -> Settings:
    return request.app.state.settings


async def geography(request: Request) -> Geography:
    return request.app.state.geography


async def result_cache(request: Request) -> ResultCache:
    return request.app.state.result_cache


async def caller(request: Request) -> Caller:
    """Who is asking (every caller is the service itself until users and keys exist); the
    database work of the request is done as them (row-level security)."""
    CURRENT_CALLER.set(SERVICE)
    return SERVICE


Engine = Annotated[AsyncEngine, Depends(engine)]
ReadEngine = Annotated[AsyncEngine, Depends(read_engine)]
Geo = Annotated[Geography, Depends(geography)]
SettingsDep = Annotated[Settings, Depends(settings)]
CallerDep = Annotated[Caller, Depends(caller)]
ResultCacheDep = Annotated[ResultCache, Depends(result_cache)]


def bad_parameter(field: str, reason: str) -> HTTPProblem:
    return HTTPProblem(400, "Invalid request", f"{field}: {reason}", [FieldError(field, reason)])


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        raise bad_parameter("bbox", "must be four numbers: minLon,minLat,maxLon,maxLat") from None
    if len(parts) == 6:  # a 3D box: drop the heights
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or any(p != p for p in parts):
        raise bad_parameter("bbox", "must be four numbers: minLon,minLat,maxLon,maxLat")
    lo_x, lo_y, hi_x, hi_y = parts
    if not (-180 <= lo_x <= 180 and -180 <= hi_x <= 180 and -90 <= lo_y <= hi_y <= 90):
        raise bad_parameter("bbox", "out of range or south above north")
    if lo_x > hi_x:
        raise bad_parameter("bbox", "boxes across the antimeridian are not served here")
    return lo_x, lo_y, hi_x, hi_y


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_parameter("datetime", f"{text!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise bad_parameter("datetime", f"{text!r} needs a UTC offset (e.g. Z or +01:00)")
    return value


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None]:
    """An RFC 3339 instant or interval `start/end`, either end open (`..` or empty)."""
    if value is None:
        return None, None
    if "/" not in value:
        t = _instant(value)
        return t, t
    start_text, end_text = value.split("/", 1)
    start = None if start_text in ("", "..") else _instant(start_text)
    end = None if end_text in ("", "..") else _instant(end_text)
    if start and end and start > end:
        raise bad_parameter("datetime", "the interval ends before it starts")
    return start, end


def _codes(
    name: str, values: list[str] | None, known: Collection[str] | None = None
) -> tuple[str, ...]:
    """Several values, as repeated parameters or comma-separated, or both; each one of
    `known` when given."""
    codes = tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())
    unknown = [c for c in codes if known is not None and c not in known]
    if unknown:
        raise bad_parameter(name, f"unknown code {unknown[0]!r}")
    return codes


def _cells(values: list[str] | None) -> tuple[int, ...]:
    out = []
    for text in _codes("cell", values):
        cell = parse_cell(text)
        if cell is None:
            raise bad_parameter("cell", f"{text!r} is not an H3 cell of resolution 5 to 10")
        out.append(cell)
    return tuple(out)


# Plain `def` dependencies would each run in a worker thread; these do no blocking work.
async def incident_filter(
    bbox: Annotated[
        str | None,
        Query(description="minLon,minLat,maxLon,maxLat (WGS84)", examples=["18.9,44.2,19.4,44.6"]),
    ] = None,
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval; open ends as `..`",
            examples=["2026-11-01T00:00:00Z/.."],
        ),
    ] = None,
    category: Annotated[list[str] | None, Query(description="one or more categories")] = None,
    agency: Annotated[list[str] | None, Query(description="one or more agencies")] = None,
    nationality: Annotated[
        list[str] | None, Query(description="ISO 3166-1 alpha-3 codes of apprehended persons")
    ] = None,
    crossing_point: Annotated[list[str] | None, Query(description="crossing point ids")] = None,
    border_section: Annotated[
        list[str] | None, Query(description="border section ids, e.g. BIH-SRB-07")
    ] = None,
    cell: Annotated[
        list[str] | None,
        Query(description="H3 cells (resolution 5–10) the incidents lie in, e.g. 871ec5a6bffffff"),
    ] = None,
) -> IncidentFilter:
    start, end = parse_datetime(datetime)
    return IncidentFilter(
        bbox=parse_bbox(bbox),
        start=start,
        end=end,
        categories=_codes("category", category, domain.CATEGORIES),
        agencies=_codes("agency", agency, domain.AGENCIES),
        nationalities=_codes(
            "nationality", [v.upper() for v in nationality or ()], domain.NATIONALITIES
        ),
        crossing_points=_codes("crossing_point", crossing_point),
        border_sections=_codes("border_section", border_section),
        cells=_cells(cell),
    )


Filter = Annotated[IncidentFilter, Depends(incident_filter)]
