"""Incidents as submitted, held as columns so one set of rules serves one POST and a million
imported rows alike.

Readers (the JSON API, files) build `IncidentRows`; `check` applies every rule of the domain
and returns the refusals; nothing here touches the database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from geo_service import domain
from geo_service.geo.locate import in_region
from geo_service.geo.reference import Geography
from geo_service.services import apprehension_groups
from geo_service.services.apprehension_groups import Groups, duplicated
from geo_service.services.errors import FieldError

MAX_REF_LENGTH = 100
MAX_NARRATIVE_LENGTH = 20_000
MAX_PERSONS = 10_000
MAX_ACCURACY_M = 100_000.0
# A time of day followed by a UTC offset: `2026-11-28` alone (whose `-28` looks like one)
# or a time without an offset is refused.
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_EARLIEST = np.datetime64(domain.EARLIEST_OCCURRENCE[:19], "us")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class IncidentRows:
    """Submitted incidents, one array per field. `row` numbers them from 1 in the submission."""

    row: np.ndarray
    agency: np.ndarray
    external_ref: np.ndarray
    category: np.ndarray
    occurred_at: np.ndarray  # datetime64[us] in UTC; NaT where missing or unreadable
    lon: np.ndarray
    lat: np.ndarray
    location_accuracy_m: np.ndarray  # NaN where not given
    direction: np.ndarray
    attempted: np.ndarray
    detection: np.ndarray
    means: np.ndarray
    persons_involved: np.ndarray  # float; NaN where not given (the persons apprehended count)
    crossing_point: np.ndarray
    impact: np.ndarray
    sharing: np.ndarray
    narrative: np.ndarray
    groups: Groups  # apprehension groups, flat

    def __len__(self) -> int:
        return len(self.row)

    def take(self, index: np.ndarray) -> IncidentRows:
        """The rows at `index`: a boolean mask, or increasing positions."""
        positions = np.flatnonzero(index) if index.dtype == bool else index
        columns = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "groups"}
        return IncidentRows(
            **{name: values[positions] for name, values in columns.items()},
            groups=self.groups.subset(positions, len(self)),
        )


# Defaults of optional fields; the database holds the same as server defaults.
DEFAULTS: dict[str, Any] = {
    "direction": "unknown",
    "attempted": False,
    "detection": "other",
    "means": "other",
    "impact": "low",
    "sharing": "national",
}
CODED_FIELDS: dict[str, Iterable[str]] = {
    "category": domain.CATEGORIES,
    "direction": domain.DIRECTIONS,
    "detection": domain.DETECTIONS,
    "means": domain.MEANS,
    "impact": domain.IMPACTS,
    "sharing": domain.SHARINGS,
}
PROPERTY_NAMES = (
    "agency",
    "external_ref",
    "category",
    "occurred_at",
    "location_accuracy_m",
    "direction",
    "attempted",
    "detection",
    "means",
    "persons_involved",
    "crossing_point",
    "impact",
    "sharing",
    "narrative",
    "apprehensions",
)


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _utc(t: datetime) -> datetime:
    """`t` in UTC, naive; a time whose UTC falls before year 1 or after 9999 is held at that
    edge, for the rules to refuse as too early or in the future."""
    try:
        return t.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if t.year == 1 else datetime.max


def from_properties(
    items: Sequence[tuple[tuple[float, float], dict[str, Any]]],
) -> IncidentRows:
    """Rows from already type-checked GeoJSON features: (lon, lat) and their properties."""
    props = [p for _, p in items]

    def column(name: str) -> np.ndarray:
        # Text is trimmed as the file readers trim it, so both paths store the same.
        default = DEFAULTS.get(name)
        values = [p.get(name) for p in props]
        return _objects(
            [
                default if v is None else (v.strip() or default) if isinstance(v, str) else v
                for v in values
            ]
        )

    occurred = [p["occurred_at"] for p in props]
    accuracy = [p.get("location_accuracy_m") for p in props]
    persons = [p.get("persons_involved") for p in props]
    return IncidentRows(
        row=np.arange(1, len(items) + 1, dtype=np.int64),
        agency=column("agency"),
        external_ref=column("external_ref"),
        category=column("category"),
        occurred_at=np.array([_utc(t) for t in occurred], dtype="datetime64[us]"),
        lon=np.array([xy[0] for xy, _ in items], dtype=np.float64),
        lat=np.array([xy[1] for xy, _ in items], dtype=np.float64),
        location_accuracy_m=np.array(
            [math.nan if a is None else a for a in accuracy], dtype=np.float64
        ),
        direction=column("direction"),
        attempted=np.array([bool(p.get("attempted") or False) for p in props], dtype=bool),
        detection=column("detection"),
        means=column("means"),
        persons_involved=np.array(
            [math.nan if n is None else n for n in persons], dtype=np.float64
        ),
        crossing_point=column("crossing_point"),
        impact=column("impact"),
        sharing=column("sharing"),
        narrative=column("narrative"),
        groups=apprehension_groups.from_lists([p.get("apprehensions") or () for p in props]),
    )


# --- rows from tables read out of files (CSV, GeoJSON, GeoPackage, GeoParquet) -------------


def _blank(values: pd.Series) -> np.ndarray:
    as_text = values.astype("string")
    return np.asarray(values.isna() | (as_text.str.strip() == ""), dtype=bool)


def text_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A text column, stripped, None where blank (or the field's default)."""
    if name not in frame:
        return np.full(len(frame), DEFAULTS.get(name), dtype=object)
    values = frame[name]
    out = values.astype("string").str.strip().to_numpy(dtype=object, na_value=None, copy=True)  # type: ignore[call-overload]
    out[_blank(values)] = DEFAULTS.get(name)
    return out


def _number(
    frame: pd.DataFrame, name: str, errors: list[FieldError], rows: np.ndarray, integer: bool
) -> np.ndarray:
    """Numbers of a column; NaN where blank. Unreadable values are reported."""
    if name not in frame:
        return np.full(len(frame), np.nan)
    values = frame[name]
    if values.dtype == object or str(values.dtype) in ("str", "string"):
        parsed = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    else:
        parsed = pd.to_numeric(values, errors="coerce")
    out = np.array(parsed.astype("float64"), dtype=np.float64)
    blank = _blank(values)
    bad = ~blank & ~np.isfinite(out)
    if integer:
        bad |= np.isfinite(out) & (out != np.round(out))
    kind = "a whole number" if integer else "a finite number"
    for i in np.flatnonzero(bad):
        errors.append(FieldError(name, f"must be {kind}, got {values.iloc[i]!r}", int(rows[i])))
    out[bad] = np.nan
    return out


def _booleans(frame: pd.DataFrame, name: str, errors: list[FieldError], rows: np.ndarray):
    if name not in frame:
        return np.zeros(len(frame), dtype=bool)
    values = frame[name]
    if values.dtype == bool:
        return values.to_numpy(dtype=bool)
    words = {
        "true": True,
        "1": True,
        "yes": True,
        "false": False,
        "0": False,
        "no": False,
        "": False,
    }
    text = values.astype("string").str.strip().str.lower().fillna("")
    mapped = text.map(words)
    for i in np.flatnonzero(mapped.isna().to_numpy()):
        errors.append(
            FieldError(name, f"must be true or false, got {values.iloc[i]!r}", int(rows[i]))
        )
    return mapped.fillna(False).to_numpy(dtype=bool)


def _times(frame: pd.DataFrame, name: str, errors: list[FieldError], rows: np.ndarray):
    """UTC times of a column; values need an explicit offset (ISO 8601, e.g. `+01:00` or Z)."""
    out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[us]")
    if name not in frame:
        return out
    values = frame[name]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC").dt.tz_localize(None)
        return np.array(parsed, dtype="datetime64[us]")
    text = values.astype("string").str.strip()
    has_offset = text.str.contains(_OFFSET, na=False).to_numpy(dtype=bool)
    parsed = pd.to_datetime(text.where(has_offset), format="ISO8601", utc=True, errors="coerce")
    out = np.array(parsed.dt.tz_localize(None), dtype="datetime64[us]")
    blank = _blank(values)
    for i in np.flatnonzero(~blank & ~has_offset):
        errors.append(
            FieldError(
                name,
                f"needs an ISO 8601 time with a UTC offset, got {values.iloc[i]!r}",
                int(rows[i]),
            )
        )
    for i in np.flatnonzero(~blank & has_offset & np.isnat(out)):
        errors.append(
            FieldError(name, f"is not an ISO 8601 time: {values.iloc[i]!r}", int(rows[i]))
        )
    return out


def from_frame(
    frame: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, first_row: int = 1
) -> tuple[IncidentRows, list[FieldError]]:
    """Rows from a table read out of a file, with the errors of values that could not be read."""
    errors: list[FieldError] = []
    n = len(frame)
    rows = np.arange(first_row, first_row + n, dtype=np.int64)
    persons = _number(frame, "persons_involved", errors, rows, integer=True)
    column = frame["apprehensions"] if "apprehensions" in frame else pd.Series([None] * n)
    groups, group_errors = apprehension_groups.from_values(column, rows)
    errors.extend(group_errors)
    result = IncidentRows(
        row=rows,
        agency=text_column(frame, "agency"),
        external_ref=text_column(frame, "external_ref"),
        category=text_column(frame, "category"),
        occurred_at=_times(frame, "occurred_at", errors, rows),
        lon=lon,
        lat=lat,
        location_accuracy_m=_number(frame, "location_accuracy_m", errors, rows, integer=False),
        direction=text_column(frame, "direction"),
        attempted=_booleans(frame, "attempted", errors, rows),
        detection=text_column(frame, "detection"),
        means=text_column(frame, "means"),
        persons_involved=persons,
        crossing_point=text_column(frame, "crossing_point"),
        impact=text_column(frame, "impact"),
        sharing=text_column(frame, "sharing"),
        narrative=text_column(frame, "narrative"),
        groups=groups,
    )
    return result, errors


# --- the rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    """What the rules check codes against: the agencies table and the reference geography."""

    agencies: frozenset[str]
    geography: Geography

    @property
    def crossing_points(self) -> frozenset[str]:
        return self.geography.crossing_point_ids


def _member(values: np.ndarray, allowed: Iterable[str | None]) -> np.ndarray:
    # A set look-up per value: as fast as pandas' isin on a million rows, far faster on one.
    allowed = set(allowed)
    return np.array([v in allowed for v in values.tolist()], dtype=bool)


def _listing(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def check(
    rows: IncidentRows, vocabulary: Vocabulary, now: datetime | None = None
) -> list[FieldError]:
    """Every refusal the rules make of `rows`: row number, field, reason."""
    errors: list[FieldError] = []

    def refuse(mask: np.ndarray, field: str, reason: Any) -> None:
        for i in np.flatnonzero(mask):
            text = reason(i) if callable(reason) else reason
            errors.append(FieldError(field, text, int(rows.row[i])))

    for name in ("agency", "external_ref", "category"):
        refuse(_member(getattr(rows, name), (None,)), name, "is required")
    agency = rows.agency
    refuse(
        ~_member(agency, vocabulary.agencies) & (agency != None),  # noqa: E711
        "agency",
        lambda i: f"unknown agency {agency[i]!r}; one of {_listing(vocabulary.agencies)}",
    )
    refs = rows.external_ref
    bad_ref = np.fromiter(
        (
            r is not None and (len(r) > MAX_REF_LENGTH or _CONTROL.search(r) is not None)
            for r in refs
        ),
        dtype=bool,
        count=len(refs),
    )
    refuse(bad_ref, "external_ref", f"must be 1–{MAX_REF_LENGTH} printable characters")
    for name, allowed in CODED_FIELDS.items():
        values = getattr(rows, name)
        refuse(
            ~_member(values, allowed) & (values != None),  # noqa: E711
            name,
            lambda i, v=values, a=allowed, n=name: (
                f"unknown {n.replace('_', ' ')} {v[i]!r}; one of {_listing(a)}"
            ),
        )

    now64 = np.datetime64((now or datetime.now(UTC)).replace(tzinfo=None), "us")
    latest = now64 + np.timedelta64(domain.CLOCK_SKEW_S, "s")
    t = rows.occurred_at
    missing_t = np.isnat(t)
    refuse(missing_t, "occurred_at", "is required")
    refuse(~missing_t & (t > latest), "occurred_at", "lies in the future")
    refuse(~missing_t & (t < _EARLIEST), "occurred_at", "lies before 2000-01-01")

    lon, lat = rows.lon, rows.lat
    finite = np.isfinite(lon) & np.isfinite(lat)
    refuse(~finite, "geometry", "coordinates must be finite numbers (no NaN or infinity)")
    in_range = finite & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    refuse(
        finite & ~in_range,
        "geometry",
        "coordinates out of range: longitude −180…180, latitude −90…90",
    )
    inside = np.zeros(len(rows), dtype=bool)
    if in_range.any():
        inside[in_range] = in_region(vocabulary.geography, lon[in_range], lat[in_range])
    refuse(
        in_range & ~inside,
        "geometry",
        lambda i: (
            f"point ({lon[i]}, {lat[i]}) lies outside the monitored region "
            "(Bosnia and Herzegovina, Montenegro, Serbia and 20 km around them); "
            "coordinates are longitude, latitude"
        ),
    )

    acc = rows.location_accuracy_m
    refuse(
        ~np.isnan(acc) & ((acc < 0) | (acc > MAX_ACCURACY_M)),
        "location_accuracy_m",
        f"must be between 0 and {MAX_ACCURACY_M:.0f} metres",
    )
    persons = rows.persons_involved
    refuse(
        ~np.isnan(persons) & ((persons < 0) | (persons > MAX_PERSONS)),
        "persons_involved",
        f"must be between 0 and {MAX_PERSONS}",
    )
    refuse(
        ~_member(rows.crossing_point, vocabulary.crossing_points) & (rows.crossing_point != None),  # noqa: E711
        "crossing_point",
        lambda i: f"unknown crossing point {rows.crossing_point[i]!r}",
    )
    # Line breaks and tabs are a narrative's own; NUL is nobody's (PostgreSQL refuses it).
    bad_narrative = np.fromiter(
        (n is not None and (len(n) > MAX_NARRATIVE_LENGTH or "\x00" in n) for n in rows.narrative),
        dtype=bool,
        count=len(rows),
    )
    refuse(
        bad_narrative, "narrative", f"must be at most {MAX_NARRATIVE_LENGTH} characters, none NUL"
    )

    errors.extend(apprehension_groups.check(rows.groups, rows.row, persons))
    apprehended = rows.groups.persons_per_row(len(rows))
    refuse(
        np.isnan(persons) & (apprehended > MAX_PERSONS),
        "apprehensions",
        f"more than {MAX_PERSONS} persons in all",
    )

    errors.sort(key=lambda e: e.row or 0)
    return errors


def repeated_references(
    agency: np.ndarray,
    external_ref: np.ndarray,
    rows: np.ndarray,
    seen: set[tuple[Any, ...]] | None = None,
) -> list[FieldError]:
    """Rows whose (agency, reference) appears earlier in the same submission: in these rows,
    or among those whose keys `seen` holds (it is updated, so a submission can be checked a
    part at a time)."""
    repeated = duplicated(agency, external_ref, seen=seen) & (external_ref != None)  # noqa: E711
    return [
        FieldError(
            "external_ref",
            f"{external_ref[i]!r} of {agency[i]} appears earlier in the same submission",
            int(rows[i]),
        )
        for i in np.flatnonzero(repeated)
    ]


def with_persons_filled(rows: IncidentRows) -> IncidentRows:
    """Rows whose `persons_involved` is a whole number: where none was given, the number of
    persons apprehended."""
    missing = np.isnan(rows.persons_involved)
    totals = rows.groups.persons_per_row(len(rows))
    filled = np.where(missing, totals, rows.persons_involved)
    return replace(rows, persons_involved=filled.astype(np.int64))
