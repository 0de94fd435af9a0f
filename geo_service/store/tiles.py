"""Mapbox Vector Tiles made by PostGIS (ST_AsMVT): reference tables, incident points (or,
where a tile would hold too many, their counts per H3 cell), and incidents per hexagon."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    Select,
    Text,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.geo.tiles import Tile
from geo_service.store.hexes import Within, cell_counts
from geo_service.store.incidents import IncidentFilter, matching
from geo_service.store.models import incidents, metadata
from geo_service.store.reused import Reused
from geo_service.store.visibility import Caller, visible_incidents

EXTENT = 4096
BUFFER = 64


@dataclass(frozen=True)
class _AnyTile:
    """A tile whose z, x, y are parameters of the statement (`_tile_params`)."""

    z: Any
    x: Any
    y: Any


ANY_TILE = _AnyTile(*(bindparam(f"tile_{a}", type_=Integer) for a in "zxy"))


def _tile_params(tile: Tile) -> dict[str, int]:
    return {"tile_z": tile.z, "tile_x": tile.x, "tile_y": tile.y}


def _envelope(tile: Tile | _AnyTile) -> Any:
    return func.ST_TileEnvelope(tile.z, tile.x, tile.y)


def _touching(geom: Any, tile: Tile | _AnyTile) -> Any:
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


def _tile_geom(geom: Any, tile: Tile | _AnyTile) -> Any:
    return func.ST_AsMVTGeom(
        func.ST_Transform(geom, 3857), _envelope(tile), EXTENT, BUFFER, True
    ).label("geom")


def _mvt(rows: Select[Any], layer: str, id_column: str | None = None) -> Select[Any]:
    t = rows.subquery("t")
    args: list[Any] = [literal_column("t"), literal(layer), EXTENT, literal("geom")]
    if id_column is not None:
        args.append(literal(id_column))
    return select(func.ST_AsMVT(*args)).select_from(t).where(t.c.geom.is_not(None))


async def _encode(
    conn: AsyncConnection,
    rows: Select[Any],
    layer: str,
    id_column: str | None = None,
) -> bytes:
    tile = (await conn.execute(_mvt(rows, layer, id_column))).scalar_one()
    return bytes(tile or b"")


async def reference_tile(
    conn: AsyncConnection,
    table_name: str,
    columns: Sequence[str],
    layer: str,
    tile: Tile,
    computed: dict[str, dict[str, Any]] | None = None,
) -> bytes:
    """A reference table's features meeting the tile, with `columns` as properties, and the
    `computed` ones (property → feature key → value) beside them."""
    table = metadata.tables[table_name]
    pk = next(iter(table.primary_key.columns))
    rows = select(*(table.c[c] for c in columns), _tile_geom(table.c.geom, tile)).where(
        _touching(table.c.geom, tile)
    )
    if computed:
        keys = sorted({k for values in computed.values() for k in values})
        arrays = [bindparam("computed_keys", keys, type_=ARRAY(Text))]
        for name, values in computed.items():
            arrays.append(
                bindparam(f"computed_{name}", [values.get(k) for k in keys], type_=ARRAY(Text))
            )
        given = func.unnest(*arrays).table_valued("key", *computed).render_derived(name="given")
        rows = rows.add_columns(*(given.c[name] for name in computed)).outerjoin(
            given, given.c.key == pk.cast(Text)
        )
    return await _encode(conn, rows, layer)


def _iso(column: Any) -> Any:
    return func.to_char(func.timezone("UTC", column), literal('YYYY-MM-DD"T"HH24:MI:SS"Z"')).label(
        column.name
    )


async def incident_points(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    columns: Sequence[str],
    layer: str,
    *,
    max_points: int,
) -> bytes | None:
    """The incidents meeting the tile as points with `columns`, or None when more than
    `max_points` do. One statement: the incidents are found once, by their ids alone (at most
    one more than `max_points`), counted, and drawn only when that count allows."""
    found = (
        await conn.execute(
            _point_statement(caller, where, tuple(columns), layer, max_points), _tile_params(tile)
        )
    ).one()
    if found.n > max_points:
        return None
    return bytes(found.tile or b"")


# The statements of point tiles, made once per caller, filter and layer and reused for every
# tile (its z, x, y as parameters): a wall map asks for dozens of tiles of one filter.
_POINT_STATEMENTS: Reused[Select[Any]] = Reused(256)


def _point_statement(
    caller: Caller, where: IncidentFilter, columns: tuple[str, ...], layer: str, max_points: int
) -> Select[Any]:
    def make() -> Select[Any]:
        c = incidents.c
        tile = ANY_TILE
        chosen = (
            matching(visible_incidents(caller, c.id), where)
            .where(_touching(c.geom, tile))
            .limit(max_points + 1)
            .cte("chosen")
        )
        counted = select(func.count().label("n")).select_from(chosen).subquery("counted")
        n = counted.c.n
        props = [
            _iso(c[name]) if name in ("occurred_at", "reported_at") else c[name] for name in columns
        ]
        points = visible_incidents(caller, c.id, *props, _tile_geom(c.geom, tile)).join(
            chosen, chosen.c.id == c.id
        )
        drawn = _mvt(points, layer, "id").scalar_subquery()
        # The tile is drawn only when it may be: a scalar subquery runs when first needed.
        return select(n, case((n > max_points, null()), else_=drawn).label("tile"))

    return _POINT_STATEMENTS.get((caller, where, columns, layer, max_points), make)


async def incident_clusters(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    layer: str,
    *,
    resolution: int,
    clusters: Within,
    centres: Sequence[bytes],
) -> bytes:
    """The incidents meeting the tile as one point per H3 cell of `resolution` among
    `clusters` (at the cell's centre, `centres` in the same order), with the count."""
    return await _per_cell_tile(
        conn, caller, where, tile, layer, resolution, clusters, centres, aggregated=True
    )


async def _per_cell_tile(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    layer: str,
    resolution: int,
    within: Within,
    shapes: Sequence[bytes],
    *,
    aggregated: bool = False,
) -> bytes:
    counts = cell_counts(caller, where, resolution, within=within).subquery("counts")
    drawn = (
        func.unnest(
            bindparam("drawn_cells", list(within.cells), type_=ARRAY(BigInteger)),
            bindparam("shapes", list(shapes), type_=ARRAY(LargeBinary)),
        )
        .table_valued("cell", "wkb")
        .render_derived(name="drawn")
    )
    extra = [literal(True).label("aggregated")] if aggregated else []
    rows = select(
        func.to_hex(drawn.c.cell).label("h3"),
        literal(resolution).label("resolution"),
        *extra,
        counts.c.incidents,
        counts.c.persons_involved.cast(Integer).label("persons_involved"),
        counts.c.by_category.cast(Text).label("by_category"),
        _tile_geom(func.ST_GeomFromWKB(drawn.c.wkb, 4326), tile),
    ).select_from(counts.join(drawn, drawn.c.cell == counts.c.cell))
    return await _encode(conn, rows, layer)


async def hexagon_tile(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    tile: Tile,
    layer: str,
    *,
    resolution: int,
    within: Within,
    polygons: Sequence[bytes],
) -> bytes:
    """Incidents counted per H3 cell of `resolution` (the stored cell column, through the
    counts kept per cell where they serve), drawn as the hexagons `polygons` of the cells of
    `within` (those touching the tile)."""
    return await _per_cell_tile(conn, caller, where, tile, layer, resolution, within, polygons)
