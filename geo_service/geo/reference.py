"""The reference geography in data/borders/, read once into shapely geometries."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_service.geo import crs

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
    # Border sections in the metric CRS, indexed for nearest-neighbour look-ups.
    section_tree: shapely.STRtree
    section_ids: np.ndarray
    section_borders: np.ndarray

    @property
    def crossing_point_ids(self) -> frozenset[str]:
        return frozenset(self.crossing_points["id"])


def read_layer(directory: Path, name: str) -> gpd.GeoDataFrame:
    """One reference layer as a GeoDataFrame in EPSG:4326."""
    return gpd.read_file(directory / FILES[name], engine="pyogrio")


@lru_cache(maxsize=4)
def load_geography(directory: Path) -> Geography:
    """Read every reference layer from `directory` (cached: the files do not change at run time)."""
    layers = {name: read_layer(directory, name) for name in FILES}
    sections = layers["sections"].sort_values("id", ignore_index=True)
    metric_sections = sections.to_crs(crs.METRIC).geometry.values
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
        section_tree=shapely.STRtree(np.asarray(metric_sections)),
        section_ids=sections["id"].to_numpy(dtype=object),
        section_borders=sections["border"].to_numpy(dtype=object),
    )
