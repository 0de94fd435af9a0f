"""The hotspots and emerging-hotspots layers: Gi* over the corridor's H3 cells (empty ones
included) for any filter of the hexagon layer, and emerging hot spot categories over a
space-time cube of those cells."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import h3
import numpy as np
from scipy import sparse
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.corridor import corridor_cells
from geo_service.geo.hotspots import (
    emerging_category,
    gi_star,
    gi_star_cube,
    mann_kendall,
    neighbours,
    significance,
)
from geo_service.geo.reference import Geography
from geo_service.services.errors import FieldError, InvalidInput
from geo_service.services.hexes import cell_cursor, hexagon
from geo_service.services.incidents import Page
from geo_service.services.result_cache import ResultCache, kept
from geo_service.store import hexes
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

RESOLUTIONS = range(6, 10)
DEFAULT_RESOLUTION = 7
STEPS = tuple(hexes.STEPS)
MIN_STEPS = 10  # fewer and a Mann-Kendall trend says nothing
MAX_BINS = 1_000_000  # cells × steps of one cube
SIGNIFICANT = 0.10  # a hot or cold bin: adjusted p below this


def _refuse(field: str, reason: str) -> InvalidInput:
    return InvalidInput(errors=[FieldError(field, reason)])


@lru_cache(maxsize=8)
def _weights(cells: bytes) -> sparse.csr_matrix:
    return neighbours(np.frombuffer(cells, dtype=np.int64))


def study_area(geo: Geography, resolution: int) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The corridor's cells at `resolution` and their binary first-ring weights (kept)."""
    cells = corridor_cells(geo, resolution)
    return cells, _weights(cells.tobytes())


def _resolution(resolution: int | None) -> int:
    resolution = DEFAULT_RESOLUTION if resolution is None else resolution
    if resolution not in RESOLUTIONS:
        raise _refuse("resolution", "must be between 6 and 9")
    return resolution


def _page(
    cells: np.ndarray, properties: list[dict[str, Any]], limit: int, after: int | None
) -> Page:
    start = 0 if after is None else int(np.searchsorted(cells, after, side="right"))
    chosen = range(start, min(start + limit, len(cells)))
    features = [
        {
            "type": "Feature",
            "id": properties[i]["h3"],
            "geometry": hexagon(properties[i]["h3"]),
            "properties": properties[i],
        }
        for i in chosen
    ]
    more = start + limit < len(cells)
    return Page(features, features[-1]["id"] if more and features else None)


async def _counts(
    engine: AsyncEngine, caller: Caller, where: IncidentFilter, resolution: int, cells: np.ndarray
) -> np.ndarray:
    rows = await hexes._all(engine, hexes.cell_counts(caller, where, resolution))
    position = {int(c): i for i, c in enumerate(cells.tolist())}
    y = np.zeros(len(cells))
    for r in rows:
        i = position.get(int(r.cell))
        if i is not None:
            y[i] = r.incidents
    return y


async def gi_star_cells(
    engine: AsyncEngine, caller: Caller, geo: Geography, where: IncidentFilter, resolution: int
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    cells, w = study_area(geo, resolution)
    y = await _counts(engine, caller, where, resolution, cells)
    z = gi_star(y, w)
    sig = significance(z)
    properties = [
        {
            "h3": h3.int_to_str(int(cell)),
            "resolution": resolution,
            "incidents": int(y[i]),
            "z": float(z[i]),
            "p": float(sig.p[i]),
            "p_fdr": float(sig.p_fdr[i]),
            "class": sig.classes[i],
        }
        for i, cell in enumerate(cells.tolist())
    ]
    return cells, properties


async def hotspot_page(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    where: IncidentFilter,
    resolution: int | None,
    *,
    limit: int,
    cursor: str | None,
    cache: ResultCache | None = None,
) -> Page:
    """One page, in cell order, of the corridor's cells with their Gi* z-score, p, adjusted
    p and class, for the incidents `where` selects."""
    res = _resolution(resolution)
    after = cell_cursor(cursor)
    cells, properties = await kept(
        cache,
        ("hotspots", caller, where, res),
        lambda: gi_star_cells(engine, caller, geo, where, res),
        lambda made: 300 * len(made[1]),
    )
    return _page(cells, properties, limit, after)


async def _emerging(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    where: IncidentFilter,
    resolution: int,
    step: str,
    steps: int,
    end: datetime,
    time_steps: int,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    cells, w = study_area(geo, resolution)
    if len(cells) * steps > MAX_BINS:
        raise _refuse(
            "steps",
            f"a cube of {len(cells):,} cells × {steps} steps is over {MAX_BINS:,} bins: "
            "fewer steps or a coarser resolution",
        )
    rows = await hexes.counts_per_step(
        engine, caller, where, resolution, end=end, step=step, steps=steps
    )
    position = {int(c): i for i, c in enumerate(cells.tolist())}
    cube = np.zeros((len(cells), steps))
    for r in rows:
        i = position.get(int(r.cell))
        if i is not None and 0 <= r.back < steps:
            cube[i, steps - 1 - r.back] += r.n
    z = gi_star_cube(cube, w, time_steps)
    sig = significance(z.ravel())
    p_fdr = sig.p_fdr.reshape(z.shape)
    hot = (p_fdr < SIGNIFICANT) & (z > 0)
    cold = (p_fdr < SIGNIFICANT) & (z < 0)
    properties = []
    for i, cell in enumerate(cells.tolist()):
        trend = mann_kendall(z[i])
        properties.append(
            {
                "h3": h3.int_to_str(int(cell)),
                "resolution": resolution,
                "category": emerging_category(hot[i], cold[i], trend.z, trend.p),
                "incidents": int(cube[i].sum()),
                "hot_steps": int(hot[i].sum()),
                "cold_steps": int(cold[i].sum()),
                "trend_z": trend.z,
                "trend_p": trend.p,
                "last_z": float(z[i, -1]),
            }
        )
    return cells, properties


async def emerging_page(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    where: IncidentFilter,
    resolution: int | None,
    *,
    step: str = "weekly",
    steps: int = 12,
    time_steps: int = 1,
    limit: int,
    cursor: str | None,
    cache: ResultCache | None = None,
) -> Page:
    """One page, in cell order, of the corridor's cells with their emerging hot spot
    category over `steps` steps (daily, weekly, monthly) up to the end of `where`'s window
    (or now)."""
    res = _resolution(resolution)
    if step not in STEPS:
        raise _refuse("step", f"must be one of {', '.join(STEPS)}")
    if steps < MIN_STEPS:
        raise _refuse("steps", f"at least {MIN_STEPS}: a shorter series has no trend to test")
    if not 0 <= time_steps < steps:
        raise _refuse("time_steps", "must be from 0 to one less than steps")
    after = cell_cursor(cursor)
    end = where.end or datetime.now(UTC).replace(microsecond=0)
    cells, properties = await kept(
        cache,
        ("emerging", caller, where, res, step, steps, time_steps, end),
        lambda: _emerging(engine, caller, geo, where, res, step, steps, end, time_steps),
        lambda made: 300 * len(made[1]),
    )
    return _page(cells, properties, limit, after)
