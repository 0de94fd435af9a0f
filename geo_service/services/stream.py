"""The live stream: each notice of a change turned into the events one caller may see — the
new or changed incidents as GeoJSON, the ids of deleted ones, or a call to reload when a
notice is too large to name every incident."""

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.services import alerts
from geo_service.store import incidents as store
from geo_service.store.visibility import Caller

Event = tuple[str, bytes]


async def events(engine: AsyncEngine, caller: Caller, notice: dict[str, Any]) -> list[Event]:
    """The events `notice` makes for `caller`, in incident order."""
    op, ids, count = notice.get("op"), notice.get("ids") or [], notice.get("count")
    if notice.get("table") == "apprehensions":
        # Groups are written only with their incident, whose own notice (sent first, in the
        # same transaction) already makes the event: one event per change, not two.
        return []
    if op == "LISTENING":
        return [("refresh", b'{"reason":"reconnected"}')]
    if op in ("TRUNCATE", "OVERFLOW") or (count is not None and count > len(ids)):
        return [("refresh", orjson.dumps({"reason": str(op).lower(), "count": count}))]
    if not ids:
        return []
    if notice.get("table") == "alerts":  # raised from what every partner sees
        return [("alert", orjson.dumps(a)) for a in await alerts.by_id(engine, ids)]
    async with engine.connect() as conn:
        rows = await store.features_by_id(conn, caller, ids)
    out: list[Event] = []
    for row in rows:
        if row.deleted:
            out.append(("removed", orjson.dumps({"id": row.id})))
        else:
            out.append(("incident", row.feature.encode()))
    return out


def frame(event: str, data: bytes, event_id: int | None = None) -> bytes:
    """One server-sent event."""
    head = f"id: {event_id}\n".encode() if event_id is not None else b""
    return head + f"event: {event}\n".encode() + b"data: " + data + b"\n\n"
