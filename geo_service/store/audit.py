"""The audit trail (table of migration 0006): rows are added and read, never changed."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from geo_service.store.models import audit


async def add(conn: AsyncConnection, entries: Sequence[dict[str, Any]]) -> None:
    """Entries added in one statement."""
    await conn.execute(insert(audit).values(list(entries)))


async def read(
    conn: AsyncConnection,
    agencies: Sequence[str | None],
    limit: int,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """The newest entries first (older than entry `before`) of `agencies`' users (None:
    entries of nobody's agency, such as failed logins with unknown names)."""
    named = [a for a in agencies if a is not None]
    stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
    stmt = stmt.where(
        or_(audit.c.agency.in_(named), audit.c.agency.is_(None))
        if None in agencies
        else audit.c.agency.in_(named)
    )
    if before is not None:
        stmt = stmt.where(audit.c.id < before)
    out = []
    for row in await conn.execute(stmt):
        entry = {str(k): v for k, v in row._mapping.items()}  # plain str keys, for JSON
        entry["at"] = entry["at"].isoformat()
        entry["address"] = None if entry["address"] is None else str(entry["address"])
        out.append(entry)
    return out
