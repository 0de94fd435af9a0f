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
    for iso3, geom in zip(geo.country_codes, geo.country_shapes, strict=True):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        inside = np.asarray(shapely.contains_xy(geom, lon[idx], lat[idx]))
        out[idx[inside]] = iso3
        todo[idx[inside]] = False
    return out


def _nearest_segments(
    geo: Geography, x: np.ndarray, y: np.ndarray, candidates: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Per point: the nearest border segment and the exact distance to it in metres.

    The k-d tree finds the segments whose start lies nearest; as no segment is longer than
    SEGMENT_M, the nearest segment is among them (or within a few centimetres of the one
    found), and the distance to each is measured exactly, point to segment.
    """
    _, near = geo.segment_tree.query(np.column_stack([x, y]), k=candidates)
    near = near.reshape(len(x), candidates)
    ax, ay = geo.segment_start[near, 0], geo.segment_start[near, 1]
    dx, dy = geo.segment_end[near, 0] - ax, geo.segment_end[near, 1] - ay
    px, py = x[:, None] - ax, y[:, None] - ay
    length2 = dx * dx + dy * dy
    t = np.clip((px * dx + py * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    d = np.hypot(px - t * dx, py - t * dy)
    best = np.argmin(d, axis=1)
    rows = np.arange(len(x))
    return near[rows, best], d[rows, best]


def place(geo: Geography, lon: np.ndarray, lat: np.ndarray) -> Placement:
    """Country, nearest border section and its border pair, and distance to it in metres."""
    x, y = crs.to_metric(lon, lat)
    segment, metres = _nearest_segments(geo, x, y)
    section = geo.segment_section[segment]
    return Placement(
        country=country_of(geo, lon, lat),
        border_pair=geo.section_borders[section],
        border_section=geo.section_ids[section],
        distance_to_border_m=metres,
    )
