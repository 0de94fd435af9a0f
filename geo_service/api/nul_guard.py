"""NUL in a request's path or query is refused at the door: no id, code or name of this
service holds one, and PostgreSQL cannot store or compare text that does (every such value
would otherwise end as a 500 wherever it first reaches the database, the audit trail
included)."""

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from geo_service.api.problems import problem
from geo_service.services.errors import FieldError


def has_nul(scope: Scope) -> str | None:
    """The part of the request (`path` or `query`) that holds a NUL, if one does."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = has_nul(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        reason = "must not contain NUL (%00)"
        response = problem(
            Request(scope),
            400,
            "Invalid request",
            f"the {where} {reason}",
            [FieldError(where, reason)],
        )
        await response(scope, receive, send)
