"""/healthz (the process is up), /readyz (the database answers, migrations are current, the
change listener is connected) and /metrics (Prometheus text format)."""

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from geo_service.api.deps import Engine
from geo_service.metrics import DB_CONNECTIONS, REPLICA_LAG, STREAM_CLIENTS
from geo_service.store.migrate import schema_status

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    summary="Ready to serve: database reachable, migrations current, change listener connected",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def readyz(request: Request, engine: Engine) -> Response:
    status = await schema_status(engine)
    ready, reason = status.ready, status.reason
    if ready and not request.app.state.changes.listening:
        ready, reason = False, "change listener not connected: live updates would be missed"
    # A replica's trouble does not make the service unready: its reads go to the primary.
    replica = request.app.state.read_routing.state
    body = orjson.dumps(
        {"status": "ready" if ready else "not ready", "reason": reason, "read_replica": replica}
    )
    headers = None if ready else {"Retry-After": "5"}
    return Response(body, 200 if ready else 503, headers, media_type="application/json")


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (text format)",
    response_class=PlainTextResponse,
)
async def metrics(request: Request, engine: Engine) -> Response:
    STREAM_CLIENTS.set(request.app.state.changes.subscribers)
    lag = request.app.state.read_routing.lag_s
    REPLICA_LAG.set(-1 if lag is None else lag)
    pool = engine.pool
    in_use = pool.checkedout()  # type: ignore[attr-defined]
    DB_CONNECTIONS.labels("in_use").set(in_use)
    DB_CONNECTIONS.labels("idle").set(pool.checkedin())  # type: ignore[attr-defined]
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
