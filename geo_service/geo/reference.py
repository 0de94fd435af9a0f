"""The reference geography in data/borders/, read once into shapely geometries."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geo_service.geo import crs

# Longest segment kept of a border section for nearest-distance look-ups, in metres.
SEGMENT_M = 25.0
FILES = {
    "countries": "countries.geojson",
    "borders": "borders.geojson",
    "sections": "border_sections.geojson",
    "crossing_points": "crossing_points.geojson",
    "corridor": "corridor.geojson",
    "region": "region.geojson",
}


@dataclass(frozen=True)
class Geography:
    """Countries, borders, border sections, crossing points, the corridor and the region."""

    countries: gpd.GeoDataFrame
    borders: gpd.GeoDataFrame
    sections: gpd.GeoDataFrame
    crossing_points: gpd.GeoDataFrame
    corridor: BaseGeometry
    region: BaseGeometry
    # The border sections as segments of at most SEGMENT_M in the metric CRS: start and end
    # points, the section each belongs to, and a k-d tree of their start points.
    segment_start: np.ndarray
    segment_end: np.ndarray
    segment_section: np.ndarray
    segment_tree: cKDTree
    section_ids: np.ndarray
    section_borders: np.ndarray

    crossing_point_ids: frozenset[str]
    # The six countries' codes and (prepared) polygons, for point-in-polygon tests.
    country_codes: tuple[str, ...]
    country_shapes: tuple[BaseGeometry, ...]


def read_layer(directory: Path, name: str) -> gpd.GeoDataFrame:
    """One reference layer as a GeoDataFrame in EPSG:4326."""
    return gpd.read_file(directory / FILES[name], engine="pyogrio")


def _segments(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start and end points of every segment of (multi)lines cut to at most SEGMENT_M, and
    the index of the line each came from."""
    parts, part_of = shapely.get_parts(shapely.segmentize(lines, SEGMENT_M), return_index=True)
    coords, coord_of = shapely.get_coordinates(parts, return_index=True)
    same_part = coord_of[1:] == coord_of[:-1]
    return coords[:-1][same_part], coords[1:][same_part], part_of[coord_of[:-1][same_part]]


@lru_cache(maxsize=4)
def load_geography(directory: Path) -> Geography:
    """Read every reference layer from `directory` (cached: the files do not change at run time)."""
    layers = {name: read_layer(directory, name) for name in FILES}
    sections = layers["sections"].sort_values("id", ignore_index=True)
    start, end, segment_section = _segments(np.asarray(sections.to_crs(crs.METRIC).geometry.values))
    region = layers["region"].geometry.union_all()
    shapely.prepare(region)
    countries = layers["countries"]
    for geom in countries.geometry.values:
        shapely.prepare(geom)
    return Geography(
        countries=countries,
        borders=layers["borders"],
        sections=sections,
        crossing_points=layers["crossing_points"],
        corridor=layers["corridor"].geometry.union_all(),
        region=region,
        segment_start=start,
        segment_end=end,
        segment_section=segment_section,
        segment_tree=cKDTree(start),
        section_ids=sections["id"].to_numpy(dtype=object),
        crossing_point_ids=frozenset(layers["crossing_points"]["id"]),
        country_codes=tuple(countries["iso3"]),
        country_shapes=tuple(countries.geometry.values),
        section_borders=sections["border"].to_numpy(dtype=object),
    )
