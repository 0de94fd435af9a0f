"""/api/v1/session: a browser logs in with a password and gets a session cookie (HttpOnly,
SameSite=Strict, Secure over HTTPS) and the CSRF token its writes must send back; a viewer's
session lasts as long as a wall display runs."""

from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from geo_service.api.deps import SESSION_COOKIE, CallerDep, Engine, SettingsDep, trail_of
from geo_service.api.openapi_responses import PROBLEM
from geo_service.services import accounts
from geo_service.services.errors import Unauthenticated
from geo_service.store.visibility import Caller

router = APIRouter(prefix="/api/v1/session", tags=["session"])


class Login(BaseModel):
    # No control characters: the name is looked up and written to the audit trail as is.
    username: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


def _who(caller: Caller, csrf: str, expires: str | None = None) -> dict[str, object]:
    out: dict[str, object] = {
        "username": caller.name,
        "agency": caller.agency,
        "role": caller.role,
        "csrf_token": csrf,
    }
    if expires is not None:
        out["expires_at"] = expires
    return out


@router.post(
    "",
    status_code=201,
    summary="Log in: a session cookie and its CSRF token",
    responses={
        401: {"description": "Wrong user name or password, or the user is disabled", **PROBLEM}
    },
)
async def log_in(login: Login, request: Request, engine: Engine, settings: SettingsDep) -> Response:
    try:
        session = await accounts.log_in(
            engine,
            login.username,
            login.password,
            settings.session_hours,
            settings.viewer_session_days,
        )
    except Unauthenticated:
        named = await accounts.who_failed(engine, login.username)
        await trail_of(request, named).add("login_failed", login.username, actor=login.username)
        raise
    await trail_of(request, session.caller).add("login", session.caller.name)
    body = _who(session.caller, session.csrf_token, session.expires_at.isoformat())
    response = Response(orjson.dumps(body), 201, media_type="application/json")
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=round((session.expires_at - datetime.now(UTC)).total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("", summary="Who is logged in, and the session's CSRF token")
async def who(request: Request, engine: Engine, caller: CallerDep) -> Response:
    if request.state.credential == "session":  # the caller dependency read it already
        found, csrf = caller, request.state.csrf_token
    else:  # an API key came first; the cookie, if any, still names a session
        token = request.cookies.get(SESSION_COOKIE)
        if token is None:
            raise Unauthenticated("not logged in")
        found, csrf = await accounts.session_of(engine, token)
    return Response(orjson.dumps(_who(found, csrf)), media_type="application/json")


@router.delete("", status_code=204, summary="Log out")
async def log_out(request: Request, engine: Engine, caller: CallerDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token is not None:
        await accounts.log_out(engine, token, request.app.state.verified)
        await trail_of(request, caller).add("logout", caller.name)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
