"""Hot spot statistics on H3 cells, pure functions: Getis-Ord Gi* with binary weights (the
cell and its first ring), the same over a space-time cube, Mann-Kendall trends, and the
emerging hot spot categories as DESIGN.md defines them."""

from dataclasses import dataclass

import h3
import numpy as np
from scipy import sparse
from scipy.stats import false_discovery_control, norm

# Confidence levels, as the class names give them.
LEVELS = ((0.01, "99"), (0.05, "95"), (0.10, "90"))


def neighbours(cells: np.ndarray) -> sparse.csr_matrix:
    """Binary weights among `cells` (int64): each cell and its first ring, where in `cells`."""
    position = {int(c): i for i, c in enumerate(cells.tolist())}
    rows, cols = [], []
    for i, cell in enumerate(cells.tolist()):
        for other in h3.grid_disk(h3.int_to_str(cell), 1):
            j = position.get(h3.str_to_int(other))
            if j is not None:
                rows.append(i)
                cols.append(j)
    n = len(cells)
    data = np.ones(len(rows))
    return sparse.csr_matrix((data, (rows, cols)), shape=(n, n))


def _z(weighted_sum: np.ndarray, weight_sum: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Gi* z-scores from Σ w_ij x_j and Σ w_ij (binary weights: Σ w_ij² = Σ w_ij), with the
    mean and population standard deviation over all of `y`."""
    n = y.size
    mean = y.mean()
    s = np.sqrt((y**2).mean() - mean**2)
    if s == 0:
        return np.zeros_like(weighted_sum, dtype=float)
    spread = np.sqrt((n * weight_sum - weight_sum**2) / (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (weighted_sum - mean * weight_sum) / (s * spread)
    return np.nan_to_num(z)


def gi_star(y: np.ndarray, w: sparse.csr_matrix) -> np.ndarray:
    """Getis-Ord Gi* z-score of each cell (binary weights including the cell itself)."""
    y = np.asarray(y, dtype=float)
    return _z(w @ y, np.asarray(w.sum(axis=1)).ravel(), y)


def gi_star_cube(cube: np.ndarray, w: sparse.csr_matrix, time_steps: int = 1) -> np.ndarray:
    """Gi* z-score of every bin of a cells × steps cube: each bin's neighbours are its cell's
    (`w`) in the same step and the `time_steps` before it; mean and spread over the cube."""
    cube = np.asarray(cube, dtype=float)
    in_space = w @ cube
    space_weights = np.asarray(w.sum(axis=1)).ravel()
    summed = np.zeros_like(in_space)
    counted = np.zeros(cube.shape[1])
    for lag in range(time_steps + 1):
        summed[:, lag:] += in_space[:, : cube.shape[1] - lag]
        counted[lag:] += 1
    return _z(summed, space_weights[:, None] * counted[None, :], cube.ravel())


@dataclass(frozen=True)
class Significance:
    p: np.ndarray
    p_fdr: np.ndarray
    classes: np.ndarray


def significance(z: np.ndarray) -> Significance:
    """Two-sided p-values, Benjamini–Hochberg adjusted ones, and each cell's class: hot or
    cold at 99, 95 or 90% confidence (on the adjusted p), else not significant."""
    z = np.asarray(z, dtype=float)
    p = 2 * norm.sf(np.abs(z))
    p_fdr = false_discovery_control(p) if p.size else p
    classes = np.full(z.shape, "not-significant", dtype=object)
    for limit, level in reversed(LEVELS):
        classes[(p_fdr < limit) & (z > 0)] = f"hot-{level}"
        classes[(p_fdr < limit) & (z < 0)] = f"cold-{level}"
    return Significance(p, p_fdr, classes)


@dataclass(frozen=True)
class MannKendall:
    s: float
    var_s: float
    z: float
    p: float


def mann_kendall(x: np.ndarray) -> MannKendall:
    """The Mann-Kendall trend test of a series: S, its variance corrected for ties, the
    continuity-corrected z and its two-sided p."""
    x = np.asarray(x, dtype=float)
    n = x.size
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (n * (n - 1) * (2 * n + 5) - np.sum(ties * (ties - 1) * (2 * ties + 5))) / 18.0
    if s > 0:
        z = (s - 1) / np.sqrt(var_s)
    elif s < 0:
        z = (s + 1) / np.sqrt(var_s)
    else:
        z = 0.0
    return MannKendall(s, float(var_s), float(z), float(2 * norm.sf(abs(z))))


def emerging_category(
    hot: np.ndarray, cold: np.ndarray, trend_z: float, trend_p: float, alpha: float = 0.05
) -> str:
    """A location's emerging hot spot category from its hot and cold bins (oldest first) and
    the trend of its z-scores: new, consecutive, intensifying, persistent, diminishing,
    sporadic, oscillating, historical hot spot; the cold mirrors; else no pattern."""
    for spot, other, sign, kind in ((hot, cold, 1, "hot"), (cold, hot, -1, "cold")):
        found = _category(
            np.asarray(spot, bool), np.asarray(other, bool), sign * trend_z, trend_p, alpha
        )
        if found is not None:
            return f"{found} {kind} spot"
    return "no pattern"


def _category(
    spot: np.ndarray, other: np.ndarray, up_z: float, trend_p: float, alpha: float
) -> str | None:
    n = spot.size
    share = spot.sum() / n
    final = bool(spot[-1])
    trend = trend_p < alpha
    if final and not spot[:-1].any():
        return "new"
    if final and share < 0.9:
        run = n - 1
        while run > 0 and spot[run - 1]:
            run -= 1
        if n - run >= 2 and not spot[:run].any():
            return "consecutive"
    if final and share >= 0.9:
        if trend and up_z > 0:
            return "intensifying"
        if trend and up_z < 0:
            return "diminishing"
        return "persistent"
    if final and share < 0.9:
        return "oscillating" if other[:-1].any() else "sporadic"
    if not final and share >= 0.9:
        return "historical"
    return None
