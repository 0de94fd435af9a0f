"""Credentials of the tests' users: one user per agency and role (`test-<agency>-<role>`, one
password), made on first use since the tables were last emptied, and API keys for them.

Written with plain SQL on a connection of their own, so that synchronous tests (the browser's)
and asynchronous ones use the same helper; the key's form and digest are the service's own.
"""

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from geo_service.services import accounts
from geo_service.settings import libpq_url, local_database_url


def _own(url: str) -> str:
    """Run in parallel (pytest-xdist), each worker process has a database of its own on the
    same server: the given one's name with the worker's (gw0, gw1, ...)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, sep, query = url.partition("?")
    return f"{base}_{worker}{sep}{query}"


TEST_DATABASE_URL = _own(
    os.environ.get("GEO_SERVICE_TEST_DATABASE_URL", local_database_url("geo_service_test"))
)
PASSWORD = "a-password-of-the-test-suite"
_PASSWORD_HASH = accounts.HASHER.hash(PASSWORD)


def username(agency: str, role: str) -> str:
    return f"test-{agency}-{role}".lower()


def _ensure_user(conn: psycopg.Connection, agency: str, role: str) -> int:
    name = username(agency, role)
    conn.execute(
        "INSERT INTO users (username, agency, role, password_hash) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (name, agency, role, _PASSWORD_HASH),
    )
    row = conn.execute("SELECT id FROM users WHERE lower(username) = %s", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def ensure_user(agency: str, role: str, database_url: str = TEST_DATABASE_URL) -> int:
    """The id of the tests' user of `agency` and `role`, made when missing."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        return _ensure_user(conn, agency, role)


def api_key(
    agency: str = "BIH_BP", role: str = "officer", database_url: str = TEST_DATABASE_URL
) -> str:
    """A new API key, valid a day, of the tests' user of `agency` and `role`."""
    prefix = secrets.token_hex(4)
    key = f"gsk_{prefix}_{secrets.token_urlsafe(32)}"
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        user_id = _ensure_user(conn, agency, role)
        conn.execute(
            "INSERT INTO api_keys (user_id, prefix, secret_sha256, name, expires_at) "
            "VALUES (%s, %s, %s, 'tests', %s)",
            (user_id, prefix, accounts.digest(key), datetime.now(UTC) + timedelta(days=1)),
        )
    return key


def bearer(
    agency: str = "BIH_BP", role: str = "officer", database_url: str = TEST_DATABASE_URL
) -> dict[str, str]:
    """Request headers that present a new API key of that user."""
    return {"Authorization": f"Bearer {api_key(agency, role, database_url)}"}


def log_in(page: Any, base: str, agency: str = "PCC", role: str = "viewer") -> None:
    """Log the browser page's context in as the tests' user of `agency` and `role` (on the
    test database): the session cookie is the context's from then on."""
    ensure_user(agency, role)
    response = page.request.post(
        f"{base}/api/v1/session", data={"username": username(agency, role), "password": PASSWORD}
    )
    assert response.status == 201, response.text()


def officer_of(feature: dict[str, Any]) -> dict[str, str]:
    """Headers that send `feature` as an officer of its own agency (as its border police
    would report it)."""
    return bearer(feature["properties"]["agency"], "officer")
