"""/healthz (the process is up) and /readyz (the database answers, migrations are current)."""

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from geo_service.api.deps import Engine
from geo_service.store.migrate import schema_status

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get(
    "/readyz",
    summary="Ready to serve: database reachable, migrations current",
    responses={503: {"description": "Not ready, with the reason"}},
)
async def readyz(engine: Engine) -> Response:
    status = await schema_status(engine)
    body = orjson.dumps(
        {"status": "ready" if status.ready else "not ready", "reason": status.reason}
    )
    headers = None if status.ready else {"Retry-After": "5"}
    return Response(body, 200 if status.ready else 503, headers, media_type="application/json")
