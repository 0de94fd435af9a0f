"""H3 cells of points, at every served resolution, each computed from the point itself.

A coarse cell is never taken as the parent of a fine one: H3 children do not nest exactly
inside their parent's hexagon, so counts by parent would not match the hexagons drawn.
"""

import h3
import h3.api.basic_int as h3i
import numpy as np
from h3ronpy import vector

from geo_service.domain import H3_RESOLUTIONS

_FEW = 32


def cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells (as int64, the type PostgreSQL's bigint holds) of points at one resolution."""
    if len(lat) <= _FEW:
        # h3-py for a few points: the vectorised call costs more to set up than it saves.
        return np.array(
            [h3i.latlng_to_cell(y, x, resolution) for y, x in zip(lat, lon, strict=True)],
            dtype=np.uint64,
        ).astype(np.int64)
    out = vector.coordinates_to_cells(
        np.ascontiguousarray(lat, dtype=np.float64),
        np.ascontiguousarray(lon, dtype=np.float64),
        resolution,
    )
    # H3 indexes keep their top bit clear, so they fit a signed 64-bit integer unchanged.
    return np.asarray(out.to_numpy()).astype(np.int64)


def cells_by_resolution(lat: np.ndarray, lon: np.ndarray) -> dict[int, np.ndarray]:
    """The cells of points at each served resolution (5–10)."""
    return {r: cells(lat, lon, r) for r in H3_RESOLUTIONS}


def cell_hex(cell: int) -> str:
    """The usual hex-string form of a cell stored as a signed integer."""
    return h3.int_to_str(int(cell))


def cell_resolution(cell: int) -> int:
    """The resolution of a cell stored as a signed integer."""
    return int(h3i.get_resolution(int(cell)))


def parse_cell(text: str) -> int | None:
    """A cell given in hex-string form as the integer stored, or None when it is no valid
    cell at a served resolution."""
    try:
        cell = h3.str_to_int(text.strip().lower())
    except (ValueError, TypeError):
        return None
    if not h3.is_valid_cell(text.strip().lower()) or h3i.get_resolution(cell) not in H3_RESOLUTIONS:
        return None
    return int(cell)
