"""Vector tiles of any catalog layer: reference layers as they are, incidents as points (or
their counts per hexagon where a tile would hold too many), hexagons at the zoom's
resolution."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.geo.tiles import (
    MAX_CELLS_PER_TILE,
    Tile,
    TileCells,
    cells_in_tile,
    resolution_at_zoom,
    tile_cells,
)
from geo_service.services import layer_features
from geo_service.services.errors import FieldError, InvalidInput, NotFound
from geo_service.services.hexes import RESOLUTIONS
from geo_service.services.layer_catalog import Layer
from geo_service.services.result_cache import ResultCache, kept
from geo_service.services.shared_results import SharedResults, shared_or_made
from geo_service.settings import Settings
from geo_service.store import tiles
from geo_service.store.hexes import Within
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

# More incident points than this in one tile and the tile holds their counts per hexagon
# instead: no tile is ever cut short, and none grows without bound.
MAX_POINTS_PER_TILE = 5_000


# Incident counts in a crowded tile go to cells one resolution finer than the zoom draws as
# hexagons, at most this one (whose counts the database keeps).
CLUSTER_RESOLUTION_MAX = 7


def _cells(tile: Tile, resolution: int, geo: Geography, parameter: str) -> TileCells:
    if cells_in_tile(tile, resolution, geo.region) > MAX_CELLS_PER_TILE:
        raise InvalidInput(
            errors=[
                FieldError(
                    parameter,
                    f"too fine for zoom {tile.z}: over {MAX_CELLS_PER_TILE:,} hexagons in "
                    "one tile; choose a coarser resolution or zoom in",
                )
            ]
        )
    return tile_cells(tile, resolution, geo.region)


@dataclass(frozen=True)
class VectorTile:
    content: bytes
    # None, or the H3 resolution whose cells the incident points were counted in instead.
    aggregated_at: int | None = None


async def vector_tile(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    layer: Layer,
    where: IncidentFilter,
    tile: Tile,
    *,
    resolution: int | None = None,
    cache: ResultCache | None = None,
    shared: SharedResults | None = None,
    settings: Settings | None = None,
) -> VectorTile:
    """The tile of `layer` (incident layers narrowed by `where` and what `caller` sees), from
    `cache` when nothing changed since it was made there, or from what another process of
    the service filed in `shared` for the same data."""
    if resolution is not None and resolution not in RESOLUTIONS:
        raise InvalidInput(errors=[FieldError("resolution", "must be between 5 and 9")])
    key = ("tile", layer.id, tile, where, resolution, caller)
    return await kept(
        cache,
        key,
        lambda: shared_or_made(
            shared,
            key,
            lambda: _make(
                engine, caller, geo, layer, where, tile, resolution, settings, cache=cache
            ),
            _encoded,
            _decoded,
        ),
        lambda made: len(made.content),
    )


def _encoded(made: VectorTile) -> bytes:
    """A tile as one byte (the resolution it was aggregated at; 0: none) and its content."""
    return bytes([made.aggregated_at or 0]) + made.content


def _decoded(data: bytes) -> VectorTile:
    return VectorTile(data[1:], data[0] or None)


async def _make(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    layer: Layer,
    where: IncidentFilter,
    tile: Tile,
    resolution: int | None,
    settings: Settings | None = None,
    *,
    cache: ResultCache | None = None,
) -> VectorTile:
    if layer.source.get("by") in ("gi-star", "emerging"):
        raise NotFound(f"{layer.id!r} is served as features, not tiles")
    if layer.source.get("aggregate") == "incidents":
        res = resolution or resolution_at_zoom(tile.z)
        drawn = _cells(tile, res, geo, "resolution")
        if not len(drawn.cells):
            return VectorTile(b"")
        async with engine.connect() as conn:
            content = await tiles.hexagon_tile(
                conn,
                caller,
                where,
                tile,
                layer.id,
                resolution=res,
                within=Within(drawn.cells.tolist(), drawn.box),
                polygons=drawn.polygons,
            )
        return VectorTile(content)
    assert layer.table is not None, "a layer has a table or aggregates one"
    async with engine.connect() as conn:
        if layer.table == "incidents":
            points = await tiles.incident_points(
                conn,
                caller,
                where,
                tile,
                layer.visible_tile_properties(caller.role),
                layer.id,
                max_points=MAX_POINTS_PER_TILE,
            )
            if points is not None:
                return VectorTile(points)
            cluster_at = min(resolution_at_zoom(tile.z) + 1, CLUSTER_RESOLUTION_MAX)
            clusters = _cells(tile, cluster_at, geo, "z")
            content = await tiles.incident_clusters(
                conn,
                caller,
                where,
                tile,
                layer.id,
                resolution=cluster_at,
                clusters=Within(clusters.cells.tolist(), clusters.box),
                centres=clusters.centres,
            )
            return VectorTile(content, cluster_at)
        values = await layer_features.computed_values(engine, caller, geo, settings, layer, cache)
        computed = {name: {key: v[name] for key, v in values.items()} for name in layer.computed}
        content = await tiles.reference_tile(
            conn,
            layer.table,
            layer.visible_tile_properties(caller.role),
            layer.id,
            tile,
            computed,
        )
    return VectorTile(content)
