"""Exports of a selection of incidents (the layers' filters) as GeoJSON, CSV or GeoPackage,
made in pieces: the database sends the rows a batch at a time and each piece is passed on
before the next is read, so a large export never sits whole in memory.

CSV is UTF-8 with a byte-order mark (spreadsheets then read č ć đ š ž and Cyrillic as they
are), times in ISO 8601 UTC. A GeoPackage is a database file: it is built in a temporary
file a batch at a time, then sent, then removed."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.services.errors import FieldError, InvalidInput
from geo_service.settings import Settings
from geo_service.store import exports as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
}
FORMATS = tuple(MEDIA_TYPES)
BOM = "\ufeff".encode()
PIECE_BYTES = 256 * 1024  # pass data on in pieces of about this size
BATCH_ROWS = 5_000  # rows read from the database at a time
GPKG_BATCH_ROWS = 20_000  # rows written to a GeoPackage at a time (each write opens the file)
FLOATS = ("longitude", "latitude", "location_accuracy_m", "distance_to_border_m")
INTEGERS = ("persons_apprehended", "minors", "women")


@dataclass(frozen=True)
class Export:
    """What to send: its media type, a file name, and the pieces of its body."""

    media_type: str
    filename: str
    matched: int
    pieces: AsyncIterator[bytes]


async def export(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    fmt: str,
    settings: Settings,
) -> Export:
    """The export of what `caller` may see of `where`, refused before any of it is made
    when the format is unknown or the selection is larger than the export limit."""
    if fmt not in MEDIA_TYPES:
        raise InvalidInput(errors=[FieldError("format", f"must be one of {', '.join(FORMATS)}")])
    async with engine.connect() as conn:
        matched = await store.count(conn, caller, where)
    if matched > settings.export_max_incidents:
        reason = (
            f"the selection holds {matched:,} incidents, over the export limit of "
            f"{settings.export_max_incidents:,}: narrow the time window or the filters"
        )
        raise InvalidInput(errors=[FieldError("selection", reason)])
    made = {"geojson": _geojson, "csv": _csv, "gpkg": _gpkg}[fmt]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Export(
        media_type=MEDIA_TYPES[fmt],
        filename=f"incidents-{stamp}.{fmt}",
        matched=matched,
        pieces=_pieced(made(engine, caller, where, settings)),
    )


async def _pieced(parts: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`parts` joined into pieces of about PIECE_BYTES (COPY sends one message per row)."""
    buffer: list[bytes] = []
    size = 0
    async for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= PIECE_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


async def _csv(
    engine: AsyncEngine, caller: Caller, where: IncidentFilter, settings: Settings
) -> AsyncIterator[bytes]:
    yield BOM
    async with engine.begin() as conn:
        await store.allow_seconds(conn, settings.export_timeout_s)
        async for data in store.csv_chunks(conn, caller, where):
            yield data


async def _geojson(
    engine: AsyncEngine, caller: Caller, where: IncidentFilter, settings: Settings
) -> AsyncIterator[bytes]:
    yield b'{"type":"FeatureCollection","features":['
    first = True
    async with engine.begin() as conn:
        await store.allow_seconds(conn, settings.export_timeout_s)
        async for features in store.feature_texts(conn, caller, where, BATCH_ROWS):
            text = ",".join(features)
            yield (text if first else "," + text).encode()
            first = False
    yield b"]}"


def _frame(rows: list[tuple[object, ...]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(store.FLAT_NAMES))
    for name in FLOATS:
        frame[name] = frame[name].astype("float64")
    for name in INTEGERS:
        frame[name] = frame[name].astype("int64")
    for name in ("occurred_at", "reported_at", "updated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    geometry = gpd.points_from_xy(frame["longitude"], frame["latitude"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry)


async def _gpkg(
    engine: AsyncEngine, caller: Caller, where: IncidentFilter, settings: Settings
) -> AsyncIterator[bytes]:
    directory = await asyncio.to_thread(tempfile.mkdtemp, prefix="geo-service-export-")
    path = Path(directory) / "incidents.gpkg"
    try:
        written = False
        async with engine.begin() as conn:
            await store.allow_seconds(conn, settings.export_timeout_s)
            async for rows in store.flat_rows(conn, caller, where, GPKG_BATCH_ROWS):
                frame = _frame([tuple(r) for r in rows])
                await asyncio.to_thread(_write, frame, path, written)
                written = True
        if not written:  # an empty selection: the layer with its columns and no rows
            await asyncio.to_thread(_write, _frame([]), path, False)
        f = await asyncio.to_thread(path.open, "rb")
        try:
            while piece := await asyncio.to_thread(f.read, PIECE_BYTES):
                yield piece
        finally:
            f.close()
    finally:
        await asyncio.to_thread(shutil.rmtree, directory, True)


def _write(frame: gpd.GeoDataFrame, path: Path, append: bool) -> None:
    pyogrio.write_dataframe(
        frame,
        path,
        layer="incidents",
        driver="GPKG",
        append=append,
        geometry_type="Point",
        use_arrow=True,
    )
