"""The incident-hexes layer: incidents per H3 hexagon, as GeoJSON polygons."""

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from functools import lru_cache
from typing import Any

import h3
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.corridor import corridor_cell_set, corridor_cells
from geo_service.geo.h3cells import cell_hex
from geo_service.geo.reference import Geography
from geo_service.services.errors import FieldError, InvalidInput
from geo_service.services.incidents import Page
from geo_service.services.result_cache import Moved, ResultCache, kept
from geo_service.store import hexes
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller
from geo_service.store.windows import RawRange, Split, split, whole_span

RESOLUTIONS = range(5, 10)
MAX_CELLS = 5_000_000
DEFAULT_RESOLUTION = 7


def cell_cursor(cursor: str | None) -> int | None:
    """The cell a page of a hexagon layer ends at, from the cursor of its `next` link."""
    try:
        return h3.str_to_int(cursor) if cursor else None
    except (ValueError, h3.H3BaseException) as exc:
        raise InvalidInput(errors=[FieldError("cursor", "is not a cursor of this layer")]) from exc


@lru_cache(maxsize=1 << 18)
def hexagon(cell: str) -> dict[str, Any]:
    """A cell's hexagon as a GeoJSON Polygon (longitude, latitude; closed ring). Shared
    between responses (a cell's shape never changes): not to be modified."""
    ring = [[lng, lat] for lat, lng in h3.cell_to_boundary(cell)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def prepare(geo: Geography, resolutions: tuple[int, ...] = (5, 6, 7)) -> None:
    """Work out once what every request would otherwise pay for first: the corridor's cells
    and their hexagons at the resolutions of whole-corridor views."""
    for resolution in resolutions:
        for cell in corridor_cells(geo, resolution):
            hexagon(cell_hex(cell))


async def _every_cell(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    cache: ResultCache | None,
) -> tuple[list[hexes.CellCount], dict[Any, Any]]:
    """Every cell with incidents, and a dict to keep what is made of them in, as long as
    their kept sums are. The sums over the window's whole days and months are kept in
    `cache` apart from those over its edges (see `_edges`), until a change moves the counts
    of those days: a window moved on by minutes (a wall map's "last 30 days") reads its whole
    days not again, nor does one asked right after a live report (today's, an edge). Once it
    is in use, the sums are kept per month and day as well, and a change to some of its whole
    days reads only those again."""
    parts = split(where.start, where.end)
    whole_and_edges = parts.raw and (parts.months or parts.days)
    if cache is None or not hexes.kept_counts_serve(where, resolution) or not whole_and_edges:
        return await hexes.per_cell(engine, caller, where, resolution, limit=MAX_CELLS), {}
    key = ("hexes-whole", caller, resolution, *hexes.whole_of(where))
    days = whole_span(parts)
    made = []

    def make() -> Awaitable[hexes.Tally]:
        made.append(key)
        return hexes.tally(engine, caller, where, resolution, "whole")

    async def amend(held: hexes.Tally, moved: tuple[Moved, ...]) -> hexes.Tally:
        return await hexes.amend(engine, caller, where, resolution, held, moved)

    whole, edges = await asyncio.gather(
        kept(
            cache,
            key,
            make,
            lambda t: t.size,
            days=days,
            amend=amend,
        ),
        _edges(engine, caller, where, resolution, cache, parts),
    )
    if not made and whole.pieces is None:
        # In use again (or changed): worth keeping per month and day as well (several times
        # the memory and the reading), so that a change reads only its days again. Made
        # beside the requests.
        cache.remake_later(
            key,
            lambda: _like(
                hexes.tally(engine, caller, where, resolution, "whole", pieces=True), whole
            ),
            lambda t: t.size,
            days,
            amendable=True,
        )
    return whole.cells(list(where.categories) or list(hexes.CATEGORIES), plus=edges), whole.derived


# One microsecond: the resolution of the stored times (a range after an instant starts there).
_INSTANT = timedelta(microseconds=1)


async def _edges(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    resolution: int,
    cache: ResultCache,
    parts: Split,
) -> hexes.Tally:
    """The sums of the window's partial days, each kept in `cache` by the midnight it ends or
    starts at until a change moves the counts of its day: a window moved on by seconds reads
    only the seconds each edge moved by (taken away at its start, added at its end), and one
    asked right after a live report (today's) reads its last partial day again."""
    apart = hexes.whole_of(where)[0]
    version = cache.keep_version()
    ranges: list[RawRange] = []
    plans = []
    for r in parts.raw:
        first = not r.end_inclusive  # [start, midnight) or [midnight, end]
        midnight, moving = (r.end, r.start) if first else (r.start, r.end)
        assert midnight is not None and moving is not None
        day = (midnight - timedelta(days=1)).date() if first else midnight.date()
        key = ("hexes-edge", caller, resolution, apart, first, midnight)
        held = cache.get(key)
        steps = []  # (index of a range read, sign: 0 for the whole edge)
        if held is None:
            steps.append((len(ranges), 0))
            ranges.append(r)
        elif held[0] != moving:
            lo, hi = sorted((held[0], moving))
            grows = (moving < held[0]) if first else (moving > held[0])
            steps.append((len(ranges), 1 if grows else -1))
            ranges.append(RawRange(lo, hi, False) if first else RawRange(lo + _INSTANT, hi, True))
        plans.append((key, day, moving, held, steps))
    read = await hexes.tally_ranges(engine, caller, where, resolution, ranges)
    total = hexes.Tally({}, {})
    for key, day, moving, held, steps in plans:
        edge = held[1] if held is not None else hexes.Tally({}, {})
        for i, sign in steps:
            edge = read[i] if sign == 0 else edge.plus(read[i], sign)
        if steps:
            cache.put(key, version, (moving, edge), edge.size, (day, day + timedelta(days=1)))
        total = total.plus(edge) if total.counts or total.apprehended else edge
    return total


async def _like(making: Awaitable[hexes.Tally], held: hexes.Tally) -> hexes.Tally:
    return (await making).like(held)


def _feature(cell: str, resolution: int, row: Any | None) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": cell,
        "geometry": hexagon(cell),
        "properties": {
            "h3": cell,
            "resolution": resolution,
            "incidents": row.incidents if row else 0,
            "persons_involved": row.persons_involved if row else 0,
            "persons_apprehended": row.persons_apprehended if row else 0,
            "by_category": row.by_category if row else {},
            "top_nationality": row.top_nationality if row else None,
        },
    }


async def hex_page(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    where: IncidentFilter,
    resolution: int | None,
    *,
    limit: int,
    cursor: str | None,
    corridor: bool = False,
    include_empty: bool = False,
    cache: ResultCache | None = None,
) -> Page:
    """One page of hexagons, in cell order: those with incidents; with `corridor`, only the
    corridor's; with `include_empty` too, every corridor cell, empty ones with zeros. From
    `cache` when nothing changed since it was made there."""
    key = ("hexes", caller, where, resolution, limit, cursor, corridor, include_empty)
    return await kept(
        cache,
        key,
        lambda: _hex_page(
            engine, caller, geo, where, resolution, limit, cursor, corridor, include_empty, cache
        ),
        lambda page: 600 * len(page.features),  # about the size of one hexagon feature
    )


async def _hex_page(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    where: IncidentFilter,
    resolution: int | None,
    limit: int,
    cursor: str | None,
    corridor: bool,
    include_empty: bool,
    cache: ResultCache | None = None,
) -> Page:
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    if resolution not in RESOLUTIONS:
        raise InvalidInput(errors=[FieldError("resolution", "must be between 5 and 9")])
    if include_empty and not corridor:
        raise InvalidInput(
            errors=[
                FieldError("include_empty", "needs corridor=true: empty cells are the corridor's")
            ]
        )
    after = cell_cursor(cursor)
    if not corridor:
        rows = await hexes.per_cell(engine, caller, where, resolution, limit=limit + 1, after=after)
        more = len(rows) > limit
        features = [_feature(cell_hex(r.cell), resolution, r) for r in rows[:limit]]
        return Page(features, features[-1]["id"] if more else None)

    study = corridor_cell_set(geo, resolution)
    # Every cell with incidents, then those of the corridor (a region's worth at most).
    rows, derived = await _every_cell(engine, caller, where, resolution, cache)
    by_cell = {r.cell: r for r in rows if r.cell in study}
    cells = sorted(study if include_empty else by_cell)
    if after is not None:
        cells = [c for c in cells if c > after]
    # A cell's feature, made once for as long as its counts are the same (the cells of the
    # kept whole days that the edges do not reach): each cell's counts with the feature made
    # of them, kept beside the sums as GeoJSON text (a page of ~1,500 hexagons is written
    # out in a tenth of the time it takes to write their objects).
    made: dict[int, tuple[hexes.CellCount | None, orjson.Fragment]] = derived.setdefault(
        ("features", resolution), {}
    )
    texts: list[orjson.Fragment] = []
    for c in cells[:limit]:
        row = by_cell.get(c)
        held = made.get(c)
        if held is None or held[0] is not row:
            text = orjson.Fragment(orjson.dumps(_feature(cell_hex(c), resolution, row)))
            held = made[c] = (row, text)
        texts.append(held[1])
    return Page(texts, cell_hex(cells[limit - 1]) if len(cells) > limit else None)
