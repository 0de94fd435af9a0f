"""The live stream: each notice of a change turned into the events one caller may see — the
new or changed incidents as GeoJSON, the ids of deleted ones, or a call to reload when a
notice is too large to name every incident."""

import asyncio
from collections import OrderedDict
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.services import alerts, features
from geo_service.store import incidents as store
from geo_service.store.visibility import Caller

Event = tuple[str, bytes]
SHARED_NOTICES = 256  # the latest notices whose events are kept for the clients still behind

# Every client of a process gets the same notice object: the events of a notice for one kind
# of caller are read once and shared by all such clients (a hundred wall maps cost one query
# per change, not a hundred). The notice is kept with its entry, so its id is not reused.
_shared: OrderedDict[tuple[int, Caller], tuple[dict[str, Any], asyncio.Future[list[Event]]]] = (
    OrderedDict()
)


async def shared_events(
    engine: AsyncEngine,
    caller: Caller,
    notice: dict[str, Any],
    hidden: frozenset[str] = frozenset(),
) -> list[Event]:
    """`events(engine, caller, notice, hidden)`, made once per notice and kind of caller."""
    key = (id(notice), caller)
    held = _shared.get(key)
    if held is not None and held[0] is notice:
        try:
            return await asyncio.shield(held[1])
        except asyncio.CancelledError:
            if not held[1].cancelled():
                raise  # this client went away
            return await events(engine, caller, notice, hidden)  # its reader went away
    future: asyncio.Future[list[Event]] = asyncio.get_running_loop().create_future()
    _shared[key] = (notice, future)
    while len(_shared) > SHARED_NOTICES:
        _shared.popitem(last=False)
    try:
        result = await events(engine, caller, notice, hidden)
    except asyncio.CancelledError:
        future.cancel()
        _shared.pop(key, None)
        raise
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # marked retrieved: the waiters get it too
        _shared.pop(key, None)
        raise
    future.set_result(result)
    return result


async def events(
    engine: AsyncEngine,
    caller: Caller,
    notice: dict[str, Any],
    hidden: frozenset[str] = frozenset(),
) -> list[Event]:
    """The events `notice` makes for `caller`, in incident order, without the incidents'
    `hidden` properties (those the caller's role does not see)."""
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
            data = row.feature.encode()
            out.append(("incident", features.redacted(data, hidden) if hidden else data))
    return out


def frame(event: str, data: bytes, event_id: int | None = None) -> bytes:
    """One server-sent event."""
    head = f"id: {event_id}\n".encode() if event_id is not None else b""
    return head + f"event: {event}\n".encode() + b"data: " + data + b"\n\n"
