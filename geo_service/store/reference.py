"""Loading the reference geography (data/borders/) into its tables; safe to repeat."""

from typing import Any

import shapely
from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.geo.reference import Geography
from geo_service.store.models import border_sections, borders, corridor, countries, crossing_points


def _ewkb(geom: Any) -> str:
    return str(shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True))


async def _upsert(
    conn: AsyncConnection, table: Table, key: str, rows: list[dict[str, Any]]
) -> None:
    if not rows:
        return
    multi = table.c.geom.type.geometry_type.startswith("MULTI")  # type: ignore[attr-defined]
    values = []
    for row in rows:
        g = func.ST_GeomFromEWKB(func.decode(row["geom"], "hex"))
        values.append({**row, "geom": func.ST_Multi(g) if multi else g})
    stmt = insert(table).values(values)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
    await conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=updates))


async def load_reference(conn: AsyncConnection, geo: Geography, corridor_km: float = 15.0) -> None:
    """Countries, borders, sections, crossing points and the corridor, inserted or updated."""
    await _upsert(
        conn,
        countries,
        "iso3",
        [
            {
                "iso3": r.iso3,
                "name_en": r.name_en,
                "name_local": r.name_local,
                "geom": _ewkb(r.geometry),
            }
            for r in geo.countries.itertuples()
        ],
    )
    await _upsert(
        conn,
        borders,
        "id",
        [
            {
                "id": r.id,
                "country_a": r.a,
                "country_b": r.b,
                "monitored": bool(r.monitored),
                "length_km": float(r.length_km),
                "official_length_km": float(r.official_length_km),
                "geom": _ewkb(r.geometry),
            }
            for r in geo.borders.itertuples()
        ],
    )
    await _upsert(
        conn,
        border_sections,
        "id",
        [
            {
                "id": r.id,
                "border_id": r.border,
                "seq": int(r.seq),
                "name": r.name,
                "length_km": float(r.length_km),
                "geom": _ewkb(r.geometry),
            }
            for r in geo.sections.itertuples()
        ],
    )
    await _upsert(
        conn,
        crossing_points,
        "id",
        [
            {
                "id": r.id,
                "name_local": r.name_local,
                "name_en": r.name_en,
                "type": r.type,
                "border_id": r.border,
                "section_id": r.section,
                "snapped_m": float(r.snapped_m),
                "geom": _ewkb(r.geometry),
            }
            for r in geo.crossing_points.itertuples()
        ],
    )
    await _upsert(
        conn, corridor, "buffer_km", [{"buffer_km": corridor_km, "geom": _ewkb(geo.corridor)}]
    )


async def reference_counts(conn: AsyncConnection) -> dict[str, int]:
    out = {}
    for table in (countries, borders, border_sections, crossing_points, corridor):
        out[table.name] = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    return out
