"""/api/v1/stream: server-sent events of new, changed and deleted incidents as they are
committed, whichever service process wrote them (PostgreSQL LISTEN/NOTIFY)."""

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from geo_service.api.deps import CallerDep, Engine
from geo_service.services import stream

router = APIRouter(prefix="/api/v1", tags=["Incidents"])
KEEP_ALIVE_S = 15.0


@router.get(
    "/stream",
    summary="Live events (text/event-stream)",
    description='`incident` (a GeoJSON Feature, new or changed), `removed` (`{"id": …}`), '
    "`refresh` (reload: too much changed at once, or the stream reconnected to the "
    "database); a comment every 15 s keeps the connection open. Each caller gets only what "
    "it may see.",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(request: Request, engine: Engine, caller: CallerDep) -> StreamingResponse:
    changes = request.app.state.changes
    queue = changes.subscribe()

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 2000\n\n" + stream.frame("hello", b"{}")
            while True:
                try:
                    notice = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                for event, data in await stream.events(engine, caller, notice):
                    yield stream.frame(event, data)
        finally:
            changes.unsubscribe(queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
