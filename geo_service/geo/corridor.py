"""The corridor's H3 cells: the study area of hexagon layers and hotspot analysis."""

from functools import lru_cache

import h3
import numpy as np
import shapely

from geo_service.geo.reference import Geography


@lru_cache(maxsize=16)
def _cells(corridor_wkb: bytes, resolution: int) -> np.ndarray:
    shape = shapely.geometry.mapping(shapely.from_wkb(corridor_wkb))
    cells = [h3.str_to_int(c) for c in h3.geo_to_cells(shape, resolution)]
    return np.sort(np.array(cells, dtype=np.uint64).astype(np.int64))


def corridor_cells(geo: Geography, resolution: int) -> np.ndarray:
    """The cells (int64, sorted) whose centre lies in the corridor, at `resolution`
    (H3's own polygon fill: each cell of the plane belongs to at most one polygon fill)."""
    return _cells(shapely.to_wkb(geo.corridor), resolution)


def corridor_cell_set(geo: Geography, resolution: int) -> frozenset[int]:
    """The same cells as a set, to test membership in."""
    return _cell_set(shapely.to_wkb(geo.corridor), resolution)


@lru_cache(maxsize=16)
def _cell_set(wkb: bytes, resolution: int) -> frozenset[int]:
    return frozenset(_cells(wkb, resolution).tolist())
