"""Where points are relative to the borders: country, nearest section, distance."""

from dataclasses import dataclass

import numpy as np
import shapely

from geo_service.geo import crs
from geo_service.geo.reference import Geography


@dataclass(frozen=True)
class Placement:
    """Per point: the country it lies in (None outside the six), the border pair and section
    nearest to it, and its distance to that border in metres."""

    country: np.ndarray
    border_pair: np.ndarray
    border_section: np.ndarray
    distance_to_border_m: np.ndarray


def in_region(geo: Geography, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point lies in the monitored region (the three countries and a margin)."""
    return np.asarray(shapely.contains_xy(geo.region, lon, lat))


def country_of(geo: Geography, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """ISO3 code of the country each point lies in, None where none of the six."""
    out = np.full(len(lon), None, dtype=object)
    todo = np.ones(len(lon), dtype=bool)
    for iso3, geom in zip(geo.countries["iso3"], geo.countries.geometry.values, strict=True):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        inside = np.asarray(shapely.contains_xy(geom, lon[idx], lat[idx]))
        out[idx[inside]] = iso3
        todo[idx[inside]] = False
    return out


def place(geo: Geography, lon: np.ndarray, lat: np.ndarray) -> Placement:
    """Country, nearest border section and its border pair, and distance to it in metres."""
    x, y = crs.to_metric(lon, lat)
    points = shapely.points(x, y)
    (_, nearest), distance = geo.section_tree.query_nearest(
        points, return_distance=True, all_matches=False
    )
    return Placement(
        country=country_of(geo, lon, lat),
        border_pair=geo.section_borders[nearest],
        border_section=geo.section_ids[nearest],
        distance_to_border_m=np.asarray(distance, dtype=np.float64),
    )
