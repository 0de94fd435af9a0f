"""The FastAPI application: routers, problem handlers, OpenAPI document, lifespan."""

import asyncio
import contextlib
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service import __version__
from geo_service.api import problems
from geo_service.api.hardening import CrossOrigin, RateLimits, SecurityHeaders
from geo_service.api.nul_guard import RefuseNul
from geo_service.api.observability import RequestObserver
from geo_service.api.openapi_responses import document_common_problems
from geo_service.api.read_your_writes import ReadYourWrites
from geo_service.api.routes import (
    audit,
    exports,
    health,
    imports,
    incidents,
    layers,
    ogc,
    reports,
    sections,
    session,
    stream,
    tiles,
    trends,
    web,
)
from geo_service.geo.reference import Geography, load_geography
from geo_service.services import accounts, alerts, hexes
from geo_service.services.features import IncidentFeature
from geo_service.services.result_cache import ResultCache
from geo_service.services.shared_results import SharedResults
from geo_service.settings import Settings, get_settings
from geo_service.store.changes import Changes
from geo_service.store.db import create_engine, fill_pool
from geo_service.store.replica import ReadRouting

log = logging.getLogger(__name__)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names each refused field and why.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "row": {"type": "integer", "description": "record number in an import"},
                    "field": {"type": "string"},
                    "reason": {"type": "string"},
                },
                "required": ["field", "reason"],
            },
        },
    },
    "example": {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 422,
        "detail": "The input was refused; see errors for each field and reason.",
        "instance": "/api/v1/incidents",
        "errors": [{"field": "properties.category", "reason": "unknown category 'x'"}],
    },
}


async def _prepare(geography: Geography, engine: AsyncEngine, connections: int) -> None:
    """Work out in a thread, while the first requests are served, what every request would
    pay for first, and open the pool's connections; then move what lives as long as the
    process (geography, hexagons) out of the garbage collector's way: its full collections
    otherwise stall a request now and then by tens of milliseconds."""

    async def connect() -> None:
        try:
            await fill_pool(engine, connections)
        except Exception as exc:  # the requests open theirs when they need them
            log.warning("connections not opened ahead: %s", exc)

    await asyncio.gather(connect(), asyncio.to_thread(hexes.prepare, geography))
    gc.collect()
    gc.freeze()


def _also_on_exit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (in the event loop) when the server is told to stop (SIGTERM, SIGINT),
    before the server's own handler runs; returns what puts the handlers back."""
    loop = asyncio.get_running_loop()
    restore = []
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Callable[..., Any] = previous) -> None:
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        signal.signal(sig, handler)
        restore.append((sig, previous))

    def put_back() -> None:
        for sig, previous in restore:
            signal.signal(sig, previous)

    return put_back


async def _refuse_demo_credentials(engine: Any, settings: Settings) -> None:
    """Outside demo mode, demo users (whose passwords were printed) must not log in."""
    if settings.demo:
        return
    with contextlib.suppress(OperationalError, ProgrammingError):  # no database yet: /readyz
        found = await accounts.demo_users_enabled(engine)
        if found:
            raise SystemExit(
                f"refusing to start outside demo mode: demo users are enabled ({found[0]}, ...); "
                "disable them (geo-service users disable NAME) or set GEO_SERVICE_DEMO=1"
            )


def _made_by(settings: Settings) -> str:
    """How this service makes its results: its version, its layers and its settings."""
    layers = [p.read_text() for p in sorted(settings.layers_dir.glob("*.toml"))]
    return "\n".join([__version__, settings.model_dump_json(), *layers])


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = create_engine(settings, warm=True)
        # Who asks is looked up on connections of their own, which always work as the
        # service: the request's own connections then keep the role of their last caller
        # instead of switching back and forth on every request.
        app.state.accounts_engine = create_engine(settings, pool_size=4)
        try:
            await _refuse_demo_credentials(app.state.engine, settings)
        except SystemExit:
            await app.state.engine.dispose()
            await app.state.accounts_engine.dispose()
            raise
        app.state.geography = load_geography(settings.borders_dir)
        app.state.changes = Changes(settings.database_url, role=settings.db_role)
        await app.state.changes.start()
        app.state.result_cache = ResultCache(app.state.changes)
        shared = settings.shared_results_folder()
        app.state.shared_results = None
        if shared is not None:
            app.state.shared_results = SharedResults(
                shared, app.state.engine, app.state.changes, made_by=_made_by(settings)
            )
            app.state.shared_results.start_afresh()
        app.state.verified = accounts.Verified(app.state.changes)
        replica = settings.database_read_url
        app.state.read_routing = ReadRouting(
            app.state.engine,
            create_engine(settings, replica, warm=True) if replica else None,
            app.state.changes,
            max_lag_s=settings.replica_max_lag_s,
            interval_s=settings.replica_check_interval_s,
        )
        await app.state.read_routing.start()
        # Told to stop: live-stream clients are asked to reconnect (to another process, or
        # to this one restarted) and their streams end, so the server can drain and exit.
        app.state.draining = asyncio.Event()
        put_back = _also_on_exit(app.state.draining.set)
        preparing = asyncio.create_task(
            _prepare(app.state.geography, app.state.engine, settings.db_pool_size)
        )
        checking = None
        if settings.alert_interval_s > 0:
            checking = asyncio.create_task(
                alerts.keep_checking(
                    app.state.engine, app.state.geography, settings, settings.alert_interval_s
                )
            )
        try:
            yield
        finally:
            put_back()
            await preparing
            if checking is not None:
                checking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await checking
            await app.state.result_cache.close()
            await app.state.read_routing.stop()
            await app.state.changes.stop()
            if app.state.read_routing.replica is not None:
                await app.state.read_routing.replica.dispose()
            await app.state.engine.dispose()
            await app.state.accounts_engine.dispose()

    # The interactive docs serve Swagger UI and ReDoc from the package, not from a CDN.
    app = FastAPIOffline(
        title="Border situation service",
        version=__version__,
        summary="Incidents and apprehensions along the BiH–Serbia, BiH–Montenegro and "
        "Serbia–Montenegro borders, for the joint Police Cooperation Centre.",
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(ReadYourWrites)
    app.add_middleware(RateLimits, settings=settings)
    app.add_middleware(CrossOrigin, settings=settings)
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(RequestObserver)
    for router in (
        incidents.router,
        imports.router,
        layers.router,
        ogc.router,
        tiles.router,
        trends.router,
        sections.router,
        sections.alerts_router,
        stream.router,
        exports.router,
        reports.router,
        session.router,
        audit.router,
        health.router,
    ):
        app.include_router(router)
    web.install(app, settings)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            feature = IncidentFeature.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(feature.pop("$defs", {}))
            components["IncidentFeature"] = feature
            components["Problem"] = PROBLEM_SCHEMA
            document_common_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
