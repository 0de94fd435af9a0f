"""What the service's processes learn of changes to the incidents: a counter each process
keeps, moved on by every commit that changed incidents or apprehensions (PostgreSQL
LISTEN/NOTIFY on the channel the triggers notify), and on every reconnection of the listener,
when changes may have been missed; and each notice (table, operation, the incidents' ids),
passed to every subscriber (the live stream's clients). Each move of the counter is noted
with the days whose kept counts the change moved, when the notice names them, so that sums
kept over other days may outlive it."""

import asyncio
import contextlib
import logging
from collections import deque
from datetime import date
from typing import Any

import orjson
import psycopg

from geo_service.settings import libpq_url

CHANNEL = "geo_service_changes"
log = logging.getLogger(__name__)

# The days (UTC, first and last) whose kept counts a change moved; () for none; None when not
# known (a change of this process, one missed while not listening, a notice naming no days).
Moved = tuple[date, date] | tuple[()] | None
# How many moves of the counter are remembered with their days.
MOVES_KEPT = 1000


def _moved(notice: Any) -> Moved:
    """The days a notice says its change moved (see revision 0010)."""
    if not isinstance(notice, dict) or "days" not in notice:
        return None
    days = notice["days"]
    if days is None:
        return ()
    try:
        first, last = (date.fromisoformat(d) for d in days)
    except (TypeError, ValueError):
        return None
    return first, last


class Changes:
    """`version` moves on after each change is committed; `listening` says whether it can be
    trusted (while not listening, nothing kept may be reused)."""

    def __init__(self, database_url: str, retry_s: float = 1.0, role: str = "") -> None:
        self._url = libpq_url(database_url)
        self._options = f"-c role={role}" if role else ""
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self.version = 0
        # Moved on by changes to users, API keys and sessions (and whenever notices may
        # have been missed): what was verified of a credential before holds no more.
        self.accounts_version = 0
        self.listening = False
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._moves: deque[tuple[int, Moved]] = deque(maxlen=MOVES_KEPT)

    def _move_on(self, moved: Moved = None) -> None:
        self.version += 1
        self._moves.append((self.version, moved))

    def moved_since(self, version: int) -> list[tuple[date, date]] | None:
        """The days whose kept counts changed after `version` (a list of first and last
        days), or None when that is not known: sums kept over other days still hold."""
        if version >= self.version:
            return []
        if not self._moves or self._moves[0][0] > version + 1:
            return None  # moves not remembered
        spans = []
        for moved_at, moved in reversed(self._moves):
            if moved_at <= version:
                break
            if moved is None:
                return None
            if moved:
                spans.append(moved)
        return spans

    def written(self) -> None:
        """This process committed a change: what it keeps is stale now, before the change's
        notice comes back (so that a writer's next read finds its write)."""
        self._move_on()

    def subscribe(self, size: int = 1000) -> asyncio.Queue[dict[str, Any]]:
        """A queue of every notice from now on (a full queue gets one notice of overflow)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)
        self._subscribers.add(queue)
        return queue

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def _tell(self, notice: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"op": "OVERFLOW", "ids": [], "count": None})

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=5, options=self._options
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._move_on()  # whatever happened while not listening
                    self.accounts_version += 1
                    self.listening = True
                    self._tell({"op": "LISTENING", "ids": [], "count": None})
                    async for notice in conn.notifies():
                        try:
                            told = orjson.loads(notice.payload)
                        except orjson.JSONDecodeError:
                            told = {"op": notice.payload, "ids": [], "count": None}
                        if isinstance(told, dict) and told.get("table") == "accounts":
                            self.accounts_version += 1  # the situation did not change
                        else:
                            self._move_on(_moved(told))
                        self._tell(told)
            except (psycopg.Error, OSError) as exc:
                log.warning("change listener: %s; retrying", exc)
            finally:
                self.listening = False
                self._move_on()
                self.accounts_version += 1
            await asyncio.sleep(self._retry_s)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        for _ in range(50):  # up to ~1 s for the first LISTEN
            if self.listening:
                return
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
