"""/api/v1/trends: time series of incidents, persons involved and persons apprehended, with
their change against the previous period and the same period a year before."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from geo_service.api.deps import CallerDep, Filter, ReadEngine
from geo_service.services import trends as service

router = APIRouter(prefix="/api/v1", tags=["Analytics"])


@router.get(
    "/trends",
    summary="Time series per category, agency, nationality, section or hexagon",
    description="Over the `datetime` window (default: the last 30 days), with the incident "
    "filters. Each series has its points, its total and its change against the window "
    "before and the same window a year before, labelled large increase (> +25%), moderate "
    "increase (+10 to +25%), limited change (−25 to +10%), large decrease (< −25%), or low "
    "baseline (fewer than 10 incidents before).",
)
async def trends(
    engine: ReadEngine,
    caller: CallerDep,
    where: Filter,
    by: Annotated[
        str | None,
        Query(description="category, agency, nationality, section or hexagon (none: all)"),
    ] = None,
    step: Annotated[str, Query(description="hourly, daily, weekly or monthly")] = "daily",
    resolution: Annotated[int, Query(ge=5, le=9, description="H3 resolution of by=hexagon")] = 7,
) -> Response:
    body = await service.trends(engine, caller, where, by=by, step=step, resolution=resolution)
    return Response(orjson.dumps(body), media_type="application/json")
