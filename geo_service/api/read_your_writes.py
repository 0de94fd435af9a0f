"""Read-your-writes. After every successful write, this process's kept results (tiles,
pages, hexagons) are let go at once, before the change's notice comes back from the database;
and with a read replica, the answer carries the primary's WAL position after it (cookie
`geo_service_written`), which the writer's next requests bring back; `deps.read_engine` reads
from the replica only once it has replayed that far. Pure ASGI."""

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_service.api.deps import WRITTEN_COOKIE
from geo_service.store.replica import ReadRouting, format_lsn

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Longer than any replica is let lag before reads leave it.
COOKIE_AGE_S = 300
log = logging.getLogger(__name__)


class ReadYourWrites:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        routing: ReadRouting | None = getattr(state, "read_routing", None)
        changes = getattr(state, "changes", None)

        async def sending(message: Message) -> None:
            done = message["type"] == "http.response.start" and message["status"] < 400
            if done and changes is not None:
                changes.written()
            if done and routing is not None and routing.replica is not None:
                try:
                    position = format_lsn(await routing.primary_lsn())
                except Exception as exc:  # the write is done; its answer goes out anyway
                    log.warning("no WAL position for read-your-writes: %s", exc)
                else:
                    cookie = (
                        f"{WRITTEN_COOKIE}={position}; Max-Age={COOKIE_AGE_S}; Path=/; "
                        "HttpOnly; SameSite=Strict"
                    )
                    headers = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
