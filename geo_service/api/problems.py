"""RFC 9457 problem details: every error the API returns, made in one place."""

import logging
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from geo_service.services.errors import FieldError, InvalidInput, ServiceError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class HTTPProblem(Exception):
    """An error raised by the API layer itself (content type, size, preconditions)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.errors = errors or []
        self.headers = headers or {}


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    out = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "path", "header", "body")]
        out.append(FieldError(".".join(loc) or "request", str(e.get("msg", "invalid"))))
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into problem+json."""

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        errors = exc.errors if isinstance(exc, InvalidInput) else None
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(request, exc.status, exc.title, exc.detail, errors, headers)

    @app.exception_handler(HTTPProblem)
    async def _http_problem(request: Request, exc: HTTPProblem) -> Response:
        return problem(request, exc.status, exc.title, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        return problem(request, 400, "Invalid request", "see errors for each parameter", errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return problem(request, exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    @app.exception_handler(psycopg.OperationalError)
    async def _unavailable(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", exc)
        if getattr(request.state, "read_target", None) == "replica":
            request.app.state.read_routing.mark_down()  # the retry goes to the primary
        return problem(
            request,
            503,
            "Service unavailable",
            "the database cannot be reached; nothing was written, retry later",
            headers={"Retry-After": "5"},
        )

    app.add_exception_handler(DBAPIError, unexpected)
    app.add_exception_handler(Exception, unexpected)


async def unexpected(request: Request, exc: Exception) -> Response:
    """A 500 that says nothing of the error (no trace, no SQL); the log has it."""
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "Internal error", "an unexpected error; it has been logged")
