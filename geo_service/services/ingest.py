"""Ingest: validate, enrich and write incidents, one at a time or in bulk.

An incident is acknowledged only after its transaction commits. An import is all or nothing
unless told to skip invalid rows; a retried submission is recognised by its digest.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC
from types import SimpleNamespace
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.services import incident_rows
from geo_service.services.audit import Trail
from geo_service.services.enrichment import derived_columns, digests
from geo_service.services.errors import Conflict, FieldError, Forbidden, InvalidInput
from geo_service.services.features import to_feature
from geo_service.services.incident_rows import IncidentRows, Vocabulary
from geo_service.store import incidents as store
from geo_service.store.visibility import Caller

SUBMITTED_COLUMNS = tuple(c for c in store.WRITTEN_COLUMNS if c in incident_rows.PROPERTY_NAMES)


@dataclass(frozen=True)
class Created:
    id: int
    created: bool  # False: the same submission was already stored
    feature: dict[str, Any] | None = None  # the stored incident, when just created


# Agency codes per engine (see `vocabulary`).
_agency_codes: WeakKeyDictionary[Any, frozenset[str]] = WeakKeyDictionary()


async def vocabulary(
    conn: AsyncConnection, geo: Geography, wanted: Iterable[str] = ()
) -> Vocabulary:
    """Codes to check submissions against. The agencies are read once per engine and again
    whenever a submission names one not seen yet, so a new agency counts at once."""
    key = conn.engine.sync_engine
    codes = _agency_codes.get(key)
    if codes is None or not set(wanted) <= codes:
        codes = _agency_codes[key] = await store.agency_codes(conn)
    return Vocabulary(agencies=codes, geography=geo)


def _values(rows: IncidentRows, derived: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    """Row `i` as the incidents table's column values, plus lon/lat for the geometry."""
    out: dict[str, Any] = {c: getattr(rows, c)[i] for c in SUBMITTED_COLUMNS}
    out |= {c: v[i] for c, v in derived.items()}
    out["occurred_at"] = rows.occurred_at[i].astype("datetime64[us]").item().replace(tzinfo=UTC)
    for key, value in list(out.items()):
        if isinstance(value, np.generic):
            out[key] = value.item()
    if out["location_accuracy_m"] != out["location_accuracy_m"]:
        out["location_accuracy_m"] = None
    out["lon"], out["lat"] = float(rows.lon[i]), float(rows.lat[i])
    return out


def _groups(rows: IncidentRows, i: int) -> list[dict[str, Any]]:
    return rows.groups.of(i)


def prepare_one(
    rows: IncidentRows, vocab: Vocabulary
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Check one submitted incident and compute what the service derives for it."""
    errors = incident_rows.check(rows, vocab)
    if errors:
        # One incident travels as a Feature: name its fields as they stand in one.
        raise InvalidInput(
            errors=[
                FieldError(e.field if e.field == "geometry" else f"properties.{e.field}", e.reason)
                for e in errors
            ]
        )
    rows = incident_rows.with_persons_filled(rows)
    values = _values(rows, derived_columns(rows, vocab.geography), 0)
    values["submission_sha256"] = digests(rows)[0]
    return values, _groups(rows, 0)


def check_own(caller: Caller, agencies: Iterable[object]) -> None:
    """An agency's caller writes only the agency's own incidents (the service, any)."""
    if caller.agency is None:
        return
    # Missing agencies (None, NaN) are the checks' to refuse, field by field.
    others = sorted({str(a) for a in agencies if a is not None and a == a and a != caller.agency})
    if others:
        raise Forbidden(
            f"{caller.agency} writes its own incidents only, not those of {', '.join(others)}"
        )


async def create_incident(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    rows: IncidentRows,
    trail: Trail,
) -> Created:
    """Store one incident, or recognise it as already stored (same agency, reference, content).
    Its fields are checked before whose it is: an unknown agency is bad input (422), a
    partner's is not the caller's to write (403). A new incident is in the audit `trail`,
    in the same transaction."""
    # One statement writes the incident and its groups, a second its audit entry; one
    # transaction holds both.
    async with engine.connect() as conn:
        vocab = await vocabulary(conn, geo, (a for a in rows.agency if a is not None))
        values, groups = prepare_one(rows, vocab)
        check_own(caller, rows.agency)
        new = await store.insert_incident(conn, values, groups)
        if new is None:
            existing = await store.find_by_reference(
                conn, caller, values["agency"], values["external_ref"]
            )
        else:
            detail = {"agency": values["agency"], "external_ref": values["external_ref"]}
            await trail.record(conn, "create", str(new["id"]), detail)
        await conn.commit()
    if new is not None:
        ordered = sorted(groups, key=lambda g: g["nationality"])  # as reads return them
        stored = {**values, **new, "apprehensions": ordered}
        stored["h3_cell"] = values[store.H3_COLUMNS[-1]]
        return Created(new["id"], True, to_feature(SimpleNamespace(**stored)))
    if existing is None:
        raise Conflict(
            f"reference {values['external_ref']!r} of {values['agency']} belongs to a deleted "
            "incident; use a new reference"
        )
    if existing.submission_sha256 != values["submission_sha256"]:
        raise Conflict(
            f"reference {values['external_ref']!r} of {values['agency']} is already used by "
            f"incident {existing.id} with different content; PATCH it or use a new reference"
        )
    return Created(existing.id, False)
