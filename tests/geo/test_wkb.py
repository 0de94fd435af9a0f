"""EWKB points built in bulk are byte for byte what shapely writes."""

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo_service.geo.wkb import ewkb_points

coords = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=20))
def test_same_bytes_as_shapely(points):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    expected = shapely.to_wkb(
        shapely.set_srid(shapely.points(lon, lat), 4326), include_srid=True, byte_order=1
    )
    assert ewkb_points(lon, lat).to_pylist() == list(expected)
