"""Trends: incidents, persons involved and persons apprehended per period, by category,
agency, nationality, border section or hexagon, with the change against the previous period
and the same period a year before, labelled as ACLED labels change."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.services.errors import FieldError, InvalidInput
from geo_service.store import trends as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

BY = ("category", "agency", "nationality", "section", "hexagon")
STEP_DAYS = {"hourly": 1 / 24, "daily": 1, "weekly": 7, "monthly": 30.44}
MAX_PERIODS = 1_000
MAX_SERIES = 500
LOW_BASELINE = 10  # fewer incidents before than this: no percentage is meaningful
MEASURES = ("incidents", "persons_involved", "persons_apprehended")


def change_label(now: int, before: int, low_baseline: int = LOW_BASELINE) -> str:
    """ACLED's labels of a change: large increase (> +25%), moderate increase (+10 to +25%),
    limited change (−25 to +10%), large decrease (< −25%); "low baseline" when there was
    too little before to speak of a percentage."""
    if before < low_baseline:
        return "low baseline"
    change = (now - before) / before * 100
    if change > 25:
        return "large increase"
    if change >= 10:
        return "moderate increase"
    if change >= -25:
        return "limited change"
    return "large decrease"


def _year_before(t: datetime) -> datetime:
    try:
        return t.replace(year=t.year - 1)
    except ValueError:  # 29 February
        return t.replace(year=t.year - 1, day=28)


def _iso(t: datetime | None) -> str | None:
    """RFC 3339 in UTC; a time without zone is UTC (periods start in UTC)."""
    if t is None:
        return None
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return t.isoformat().replace("+00:00", "Z")


def _totals(rows: Any) -> dict[Any, dict[str, int]]:
    out: dict[Any, dict[str, int]] = {}
    for key, _start, *values in rows:
        total = out.setdefault(key, dict.fromkeys(MEASURES, 0))
        for name, value in zip(MEASURES, values, strict=True):
            total[name] += value
    return out


def _change(now: dict[str, int], before: dict[str, int]) -> dict[str, Any]:
    n, b = now["incidents"], before["incidents"]
    return {
        **before,
        "change_pct": None if b == 0 else round((n - b) / b * 100, 1),
        "label": change_label(n, b),
    }


async def trends(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    *,
    by: str | None,
    step: str,
    resolution: int = 7,
    zone: str = "UTC",
) -> dict[str, Any]:
    """Series per key and period over `where`'s window (default: the last 30 days), with
    each key's change against the window before and the same window a year before; periods
    begin at midnight (or on the hour) in the time zone `zone`."""
    if by is not None and by not in BY:
        raise InvalidInput(errors=[FieldError("by", f"must be one of {', '.join(BY)}")])
    if step not in STEP_DAYS:
        raise InvalidInput(errors=[FieldError("step", f"must be one of {', '.join(STEP_DAYS)}")])
    end = where.end or datetime.now(UTC).replace(microsecond=0)
    start = where.start or end - timedelta(days=30)
    periods = (end - start).total_seconds() / 86_400 / STEP_DAYS[step]
    if periods > MAX_PERIODS:
        raise InvalidInput(
            errors=[FieldError("step", f"{periods:,.0f} periods is over {MAX_PERIODS:,}: "
                               "a longer step or a shorter window")]
        )  # fmt: skip
    length = end - start
    windows = {
        "now": (start, end),
        "previous": (start - length, start),
        "year_before": (_year_before(start), _year_before(end)),
    }
    async with engine.connect() as conn:
        rows = await store.series(
            conn, caller, _window(where, *windows["now"]), by=by, step=step,
            resolution=resolution, zone=zone,
        )  # fmt: skip
        keys = {r[0] for r in rows}
        if len(keys) > MAX_SERIES:
            raise InvalidInput(
                errors=[FieldError("by", f"{len(keys):,} series is over {MAX_SERIES}: "
                                   "narrow the filters or the window")]
            )  # fmt: skip
        before = {
            name: _totals(
                await store.series(
                    conn, caller, _window(where, *windows[name]), by=by, step=None,
                    resolution=resolution,
                )
            )
            for name in ("previous", "year_before")
        }  # fmt: skip
    now_totals = _totals(rows)
    zero = dict.fromkeys(MEASURES, 0)
    series = []
    for key in sorted(now_totals, key=lambda k: (k is None, str(k))):
        points = [
            {"start": _iso(r[1]), **dict(zip(MEASURES, r[2:], strict=True))}
            for r in rows
            if r[0] == key
        ]
        series.append(
            {
                "key": key,
                "points": points,
                "total": now_totals[key],
                "previous": _change(now_totals[key], before["previous"].get(key, zero)),
                "year_before": _change(now_totals[key], before["year_before"].get(key, zero)),
            }
        )
    return {
        "by": by,
        "step": step,
        "windows": {name: [_iso(a), _iso(b)] for name, (a, b) in windows.items()},
        "series": series,
    }


def _window(where: IncidentFilter, start: datetime, end: datetime) -> IncidentFilter:
    """`where` over [start, end) (the end itself belongs to the next window)."""
    return replace(where, start=start, end=end - timedelta(microseconds=1))
