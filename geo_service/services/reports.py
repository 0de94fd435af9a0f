"""Situation reports: the PCC's daily report (00:00–24:00 Europe/Sarajevo) and weekly
analysis (the seven days ending with the date), made of the same filters, counts and
analytics the map serves — headline figures against the previous period and the same period
a year before, tables by category, agency, nationality and section with the sections' impact
levels, the period's time series, hexagons, hot spots and alerts — for one caller, who sees
only what they may see."""

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.services import alerts, hexes, hotspots, impact, report_html, trends
from geo_service.services.errors import FieldError, InvalidInput
from geo_service.settings import Settings
from geo_service.store import incidents as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

PERIOD_DAYS = {"day": 1, "week": 7}
LANGUAGES = ("en", "bs", "sr-Cyrl")
ZONE_NAME = "Europe/Sarajevo"
ZONE = ZoneInfo(ZONE_NAME)
HEX_RESOLUTION = 7
MAX_HEXAGONS = 50_000
TABLES = ("category", "agency", "nationality", "section")


@dataclass(frozen=True)
class Period:
    """A report's period: its kind, first and last local day, and [start, end) in UTC."""

    kind: str
    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def step(self) -> str:
        return "hourly" if self.kind == "day" else "daily"


def period_of(kind: str, day: date | None, lang: str, now: datetime) -> Period:
    """The period a report covers; every unknown period or language and a date in the
    future refused at once, each named."""
    today = now.astimezone(ZONE).date()
    errors = []
    if kind not in PERIOD_DAYS:
        errors.append(FieldError("period", f"{kind!r} is not one of day, week"))
    if lang not in LANGUAGES:
        errors.append(FieldError("lang", f"{lang!r} is not one of {', '.join(LANGUAGES)}"))
    if day is not None and day > today:
        errors.append(
            FieldError("date", f"{day.isoformat()} is in the future (today is {today} "
                       f"in {ZONE_NAME})")
        )  # fmt: skip
    if errors:
        raise InvalidInput(errors=errors)
    last = day or today - timedelta(days=1)  # by default the last whole day or week
    first = last - timedelta(days=PERIOD_DAYS[kind] - 1)
    return Period(
        kind=kind,
        first=first,
        last=last,
        start=datetime.combine(first, time(), ZONE).astimezone(UTC),
        end=datetime.combine(last + timedelta(days=1), time(), ZONE).astimezone(UTC),
    )


async def situation_figures(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    settings: Settings,
    where: IncidentFilter,
    period: Period,
) -> dict[str, Any]:
    """Everything a report shows, as plain data."""
    window = replace(where, start=period.start, end=period.end)

    async def table(by: str | None) -> dict[str, Any]:
        return await trends.trends(engine, caller, window, by=by, step=period.step, zone=ZONE_NAME)

    overall = await table(None)
    tables = {by: await table(by) for by in TABLES}
    levels = await impact.section_levels(
        engine, caller, geo, settings, end=period.end, days=PERIOD_DAYS[period.kind]
    )
    hexagons = await hexes.hex_page(
        engine, caller, geo, window, HEX_RESOLUTION, limit=MAX_HEXAGONS, cursor=None
    )
    _, cells = await hotspots.gi_star_cells(engine, caller, geo, window, HEX_RESOLUTION)
    async with engine.connect() as conn:
        visible, changed = await store.data_state(conn, caller)
    return {
        "overall": overall["series"][0] if overall["series"] else None,
        "windows": overall["windows"],
        "tables": {by: t["series"] for by, t in tables.items()},
        "sections": {sid: level.as_dict() for sid, level in levels.items()},
        "hexagons": hexagons.features,
        "hotspots": [c for c in cells if c["class"] != "not-significant"],
        "alerts": await alerts.raised_between(engine, period.start, period.end),
        "data": {"incidents": visible, "changed": changed},
    }


async def situation_report(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    settings: Settings,
    where: IncidentFilter,
    *,
    kind: str,
    day: date | None,
    lang: str,
    now: datetime | None = None,
) -> str:
    """The report as one self-contained HTML file."""
    now = now or datetime.now(UTC)
    if where.start is not None or where.end is not None:
        reason = "a report's time is its period and date"
        raise InvalidInput(errors=[FieldError("datetime", reason)])
    period = period_of(kind, day, lang, now)
    figures = await situation_figures(engine, caller, geo, settings, where, period)
    return await asyncio.to_thread(  # the map and the page are made in Python: off the loop
        report_html.render,
        figures,
        period=period,
        lang=lang,
        caller=caller,
        where=where,
        generated=now.astimezone(ZONE),
        geo=geo,
        settings=settings,
    )
