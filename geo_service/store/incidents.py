"""SQL of incidents and their apprehensions. Every read starts from the visibility filter."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.geo.h3cells import cell_resolution
from geo_service.store import cql
from geo_service.store.db import raw_connection
from geo_service.store.models import H3_COLUMNS, agencies, apprehensions, incidents
from geo_service.store.visibility import Caller, visible_incidents

# Columns a write sets: all but the key, the geometry (set from longitude and latitude),
# the digest of the creating submission, and what the database keeps itself.
_NOT_WRITTEN = frozenset(
    {"id", "geom", "submission_sha256", "reported_at", "updated_at", "status", "version"}
    | {"deleted_at"}
)
WRITTEN_COLUMNS = tuple(c.name for c in incidents.columns if c.name not in _NOT_WRITTEN)
GROUP_COLUMNS = ("nationality", "persons", "minors", "women")

# json_build_object('nationality', nationality, 'persons', persons, ...)
_GROUP_PAIRS: list[Any] = []
for _c in GROUP_COLUMNS:
    _GROUP_PAIRS += [literal_column(f"'{_c}'"), apprehensions.c[_c]]

_groups = (
    select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(*_GROUP_PAIRS),
                    apprehensions.c.nationality,
                )
            ),
            literal_column("'[]'::json"),
        )
    )
    .where(apprehensions.c.incident_id == incidents.c.id)
    .scalar_subquery()
    .label("apprehensions")
)

READ_COLUMNS = (
    incidents.c.id,
    incidents.c.version,
    *(incidents.c[c] for c in WRITTEN_COLUMNS if c not in H3_COLUMNS),
    incidents.c.reported_at,
    incidents.c.updated_at,
    incidents.c.status,
    incidents.c[H3_COLUMNS[-1]].label("h3_cell"),
    func.ST_X(incidents.c.geom).label("lon"),
    func.ST_Y(incidents.c.geom).label("lat"),
    _groups,
)


@dataclass(frozen=True)
class IncidentFilter:
    """What a list of incidents may be narrowed by; empty means no narrowing."""

    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    categories: Sequence[str] = field(default_factory=tuple)
    agencies: Sequence[str] = field(default_factory=tuple)
    nationalities: Sequence[str] = field(default_factory=tuple)
    crossing_points: Sequence[str] = field(default_factory=tuple)
    border_sections: Sequence[str] = field(default_factory=tuple)
    # H3 cells (as integers) the incidents lie in, each at its own resolution.
    cells: Sequence[int] = field(default_factory=tuple)
    # A CQL2 text filter (store/cql.py), checked when the filter was made.
    cql: str | None = None


@dataclass(frozen=True)
class Existing:
    """An incident already stored under an (agency, reference)."""

    id: int
    version: int
    submission_sha256: bytes


def _point() -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(bindparam("lon"), bindparam("lat")), 4326)


def _insert_statement() -> str:
    """One round trip for a new incident and its groups: the groups' insert reads the id the
    incident's insert returns; nothing is inserted when the reference is taken."""
    names = ", ".join(f'"{c}"' for c in (*WRITTEN_COLUMNS, "submission_sha256"))
    values = ", ".join(f"%({c})s" for c in (*WRITTEN_COLUMNS, "submission_sha256"))
    return f"""
        WITH new AS (
            INSERT INTO incidents ({names}, geom)
            VALUES ({values}, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
            ON CONFLICT (agency, external_ref) DO NOTHING
            RETURNING id, version, reported_at, updated_at, status
        ), groups AS (
            INSERT INTO apprehensions (incident_id, nationality, persons, minors, women)
            SELECT new.id, g.nationality, g.persons, g.minors, g.women
            FROM new, unnest(
                CAST(%(g_nationality)s AS text[]), CAST(%(g_persons)s AS integer[]),
                CAST(%(g_minors)s AS integer[]), CAST(%(g_women)s AS integer[])
            ) AS g(nationality, persons, minors, women)
        )
        SELECT id, version, reported_at, updated_at, status FROM new
        """


_INSERT = _insert_statement()
CREATED_COLUMNS = ("id", "version", "reported_at", "updated_at", "status")


async def agency_codes(conn: AsyncConnection) -> frozenset[str]:
    result = await conn.execute(select(agencies.c.code))
    return frozenset(result.scalars())


async def insert_incident(
    conn: AsyncConnection, values: Mapping[str, Any], groups: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """Insert one incident and its groups: its id, version, times and status; None when its
    (agency, reference) is taken.

    The busiest write of the service goes straight to psycopg as a prepared statement.
    """
    params = dict(values)
    for c in GROUP_COLUMNS:
        params[f"g_{c}"] = [g[c] for g in groups]
    raw = await raw_connection(conn)
    cursor = await raw.execute(_INSERT, params, prepare=True)
    row = await cursor.fetchone()
    return dict(zip(CREATED_COLUMNS, row, strict=True)) if row else None


async def find_by_reference(
    conn: AsyncConnection, caller: Caller, agency: str, external_ref: str
) -> Existing | None:
    stmt = visible_incidents(
        caller, incidents.c.id, incidents.c.version, incidents.c.submission_sha256
    ).where(incidents.c.agency == agency, incidents.c.external_ref == external_ref)
    row = (await conn.execute(stmt)).first()
    return Existing(row.id, row.version, bytes(row.submission_sha256)) if row else None


async def existing_references(
    conn: AsyncConnection, caller: Caller, agency: Iterable[str], external_ref: Iterable[str]
) -> dict[tuple[str, str], bytes | None]:
    """For each (agency, reference) pair already taken: the stored submission's digest, or
    None where the incident holding it was deleted (its reference stays taken)."""
    pairs = text(
        "SELECT * FROM unnest(CAST(:agency AS text[]), CAST(:ref AS text[])) AS u(agency, ref)"
    ).columns(agency=incidents.c.agency.type, ref=incidents.c.external_ref.type)
    wanted = pairs.bindparams(agency=list(agency), ref=list(external_ref)).subquery("wanted")
    stmt = visible_incidents(
        caller,
        incidents.c.agency,
        incidents.c.external_ref,
        incidents.c.submission_sha256,
        incidents.c.deleted_at,
        deleted=True,
    ).where(
        exists().where(
            and_(wanted.c.agency == incidents.c.agency, wanted.c.ref == incidents.c.external_ref)
        )
    )
    result = await conn.execute(stmt)
    return {
        (r.agency, r.external_ref): None if r.deleted_at else bytes(r.submission_sha256)
        for r in result
    }


async def fetch_incident(
    conn: AsyncConnection, caller: Caller, incident_id: int, *, for_update: bool = False
) -> Row[Any] | None:
    stmt = visible_incidents(caller, *READ_COLUMNS).where(incidents.c.id == incident_id)
    if for_update:
        stmt = stmt.with_for_update(of=incidents)
    return (await conn.execute(stmt)).first()


def matching(stmt: Select[Any], where: IncidentFilter) -> Select[Any]:
    """`stmt` (a select from incidents) narrowed to the incidents `where` describes."""
    c = incidents.c
    if where.bbox is not None:
        # `&&`: for points the same as intersecting the box, and LEAKPROOF (migration 0007),
        # so that the spatial index serves callers under row-level security.
        stmt = stmt.where(c.geom.op("&&")(func.ST_MakeEnvelope(*where.bbox, 4326)))
    if where.start is not None:
        stmt = stmt.where(c.occurred_at >= where.start)
    if where.end is not None:
        stmt = stmt.where(c.occurred_at <= where.end)
    for column, values in (
        (c.category, where.categories),
        (c.agency, where.agencies),
        (c.crossing_point, where.crossing_points),
        (c.border_section, where.border_sections),
    ):
        if values:
            stmt = stmt.where(column.in_(list(values)))
    if where.cells:
        by_resolution: dict[int, list[int]] = {}
        for cell in where.cells:
            by_resolution.setdefault(cell_resolution(cell), []).append(cell)
        stmt = stmt.where(
            or_(*(c[f"h3_res{r}"].in_(cells) for r, cells in sorted(by_resolution.items())))
        )
    if where.nationalities:
        stmt = stmt.where(
            exists().where(
                apprehensions.c.incident_id == c.id,
                apprehensions.c.nationality.in_(list(where.nationalities)),
            )
        )
    if where.cql is not None:
        stmt = stmt.where(cql.clause(where.cql))
    return stmt


def iso_time(column: Any) -> Any:
    """A time as the API writes it (datetime.isoformat in UTC, `Z` for +00:00)."""
    utc = func.timezone("UTC", column)
    whole = func.to_char(utc, literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"), type_=Text)
    fraction = case(
        (
            func.extract("microseconds", column) % 1_000_000 != 0,
            func.to_char(utc, literal_column("'.US'"), type_=Text),
        ),
        else_=literal_column("''", Text),
    )
    return whole.concat(fraction).concat(literal_column("'Z'", Text))


# The GeoJSON Feature of a stored incident, made by PostgreSQL: the same document as
# services.features.to_feature makes of a row of READ_COLUMNS (same keys, order, formats).
_i = incidents.c
_TIMES = ("occurred_at", "reported_at", "updated_at")
_PROPERTIES: list[Any] = []
for _name in (
    "id", "version", "agency", "external_ref", "category", "occurred_at", "reported_at",
    "updated_at", "location_accuracy_m", "direction", "attempted", "detection", "means",
    "persons_involved", "crossing_point", "impact", "sharing", "narrative", "status",
    "apprehensions", "country", "border_pair", "border_section", "distance_to_border_m",
    "h3_cell",
):  # fmt: skip
    if _name in _TIMES:
        value = iso_time(_i[_name])
    elif _name == "apprehensions":
        value = _groups.element
    elif _name == "h3_cell":
        value = func.to_hex(_i[H3_COLUMNS[-1]])
    else:
        value = _i[_name]
    _PROPERTIES += [literal_column(f"'{_name}'"), value]
FEATURE_JSON = func.json_build_object(
    literal_column("'type'"),
    literal_column("'Feature'"),
    literal_column("'id'"),
    _i.id,
    literal_column("'geometry'"),
    func.json_build_object(
        literal_column("'type'"),
        literal_column("'Point'"),
        literal_column("'coordinates'"),
        func.json_build_array(func.ST_X(_i.geom), func.ST_Y(_i.geom)),
    ),
    literal_column("'properties'"),
    func.json_build_object(*_PROPERTIES),
).cast(Text)


async def list_incidents(
    conn: AsyncConnection,
    caller: Caller,
    where: IncidentFilter,
    *,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> Sequence[Row[Any]]:
    """Newest first, `limit` rows after the keyset position `after` (occurred_at, id): each
    its `id`, `occurred_at`, `external_ref` and GeoJSON Feature as text (`feature`)."""
    c = incidents.c
    columns = (c.id, c.occurred_at, c.external_ref, FEATURE_JSON.label("feature"))
    stmt = matching(visible_incidents(caller, *columns), where)
    if after is not None:
        stmt = stmt.where(tuple_(c.occurred_at, c.id) < tuple_(*after))
    stmt = stmt.order_by(c.occurred_at.desc(), c.id.desc()).limit(limit)
    return (await conn.execute(stmt)).all()


async def update_incident(
    conn: AsyncConnection,
    incident_id: int,
    version: int,
    values: Mapping[str, Any],
    groups: Sequence[Mapping[str, Any]],
) -> int | None:
    """Write new values if the row is still at `version`; the new version, else None."""
    stmt = (
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.version == version)
        .values(
            **{c: bindparam(f"v_{c}") for c in values if c not in ("lon", "lat")},
            geom=_point(),
            version=incidents.c.version + 1,
            updated_at=func.now(),
        )
        .returning(incidents.c.version)
    )
    params = {f"v_{k}": v for k, v in values.items() if k not in ("lon", "lat")}
    params |= {"lon": values["lon"], "lat": values["lat"]}
    new_version = (await conn.execute(stmt, params)).scalar_one_or_none()
    if new_version is None:
        return None
    await conn.execute(delete(apprehensions).where(apprehensions.c.incident_id == incident_id))
    if groups:
        await conn.execute(
            insert(apprehensions), [{"incident_id": incident_id, **g} for g in groups]
        )
    return int(new_version)


async def soft_delete(conn: AsyncConnection, incident_id: int, version: int | None) -> bool:
    """Mark the incident deleted (at `version`, when given); whether a row was marked."""
    stmt = update(incidents).where(incidents.c.id == incident_id, incidents.c.deleted_at.is_(None))
    if version is not None:
        stmt = stmt.where(incidents.c.version == version)
    stmt = stmt.values(
        deleted_at=func.now(), version=incidents.c.version + 1, updated_at=func.now()
    )
    result = await conn.execute(stmt.returning(incidents.c.id))
    return result.first() is not None


async def features_by_id(
    conn: AsyncConnection, caller: Caller, ids: Sequence[int]
) -> Sequence[Row[Any]]:
    """`id`, `deleted` and the GeoJSON Feature (`feature`, None when deleted) of each of `ids`
    that `caller` may see, deleted ones included (to tell that they are gone)."""
    c = incidents.c
    stmt = visible_incidents(
        caller,
        c.id,
        c.deleted_at.is_not(None).label("deleted"),
        FEATURE_JSON.label("feature"),
        deleted=True,
    ).where(c.id.in_(list(ids)))
    return (await conn.execute(stmt.order_by(c.id))).all()


async def data_state(conn: AsyncConnection, caller: Caller) -> tuple[int, datetime | None]:
    """How many incidents `caller` sees and when the last of them changed."""
    stmt = visible_incidents(caller, func.count(), func.max(incidents.c.updated_at))
    count, changed = (await conn.execute(stmt)).one()
    return int(count), changed
