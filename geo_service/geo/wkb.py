"""Points as PostGIS extended WKB, built for many points at once."""

import numpy as np
import pyarrow as pa

_EWKB_POINT = np.dtype(
    [("order", "u1"), ("kind", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)
_POINT_WITH_SRID = 0x20000001  # WKB type 1 (Point) with PostGIS's SRID flag


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """Little-endian EWKB of each point, as an Arrow binary array (what shapely.to_wkb with
    include_srid=True writes, without making a geometry object per point)."""
    out = np.empty(len(lon), dtype=_EWKB_POINT)
    out["order"], out["kind"], out["srid"] = 1, _POINT_WITH_SRID, srid
    out["x"], out["y"] = lon, lat
    size = _EWKB_POINT.itemsize
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(size), len(out), [None, pa.py_buffer(out.tobytes())]
    )
    return fixed.cast(pa.binary())
