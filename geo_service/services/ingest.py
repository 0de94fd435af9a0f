"""Ingest: validate, enrich and write incidents, one at a time or in bulk.

An incident is acknowledged only after its transaction commits. An import is all or nothing
unless told to skip invalid rows; a retried submission is recognised by its digest.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import shapely
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.services import incident_rows
from geo_service.services.enrichment import derived_columns, digests
from geo_service.services.errors import Conflict, FieldError, InvalidInput
from geo_service.services.incident_rows import IncidentRows, Vocabulary
from geo_service.services.readers import Table
from geo_service.store import bulk
from geo_service.store import incidents as store
from geo_service.store.models import incidents as incidents_table
from geo_service.store.visibility import Caller

CHUNK_ROWS = 50_000
SUBMITTED_COLUMNS = tuple(c for c in store.WRITTEN_COLUMNS if c in incident_rows.PROPERTY_NAMES)
DERIVED_COLUMNS = tuple(c for c in store.WRITTEN_COLUMNS if c not in SUBMITTED_COLUMNS)
COPY_COLUMNS = ("id", *SUBMITTED_COLUMNS, *DERIVED_COLUMNS, "geom", "submission_sha256")


@dataclass
class ImportReport:
    """What an import did: rows received, created, already present unchanged, refused."""

    received: int = 0
    created: int = 0
    unchanged: int = 0
    rejected: list[FieldError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "created": self.created,
            "unchanged": self.unchanged,
            "rejected": len({e.row for e in self.rejected}),
            "errors": [e.as_dict() for e in self.rejected],
        }


@dataclass(frozen=True)
class Created:
    id: int
    created: bool  # False: the same submission was already stored


async def vocabulary(conn: AsyncConnection, geo: Geography) -> Vocabulary:
    return Vocabulary(agencies=await store.agency_codes(conn), geography=geo)


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
    return [g._asdict() for g in rows.apprehensions[i]]


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


async def create_incident(
    engine: AsyncEngine, caller: Caller, geo: Geography, rows: IncidentRows
) -> Created:
    """Store one incident, or recognise it as already stored (same agency, reference, content)."""
    async with engine.begin() as conn:
        values, groups = prepare_one(rows, await vocabulary(conn, geo))
        new_id = await store.insert_incident(conn, values, groups)
        if new_id is not None:
            return Created(new_id, True)
        existing = await store.find_by_reference(
            conn, caller, values["agency"], values["external_ref"]
        )
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


# --- bulk ------------------------------------------------------------------------------


def _incident_payload(rows: IncidentRows, ids: np.ndarray, geo: Geography) -> tuple[bytes, bytes]:
    """CSV payloads for COPY of one chunk: its incidents, and its apprehension groups."""
    derived = derived_columns(rows, geo)
    points = shapely.set_srid(shapely.points(rows.lon, rows.lat), 4326)
    columns: dict[str, Any] = {"id": ids}
    for c in SUBMITTED_COLUMNS:
        columns[c] = getattr(rows, c)
    columns["occurred_at"] = pa.array(rows.occurred_at, type=pa.timestamp("us", tz="UTC"))
    columns["location_accuracy_m"] = pa.array(
        rows.location_accuracy_m, mask=np.isnan(rows.location_accuracy_m)
    )
    columns |= derived
    columns["geom"] = shapely.to_wkb(points, hex=True, include_srid=True)
    columns["submission_sha256"] = ["\\x" + d.hex() for d in digests(rows)]
    table = pa.table({c: columns[c] for c in COPY_COLUMNS})

    counts = np.fromiter((len(g) for g in rows.apprehensions), dtype=np.int64, count=len(rows))
    flat = [g for gs in rows.apprehensions for g in gs]
    groups = pa.table(
        {
            "incident_id": np.repeat(ids, counts),
            "nationality": [g.nationality for g in flat],
            "persons": [g.persons for g in flat],
            "minors": [g.minors for g in flat],
            "women": [g.women for g in flat],
        }
    )
    return bulk.encode_csv(table), bulk.encode_csv(groups)


async def _copy_all(
    conn: AsyncConnection,
    rows: IncidentRows,
    geo: Geography,
    on_progress: Callable[[int], None] | None,
) -> None:
    ids = await bulk.reserve_incident_ids(conn, len(rows))
    group_payloads: list[bytes] = []
    starts = range(0, len(rows), CHUNK_ROWS)

    def prepare(start: int) -> tuple[bytes, bytes, int]:
        part = np.arange(start, min(start + CHUNK_ROWS, len(rows)))
        payload, groups = _incident_payload(rows.take(part), ids[part], geo)
        return payload, groups, len(part)

    async def payloads() -> AsyncIterator[bytes]:
        # Enrich the next chunk in a thread while the database takes the current one.
        pending = [asyncio.to_thread(prepare, s) for s in starts[:1]]
        for k in range(len(starts)):
            payload, groups, n = await pending.pop()
            if k + 1 < len(starts):
                pending.append(asyncio.ensure_future(asyncio.to_thread(prepare, starts[k + 1])))
            group_payloads.append(groups)
            yield payload
            if on_progress:
                on_progress(n)

    await bulk.copy_csv(conn, incidents_table.name, COPY_COLUMNS, payloads())

    async def group_iter() -> AsyncIterator[bytes]:
        for payload in group_payloads:
            yield payload

    await bulk.copy_csv(conn, "apprehensions", ("incident_id", *store.GROUP_COLUMNS), group_iter())


async def import_table(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    table: Table,
    *,
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a table read from a file: all or nothing, unless `skip_invalid`."""
    rows, read_errors = incident_rows.from_frame(table.frame, table.lon, table.lat)
    report = ImportReport(received=len(rows))
    async with engine.begin() as conn:
        vocab = await vocabulary(conn, geo)
        unreadable = table.errors + read_errors
        # A value that could not be read is reported once, not again as missing.
        seen = {(e.row, "geometry" if e.field in ("lon", "lat") else e.field) for e in unreadable}
        checked = incident_rows.check(rows, vocab)
        errors = unreadable + [e for e in checked if (e.row, e.field) not in seen]
        bad_rows = {e.row for e in errors}
        keep = ~np.isin(rows.row, list(bad_rows))
        rows = incident_rows.with_persons_filled(rows.take(keep))
        existing = await store.existing_references(conn, caller, rows.agency, rows.external_ref)
        if existing:
            fresh = np.ones(len(rows), dtype=bool)
            mine = digests(rows)
            for i, (agency, ref) in enumerate(zip(rows.agency, rows.external_ref, strict=True)):
                stored = existing.get((agency, ref))
                if stored is None:
                    continue
                fresh[i] = False
                if stored == mine[i]:
                    report.unchanged += 1
                else:
                    errors.append(
                        FieldError(
                            "external_ref",
                            f"{ref!r} of {agency} is already used by an incident with "
                            "different content",
                            int(rows.row[i]),
                        )
                    )
            rows = rows.take(fresh & ~np.isin(rows.row, [e.row for e in errors]))
        errors.sort(key=lambda e: e.row or 0)
        if errors and not skip_invalid:
            raise InvalidInput(
                errors=errors,
                detail=f"{len({e.row for e in errors})} of {report.received} rows were refused; "
                "nothing was imported (skip invalid rows to import the others)",
            )
        report.rejected = errors
        try:
            await _copy_all(conn, rows, geo, on_progress)
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            raise Conflict(
                "another submission took one of these references while importing; "
                "nothing was imported, run the import again"
            ) from exc
        report.created = len(rows)
    return report


def submitted_rows(features: Sequence[tuple[tuple[float, float], dict[str, Any]]]) -> IncidentRows:
    return incident_rows.from_properties(features)
