"""Results (vector tiles) shared by the processes of one service through files, so that a tile
one worker made is not made again by the next worker asked for it.

Each process counts the database's change notices on its own (store.changes), so its
`version` means nothing to another process. What the processes share instead is the
database's snapshot (`pg_current_snapshot()`, on one run of the server): equal snapshots see
exactly the same committed data. A process reads it when it first needs it, again after
every change notice or write of its own, and at least every `refresh_s`; a result is made
after that read (so it holds at least what the snapshot sees) and filed under it; a process
finds it only while it holds the same snapshot. Any transaction started or ended in the
cluster moves the snapshot on, so the processes share results while the situation is quiet
and make their own while it is not: never one older than the process's own notices allow, as
with what each keeps in memory. Nothing is shared while the change listener is down or while
a request reads a replica.
"""

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.services.result_cache import READ_AS_OF, ChangeCounter

T = TypeVar("T")

# Snapshot folders no process has used for this long are removed by the next one to move on.
STALE_AFTER_S = 120.0
# What the data seen is: the snapshot, on this run of the server (transaction numbers start
# again on a new cluster, and a restored one takes up numbers it had used before).
SNAPSHOT = "SELECT pg_postmaster_start_time()::text || ' ' || pg_current_snapshot()::text"


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:length]


class SharedResults:
    def __init__(
        self,
        directory: Path,
        engine: AsyncEngine,
        changes: ChangeCounter,
        *,
        made_by: str = "",
        refresh_s: float = 1.0,
        max_files: int = 20_000,
        max_bytes: int = 256 * 2**20,
    ) -> None:
        # Services that make their results differently (another version, other layers or
        # settings) file them apart: `made_by` names how this one makes them.
        self._root = directory / _digest(made_by, 16)
        self._engine = engine
        self._changes = changes
        self._refresh_s = refresh_s
        # What one process files under one snapshot, at most.
        self._max_files = max_files
        self._max_bytes = max_bytes
        self._snapshot: str | None = None
        self._read_at_version: int | None = None
        self._read_at = 0.0
        self._filed = self._filed_bytes = 0

    def start_afresh(self) -> None:
        """Forget what was filed before this process started: the service may have been
        restarted with other code or settings while the database stayed as it was."""
        shutil.rmtree(self._root, ignore_errors=True)

    async def snapshot(self) -> str | None:
        """The database snapshot to look results up and file them under, or None: share
        nothing now. Read before the result is made."""
        if not self._changes.listening or READ_AS_OF.get() is not None:
            return None
        version = self._changes.version
        fresh = time.monotonic() - self._read_at < self._refresh_s
        if self._snapshot is not None and self._read_at_version == version and fresh:
            return self._snapshot
        async with self._engine.connect() as conn:
            read = await conn.execute(text(SNAPSHOT))
            snapshot = str(read.scalar_one())
        if self._changes.version != version or not self._changes.listening:
            return None  # a change was told while reading: read again next time
        if snapshot != self._snapshot:
            self._filed = self._filed_bytes = 0
            self._sweep(snapshot)
        self._snapshot, self._read_at_version, self._read_at = snapshot, version, time.monotonic()
        return snapshot

    def _folder(self, snapshot: str) -> Path:
        return self._root / _digest(snapshot, 24)

    def _path(self, snapshot: str, key: Hashable) -> Path:
        return self._folder(snapshot) / _digest(repr(key), 40)

    def get(self, snapshot: str, key: Hashable) -> bytes | None:
        try:
            return self._path(snapshot, key).read_bytes()
        except OSError:
            return None

    def put(self, snapshot: str, key: Hashable, data: bytes) -> None:
        """File `data`, made after `snapshot` was read (best effort: a full or unwritable
        folder only means the next process makes it again)."""
        if self._filed >= self._max_files or self._filed_bytes + len(data) > self._max_bytes:
            return
        path = self._path(snapshot, key)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            os.replace(partial, path)  # readers see all of it or nothing
            self._filed += 1
            self._filed_bytes += len(data)
        except OSError:
            with contextlib.suppress(OSError):
                partial.unlink()

    def _sweep(self, keep: str) -> None:
        """Remove the folders of snapshots nobody has filed under for a while."""
        kept = self._folder(keep).name
        try:
            folders = list(self._root.iterdir())
        except OSError:
            return
        now = time.time()
        for folder in folders:
            with contextlib.suppress(OSError):
                if folder.name != kept and now - folder.stat().st_mtime > STALE_AFTER_S:
                    shutil.rmtree(folder, ignore_errors=True)


async def shared_or_made(
    shared: SharedResults | None,
    key: Hashable,
    make: Callable[[], Awaitable[T]],
    encode: Callable[[T], bytes],
    decode: Callable[[bytes], T],
) -> T:
    """What another process filed under the current snapshot for `key`, else `make()`'s
    result, filed for the others."""
    if shared is None or (snapshot := await shared.snapshot()) is None:
        return await make()
    held = shared.get(snapshot, key)
    if held is not None:
        return decode(held)
    value = await make()
    shared.put(snapshot, key, encode(value))
    return value
