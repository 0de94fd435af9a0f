"""/api/v1/layers: the layer catalog as the map pages draw it — titles in three languages,
zoom range, style, legend and where each layer's features and tiles are."""

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from geo_service.api.deps import SettingsDep
from geo_service.services.layer_catalog import Layer, load_catalog

router = APIRouter(prefix="/api/v1", tags=["Layers"])


def _entry(request: Request, layer: Layer) -> dict[str, Any]:
    collection = str(request.url_for("ogc_collection", collection_id=layer.id))
    return {
        "id": layer.id,
        "titles": layer.titles,
        "geometry": layer.geometry,
        "minZoom": layer.min_zoom,
        "maxZoom": layer.max_zoom,
        "queryables": list(layer.queryables),
        "style": layer.style,
        "legend": layer.legend,
        "live": layer.table == "incidents" or layer.source.get("aggregate") == "incidents",
        # Drawn from vector tiles; the others (reference geography, hot spots) as GeoJSON.
        "tiled": layer.table == "incidents" or layer.source.get("by") == "h3",
        "links": {
            "items": f"{collection}/items",
            "tiles": f"{collection}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}",
            "tilejson": f"{collection}/tiles/WebMercatorQuad/tilejson.json",
        },
    }


@router.get("/layers", summary="The map layers, from the layer catalog")
async def layers(request: Request, settings: SettingsDep) -> Response:
    catalog = load_catalog(settings.layers_dir)
    basemap = (
        {"url": settings.basemap_url, "attribution": settings.basemap_attribution}
        if settings.basemap_url
        else None
    )
    body = {"layers": [_entry(request, layer) for layer in catalog.values()], "basemap": basemap}
    return Response(orjson.dumps(body), media_type="application/json")
