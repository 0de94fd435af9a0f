"""Read-your-writes with a read replica: the answer to every successful write carries the
primary's WAL position after it (cookie `geo_service_written`), which the writer's next
requests bring back; `deps.read_engine` reads from the replica only once it has replayed that
far. Pure ASGI; nothing is added while no replica is configured."""

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
        routing: ReadRouting | None = getattr(scope["app"].state, "read_routing", None)
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or routing is None
            or routing.replica is None
        ):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
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
