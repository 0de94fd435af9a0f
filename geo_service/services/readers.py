"""Reading incident files: CSV (lon/lat or WKT columns), GeoJSON, GeoPackage, GeoParquet."""

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_service.services.errors import FieldError, UnreadableFile

FORMATS = {
    ".csv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".parquet": "parquet",
    ".geoparquet": "parquet",
}
MEDIA_TYPES = {
    "text/csv": "csv",
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "application/geopackage+sqlite3": "gpkg",
    "application/vnd.apache.parquet": "parquet",
}
_LON = ("lon", "longitude", "lng", "x")
_LAT = ("lat", "latitude", "y")
# Names a CSV's coordinate columns may have (any case), as its errors name them.
COORDINATE_COLUMNS = frozenset(
    variant for name in (*_LON, *_LAT) for variant in (name, name.upper(), name.title())
)
_WKT = ("wkt", "geometry", "geom")


@dataclass(frozen=True)
class Table:
    """A table of incidents as read: property columns, point coordinates (NaN where none),
    and the errors of geometries that are not usable points."""

    frame: pd.DataFrame
    lon: np.ndarray
    lat: np.ndarray
    errors: list[FieldError]

    @classmethod
    def of_points(cls, frame: gpd.GeoDataFrame) -> "Table":
        """A table of incidents made in memory (demo, synthetic): every geometry a point."""
        points = frame.geometry
        return cls(
            pd.DataFrame(frame.drop(columns=points.name)),
            points.x.to_numpy(),
            points.y.to_numpy(),
            [],
        )


def format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UnreadableFile(f"unknown file type {suffix!r}; one of {', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def _points(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[FieldError]]:
    errors = []
    kinds = shapely.get_type_id(geometry)
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    point = (kinds == shapely.GeometryType.POINT) & ~missing
    for i in np.flatnonzero(missing):
        errors.append(FieldError("geometry", "is required (a Point)", int(i) + 1))
    for i in np.flatnonzero(~point & ~missing):
        kind = shapely.get_type_id(geometry[i])
        name = shapely.GeometryType(kind).name.title().replace("string", "String")
        errors.append(FieldError("geometry", f"must be a Point, not a {name}", int(i) + 1))
    lon = np.full(len(geometry), np.nan)
    lat = np.full(len(geometry), np.nan)
    lon[point] = shapely.get_x(geometry[point])
    lat[point] = shapely.get_y(geometry[point])
    return lon, lat, errors


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _csv_points(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[FieldError]]:
    lon_col, lat_col, wkt_col = _column(frame, _LON), _column(frame, _LAT), _column(frame, _WKT)
    if lon_col and lat_col:
        errors = []
        coords = []
        for col in (lon_col, lat_col):
            text = frame[col].astype("string").str.strip()
            values = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
            unreadable = text.notna().to_numpy() & (text != "").to_numpy() & np.isnan(values)
            for i in np.flatnonzero(unreadable):
                errors.append(
                    FieldError(col, f"must be a number, got {frame[col].iloc[i]!r}", int(i) + 1)
                )
            coords.append(values)
        return coords[0], coords[1], errors
    if wkt_col:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            geometry = shapely.from_wkt(
                frame[wkt_col].astype("string").to_numpy(dtype=object, na_value=None),  # type: ignore[call-overload]
                on_invalid="ignore",
            )
        return _points(np.asarray(geometry))
    raise UnreadableFile(
        "a CSV needs lon and lat columns (or longitude/latitude, x/y) or a WKT column"
    )


def read_file(path: Path, fmt: str | None = None) -> Table:
    """Read an incident file; the format follows the file name unless given."""
    fmt = fmt or format_of(path)
    try:
        if fmt == "parquet":
            gdf = gpd.read_parquet(path)
            lon, lat, errors = _points(np.asarray(gdf.geometry.values))
            return Table(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), lon, lat, errors)
        if fmt == "csv":
            frame = pyogrio.read_dataframe(
                path, read_geometry=False, use_arrow=True, datetime_as_string=True
            )
            lon, lat, errors = _csv_points(frame)
            return Table(frame, lon, lat, errors)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, use_arrow=True, datetime_as_string=True)
    except UnreadableFile:
        raise
    except Exception as exc:  # GDAL and Arrow raise many kinds; all mean the same here
        raise UnreadableFile(f"could not read the {fmt} input: {exc}") from exc
    lon, lat, errors = _points(np.asarray(gdf.geometry.values))
    return Table(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), lon, lat, errors)


def read_bytes(data: bytes, fmt: str) -> Table:
    """Read an incident file sent as a request body."""
    suffix = next(s for s, f in FORMATS.items() if f == fmt)
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="geo-service-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return read_file(Path(name), fmt)
    finally:
        os.unlink(name)
