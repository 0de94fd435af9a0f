"""/api/v1/incidents: report, read, list, change and delete incidents."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response

from geo_service import domain
from geo_service.api.body import read_body, require_media_type
from geo_service.api.deps import (
    MAX_LIMIT,
    AnalystDep,
    Engine,
    Filter,
    Geo,
    OfficerDep,
    ReadEngine,
    ResultCacheDep,
    SettingsDep,
    TrailDep,
)
from geo_service.api.geojson import GEOJSON, feature_page, geojson
from geo_service.api.problems import PROBLEM_JSON, HTTPProblem
from geo_service.metrics import INCIDENTS_WRITTEN
from geo_service.services import features, ingest
from geo_service.services import incidents as service
from geo_service.services.errors import FieldError

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
FEATURE_TYPES = (GEOJSON, "application/json")
PATCH_TYPES = ("application/merge-patch+json", "application/json", GEOJSON)

_feature_body = {
    "requestBody": {
        "required": True,
        "content": {
            t: {"schema": {"$ref": "#/components/schemas/IncidentFeature"}} for t in FEATURE_TYPES
        },
    }
}
_problem = {"content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_feature_out = {"content": {GEOJSON: {"schema": {"$ref": "#/components/schemas/IncidentFeature"}}}}
IncidentId = Annotated[int, Path(ge=1, le=domain.MAX_ID)]


def _etag(version: int) -> str:
    return f'"{version}"'


def _version(if_match: str | None, *, required: bool) -> int | None:
    if if_match is None:
        if required:
            raise HTTPProblem(
                428,
                "Precondition required",
                "send If-Match with the ETag (the version) of the incident as last read",
                [FieldError("If-Match", "is required")],
            )
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise HTTPProblem(
            400,
            "Invalid request",
            'If-Match must be the ETag of the incident, e.g. "3"',
            [FieldError("If-Match", f"not an ETag of this service: {if_match!r}")],
        )
    return int(value)


@router.post(
    "",
    status_code=201,
    summary="Report an incident",
    description="One incident with its apprehension groups, as a GeoJSON Feature. Idempotent on "
    "(agency, external_ref): the same body again answers 200 with the same incident; a "
    "different body under the same reference answers 409.",
    openapi_extra=_feature_body,
    responses={
        201: {"description": "Created", **_feature_out},
        200: {"description": "Already stored: the same submission", **_feature_out},
        409: {"description": "Reference taken by different content", **_problem},
        413: {"description": "Body too large", **_problem},
        415: {"description": "Not GeoJSON", **_problem},
        422: {"description": "Refused; each field and reason listed", **_problem},
    },
)
async def create(
    request: Request,
    engine: Engine,
    caller: OfficerDep,
    geo: Geo,
    config: SettingsDep,
    trail: TrailDep,
) -> Response:
    require_media_type(request, FEATURE_TYPES)
    body = await read_body(request, config.max_incident_bytes)
    feature = features.parse_feature(body)
    features.check_new(feature)
    rows = features.feature_rows(feature)
    created = await ingest.create_incident(engine, caller, geo, rows, trail)
    out = created.feature or await service.get_feature(engine, caller, created.id)
    location = f"{router.prefix}/{created.id}"
    headers = {"Location": location, "ETag": _etag(out["properties"]["version"])}
    if created.created:
        INCIDENTS_WRITTEN.labels("api").inc()
    return geojson(out, 201 if created.created else 200, headers)


@router.get(
    "",
    summary="List incidents",
    description="A GeoJSON FeatureCollection, newest first, with a `next` link while more match.",
    responses={200: {"content": {GEOJSON: {}}}, 400: {"description": "Bad parameter", **_problem}},
)
async def list_incidents(
    request: Request,
    engine: ReadEngine,
    caller: AnalystDep,
    where: Filter,
    cache: ResultCacheDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 100,
    cursor: Annotated[str | None, Query(description="from a `next` link")] = None,
) -> Response:
    page = await service.list_features(
        engine, caller, where, limit=limit, cursor=cursor, cache=cache
    )
    return feature_page(request, page)


@router.get(
    "/{incident_id}",
    name="get_incident",
    summary="Read one incident",
    responses={200: {"description": "The incident", **_feature_out}, 404: _problem},
)
async def get_one(incident_id: IncidentId, engine: ReadEngine, caller: AnalystDep) -> Response:
    feature = await service.get_feature(engine, caller, incident_id)
    return geojson(feature, headers={"ETag": _etag(feature["properties"]["version"])})


@router.patch(
    "/{incident_id}",
    summary="Change an incident",
    description="A JSON merge patch (RFC 7396) of the Feature. Send `If-Match` with the ETag "
    "last read: 412 if the incident changed since, 428 without it.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/merge-patch+json": {
                    "schema": {"type": "object"},
                    "example": {"properties": {"status": "closed", "impact": "high"}},
                }
            },
        }
    },
    responses={
        200: {"description": "The changed incident", **_feature_out},
        412: {"description": "Stale version", **_problem},
        428: {"description": "If-Match missing", **_problem},
    },
)
async def patch(
    incident_id: IncidentId,
    request: Request,
    engine: Engine,
    caller: OfficerDep,
    geo: Geo,
    config: SettingsDep,
    trail: TrailDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    version = _version(if_match, required=True)
    assert version is not None
    require_media_type(request, PATCH_TYPES)
    body = await read_body(request, config.max_incident_bytes)
    patch = features.loads(body)
    feature = await service.patch_incident(engine, caller, geo, incident_id, version, patch, trail)
    return geojson(feature, headers={"ETag": _etag(feature["properties"]["version"])})


@router.delete(
    "/{incident_id}",
    status_code=204,
    summary="Delete an incident",
    description="A soft delete: the record is kept for the audit, nobody sees it any more. "
    "`If-Match` is checked when sent.",
    responses={404: _problem, 412: _problem},
)
async def remove(
    incident_id: IncidentId,
    engine: Engine,
    caller: OfficerDep,
    trail: TrailDep,
    if_match: Annotated[str | None, Header()] = None,
) -> Response:
    version = _version(if_match, required=False)
    await service.delete_incident(engine, caller, incident_id, version, trail)
    return Response(status_code=204)
