"""/ogc/collections/{id}/tiles: Mapbox Vector Tiles of every layer on the WebMercatorQuad
matrix, their tileset description and a TileJSON."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from geo_service.api.caching import conditional
from geo_service.api.deps import (
    CallerDep,
    Filter,
    Geo,
    ReadEngine,
    ResultCacheDep,
    SettingsDep,
    SharedResultsDep,
    bad_parameter,
)
from geo_service.api.routes.ogc import JSON, filtered_layer, layer_of
from geo_service.geo.tiles import MAX_ZOOM, Tile, out_of_matrix
from geo_service.services.layer_catalog import Layer
from geo_service.services.tiles import vector_tile

router = APIRouter(prefix="/ogc/collections/{collection_id}/tiles", tags=["OGC API"])
MVT = "application/vnd.mapbox-vector-tile"
WEB_MERCATOR_QUAD = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
# Incident layers change with every report: clients revalidate (304 when unchanged).
# Reference geography changes only when it is reloaded.
LIVE = "private, no-cache"
REFERENCE = "public, max-age=3600"


def _template(request: Request, collection_id: str) -> str:
    base = str(request.url_for("ogc_tilesets", collection_id=collection_id))
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{base}/WebMercatorQuad/{{z}}/{{x}}/{{y}}{query}"


def _is_live(layer: Layer) -> bool:
    return layer.table == "incidents" or layer.source.get("aggregate") == "incidents"


@router.get("", name="ogc_tilesets", summary="The vector tilesets of a collection")
async def tilesets(collection_id: str, request: Request, settings: SettingsDep) -> Response:
    layer = layer_of(settings, collection_id)
    here = str(request.url_for("ogc_tilesets", collection_id=layer.id))
    body = {
        "tilesets": [
            {
                "title": f"{layer.titles['en']} (vector tiles)",
                "dataType": "vector",
                "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                "tileMatrixSetURI": WEB_MERCATOR_QUAD,
                "links": [
                    {"rel": "self", "type": JSON, "href": f"{here}/WebMercatorQuad"},
                    {
                        "rel": "item",
                        "type": MVT,
                        "templated": True,
                        "href": _template(request, layer.id),
                    },
                    {
                        "rel": "describedby",
                        "type": JSON,
                        "href": f"{here}/WebMercatorQuad/tilejson.json",
                    },
                ],
            }
        ]
    }
    return Response(orjson.dumps(body), media_type=JSON)


@router.get(
    "/WebMercatorQuad/tilejson.json",
    summary="TileJSON 3.0 of a collection's vector tiles",
    description="The tile URL carries this request's query (filters of incident layers).",
)
async def tilejson(
    collection_id: str, request: Request, settings: SettingsDep, geo: Geo
) -> Response:
    layer = layer_of(settings, collection_id)
    west, south, east, north = geo.region.bounds
    fields: dict[str, Any] = {p: "" for p in layer.tile_properties}
    body = {
        "tilejson": "3.0.0",
        "name": layer.titles["en"],
        "description": f"{layer.titles['en']} — {layer.titles['bs']} — {layer.titles['sr-Cyrl']}",
        "scheme": "xyz",
        "tiles": [_template(request, layer.id)],
        "minzoom": layer.min_zoom,
        "maxzoom": min(layer.max_zoom, MAX_ZOOM),
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, max(layer.min_zoom, 7)],
        "vector_layers": [
            {
                "id": layer.id,
                "fields": fields,
                "minzoom": layer.min_zoom,
                "maxzoom": min(layer.max_zoom, MAX_ZOOM),
            }
        ],
    }
    return Response(orjson.dumps(body), media_type=JSON)


@router.get(
    "/WebMercatorQuad/{z}/{x}/{y}",
    name="ogc_tile",
    summary="One Mapbox Vector Tile",
    description="Incident layers take the filters of their items. Where more than "
    "5,000 incidents meet a tile, it holds their counts per H3 cell instead (each feature "
    "has `aggregated` true; header `Tile-Aggregated: h3-resolution=N`). incident-hexes "
    "draws the H3 resolution the zoom calls for, or `resolution`.",
    responses={200: {"content": {MVT: {}}}, 304: {"description": "Not modified"}},
)
async def tile(
    collection_id: str,
    request: Request,
    settings: SettingsDep,
    engine: ReadEngine,
    caller: CallerDep,
    geo: Geo,
    where: Filter,
    cache: ResultCacheDep,
    shared: SharedResultsDep,
    z: Annotated[int, Path(description="zoom (tile matrix)")],
    x: Annotated[int, Path(description="column")],
    y: Annotated[int, Path(description="row")],
    resolution: Annotated[
        int | None,
        Query(ge=5, le=9, description="incident-hexes: H3 resolution instead of the zoom's"),
    ] = None,
) -> Response:
    layer = filtered_layer(settings, collection_id, where)
    fault = out_of_matrix(z, x, y)
    if fault is not None:
        raise bad_parameter(*fault.split(": ", 1))
    made = await vector_tile(
        engine,
        caller,
        geo,
        layer,
        where,
        Tile(z, x, y),
        resolution=resolution,
        cache=cache,
        shared=shared,
        settings=settings,
    )
    headers = {}
    if made.aggregated_at is not None:
        headers["Tile-Aggregated"] = f"h3-resolution={made.aggregated_at}"
    return conditional(request, made.content, MVT, LIVE if _is_live(layer) else REFERENCE, headers)
