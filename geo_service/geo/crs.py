"""Coordinate reference systems used for measuring."""

from functools import lru_cache

import numpy as np
import pyproj

WGS84 = "EPSG:4326"
# Transverse Mercator on the 19th meridian, which runs through the middle of the three
# countries (15.7°–21.1° E): scale error stays under 0.1%, a metre per kilometre.
METRIC = "+proj=tmerc +lat_0=0 +lon_0=19 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"


@lru_cache(maxsize=1)
def metric_transformer() -> pyproj.Transformer:
    """Longitude/latitude to metric x/y (and back with direction="INVERSE")."""
    return pyproj.Transformer.from_crs(WGS84, METRIC, always_xy=True)


def to_metric(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude arrays to metric x/y arrays."""
    x, y = metric_transformer().transform(lon, lat)
    return np.asarray(x), np.asarray(y)
