"""Users, API keys and browser sessions: who is asking, proven.

Passwords are hashed with argon2id (argon2-cffi's defaults). API keys and session tokens are
256 random bits, given out once and stored as SHA-256 digests: a digest of a secret that
long cannot be reversed or guessed, and looking it up costs one index probe. A key reads
`gsk_<prefix>_<secret>`; the prefix names the key in lists and for revocation.
"""

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from geo_service import domain
from geo_service.services.errors import FieldError, InvalidInput, NotFound, Unauthenticated
from geo_service.store import accounts as store
from geo_service.store.changes import Changes
from geo_service.store.visibility import Caller

MIN_PASSWORD = 12
HASHER = PasswordHasher()


@cache
def _nobody() -> str:
    """Checked when no such user exists, so that a wrong name costs the same time as a wrong
    password (made on first use: a hash costs what a command line's start would notice)."""
    return HASHER.hash(secrets.token_urlsafe(16))


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def caller_of(row: Row) -> Caller:
    return Caller(agency=row.agency, role=row.role, user_id=row.id, name=row.username)


async def add_user(
    engine: AsyncEngine, username: str, agency: str, role: str, password: str
) -> Caller:
    errors = []
    if not (3 <= len(username) <= 64) or not username.replace("-", "").replace(".", "").isalnum():
        errors.append(FieldError("username", "3–64 letters, digits, '.' or '-'"))
    if agency not in domain.AGENCIES:
        errors.append(FieldError("agency", f"one of {', '.join(domain.AGENCIES)}"))
    if role not in domain.ROLES:
        errors.append(FieldError("role", f"one of {', '.join(domain.ROLES)}"))
    if len(password) < MIN_PASSWORD:
        errors.append(FieldError("password", f"at least {MIN_PASSWORD} characters"))
    if errors:
        raise InvalidInput(errors)
    async with engine.begin() as conn:
        if await store.user_named(conn, username) is not None:
            raise InvalidInput([FieldError("username", f"{username!r} is taken")])
        user_id = await store.insert_user(conn, username, agency, role, HASHER.hash(password))
    return Caller(agency=agency, role=role, user_id=user_id, name=username)


async def users(engine: AsyncEngine) -> list[Row]:
    async with engine.connect() as conn:
        return await store.list_users(conn)


async def disable_user(engine: AsyncEngine, username: str) -> None:
    async with engine.begin() as conn:
        user = await store.user_named(conn, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        await store.disable_user(conn, user.id)


async def create_key(engine: AsyncEngine, username: str, name: str, days: int) -> str:
    """A new API key of the user, valid `days`: returned once, never stored."""
    prefix = secrets.token_hex(4)
    key = f"gsk_{prefix}_{secrets.token_urlsafe(32)}"
    async with engine.begin() as conn:
        user = await store.user_named(conn, username)
        if user is None or user.disabled_at is not None:
            raise NotFound(f"no enabled user {username!r}")
        expires = datetime.now(UTC) + timedelta(days=days)
        await store.insert_key(conn, user.id, prefix, digest(key), name, expires)
    return key


async def revoke_key(engine: AsyncEngine, prefix: str) -> None:
    async with engine.begin() as conn:
        if not await store.revoke_key(conn, prefix):
            raise NotFound(f"no key {prefix!r} in use")


async def keys(engine: AsyncEngine) -> list[Row]:
    async with engine.connect() as conn:
        return await store.list_keys(conn)


class Verified:
    """Credentials verified lately, by digest: their caller (and a session's CSRF token),
    kept until users, keys or sessions change anywhere (the database's notice moves
    `changes.accounts_version`), the credential expires, or `ttl_s` passes; not used at all
    while the change listener is down. A revoked key, a disabled user or an ended session
    thus stops working in every process as soon as the notice arrives."""

    def __init__(self, changes: Changes, ttl_s: float = 60.0, size: int = 10_000) -> None:
        self._changes, self._ttl_s, self._size = changes, ttl_s, size
        self._kept: dict[bytes, tuple[int, float, datetime, Caller, str | None]] = {}

    def get(self, secret_digest: bytes) -> tuple[Caller, str | None] | None:
        found = self._kept.get(secret_digest)
        if found is None or not self._changes.listening:
            return None
        version, kept_at, expires_at, caller, csrf = found
        if (
            version != self._changes.accounts_version
            or time.monotonic() - kept_at > self._ttl_s
            or datetime.now(UTC) >= expires_at
        ):
            del self._kept[secret_digest]
            return None
        return caller, csrf

    def put(
        self, secret_digest: bytes, expires_at: datetime, caller: Caller, csrf: str | None
    ) -> None:
        if len(self._kept) >= self._size:
            self._kept.clear()
        version = self._changes.accounts_version
        self._kept[secret_digest] = (version, time.monotonic(), expires_at, caller, csrf)

    def forget(self, secret_digest: bytes) -> None:
        self._kept.pop(secret_digest, None)


async def _principal(
    engine: AsyncEngine,
    secret: bytes,
    look_up: Callable[[AsyncConnection, bytes], Awaitable[Any]],
    refused: str,
    verified: Verified | None,
) -> tuple[Caller, str | None]:
    """The caller of a credential's digest (and a session's CSRF token): kept from an earlier
    verification, else looked up (`look_up`) and kept."""
    if verified is not None and (known := verified.get(secret)) is not None:
        return known
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")  # one round trip
        row = await look_up(conn, secret)
    if row is None:
        raise Unauthenticated(refused)
    caller, csrf = caller_of(row), row._mapping.get("csrf_token")
    if verified is not None:
        verified.put(secret, row.expires_at, caller, csrf)
    return caller, csrf


async def caller_of_key(engine: AsyncEngine, key: str, verified: Verified | None = None) -> Caller:
    if not key.startswith("gsk_") or len(key) > 128:
        raise Unauthenticated("not an API key of this service")
    refused = "the API key is unknown, expired or revoked"
    caller, _ = await _principal(engine, digest(key), store.principal_of_key, refused, verified)
    return caller


@dataclass(frozen=True)
class Session:
    token: str  # goes to the browser's cookie, never stored
    csrf_token: str
    caller: Caller
    expires_at: datetime


async def log_in(
    engine: AsyncEngine, username: str, password: str, hours: float, viewer_days: float
) -> Session:
    """A new session (a new token at every login: none chosen by anyone else is ever
    accepted); a viewer's lasts `viewer_days` (a wall display), any other role's `hours`."""
    async with engine.begin() as conn:
        user = await store.user_named(conn, username)
        stored = user.password_hash if user is not None and user.disabled_at is None else None
        try:
            HASHER.verify(stored or _nobody(), password)
            ok = stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user is None:
            raise Unauthenticated("wrong user name or password")
        if HASHER.check_needs_rehash(stored):  # type: ignore[arg-type]
            await store.set_password(conn, user.id, HASHER.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        lasts = timedelta(days=viewer_days) if user.role == "viewer" else timedelta(hours=hours)
        expires = datetime.now(UTC) + lasts
        await store.insert_session(conn, digest(token), user.id, csrf, expires)
    return Session(token, csrf, caller_of(user), expires)


async def who_failed(engine: AsyncEngine, username: str) -> Caller:
    """Whose account a failed login named: its user (so that their agency's admins read it
    in the audit trail), or nobody's agency for a name of no user."""
    async with engine.connect() as conn:
        user = await store.user_named(conn, username)
    if user is None:
        return Caller(agency=None, role="viewer", name=username)
    return caller_of(user)


async def session_of(
    engine: AsyncEngine, token: str, verified: Verified | None = None
) -> tuple[Caller, str]:
    """The caller of a session token, and the session's CSRF token."""
    if len(token) > 128:
        raise Unauthenticated("not a session of this service")
    refused = "the session has ended: log in again"
    look_up = store.principal_of_session
    caller, csrf = await _principal(engine, digest(token), look_up, refused, verified)
    return caller, str(csrf)


async def log_out(engine: AsyncEngine, token: str, verified: Verified | None = None) -> None:
    """The session ended (at once in this process; in the others when the notice arrives)."""
    async with engine.begin() as conn:
        await store.delete_session(conn, digest(token))
    if verified is not None:
        verified.forget(digest(token))


DEMO_PREFIX = "demo-"


def demo_username(agency: str, role: str) -> str:
    return f"{DEMO_PREFIX}{agency.split('_')[0].lower()}-{role}"


async def demo_officer_keys(engine: AsyncEngine, days: int = 30) -> dict[str, str]:
    """A new API key of each border police's demo officer, by agency: what the demo's live
    reports are sent with."""
    return {
        agency: await create_key(engine, demo_username(agency, "officer"), "demo live", days)
        for agency in domain.AGENCIES
        if agency != "PCC"
    }


async def make_demo_users(engine: AsyncEngine) -> dict[str, tuple[str, str, str]]:
    """One user per agency and role, `demo-<agency>-<role>`, with a new random password each
    (returned, to be shown once); none when demo users exist already."""
    async with engine.connect() as conn:
        present = [u for u in await store.list_users(conn) if u.username.startswith(DEMO_PREFIX)]
    if present:
        return {}
    made = {}
    for agency in domain.AGENCIES:
        for role in domain.ROLES:
            name = demo_username(agency, role)
            password = secrets.token_urlsafe(12)
            await add_user(engine, name, agency, role, password)
            made[name] = (agency, role, password)
    return made


async def demo_users_enabled(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [
            u.username
            for u in await store.list_users(conn)
            if u.username.startswith(DEMO_PREFIX) and u.disabled_at is None
        ]
