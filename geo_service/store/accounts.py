"""Users, API keys and browser sessions (tables of migration 0006). Secrets arrive here as
digests only; checking them is services.accounts' work."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.models import api_keys, sessions, users

PRINCIPAL = (users.c.id, users.c.username, users.c.agency, users.c.role)


async def insert_user(
    conn: AsyncConnection, username: str, agency: str, role: str, password_hash: str
) -> int:
    return int(
        await conn.scalar(
            insert(users)
            .values(username=username, agency=agency, role=role, password_hash=password_hash)
            .returning(users.c.id)
        )
    )


async def user_named(conn: AsyncConnection, username: str) -> Any:
    """The user of that name (any case), enabled or not."""
    found = await conn.execute(
        select(*PRINCIPAL, users.c.password_hash, users.c.disabled_at).where(
            func.lower(users.c.username) == username.lower()
        )
    )
    return found.first()


async def list_users(conn: AsyncConnection) -> Any:
    found = await conn.execute(
        select(*PRINCIPAL, users.c.created_at, users.c.disabled_at).order_by(users.c.username)
    )
    return list(found)


async def set_password(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash)
    )


async def disable_user(conn: AsyncConnection, user_id: int) -> None:
    """Disabled: no login, no key, and the sessions open end."""
    await conn.execute(update(users).where(users.c.id == user_id).values(disabled_at=func.now()))
    await conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


async def insert_key(
    conn: AsyncConnection, user_id: int, prefix: str, digest: bytes, name: str, expires: datetime
) -> None:
    await conn.execute(
        insert(api_keys).values(
            user_id=user_id, prefix=prefix, secret_sha256=digest, name=name, expires_at=expires
        )
    )


async def revoke_key(conn: AsyncConnection, prefix: str) -> bool:
    done = await conn.execute(
        update(api_keys)
        .where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    return bool(done.rowcount)


async def list_keys(conn: AsyncConnection) -> Any:
    found = await conn.execute(
        select(
            api_keys.c.prefix,
            api_keys.c.name,
            users.c.username,
            api_keys.c.created_at,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            api_keys.c.last_used_at,
        )
        .join(users, users.c.id == api_keys.c.user_id)
        .order_by(api_keys.c.created_at)
    )
    return list(found)


async def principal_of_key(conn: AsyncConnection, digest: bytes) -> Any:
    """The enabled user whose key, unexpired and not revoked, has this digest; its use noted
    (at most once a minute: a key read a hundred times a second writes once)."""
    found = (
        await conn.execute(
            select(
                *PRINCIPAL,
                api_keys.c.id.label("key_id"),
                api_keys.c.last_used_at,
                api_keys.c.expires_at,
            )
            .join(users, users.c.id == api_keys.c.user_id)
            .where(
                api_keys.c.secret_sha256 == digest,
                api_keys.c.revoked_at.is_(None),
                api_keys.c.expires_at > func.now(),
                users.c.disabled_at.is_(None),
            )
        )
    ).first()
    if found is not None and (
        found.last_used_at is None or found.last_used_at < datetime.now(UTC) - timedelta(minutes=1)
    ):
        await conn.execute(
            update(api_keys).where(api_keys.c.id == found.key_id).values(last_used_at=func.now())
        )
    return found


async def insert_session(
    conn: AsyncConnection, digest: bytes, user_id: int, csrf: str, expires: datetime
) -> None:
    await conn.execute(
        insert(sessions).values(
            token_sha256=digest, user_id=user_id, csrf_token=csrf, expires_at=expires
        )
    )


async def principal_of_session(conn: AsyncConnection, digest: bytes) -> Any:
    """The enabled user of an unexpired session, with the session's CSRF token."""
    found = await conn.execute(
        select(*PRINCIPAL, sessions.c.csrf_token, sessions.c.expires_at)
        .join(users, users.c.id == sessions.c.user_id)
        .where(
            and_(
                sessions.c.token_sha256 == digest,
                sessions.c.expires_at > func.now(),
                users.c.disabled_at.is_(None),
            )
        )
    )
    return found.first()


async def delete_session(conn: AsyncConnection, digest: bytes) -> None:
    await conn.execute(delete(sessions).where(sessions.c.token_sha256 == digest))
    await conn.execute(delete(sessions).where(sessions.c.expires_at < func.now()))
