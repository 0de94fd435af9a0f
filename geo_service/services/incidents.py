"""Reading, changing and deleting incidents, always as the caller may see them."""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.services import features
from geo_service.services.audit import Trail
from geo_service.services.errors import (
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from geo_service.services.ingest import check_own, prepare_one, vocabulary
from geo_service.services.result_cache import ResultCache, kept
from geo_service.store import incidents as store
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import Caller

MAX_LIMIT = 10_000
IMMUTABLE = ("agency", "external_ref")


@dataclass(frozen=True)
class Page:
    # Features as objects, or as GeoJSON text already made (orjson.Fragment).
    features: list[Any]
    next_cursor: str | None
    # Bytes of the features' text, where known (what keeping the page costs).
    size: int = 0


def encode_cursor(occurred_at: datetime, incident_id: int) -> str:
    raw = f"{occurred_at.isoformat()}|{incident_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, incident_id = raw.rsplit("|", 1)
        return datetime.fromisoformat(when), int(incident_id)
    except ValueError as exc:
        raise InvalidInput(
            errors=[FieldError("cursor", "is not a cursor this service handed out")]
        ) from exc


async def get_feature(engine: AsyncEngine, caller: Caller, incident_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = await store.fetch_incident(conn, caller, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return features.to_feature(row)


async def list_features(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    *,
    limit: int,
    cursor: str | None = None,
    hidden: frozenset[str] = frozenset(),
    cache: ResultCache | None = None,
) -> Page:
    """One page of incidents, newest first, and the cursor of the next page if any (without
    the `hidden` properties); from `cache` when nothing changed since it was kept there."""
    after = decode_cursor(cursor) if cursor else None
    return await kept(
        cache,
        ("incidents", caller, where, limit, after, hidden),
        lambda: _page(engine, caller, where, limit, after, hidden),
        lambda page: page.size,
    )


async def _page(
    engine: AsyncEngine,
    caller: Caller,
    where: IncidentFilter,
    limit: int,
    after: tuple[datetime, int] | None,
    hidden: frozenset[str],
) -> Page:
    async with engine.connect() as conn:
        rows = await store.list_incidents(conn, caller, where, limit=limit + 1, after=after)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].occurred_at, rows[-1].id) if more else None
    texts = (
        [features.redacted(r.feature, hidden) for r in rows]
        if hidden
        else [r.feature for r in rows]
    )
    return Page([orjson.Fragment(t) for t in texts], next_cursor, sum(map(len, texts)))


async def patch_incident(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    incident_id: int,
    expected_version: int,
    patch: Any,
    trail: Trail,
) -> dict[str, Any]:
    """Apply a JSON merge patch to an incident at `expected_version`; the changed Feature
    (in the audit `trail`, in the same transaction)."""
    async with engine.begin() as conn:
        row = await store.fetch_incident(conn, caller, incident_id, for_update=True)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        check_own(caller, [row.agency])
        if row.version != expected_version:
            raise PreconditionFailed(
                f"incident {incident_id} is at version {row.version}, not {expected_version}; "
                "read it again and reapply the change"
            )
        current = features.to_feature(row)
        merged = features.merge_patch(current, patch)
        # Checked as a POST body is, strictly, before anything is read out of it.
        feature = features.parse_feature(orjson.dumps(merged))
        changed = [
            FieldError(f"properties.{k}", "cannot be changed")
            for k in IMMUTABLE
            if getattr(feature.properties, k) != current["properties"][k]
        ]
        if changed:
            raise InvalidInput(errors=changed)
        values, groups = prepare_one(features.feature_rows(feature), await vocabulary(conn, geo))
        values.pop("submission_sha256")  # the digest stays that of the creating submission
        values["status"] = feature.properties.status or row.status
        new_version = await store.update_incident(
            conn, incident_id, expected_version, values, groups
        )
        if new_version is None:
            raise PreconditionFailed(f"incident {incident_id} changed meanwhile; read it again")
        touched = sorted((patch.get("properties") or {}) if isinstance(patch, dict) else ())
        detail = {"version": new_version, "changed": touched}
        await trail.record(conn, "update", str(incident_id), detail)
        updated = await store.fetch_incident(conn, caller, incident_id)
    return features.to_feature(updated)


async def delete_incident(
    engine: AsyncEngine,
    caller: Caller,
    incident_id: int,
    expected_version: int | None,
    trail: Trail,
) -> None:
    """Soft-delete: the row stays, nobody sees it any more (in the audit `trail`, in the same
    transaction)."""
    async with engine.begin() as conn:
        row = await store.fetch_incident(conn, caller, incident_id, for_update=True)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        check_own(caller, [row.agency])
        if expected_version is not None and row.version != expected_version:
            raise PreconditionFailed(
                f"incident {incident_id} is at version {row.version}, not {expected_version}"
            )
        await store.soft_delete(conn, incident_id, row.version)
        await trail.record(conn, "delete", str(incident_id))
