"""/api/v1/reports/situation: the PCC's daily or weekly situation report as one
self-contained HTML file (it opens offline), for the caller."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from geo_service.api.deps import CallerDep, Filter, Geo, ReadEngine, SettingsDep
from geo_service.services import reports as service

router = APIRouter(prefix="/api/v1", tags=["Reports"])


@router.get(
    "/reports/situation",
    summary="Daily or weekly situation report (self-contained HTML)",
    description="`day`: 00:00–24:00 Europe/Sarajevo of `date`; `week`: the seven days ending "
    "with `date` (default: yesterday). A map of borders, border sections by impact level, "
    "crossing points, the period's hexagons and hot spots; headline figures against the "
    "previous period and the same period a year before; tables by category, agency, "
    "nationality and section; the period's time series; the alerts raised. Only what the "
    "caller may see; the incident filters narrow it further (not `datetime`: the period is "
    "the report's time).",
    response_class=HTMLResponse,
)
async def situation(
    engine: ReadEngine,
    caller: CallerDep,
    geo: Geo,
    settings: SettingsDep,
    where: Filter,
    period: Annotated[str, Query(description="day or week")] = "day",
    date: Annotated[
        date | None, Query(description="the (last) day, YYYY-MM-DD; default yesterday")
    ] = None,
    lang: Annotated[str, Query(description="en, bs or sr-Cyrl")] = "en",
) -> HTMLResponse:
    html = await service.situation_report(
        engine, caller, geo, settings, where, kind=period, day=date, lang=lang
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})
