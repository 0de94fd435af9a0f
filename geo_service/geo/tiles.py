"""Web Mercator tiles (OGC WebMercatorQuad): a tile's extent, the H3 resolution drawn at a
zoom, and the hexagons that touch a tile."""

import math
from dataclasses import dataclass
from functools import lru_cache

import h3
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

MAX_ZOOM = 22
# The most hexagons one tile may draw: a finer resolution than a zoom can show is refused.
MAX_CELLS_PER_TILE = 10_000
# H3 resolution drawn at each zoom: a hexagon some 15–30 px across on a 256 px tile (an
# H3 edge shrinks by √7 per resolution, a tile pixel by 2 per zoom).
_RESOLUTION_AT_ZOOM = {8: 5, 9: 6, 10: 6, 11: 7, 12: 8, 13: 8}


@dataclass(frozen=True)
class Tile:
    z: int
    x: int
    y: int

    def bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north in degrees (WGS84)."""
        n = 2**self.z

        def lat(row: int) -> float:
            return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

        west = self.x / n * 360 - 180
        east = (self.x + 1) / n * 360 - 180
        return west, lat(self.y + 1), east, lat(self.y)


def out_of_matrix(z: int, x: int, y: int) -> str | None:
    """Which of z, x, y lies outside the WebMercatorQuad matrix, if one does."""
    if not 0 <= z <= MAX_ZOOM:
        return f"z: must be between 0 and {MAX_ZOOM}"
    if not 0 <= x < 2**z:
        return f"x: must be between 0 and {2**z - 1} at zoom {z}"
    if not 0 <= y < 2**z:
        return f"y: must be between 0 and {2**z - 1} at zoom {z}"
    return None


def resolution_at_zoom(z: int, lowest: int = 5, highest: int = 9) -> int:
    """The H3 resolution to draw at zoom `z`, kept within [lowest, highest]."""
    wanted = _RESOLUTION_AT_ZOOM.get(z, 5 if z < 8 else 9)
    return min(max(wanted, lowest), highest)


@dataclass(frozen=True)
class TileCells:
    """The hexagons that touch a tile inside an area: their cells (int64), their polygons and
    centres as WKB, and the box (west, south, east, north) that holds them all."""

    cells: np.ndarray
    polygons: list[bytes]
    centres: list[bytes]
    box: tuple[float, float, float, float]


def cells_in_tile(tile: Tile, resolution: int, area: BaseGeometry) -> float:
    """About how many cells of `resolution` a tile draws within `area`'s box."""
    west, south, east, north = tile.bounds()
    a_west, a_south, a_east, a_north = area.bounds
    west, south, east, north = (
        max(west, a_west),
        max(south, a_south),
        min(east, a_east),
        min(north, a_north),
    )
    if west >= east or south >= north:
        return 0.0
    km2 = (
        (east - west)
        * 111.32
        * math.cos(math.radians((south + north) / 2))
        * (north - south)
        * 110.57
    )
    return km2 / h3.average_hexagon_area(resolution, unit="km^2")


# At most ~1.5 MB each (MAX_CELLS_PER_TILE polygons); the zoom's own resolution draws
# far fewer (under 1,300 hexagons a tile).
@lru_cache(maxsize=128)
def _tile_cells(tile: Tile, resolution: int, area_wkb: bytes) -> TileCells:
    west, south, east, north = tile.bounds()
    clip = shapely.box(west, south, east, north).intersection(shapely.from_wkb(area_wkb))
    if clip.is_empty:
        return TileCells(np.empty(0, np.int64), [], [], (0.0, 0.0, 0.0, 0.0))
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(clip.envelope))
    found = h3.h3shape_to_cells_experimental(shape, resolution, contain="overlap")
    rings = [[(lng, lat) for lat, lng in h3.cell_to_boundary(c)] for c in found]
    polygons = shapely.polygons(rings)
    cells = np.array([h3.str_to_int(c) for c in found], dtype=np.uint64).astype(np.int64)
    centres = shapely.points([h3.cell_to_latlng(c)[::-1] for c in found])
    box = tuple(float(v) for v in shapely.total_bounds(polygons)) if rings else (0.0,) * 4
    return TileCells(
        cells,
        list(shapely.to_wkb(polygons)),
        list(shapely.to_wkb(centres)),
        box,  # type: ignore[arg-type]
    )


def tile_cells(tile: Tile, resolution: int, area: BaseGeometry) -> TileCells:
    """Every cell at `resolution` whose hexagon overlaps the tile within `area`'s box."""
    return _tile_cells(tile, resolution, shapely.to_wkb(shapely.box(*area.bounds)))
