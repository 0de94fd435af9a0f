"""Incidents on the wire: the GeoJSON Feature of DESIGN.md, the same shape in and out."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)

from geo_service import domain
from geo_service.geo.h3cells import cell_hex
from geo_service.services.errors import FieldError, InvalidInput
from geo_service.services.incident_rows import IncidentRows, from_properties

Category = StrEnum("Category", {c: c for c in domain.CATEGORIES})  # type: ignore[misc]
Direction = StrEnum("Direction", {c: c for c in domain.DIRECTIONS})  # type: ignore[misc]
Detection = StrEnum("Detection", {c: c for c in domain.DETECTIONS})  # type: ignore[misc]
Means = StrEnum("Means", {c: c for c in domain.MEANS})  # type: ignore[misc]
Impact = StrEnum("Impact", {c: c for c in domain.IMPACTS})  # type: ignore[misc]
Sharing = StrEnum("Sharing", {c: c for c in domain.SHARINGS})  # type: ignore[misc]
Status = StrEnum("Status", {c: c for c in domain.STATUSES})  # type: ignore[misc]

# Properties the service derives; a client may send them back (as read) and they are ignored.
READ_ONLY = (
    "id",
    "version",
    "reported_at",
    "updated_at",
    "country",
    "border_pair",
    "border_section",
    "distance_to_border_m",
    "h3_cell",
)


# The incident of DESIGN.md, as a client sends it: the example of the API's documentation.
EXAMPLE_FEATURE: dict[str, Any] = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [19.1031, 44.3921]},
    "properties": {
        "agency": "BIH_BP",
        "external_ref": "GP-ZV-2026-0412",
        "category": "unauthorised_crossing",
        "occurred_at": "2026-11-28T02:40:00+01:00",
        "location_accuracy_m": 50,
        "direction": "entry",
        "attempted": False,
        "detection": "surveillance",
        "means": "on_foot",
        "persons_involved": 7,
        "crossing_point": None,
        "impact": "medium",
        "sharing": "pcc",
        "narrative": "Group detected crossing the Drina near Zvornik.",
        "apprehensions": [
            {"nationality": "AFG", "persons": 5, "minors": 2, "women": 1},
            {"nationality": "PAK", "persons": 2, "minors": 0, "women": 0},
        ],
    },
}


class ApprehensionGroup(BaseModel):
    """Persons apprehended of one nationality: counts only, never names or documents."""

    model_config = ConfigDict(extra="forbid", strict=True)

    nationality: Annotated[str, Field(pattern="^[A-Z]{3}$", examples=["AFG"])]
    persons: Annotated[int, Field(ge=1, le=10_000)]
    minors: Annotated[int, Field(ge=0)] = 0
    women: Annotated[int, Field(ge=0)] = 0


class IncidentProperties(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    agency: Annotated[str, Field(examples=["BIH_BP"])]
    external_ref: Annotated[str, Field(min_length=1, max_length=100, examples=["GP-ZV-2026-0412"])]
    category: Category
    occurred_at: Annotated[AwareDatetime, Field(examples=["2026-11-28T02:40:00+01:00"])]
    location_accuracy_m: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None
    direction: Direction | None = None
    attempted: bool | None = None
    detection: Detection | None = None
    means: Means | None = None
    persons_involved: Annotated[int | None, Field(ge=0)] = None
    crossing_point: str | None = None
    impact: Impact | None = None
    sharing: Sharing | None = None
    narrative: str | None = None
    apprehensions: list[ApprehensionGroup] = Field(default_factory=list)
    status: Status | None = None
    id: Any = None
    version: Any = None
    reported_at: Any = None
    updated_at: Any = None
    country: Any = None
    border_pair: Any = None
    border_section: Any = None
    distance_to_border_m: Any = None
    h3_cell: Any = None


class PointGeometry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["Point"]
    coordinates: Annotated[
        list[Annotated[float, Field(allow_inf_nan=False)]],
        Field(
            min_length=2, max_length=3, description="longitude, latitude (and a height, ignored)"
        ),
    ]


class IncidentFeature(BaseModel):
    """An incident as a GeoJSON Feature (RFC 7946): a Point in longitude, latitude."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [EXAMPLE_FEATURE]},
    )

    type: Literal["Feature"]
    geometry: PointGeometry
    properties: IncidentProperties
    id: Any = None
    bbox: Any = None


def _field_errors(exc: ValidationError) -> list[FieldError]:
    errors = []
    for e in exc.errors(include_url=False):
        if e["type"] == "json_invalid":
            reason = e.get("ctx", {}).get("error", e["msg"])
            errors.append(FieldError("body", f"malformed JSON: {reason}"))
        else:
            errors.append(FieldError(_index_path(e["loc"]), e["msg"]))
    return errors


def _index_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def check_new(feature: IncidentFeature) -> None:
    """What only a new incident must meet: it starts open (PATCH closes it)."""
    if feature.properties.status not in (None, Status("open")):
        raise InvalidInput(
            errors=[FieldError("properties.status", "a new incident is open; PATCH closes it")]
        )


def feature_rows(feature: IncidentFeature) -> IncidentRows:
    """The submitted part of a Feature as rows for the rules (read-only properties dropped)."""
    props = feature.properties.model_dump(exclude={*READ_ONLY, "status"})
    lon, lat = feature.geometry.coordinates[:2]
    return from_properties([((lon, lat), props)])


def parse_feature(body: bytes | dict[str, Any]) -> IncidentFeature:
    """A Feature from a request body; refusals name the field and the reason."""
    try:
        if isinstance(body, dict):
            return IncidentFeature.model_validate(body, strict=False)
        return IncidentFeature.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(errors=_field_errors(exc)) from exc


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def to_feature(row: Any) -> dict[str, Any]:
    """A stored incident (a row of READ_COLUMNS) as a GeoJSON Feature."""
    props = {
        "id": row.id,
        "version": row.version,
        "agency": row.agency,
        "external_ref": row.external_ref,
        "category": row.category,
        "occurred_at": _iso(row.occurred_at),
        "reported_at": _iso(row.reported_at),
        "updated_at": _iso(row.updated_at),
        "location_accuracy_m": row.location_accuracy_m,
        "direction": row.direction,
        "attempted": row.attempted,
        "detection": row.detection,
        "means": row.means,
        "persons_involved": row.persons_involved,
        "crossing_point": row.crossing_point,
        "impact": row.impact,
        "sharing": row.sharing,
        "narrative": row.narrative,
        "status": row.status,
        "apprehensions": row.apprehensions,
        "country": row.country,
        "border_pair": row.border_pair,
        "border_section": row.border_section,
        "distance_to_border_m": row.distance_to_border_m,
        "h3_cell": cell_hex(row.h3_cell),
    }
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
        "properties": props,
    }


def merge_patch(feature: dict[str, Any], patch: Any) -> dict[str, Any]:
    """RFC 7396 JSON merge patch of a Feature: `null` removes, objects merge, the rest replaces."""
    if not isinstance(patch, dict):
        raise InvalidInput(errors=[FieldError("body", "a merge patch must be a JSON object")])

    def merge(target: Any, change: Any) -> Any:
        if not isinstance(change, dict):
            return change
        out = dict(target) if isinstance(target, dict) else {}
        for key, value in change.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(out.get(key), value)
        return out

    return merge(feature, patch)


def loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(errors=[FieldError("body", f"malformed JSON: {exc}")]) from exc


def redacted(feature: bytes | str, hidden: frozenset[str]) -> bytes:
    """A Feature's GeoJSON text without the `hidden` properties."""
    out = orjson.loads(feature)
    for name in hidden:
        out["properties"].pop(name, None)
    return orjson.dumps(out)
