"""/api/v1/stream: server-sent events of new, changed and deleted incidents as they are
committed, whichever service process wrote them (PostgreSQL LISTEN/NOTIFY)."""

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from geo_service.api.deps import CallerDep, Engine, SettingsDep
from geo_service.services import stream
from geo_service.services.layer_catalog import load_catalog

router = APIRouter(prefix="/api/v1", tags=["Incidents"])
KEEP_ALIVE_S = 15.0


@router.get(
    "/stream",
    summary="Live events (text/event-stream)",
    description='`incident` (a GeoJSON Feature, new or changed), `removed` (`{"id": …}`), '
    "`refresh` (reload: too much changed at once, or the stream reconnected to the "
    "database); `reconnect` when the service is stopping (the stream then ends; reconnect "
    "to carry on); a comment every 15 s keeps the connection open. Each caller gets only what "
    "it may see.",
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live(
    request: Request, engine: Engine, caller: CallerDep, settings: SettingsDep
) -> StreamingResponse:
    hidden = load_catalog(settings.layers_dir)["incidents"].hidden_properties(caller.role)
    changes = request.app.state.changes
    draining: asyncio.Event = request.app.state.draining
    queue = changes.subscribe()

    async def frames() -> AsyncIterator[bytes]:
        stopping = asyncio.ensure_future(draining.wait())
        try:
            yield b"retry: 2000\n\n" + stream.frame("hello", b"{}")
            while True:
                getting = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getting, stopping}, timeout=KEEP_ALIVE_S, return_when=asyncio.FIRST_COMPLETED
                )
                if stopping in done:
                    getting.cancel()
                    yield b"retry: 1000\n\n" + stream.frame("reconnect", b'{"reason":"stopping"}')
                    return
                if getting not in done:
                    getting.cancel()
                    yield b": keep-alive\n\n"
                    continue
                for event, data in await stream.shared_events(
                    engine, caller, getting.result(), hidden
                ):
                    yield stream.frame(event, data)
        finally:
            stopping.cancel()
            changes.unsubscribe(queue)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
