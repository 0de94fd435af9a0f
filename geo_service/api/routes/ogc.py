"""/ogc: OGC API Features — landing page, conformance, the collections of the layer catalog
and their items."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from geo_service.api.deps import (
    MAX_LIMIT,
    CallerDep,
    Filter,
    Geo,
    ReadEngine,
    ResultCacheDep,
    SettingsDep,
    bad_parameter,
)
from geo_service.api.geojson import GEOJSON, feature_page, geojson
from geo_service.api.problems import HTTPProblem
from geo_service.geo.reference import Geography
from geo_service.services import layer_features
from geo_service.services.layer_catalog import Layer, load_catalog
from geo_service.store import cql

router = APIRouter(prefix="/ogc", tags=["OGC API"])
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
)
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
JSON = "application/json"
_features: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {}}}}


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


def _collection(request: Request, layer: Layer, geo: Geography) -> dict[str, Any]:
    base = str(request.url_for("ogc_collection", collection_id=layer.id))
    return {
        "id": layer.id,
        "title": layer.titles["en"],
        "titles": layer.titles,
        "itemType": "feature",
        # The region the service covers: where every layer's features lie.
        "extent": {"spatial": {"bbox": [list(geo.region.bounds)]}},
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"rel": "self", "type": JSON, "href": base},
            {"rel": "items", "type": "application/geo+json", "href": f"{base}/items"},
            {
                "rel": QUERYABLES_REL,
                "type": "application/schema+json",
                "href": f"{base}/queryables",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                "type": JSON,
                "href": f"{base}/tiles",
            },
        ],
    }


@router.get("", name="ogc_landing", summary="OGC API landing page")
async def landing(request: Request) -> Response:
    def link(rel: str, name: str, kind: str = JSON) -> dict[str, str]:
        return {"rel": rel, "type": kind, "href": str(request.url_for(name))}

    return _json(
        {
            "title": "Border situation service",
            "description": "Incidents and reference geography of the BiH–Serbia, "
            "BiH–Montenegro and Serbia–Montenegro borders",
            "links": [
                link("self", "ogc_landing"),
                link("conformance", "ogc_conformance"),
                link("data", "ogc_collections"),
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "href": str(request.base_url).rstrip("/") + request.app.openapi_url,
                },
            ],
        }
    )


@router.get("/conformance", name="ogc_conformance", summary="Conformance classes")
async def conformance() -> Response:
    return _json({"conformsTo": list(CONFORMANCE)})


@router.get("/collections", name="ogc_collections", summary="The layers, as collections")
async def collections(request: Request, settings: SettingsDep, geo: Geo) -> Response:
    catalog = load_catalog(settings.layers_dir)
    return _json(
        {
            "links": [{"rel": "self", "type": JSON, "href": str(request.url)}],
            "collections": [_collection(request, layer, geo) for layer in catalog.values()],
        }
    )


def layer_of(settings: Any, collection_id: str) -> Layer:
    layer = load_catalog(settings.layers_dir).get(collection_id)
    if layer is None:
        raise HTTPProblem(404, "Not found", f"no collection {collection_id!r}")
    return layer


@router.get("/collections/{collection_id}", name="ogc_collection", summary="One collection")
async def collection(
    collection_id: str, request: Request, settings: SettingsDep, geo: Geo
) -> Response:
    return _json(_collection(request, layer_of(settings, collection_id), geo))


@router.get(
    "/collections/{collection_id}/queryables",
    name="ogc_queryables",
    summary="What a collection's features may be filtered by (CQL2 `filter`), as JSON Schema",
    responses={200: {"content": {"application/schema+json": {}}}},
)
async def queryables(collection_id: str, request: Request, settings: SettingsDep) -> Response:
    layer = layer_of(settings, collection_id)
    properties = (
        {name: {"title": name, **schema} for name, (_, schema) in cql.QUERYABLES.items()}
        if layer.of_incidents
        else {}
    )
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": str(request.url_for("ogc_queryables", collection_id=collection_id)),
        "type": "object",
        "title": layer.titles["en"],
        "properties": properties,
        "additionalProperties": False,
    }
    return Response(orjson.dumps(body), media_type="application/schema+json")


def filtered_layer(settings: Any, collection_id: str, where: Any) -> Layer:
    """The collection's layer; a CQL2 filter on a layer not made of incidents is refused."""
    layer = layer_of(settings, collection_id)
    if where.cql is not None and not layer.of_incidents:
        raise bad_parameter("filter", f"{collection_id} has no queryables")
    return layer


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    description="GeoJSON, a page at a time with a `next` link; incidents take the filters of "
    "GET /api/v1/incidents (one query path for both).",
    responses=_features,
)
async def items(
    collection_id: str,
    request: Request,
    settings: SettingsDep,
    engine: ReadEngine,
    caller: CallerDep,
    geo: Geo,
    where: Filter,
    cache: ResultCacheDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(description="from a `next` link")] = None,
    resolution: Annotated[
        int | None,
        Query(ge=5, le=9, description="H3 resolution of incident-hexes (5–9) and hot spots (6–9)"),
    ] = None,
    corridor: Annotated[bool, Query(description="incident-hexes: corridor cells only")] = False,
    include_empty: Annotated[
        bool, Query(description="incident-hexes with corridor=true: empty cells too")
    ] = False,
    step: Annotated[
        str, Query(description="emerging-hotspots: daily, weekly or monthly steps")
    ] = "weekly",
    steps: Annotated[
        int, Query(ge=1, le=520, description="emerging-hotspots: steps back from the end")
    ] = 12,
) -> Response:
    layer = filtered_layer(settings, collection_id, where)
    page = await layer_features.items(
        engine,
        caller,
        layer,
        where,
        limit=limit,
        cursor=cursor,
        resolution=resolution,
        geo=geo,
        corridor=corridor,
        include_empty=include_empty,
        step=step,
        steps=steps,
        cache=cache,
        settings=settings,
    )
    return feature_page(request, page)


@router.get(
    "/collections/{collection_id}/items/{feature_id}", summary="One feature", responses=_features
)
async def item(
    collection_id: str,
    feature_id: str,
    settings: SettingsDep,
    engine: ReadEngine,
    caller: CallerDep,
    geo: Geo,
) -> Response:
    layer = layer_of(settings, collection_id)
    feature = await layer_features.item(engine, caller, layer, feature_id, geo, settings)
    return geojson(feature)
