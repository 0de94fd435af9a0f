"""Imports: many incidents from a table, checked, enriched and written with binary COPY.

The work is a pipeline of chunks: a worker thread reads, checks, enriches and encodes one
chunk while the database takes the previous one, so the two cores work side by side. All
or nothing: any refused row (unless skipped) aborts the COPY and rolls the import back.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.geo.reference import Geography
from geo_service.geo.wkb import ewkb_points
from geo_service.services import incident_rows
from geo_service.services.audit import Trail
from geo_service.services.enrichment import derived_columns, digests
from geo_service.services.errors import Conflict, FieldError, InvalidInput
from geo_service.services.incident_rows import IncidentRows, Vocabulary
from geo_service.services.ingest import SUBMITTED_COLUMNS, check_own, vocabulary
from geo_service.services.readers import COORDINATE_COLUMNS, Table
from geo_service.store import bulk
from geo_service.store import incidents as store
from geo_service.store.models import apprehensions, incidents
from geo_service.store.visibility import Caller, as_service

CHUNK_ROWS = 50_000
FIRST_CHUNK_ROWS = 5_000
DERIVED_COLUMNS = tuple(c for c in store.WRITTEN_COLUMNS if c not in SUBMITTED_COLUMNS)
INCIDENT_SCHEMA = bulk.arrow_schema(
    incidents, ("id", *SUBMITTED_COLUMNS, *DERIVED_COLUMNS, "geom", "submission_sha256")
)
GROUP_SCHEMA = bulk.arrow_schema(apprehensions, ("incident_id", *store.GROUP_COLUMNS))


def chunk_bounds(n: int) -> list[tuple[int, int]]:
    """[start, stop) of each chunk of `n` rows: the database idles until the first chunk is
    ready, so chunks start small and double up to CHUNK_ROWS."""
    bounds, start, size = [], 0, FIRST_CHUNK_ROWS
    while start < n:
        bounds.append((start, min(start + size, n)))
        start, size = start + size, min(2 * size, CHUNK_ROWS)
    return bounds


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


@dataclass
class _Chunk:
    errors: list[FieldError]
    unchanged: int = 0
    created: int = 0
    incidents: bytes = b""
    groups: bytes = b""


def _encode(rows: IncidentRows, ids: np.ndarray, geo: Geography) -> tuple[bytes, bytes]:
    """Binary COPY payloads of checked rows: the incidents, and their apprehension groups."""
    columns: dict[str, Any] = {"id": ids}
    columns |= {c: getattr(rows, c) for c in SUBMITTED_COLUMNS}
    columns["occurred_at"] = pa.array(rows.occurred_at, type=pa.timestamp("us", tz="UTC"))
    columns["location_accuracy_m"] = pa.array(
        rows.location_accuracy_m, mask=np.isnan(rows.location_accuracy_m)
    )
    columns |= derived_columns(rows, geo)
    columns["geom"] = ewkb_points(rows.lon, rows.lat)
    columns["submission_sha256"] = digests(rows)
    table = pa.table(
        [pa.array(columns[f.name], f.type) for f in INCIDENT_SCHEMA], schema=INCIDENT_SCHEMA
    )
    g = rows.groups
    groups = pa.table(
        [ids[g.incident], g.nationality, g.persons, g.minors, g.women], schema=GROUP_SCHEMA
    )
    return bulk.encode(INCIDENT_SCHEMA, table), bulk.encode(GROUP_SCHEMA, groups)


def _prepare(
    table: Table,
    start: int,
    stop: int,
    ids: np.ndarray,
    vocab: Vocabulary,
    seen: set[tuple[Any, ...]],
    existing: dict[tuple[str, str], bytes | None],
    encode: bool,
) -> _Chunk:
    """Read, check and (when `encode`) enrich and encode rows start..stop of `table`; `seen`
    collects the (agency, reference) pairs of the rows before, to find repeated ones."""
    rows, errors = incident_rows.from_frame(
        table.frame.iloc[start:stop], table.lon[start:stop], table.lat[start:stop], start + 1
    )
    errors = [e for e in table.errors if start < (e.row or 0) <= stop] + errors
    # A value that could not be read is reported once, not again as missing.
    unread = {(e.row, "geometry" if e.field in COORDINATE_COLUMNS else e.field) for e in errors}
    errors += [e for e in incident_rows.check(rows, vocab) if (e.row, e.field) not in unread]
    errors += incident_rows.repeated_references(rows.agency, rows.external_ref, rows.row, seen)
    bad = {e.row for e in errors if e.row is not None}
    rows = incident_rows.with_persons_filled(rows.take(~np.isin(rows.row, sorted(bad))))
    chunk = _Chunk(errors)
    if existing and len(rows):
        keys = list(zip(rows.agency, rows.external_ref, strict=True))
        fresh = np.array([k not in existing for k in keys], dtype=bool)
        if not fresh.all():
            mine = digests(rows)
            for i in np.flatnonzero(~fresh):
                stored = existing[keys[i]]
                if stored == mine[i]:
                    chunk.unchanged += 1
                elif stored is None:
                    errors.append(
                        FieldError(
                            "external_ref",
                            f"{rows.external_ref[i]!r} of {rows.agency[i]} belongs to a deleted "
                            "incident; use a new reference",
                            int(rows.row[i]),
                        )
                    )
                else:
                    errors.append(
                        FieldError(
                            "external_ref",
                            f"{rows.external_ref[i]!r} of {rows.agency[i]} is already used by "
                            "an incident with different content",
                            int(rows.row[i]),
                        )
                    )
            rows = rows.take(fresh)
    if encode and len(rows):
        chunk.incidents, chunk.groups = _encode(rows, ids[rows.row - 1], geo=vocab.geography)
        chunk.created = len(rows)
    return chunk


class _AlreadyStored(Exception):
    """A reference of the import is already stored: the import is run again, looking up
    what is stored first."""


async def import_table(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    table: Table,
    *,
    skip_invalid: bool = False,
    on_progress: Callable[[int], None] | None = None,
    trail: Trail | None = None,
    trail_detail: dict[str, Any] | None = None,
) -> ImportReport:
    """Import a table read from a file: all or nothing, unless `skip_invalid`; in the audit
    `trail` (with `trail_detail` beside the report), in the same transaction, when given.

    Most imports bring new incidents only, so the first attempt does not look up stored
    references; the unique constraint catches one that is stored, and the import then runs
    again with the look-up (a retried import, say).
    """
    if "agency" in table.frame:
        check_own(caller, table.frame["agency"].dropna().unique())
    audit = None if trail is None else (trail, trail_detail or {})
    # Every row is the caller's agency's: written by COPY, which row-level security refuses
    # to an agency's role.
    with as_service():
        try:
            return await _import(
                engine, caller, geo, table, skip_invalid, on_progress, audit, look_up=False
            )
        except _AlreadyStored:
            return await _import(
                engine, caller, geo, table, skip_invalid, on_progress, audit, look_up=True
            )


async def _import(
    engine: AsyncEngine,
    caller: Caller,
    geo: Geography,
    table: Table,
    skip_invalid: bool,
    on_progress: Callable[[int], None] | None,
    audit: tuple[Trail, dict[str, Any]] | None,
    *,
    look_up: bool,
) -> ImportReport:
    n = len(table.frame)
    report = ImportReport(received=n)
    errors: list[FieldError] = []
    group_payloads: list[bytes] = []
    seen: set[tuple[Any, ...]] = set()

    async with engine.begin() as conn:
        named = incident_rows.text_column(table.frame, "agency")
        vocab = await vocabulary(conn, geo, {a for a in pd.unique(named) if a is not None})
        known = (
            await store.existing_references(
                conn,
                caller,
                incident_rows.text_column(table.frame, "agency"),
                incident_rows.text_column(table.frame, "external_ref"),
            )
            if look_up
            else {}
        )
        # An import may run long; the service's per-statement bound is for requests.
        await bulk.allow_long_statements(conn)
        stored_before = await bulk.estimated_rows(conn, incidents)
        ids = await bulk.reserve_ids(conn, incidents.name, n)
        bounds = chunk_bounds(n)

        def work(k: int, encode: bool) -> Any:
            lo, hi = bounds[k]
            return asyncio.to_thread(_prepare, table, lo, hi, ids, vocab, seen, known, encode)

        async def payloads() -> AsyncIterator[bytes]:
            failing = bool(errors) and not skip_invalid
            pending = asyncio.ensure_future(work(0, not failing)) if bounds else None
            for k in range(len(bounds)):
                assert pending is not None
                chunk = await pending
                errors.extend(chunk.errors)
                failing = failing or (bool(errors) and not skip_invalid)
                if k + 1 < len(bounds):  # the next chunk is prepared while this one is written
                    pending = asyncio.ensure_future(work(k + 1, not failing))
                report.unchanged += chunk.unchanged
                if not failing:
                    report.created += chunk.created
                    group_payloads.append(chunk.groups)
                    yield chunk.incidents
                if on_progress:
                    on_progress(bounds[k][1] - bounds[k][0])

        async def groups() -> AsyncIterator[bytes]:
            for payload in group_payloads:
                yield payload

        try:
            await bulk.copy_binary(conn, incidents, INCIDENT_SCHEMA, payloads())
            errors.sort(key=lambda e: e.row or 0)
            if errors and not skip_invalid:
                raise InvalidInput(
                    errors=errors,
                    detail=f"{len({e.row for e in errors})} of {n} rows were refused; nothing "
                    "was imported (skip invalid rows to import the others)",
                )
            if report.created > stored_before:
                # The groups' foreign-key checks look incidents up with a plan made from the
                # table's statistics; a table that was nearly empty would be scanned whole for
                # each group.
                await bulk.analyze(conn, incidents)
            await bulk.copy_binary(conn, apprehensions, GROUP_SCHEMA, groups())
            if audit is not None:
                report.rejected = errors
                trail, detail = audit
                await trail.record(conn, "import", None, report.as_dict() | detail)
        except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
            if not look_up:
                raise _AlreadyStored from exc
            raise Conflict(
                "another submission took one of these references while importing; "
                "nothing was imported, run the import again"
            ) from exc
    report.rejected = errors
    return report
