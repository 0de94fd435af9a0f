"""Reads from a streaming replica, when one is configured (`DATABASE_READ_URL`), and from the
primary when the replica cannot be trusted with them.

A read goes to the replica only when the replica has replayed the primary's WAL at least as
far as

- every change this process has been told of (the change listener's version: a wall map told
  of a new incident asks for its tile next, and a result kept between changes must hold what
  the change brought), and
- the caller's own last write, wherever it was made (read-your-writes: a write's answer
  carries the primary's WAL position, which the writer's next request brings back).

A watcher samples both servers every `interval_s`: a replica that does not answer, is not in
recovery (promoted, or not a replica at all), or has not replayed what the primary had written
`max_lag_s` ago is left alone until it recovers; reads then go to the primary.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.store.changes import Changes

log = logging.getLogger(__name__)

ReplicaState = Literal["none", "starting", "in use", "down", "lagging"]


def parse_lsn(value: str) -> int:
    """A WAL position (`16/B374D848`) as a number, for comparisons."""
    high, low = value.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class ReadTarget:
    engine: AsyncEngine
    target: Literal["primary", "replica"]
    # Why: "no replica", "in use", "down", "lagging", "behind" (the replica had not yet
    # replayed what this read must see) or "primary down".
    reason: str
    # The change listener's version a replica read is known to hold every change of; a
    # result made from it may be kept under that version only (None on the primary, which
    # holds everything committed).
    as_of: int | None = None


class ReadRouting:
    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine | None,
        changes: Changes,
        max_lag_s: float = 5.0,
        interval_s: float = 0.5,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self._changes = changes
        self._max_lag_s = max_lag_s
        self._interval_s = interval_s
        self._timeout_s = probe_timeout_s
        self.state: ReplicaState = "none" if replica is None else "starting"
        self.lag_s: float | None = None
        self._replayed = 0  # the replica's last known replay position
        # The primary's position sampled at each tick: (monotonic time, position).
        self._written: deque[tuple[float, int]] = deque()
        # The primary's position once the change listener's `version` was reached.
        self._seen: tuple[int, int] | None = None
        self._seeing: asyncio.Task[int] | None = None
        self._seeing_for = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.replica is not None:
            await self._tick()
            self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def primary_lsn(self) -> int:
        """How far the primary has written its WAL: at or past every commit made so far."""
        async with asyncio.timeout(self._timeout_s), self.primary.connect() as conn:
            return parse_lsn(await conn.scalar(text("SELECT pg_current_wal_lsn()::text")))

    async def _replica_position(self) -> int:
        """The replica's replay position; raises when it does not answer or is no replica."""
        assert self.replica is not None
        async with asyncio.timeout(self._timeout_s), self.replica.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text")
                )
            ).one()
        if not row[0] or row[1] is None:
            raise RuntimeError("the read database is not a replica in recovery")
        self._replayed = max(self._replayed, parse_lsn(row[1]))
        return self._replayed

    async def _tick(self) -> None:
        now = time.monotonic()
        try:
            self._written.append((now, await self.primary_lsn()))
        except Exception as exc:  # the primary's trouble is the requests' to report
            log.debug("replica watcher: primary unavailable: %s", exc)
        while len(self._written) > 1 and self._written[1][0] < now - 2 * self._max_lag_s:
            self._written.popleft()
        try:
            replayed = await self._replica_position()
        except Exception as exc:
            if self.state != "down":
                log.warning("read replica unavailable (%s): reading from the primary", exc)
            self.state, self.lag_s = "down", None
            return
        # Lag: how long ago the primary had written what the replica has not yet replayed.
        behind = [t for t, written in self._written if written > replayed]
        self.lag_s = now - behind[0] if behind else 0.0
        state: ReplicaState = "lagging" if self.lag_s > self._max_lag_s else "in use"
        if state != self.state:
            log.warning("read replica %s (lag %.1f s)", state, self.lag_s)
        self.state = state

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self._tick()

    def mark_down(self) -> None:
        """A read on the replica failed for want of it: the next reads go to the primary
        until the watcher finds it again."""
        if self.state == "in use":
            log.warning("read replica failed a read: reading from the primary")
            self.state = "down"

    async def _position_of_changes(self) -> tuple[int | None, int]:
        """The primary's position at or past every change this process has been told of
        (one query per change, shared by the requests that wait for it)."""
        if not self._changes.listening:
            return None, await self.primary_lsn()  # what was missed is unknown: all there is
        version = self._changes.version
        if self._seen is not None and self._seen[0] == version:
            return self._seen
        if self._seeing is None or self._seeing.done() or self._seeing_for < version:
            # Asked once the version was reached, the primary's answer covers its change.
            self._seeing, self._seeing_for = asyncio.create_task(self.primary_lsn()), version
        asked_for, position = self._seeing_for, await asyncio.shield(self._seeing)
        if self._seen is None or self._seen[0] < asked_for:
            self._seen = (asked_for, position)
        return version, position

    async def for_read(self, written: int | None = None) -> ReadTarget:
        """Where a read should go, given the caller's last write (a WAL position) if known."""
        if self.replica is None:
            return ReadTarget(self.primary, "primary", "no replica")
        if self.state != "in use":
            return ReadTarget(self.primary, "primary", self.state)
        try:
            as_of, changed = await self._position_of_changes()
            need = max(written or 0, changed)
        except Exception:
            # The primary does not answer: nothing newer than the replica holds can be read
            # anywhere, and the wall map goes on showing the situation from the replica.
            return ReadTarget(self.replica, "replica", "primary down")
        if self._replayed < need:
            try:
                await self._replica_position()
            except Exception:
                self.mark_down()
                return ReadTarget(self.primary, "primary", "down")
            if self._replayed < need:
                return ReadTarget(self.primary, "primary", "behind")
        return ReadTarget(self.replica, "replica", "in use", as_of)
