"""Request parameters shared by routes, each parsed once, and request-scoped resources."""

import contextlib
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service import domain
from geo_service.api.problems import HTTPProblem
from geo_service.geo.h3cells import parse_cell
from geo_service.geo.reference import Geography
from geo_service.metrics import READS, REQUEST_ID
from geo_service.services import accounts
from geo_service.services.audit import Trail
from geo_service.services.errors import FieldError, Forbidden, Unauthenticated
from geo_service.services.result_cache import READ_AS_OF, ResultCache
from geo_service.services.shared_results import SharedResults
from geo_service.settings import Settings
from geo_service.store import cql
from geo_service.store.incidents import IncidentFilter
from geo_service.store.replica import parse_lsn
from geo_service.store.visibility import CURRENT_CALLER, Caller

MAX_LIMIT = 10_000
# The cookie a write's answer sets when reads may go to a replica: the primary's WAL position
# after the write, so that the writer's next reads see it (read-your-writes).
WRITTEN_COOKIE = "geo_service_written"
SESSION_COOKIE = "geo_service_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The credentials `caller` reads, named so that the OpenAPI document shows which operations
# take them; none refuses anything itself.
BEARER = HTTPBearer(scheme_name="bearer", description="`Bearer <API key>`", auto_error=False)
API_KEY = APIKeyHeader(name="X-API-Key", scheme_name="apiKey", auto_error=False)
SESSION = APIKeyCookie(name=SESSION_COOKIE, scheme_name="session", auto_error=False)


async def engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


async def read_engine(request: Request) -> AsyncEngine:
    """The engine for a request that only reads: the replica when it holds what the reader
    must see (its own last write, every change this process was told of), else the
    primary."""
    written = None
    with contextlib.suppress(ValueError, AttributeError):
        written = parse_lsn(request.cookies.get(WRITTEN_COOKIE))  # type: ignore[arg-type]
    target = await request.app.state.read_routing.for_read(written)
    READS.labels(target.target, target.reason).inc()
    request.state.read_target = target.target
    READ_AS_OF.set(target.as_of)
    return target.engine


async def settings(request: Request) -> Settings:
    return request.app.state.settings


async def geography(request: Request) -> Geography:
    return request.app.state.geography


async def result_cache(request: Request) -> ResultCache:
    return request.app.state.result_cache


async def shared_results(request: Request) -> SharedResults | None:
    return request.app.state.shared_results


def _api_key(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be `Bearer <API key>`")
        return value.strip()
    return request.headers.get("x-api-key")


async def caller(
    request: Request,
    _by_bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    _by_header: Annotated[str | None, Depends(API_KEY)],
    _by_cookie: Annotated[str | None, Depends(SESSION)],
) -> AsyncIterator[Caller]:
    """Who is asking: the user of an API key (`Authorization: Bearer <key>` or `X-API-Key`)
    or of a browser session (cookie; a write must also send the session's CSRF token in
    `X-CSRF-Token`). A request with neither is refused: every read and write of the
    situation is some user's. The database work of the request is done as the caller
    (row-level security). A write made with an API key is in the audit trail: with the
    change it makes, in its transaction, or on its own once the request is answered."""
    engine, verified = request.app.state.accounts_engine, request.app.state.verified
    key = _api_key(request)
    if key is not None:
        found, via = await accounts.caller_of_key(engine, key, verified), "key"
    elif (token := request.cookies.get(SESSION_COOKIE)) is not None:
        found, csrf = await accounts.session_of(engine, token, verified)
        via, request.state.csrf_token = "session", csrf
        sent = request.headers.get("x-csrf-token", "")
        if request.method not in SAFE_METHODS and not hmac.compare_digest(sent, csrf):
            raise Forbidden("a write in a browser session needs the session's X-CSRF-Token")
    else:
        raise Unauthenticated("log in, or send an API key (`Authorization: Bearer <key>`)")
    CURRENT_CALLER.set(found)
    request.state.caller, request.state.credential = found, via
    request.state.trail = trail_of(request, found)
    if via == "key" and request.method not in SAFE_METHODS:
        request.state.trail.key_use = f"{request.method} {request.url.path}"
    try:
        yield found
    finally:
        await request.state.trail.settle()


def trail_of(request: Request, who: Caller) -> Trail:
    address = request.client.host if request.client else None
    return Trail(request.app.state.engine, who, address, REQUEST_ID.get())


async def trail(request: Request, _: Annotated[Caller, Depends(caller)]) -> Trail:
    """The audit trail, as seen from this request."""
    trail: Trail = request.state.trail
    return trail


def role_in(*roles: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency: the caller, when their role is one of `roles`."""

    async def allowed(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if who.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {who.role}")
        return who

    return allowed


Engine = Annotated[AsyncEngine, Depends(engine)]
ReadEngine = Annotated[AsyncEngine, Depends(read_engine)]
Geo = Annotated[Geography, Depends(geography)]
SettingsDep = Annotated[Settings, Depends(settings)]
CallerDep = Annotated[Caller, Depends(caller)]
# Callers who read incidents whole (narratives, references); who write the agency's own;
# who administer.
AnalystDep = Annotated[Caller, Depends(role_in("analyst", "officer", "admin"))]
OfficerDep = Annotated[Caller, Depends(role_in("officer"))]
AdminDep = Annotated[Caller, Depends(role_in("admin"))]
ResultCacheDep = Annotated[ResultCache, Depends(result_cache)]
SharedResultsDep = Annotated[SharedResults | None, Depends(shared_results)]
TrailDep = Annotated[Trail, Depends(trail)]


def bad_parameter(field: str, reason: str) -> HTTPProblem:
    return HTTPProblem(400, "Invalid request", f"{field}: {reason}", [FieldError(field, reason)])


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        raise bad_parameter("bbox", "must be four numbers: minLon,minLat,maxLon,maxLat") from None
    if len(parts) == 6:  # a 3D box: drop the heights
        parts = [parts[0], parts[1], parts[3], parts[4]]
    if len(parts) != 4 or any(p != p for p in parts):
        raise bad_parameter("bbox", "must be four numbers: minLon,minLat,maxLon,maxLat")
    lo_x, lo_y, hi_x, hi_y = parts
    if not (-180 <= lo_x <= 180 and -180 <= hi_x <= 180 and -90 <= lo_y <= hi_y <= 90):
        raise bad_parameter("bbox", "out of range or south above north")
    if lo_x > hi_x:
        raise bad_parameter("bbox", "boxes across the antimeridian are not served here")
    return lo_x, lo_y, hi_x, hi_y


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_parameter("datetime", f"{text!r} is not an RFC 3339 time") from None
    if value.tzinfo is None:
        raise bad_parameter("datetime", f"{text!r} needs a UTC offset (e.g. Z or +01:00)")
    return value


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None]:
    """An RFC 3339 instant or interval `start/end`, either end open (`..` or empty)."""
    if value is None:
        return None, None
    if "/" not in value:
        t = _instant(value)
        return t, t
    start_text, end_text = value.split("/", 1)
    start = None if start_text in ("", "..") else _instant(start_text)
    end = None if end_text in ("", "..") else _instant(end_text)
    if start and end and start > end:
        raise bad_parameter("datetime", "the interval ends before it starts")
    return start, end


def _codes(
    name: str, values: list[str] | None, known: Collection[str] | None = None
) -> tuple[str, ...]:
    """Several values, as repeated parameters or comma-separated, or both; each one of
    `known` when given."""
    codes = tuple(v.strip() for item in values or () for v in item.split(",") if v.strip())
    unknown = [c for c in codes if known is not None and c not in known]
    if unknown:
        raise bad_parameter(name, f"unknown code {unknown[0]!r}")
    return codes


def _cells(values: list[str] | None) -> tuple[int, ...]:
    out = []
    for text in _codes("cell", values):
        cell = parse_cell(text)
        if cell is None:
            raise bad_parameter("cell", f"{text!r} is not an H3 cell of resolution 5 to 10")
        out.append(cell)
    return tuple(out)


# Plain `def` dependencies would each run in a worker thread; these do no blocking work.
async def incident_filter(
    bbox: Annotated[
        str | None,
        Query(description="minLon,minLat,maxLon,maxLat (WGS84)", examples=["18.9,44.2,19.4,44.6"]),
    ] = None,
    datetime: Annotated[
        str | None,
        Query(
            description="RFC 3339 instant or interval; open ends as `..`",
            examples=["2026-11-01T00:00:00Z/.."],
        ),
    ] = None,
    category: Annotated[list[str] | None, Query(description="one or more categories")] = None,
    agency: Annotated[list[str] | None, Query(description="one or more agencies")] = None,
    nationality: Annotated[
        list[str] | None, Query(description="ISO 3166-1 alpha-3 codes of apprehended persons")
    ] = None,
    crossing_point: Annotated[list[str] | None, Query(description="crossing point ids")] = None,
    border_section: Annotated[
        list[str] | None, Query(description="border section ids, e.g. BIH-SRB-07")
    ] = None,
    cell: Annotated[
        list[str] | None,
        Query(description="H3 cells (resolution 5–10) the incidents lie in, e.g. 871ec5a6bffffff"),
    ] = None,
    cql_filter: Annotated[
        str | None,
        Query(
            alias="filter",
            max_length=4000,
            description="a CQL2 text filter over the incidents' queryables "
            "(/ogc/collections/incidents/queryables)",
            examples=["category = 'drug_smuggling' AND persons_involved >= 3"],
        ),
    ] = None,
    filter_lang: Annotated[
        str | None, Query(alias="filter-lang", description="`cql2-text`, the only one served")
    ] = None,
) -> IncidentFilter:
    start, end = parse_datetime(datetime)
    if filter_lang not in (None, "cql2-text"):
        raise bad_parameter("filter-lang", "only cql2-text is served")
    if cql_filter is not None:
        try:
            cql.check(cql_filter)
        except cql.CqlError as exc:
            raise bad_parameter("filter", str(exc)) from None
    return IncidentFilter(
        bbox=parse_bbox(bbox),
        start=start,
        end=end,
        categories=_codes("category", category, domain.CATEGORIES),
        agencies=_codes("agency", agency, domain.AGENCIES),
        nationalities=_codes(
            "nationality", [v.upper() for v in nationality or ()], domain.NATIONALITIES
        ),
        crossing_points=_codes("crossing_point", crossing_point),
        border_sections=_codes("border_section", border_section),
        cells=_cells(cell),
        cql=cql_filter,
    )


Filter = Annotated[IncidentFilter, Depends(incident_filter)]
