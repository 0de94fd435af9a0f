"""EUROSUR-style impact levels of border sections: computed from the pressure on each (its
incidents and persons per km per week) against its own history and its border's, beside a
level an authorised PCC user may set by hand with a reason (kept as a history)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.services.errors import FieldError, InvalidInput, NotFound, ServiceError
from geo_service.settings import Settings
from geo_service.store import impact as store
from geo_service.store.visibility import Caller

LEVELS = ("low", "medium", "high", "critical")
HISTORY_WEEKS = 52


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


@dataclass(frozen=True)
class SectionImpact:
    section: str
    border: str
    length_km: float
    incidents: int
    persons: int
    rate: float  # incidents per km per week in the period
    own_rate: float  # the same over the year before the period
    border_rate: float  # the section's border, in the period
    computed: str
    override: dict[str, Any] | None

    @property
    def level(self) -> str:
        if self.override and self.override["level"]:
            return str(self.override["level"])
        return self.computed

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "border": self.border,
            "length_km": self.length_km,
            "incidents": self.incidents,
            "persons_involved": self.persons,
            "incidents_per_km_week": round(self.rate, 4),
            "own_rate_before": round(self.own_rate, 4),
            "border_rate": round(self.border_rate, 4),
            "impact_computed": self.computed,
            "impact_override": self.override,
            "impact_level": self.level,
        }


def computed_level(rate: float, own: float, border: float, settings: Settings) -> str:
    """The level the pressure calls for: `rate` against the larger of the section's own
    rate before and its border's rate now (never below impact_min_rate)."""
    ratio = rate / max(own, border, settings.impact_min_rate)
    for level, limit in (
        ("critical", settings.impact_critical),
        ("high", settings.impact_high),
        ("medium", settings.impact_medium),
    ):
        if ratio >= limit:
            return level
    return "low"


def _override(row: Any) -> dict[str, Any] | None:
    if row is None or row.level is None:
        return None
    return {
        "level": row.level,
        "reason": row.reason,
        "set_by": row.set_by,
        "set_at": row.set_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


async def section_levels(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    settings: Settings,
    *,
    end: datetime | None = None,
    days: int = 7,
) -> dict[str, SectionImpact]:
    """Every monitored section's impact over the `days` up to `end` (default: now)."""
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    since = start - timedelta(weeks=HISTORY_WEEKS)
    async with engine.connect() as conn:
        rows = {r.section: r for r in await store.pressure(conn, caller, since, start, end)}
        overrides = await store.current_overrides(conn)
    sections = geo.sections
    weeks = days / 7
    rate: dict[str, float] = {}
    for sid, length in zip(sections["id"], sections["length_km"], strict=True):
        r = rows.get(sid)
        rate[sid] = (r.incidents if r else 0) / length / weeks
    border_rate = {
        b: sum(
            (rows[s].incidents if s in rows else 0)
            for s in sections.loc[sections["border"] == b, "id"]
        )
        / float(sections.loc[sections["border"] == b, "length_km"].sum())
        / weeks
        for b in sections["border"].unique()
    }
    out = {}
    for sid, border, length in zip(
        sections["id"], sections["border"], sections["length_km"], strict=True
    ):
        r = rows.get(sid)
        own = (r.before if r else 0) / length / HISTORY_WEEKS
        out[sid] = SectionImpact(
            section=sid,
            border=border,
            length_km=float(length),
            incidents=r.incidents if r else 0,
            persons=int(r.persons) if r else 0,
            rate=rate[sid],
            own_rate=own,
            border_rate=border_rate[border],
            computed=computed_level(rate[sid], own, border_rate[border], settings),
            override=_override(overrides.get(sid)),
        )
    return out


async def section(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    settings: Settings,
    section_id: str,
    *,
    end: datetime | None = None,
    days: int = 7,
) -> dict[str, Any]:
    """One section's impact over the period and the history of the levels set by hand."""
    levels = await section_levels(engine, caller, geo, settings, end=end, days=days)
    if section_id not in levels:
        raise NotFound(f"no border section {section_id!r}")
    async with engine.connect() as conn:
        history = await store.override_history(conn, section_id)
    return {
        **levels[section_id].as_dict(),
        "override_history": [
            {
                "level": h.level,
                "reason": h.reason,
                "set_by": h.set_by,
                "set_at": h.set_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            }
            for h in history
        ],
    }


async def set_override(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    section_id: str,
    level: str | None,
    reason: str,
) -> dict[str, Any]:
    """Set (or with no level, withdraw) a section's level by hand; PCC administrators only."""
    if caller.role != "admin" or caller.agency not in (None, "PCC"):
        raise Forbidden("only an administrator of the PCC sets impact levels")
    if section_id not in set(geo.sections["id"]):
        raise NotFound(f"no border section {section_id!r}")
    errors = []
    if level is not None and level not in LEVELS:
        errors.append(FieldError("level", f"must be one of {', '.join(LEVELS)}, or null"))
    if not 3 <= len(reason.strip()) <= 2000 or "\x00" in reason:
        errors.append(FieldError("reason", "must say why, in 3 to 2000 characters (no NUL)"))
    if errors:
        raise InvalidInput(errors=errors)
    async with engine.begin() as conn:
        row = await store.add_override(
            conn, section_id, level, reason.strip(), caller.agency or "service"
        )
    return {"section": section_id, **(_override(row) or {"level": None, "reason": row.reason})}
