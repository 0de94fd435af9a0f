"""Every request: an id (the caller's X-Request-ID when it is a sane one, else a new one),
returned in the response's X-Request-ID and carried by every log line written for it; its
count and duration by route for `/metrics`. Pure ASGI, so streamed responses are timed to
their last byte and never buffered."""

import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_service.metrics import LATENCY, REQUEST_ID, REQUESTS

SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestObserver:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = asked if SANE_ID.match(asked) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
            REQUEST_ID.reset(token)


def _route(scope: Scope) -> str:
    """The route's template (`/api/v1/incidents/{incident_id}`), not the path itself, so
    that the metrics do not grow with every id asked for."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    return str(path)
