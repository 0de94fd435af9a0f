"""GeoJSON responses: one feature, and one page of features with its `self` and `next` links."""

from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from geo_service.services.incidents import Page

GEOJSON = "application/geo+json"


def geojson(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type=GEOJSON)


def feature_page(request: Request, page: Page) -> Response:
    """A FeatureCollection of one page, linking to itself and, while more match, the next."""
    links = [{"rel": "self", "href": str(request.url), "type": GEOJSON}]
    if page.next_cursor:
        next_url = request.url.include_query_params(cursor=page.next_cursor)
        links.append({"rel": "next", "href": str(next_url), "type": GEOJSON})
    return geojson(
        {
            "type": "FeatureCollection",
            "features": page.features,
            "numberReturned": len(page.features),
            "links": links,
        }
    )
