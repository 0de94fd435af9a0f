"""Gi* against PySAL's esda on the same input, Mann-Kendall against pymannkendall, and each
emerging hot spot category on a series whose answer is known."""

import esda
import h3
import libpysal
import numpy as np
import pymannkendall
import pytest

from geo_service.geo.corridor import corridor_cells
from geo_service.geo.hotspots import (
    emerging_category,
    gi_star,
    gi_star_cube,
    mann_kendall,
    neighbours,
    significance,
)


@pytest.fixture(scope="module")
def study(geography):
    cells = corridor_cells(geography, 6)
    return cells, neighbours(cells)


def pysal_weights(cells: np.ndarray) -> libpysal.weights.W:
    ids = [h3.int_to_str(int(c)) for c in cells]
    present = set(ids)
    ring = {c: [o for o in h3.grid_ring(c, 1) if o in present] for c in ids}
    return libpysal.weights.W(ring, id_order=ids, silence_warnings=True)


@pytest.mark.parametrize("seed", [1, 2])
def test_gi_star_equals_esda(study, seed):
    cells, w = study
    rng = np.random.default_rng(seed)
    y = rng.poisson(rng.gamma(0.5, 4, len(cells)))  # many empty cells, a few busy ones
    ours = gi_star(y, w)
    reference = esda.G_Local(y, pysal_weights(cells), transform="B", star=True, permutations=0)
    assert np.max(np.abs(ours - reference.Zs)) < 1e-9


def test_a_planted_cluster_is_hot_and_the_rest_is_not(study):
    cells, w = study
    y = np.zeros(len(cells))
    centre = len(cells) // 2
    y[w[centre].indices] = 30
    result = significance(gi_star(y, w))
    assert result.classes[centre] == "hot-99"
    assert (result.classes[w[centre].indices] != "not-significant").all()
    assert (result.p_fdr >= result.p).all()


def test_the_cube_with_one_step_is_plain_gi_star(study):
    cells, w = study
    y = np.random.default_rng(3).poisson(2, len(cells))
    assert np.allclose(gi_star_cube(y[:, None], w, time_steps=1)[:, 0], gi_star(y, w))


@pytest.mark.parametrize(
    "series",
    [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7],
        [2, 2, 2, 3, 3, 1, 1, 1, 4, 4, 2, 2],  # ties
        [5, 4, 4, 3, 3, 3, 2, 1, 1, 0],
    ],
)
def test_mann_kendall_equals_pymannkendall(series):
    ours = mann_kendall(np.array(series, dtype=float))
    reference = pymannkendall.original_test(series)
    assert ours.s == reference.s
    assert ours.var_s == pytest.approx(reference.var_s, rel=1e-12)
    assert ours.z == pytest.approx(reference.z, rel=1e-12)
    assert ours.p == pytest.approx(reference.p, rel=1e-9)


def series(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """`h` hot, `c` cold, `.` neither; oldest first."""
    return np.array([c == "h" for c in pattern]), np.array([c == "c" for c in pattern])


@pytest.mark.parametrize(
    ("pattern", "trend_z", "expected"),
    [
        ("..........h", 0, "new hot spot"),
        ("........hhh", 2.5, "consecutive hot spot"),
        ("hhhhhhhhhhh", 3.0, "intensifying hot spot"),
        ("hhhhhhhhhhh", 0.5, "persistent hot spot"),
        ("hhhhhhhhhhh", -3.0, "diminishing hot spot"),
        ("h..h.h...hh", 0, "sporadic hot spot"),
        ("c..h.h...hh", 0, "oscillating hot spot"),
        ("hhhhhhhhhh.", 0, "historical hot spot"),
        ("..........c", 0, "new cold spot"),
        ("........ccc", -2.5, "consecutive cold spot"),
        ("ccccccccccc", -3.0, "intensifying cold spot"),
        ("ccccccccccc", 0.2, "persistent cold spot"),
        ("ccccccccccc", 3.0, "diminishing cold spot"),
        ("c..c.c...cc", 0, "sporadic cold spot"),
        ("h..c.c...cc", 0, "oscillating cold spot"),
        ("cccccccccc.", 0, "historical cold spot"),
        ("...h.h.....", 0, "no pattern"),
        ("...........", 0, "no pattern"),
    ],
)
def test_emerging_categories_on_known_series(pattern, trend_z, expected):
    hot, cold = series(pattern)
    trend_p = 0.001 if abs(trend_z) > 1.96 else 0.5
    assert emerging_category(hot, cold, trend_z, trend_p) == expected
