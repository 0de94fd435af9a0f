"""Mapbox Vector Tiles made by PostGIS (ST_AsMVT): reference tables, incident points (or,
where a tile would hold too many, their counts per H3 cell), and incidents per hexagon."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    Select,
    Text,
    bindparam,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.geo.tiles import Tile
from geo_service.store.incidents import IncidentFilter, matching
from geo_service.store.models import incidents, metadata
from geo_service.store.visibility import Caller, visible_incidents

EXTENT = 4096
BUFFER = 64


def _envelope(tile: Tile) -> Any:
    return func.ST_TileEnvelope(tile.z, tile.x, tile.y)


def _touching(geom: Any, tile: Tile) -> Any:
    """`geom` (WGS84) meets the tile, with the rendering buffer around it."""
    margin = func.ST_TileEnvelope(
        tile.z,
        tile.x,
        tile.y,
        func.ST_MakeEnvelope(
            -20037508.342789244, -20037508.342789244, 20037508.342789244, 20037508.342789244, 3857
        ),
        BUFFER / EXTENT,
    )
    return geom.op("&&")(func.ST_Transform(margin, 4326))


def _tile_geom(geom: Any, tile: Tile) -> Any:
    return func.ST_AsMVTGeom(
        func.ST_Transform(geom, 3857), _envelope(tile), EXTENT, BUFFER, True
    ).label("geom")


async def _encode(
    conn: AsyncConnection, rows: Select[Any], layer: str, id_column: str | None = None
) -> bytes:
    t = rows.subquery("t")
    args: list[Any] = [literal_column("t"), literal(layer), EXTENT, literal("geom")]
    if id_column is not None:
        args.append(literal(id_column))
    stmt = select(func.ST_AsMVT(*args)).select_from(t).where(t.c.geom.is_not(None))
    tile = (await conn.execute(stmt)).scalar_one()
    return bytes(tile or b"")


async def reference_tile(
    conn: AsyncConnection, table_name: str, columns: Sequence[str], layer: str, tile: Tile
) -> bytes:
    """A reference table's features meeting the tile, with `columns` as properties."""
    table = metadata.tables[table_name]
    rows = select(*(table.c[c] for c in columns), _tile_geom(table.c.geom, tile)).where(
        _touching(table.c.geom, tile)
    )
    return await _encode(conn, rows, layer)


def _iso(column: Any) -> Any:
    return func.to_char(func.timezone("UTC", column), literal('YYYY-MM-DD"T"HH24:MI:SS"Z"')).label(
        column.name
    )


async def incident_tile(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    columns: Sequence[str],
    layer: str,
    *,
    max_points: int,
    cluster_resolution: int,
) -> tuple[bytes, bool]:
    """The incidents meeting the tile as points with `columns`; or, when more than
    `max_points` do, one point per H3 cell of `cluster_resolution` (at the mean position of
    its incidents, with their count). The flag tells which."""
    c = incidents.c
    chosen = matching(visible_incidents(caller, c.id), where).where(_touching(c.geom, tile))
    counted = select(func.count()).select_from(chosen.limit(max_points + 1).subquery())
    if (await conn.execute(counted)).scalar_one() <= max_points:
        props = [_iso(c[n]) if n in ("occurred_at", "reported_at") else c[n] for n in columns]
        points = matching(
            visible_incidents(caller, c.id, *props, _tile_geom(c.geom, tile)), where
        ).where(_touching(c.geom, tile))
        return await _encode(conn, points, layer, "id"), False
    cell = c[f"h3_res{cluster_resolution}"]
    clusters = (
        matching(
            visible_incidents(
                caller,
                func.to_hex(cell).label("h3"),
                literal(cluster_resolution).label("resolution"),
                literal(True).label("aggregated"),
                func.count().label("incidents"),
                func.sum(c.persons_involved).cast(Integer).label("persons_involved"),
                _tile_geom(func.ST_Centroid(func.ST_Collect(c.geom)), tile),
            ),
            where,
        )
        .where(_touching(c.geom, tile))
        .group_by(cell)
    )
    return await _encode(conn, clusters, layer), True


async def hexagon_tile(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    layer: str,
    *,
    resolution: int,
    cells: Sequence[int],
    polygons: Sequence[bytes],
    box: tuple[float, float, float, float],
) -> bytes:
    """Incidents counted per H3 cell of `resolution` on the stored cell column, drawn as the
    hexagons `polygons` of `cells` (those touching the tile; `box` holds them all)."""
    c = incidents.c
    cell = c[f"h3_res{resolution}"]
    per_category = (
        matching(
            visible_incidents(
                caller,
                cell.label("cell"),
                c.category,
                func.count().label("n"),
                func.sum(c.persons_involved).label("persons"),
            ),
            where,
        )
        .where(c.geom.op("&&")(func.ST_MakeEnvelope(*box, 4326)))
        .group_by(cell, c.category)
        .subquery("per_category")
    )
    drawn = (
        func.unnest(
            bindparam("cells", list(cells), type_=ARRAY(BigInteger)),
            bindparam("polygons", list(polygons), type_=ARRAY(LargeBinary)),
        )
        .table_valued("cell", "wkb")
        .render_derived(name="drawn")
    )
    rows = (
        select(
            func.to_hex(drawn.c.cell).label("h3"),
            literal(resolution).label("resolution"),
            func.sum(per_category.c.n).cast(Integer).label("incidents"),
            func.sum(per_category.c.persons).cast(Integer).label("persons_involved"),
            func.json_object_agg(per_category.c.category, per_category.c.n)
            .cast(Text)
            .label("by_category"),
            _tile_geom(func.ST_GeomFromWKB(drawn.c.wkb, 4326), tile),
        )
        .select_from(per_category.join(drawn, drawn.c.cell == per_category.c.cell))
        .group_by(drawn.c.cell, drawn.c.wkb)
    )
    return await _encode(conn, rows, layer)
