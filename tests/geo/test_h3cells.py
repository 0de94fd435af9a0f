"""H3 cells at every resolution come from the point, as h3-py computes them."""

import h3
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo_service.domain import H3_RESOLUTIONS
from geo_service.geo.h3cells import cell_hex, cells_by_resolution

lons = st.floats(min_value=15.5, max_value=21.5, allow_nan=False)
lats = st.floats(min_value=41.5, max_value=46.5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(lons, lats), min_size=1, max_size=50))
def test_cells_match_h3_py_at_every_resolution(points):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    cells = cells_by_resolution(lat, lon)
    assert sorted(cells) == list(H3_RESOLUTIONS)
    for resolution, column in cells.items():
        assert column.dtype == np.int64
        for x, y, cell in zip(lon, lat, column, strict=True):
            assert cell_hex(cell) == h3.latlng_to_cell(y, x, resolution)


def test_a_coarse_cell_is_not_always_the_parent_of_the_fine_one():
    # Why every resolution is stored: the parent of a point's fine cell is sometimes not the
    # coarse hexagon that contains the point.
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(18.5, 19.7, 20_000), rng.uniform(42.5, 45.0, 20_000)
    cells = cells_by_resolution(lat, lon)
    parents = np.array([h3.str_to_int(h3.cell_to_parent(cell_hex(c), 7)) for c in cells[10]])
    differ = np.mean(parents != cells[7])
    assert 0.01 < differ < 0.2
