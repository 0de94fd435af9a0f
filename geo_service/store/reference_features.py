"""Reading the reference tables (borders, sections, crossing points, countries, corridor) as
features, a page at a time."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.models import metadata


async def read_page(
    conn: AsyncConnection,
    table_name: str,
    columns: Sequence[str],
    *,
    bbox: tuple[float, float, float, float] | None,
    limit: int,
    after: str | None = None,
    key: str | None = None,
) -> Sequence[Any]:
    """Rows of a reference table in key order: its key (`fid`), `columns`, and the geometry
    as GeoJSON text (`geometry`); only rows after `after`, or only the row `key`."""
    table = metadata.tables[table_name]
    pk = next(iter(table.primary_key.columns))
    stmt = select(
        pk.label("fid"),
        *(table.c[c] for c in columns),
        func.ST_AsGeoJSON(table.c.geom, 6).label("geometry"),
    )
    if bbox is not None:
        stmt = stmt.where(table.c.geom.intersects(func.ST_MakeEnvelope(*bbox, 4326)))
    if key is not None:
        stmt = stmt.where(pk == pk.type.python_type(key))
    if after is not None:
        stmt = stmt.where(pk > pk.type.python_type(after))
    return (await conn.execute(stmt.order_by(pk).limit(limit))).all()
