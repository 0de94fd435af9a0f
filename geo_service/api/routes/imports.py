"""/api/v1/imports: many incidents at once, through the same path as `geo-service import`."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from geo_service.api.body import read_body, require_media_type
from geo_service.api.deps import Engine, Geo, OfficerDep, SettingsDep, TrailDep
from geo_service.api.problems import PROBLEM_JSON
from geo_service.metrics import IMPORTS, INCIDENTS_WRITTEN
from geo_service.services import bulk_import
from geo_service.services.errors import ServiceError
from geo_service.services.readers import MEDIA_TYPES, read_bytes

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
_problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.post(
    "",
    status_code=201,
    summary="Import incidents",
    description="A GeoJSON FeatureCollection, a CSV (lon/lat or WKT columns, apprehensions as a "
    "JSON array), a GeoPackage or a GeoParquet file as the body. All or nothing: one bad row "
    "refuses the whole import with every bad row's number and reason, unless "
    "`skip_invalid=true`, which imports the good rows and lists the rejected ones. Rows already "
    "stored with the same content are counted as unchanged.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/geo+json": {"schema": {"type": "object"}},
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "agency,external_ref,category,occurred_at,lon,lat,apprehensions\n"
                    "BIH_BP,GP-ZV-1,unauthorised_crossing,2026-11-28T02:40:00+01:00,19.10,44.39,"
                    '"[{""nationality"": ""AFG"", ""persons"": 5}]"\n',
                },
                "application/geopackage+sqlite3": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
    responses={
        201: {
            "description": "Imported",
            "content": {
                "application/json": {
                    "example": {
                        "received": 2,
                        "created": 1,
                        "unchanged": 0,
                        "rejected": 1,
                        "errors": [{"row": 2, "field": "category", "reason": "unknown category"}],
                    }
                }
            },
        },
        400: {"description": "Unreadable body", **_problem},
        409: {"description": "A reference was taken meanwhile", **_problem},
        413: {"description": "Body too large", **_problem},
        415: {"description": "Unsupported format", **_problem},
        422: {"description": "Refused rows; nothing imported", **_problem},
    },
)
async def import_incidents(
    request: Request,
    engine: Engine,
    caller: OfficerDep,
    geo: Geo,
    config: SettingsDep,
    trail: TrailDep,
    skip_invalid: Annotated[bool, Query(description="import the good rows, list the bad")] = False,
) -> Response:
    kind = require_media_type(request, tuple(MEDIA_TYPES))
    body = await read_body(request, config.max_import_bytes)
    table = read_bytes(body, MEDIA_TYPES[kind])
    try:
        report = await bulk_import.import_table(
            engine,
            caller,
            geo,
            table,
            skip_invalid=skip_invalid,
            trail=trail,
            trail_detail={"format": kind},
        )
    except ServiceError:
        IMPORTS.labels("refused").inc()
        raise
    IMPORTS.labels("taken").inc()
    INCIDENTS_WRITTEN.labels("import").inc(report.created)
    return Response(orjson.dumps(report.as_dict()), 201, media_type="application/json")
