"""/api/v1/sections: border sections with their impact levels, computed and set by hand."""

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query
from fastapi.responses import Response

from geo_service.api.deps import (
    AdminDep,
    CallerDep,
    Engine,
    Geo,
    ReadEngine,
    SettingsDep,
    bad_parameter,
    parse_datetime,
)
from geo_service.services import alerts, impact

router = APIRouter(prefix="/api/v1/sections", tags=["Analytics"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")


def _period(datetime_: str | None) -> tuple[datetime | None, int]:
    """The period's end and length in days (default: the 7 days up to now)."""
    start, end = parse_datetime(datetime_)
    if start is None or end is None:
        if datetime_ is not None:
            raise bad_parameter("datetime", "the period needs a start and an end")
        return None, 7
    days = (end - start).total_seconds() / 86_400
    if not 1 <= days <= 366:
        raise bad_parameter("datetime", "the period is from 1 to 366 days")
    return end, round(days)


PERIOD = Annotated[
    str | None,
    Query(
        alias="datetime",
        description="the period, start/end (default: the 7 days up to now)",
        examples=["2026-11-01T00:00:00Z/2026-11-08T00:00:00Z"],
    ),
]


@router.get("", summary="Every border section's impact level over a period")
async def sections(
    engine: ReadEngine, caller: CallerDep, geo: Geo, settings: SettingsDep, period: PERIOD = None
) -> Response:
    end, days = _period(period)
    levels = await impact.section_levels(engine, caller, geo, settings, end=end, days=days)
    return _json({"sections": [s.as_dict() for s in levels.values()]})


@router.get("/{section_id}", summary="One section's impact level and the history of overrides")
async def section(
    section_id: str,
    engine: ReadEngine,
    caller: CallerDep,
    geo: Geo,
    settings: SettingsDep,
    period: PERIOD = None,
) -> Response:
    end, days = _period(period)
    return _json(
        await impact.section(engine, caller, geo, settings, section_id, end=end, days=days)
    )


@router.post(
    "/{section_id}/impact",
    status_code=201,
    summary="Set a section's impact level by hand (PCC administrators), with a reason",
    description="`level` low, medium, high or critical; null withdraws the level set by hand "
    "and the computed one applies again. Every call is kept in the section's history.",
)
async def set_impact(
    section_id: str,
    engine: Engine,
    caller: AdminDep,
    geo: Geo,
    level: Annotated[str | None, Body(examples=["high"])] = None,
    reason: Annotated[str, Body(examples=["Large groups seen at Skelani by both patrols"])] = "",
) -> Response:
    body = await impact.set_override(engine, caller, geo, section_id, level, reason)
    return _json(body, 201)


alerts_router = APIRouter(prefix="/api/v1", tags=["Analytics"])


@alerts_router.get("/alerts", summary="The latest alerts: section levels rising, new hot spots")
async def latest_alerts(engine: ReadEngine, _: CallerDep, limit: int = 100) -> Response:
    return _json({"alerts": await alerts.latest(engine, min(max(limit, 1), 1000))})
