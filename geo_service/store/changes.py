"""What the service's processes learn of changes to the incidents: a counter each process
keeps, moved on by every commit that changed incidents or apprehensions (PostgreSQL
LISTEN/NOTIFY on the channel the triggers notify), and on every reconnection of the listener,
when changes may have been missed."""

import asyncio
import contextlib
import logging

import psycopg

from geo_service.settings import libpq_url

CHANNEL = "geo_service_changes"
log = logging.getLogger(__name__)


class Changes:
    """`version` moves on after each change is committed; `listening` says whether it can be
    trusted (while not listening, nothing kept may be reused)."""

    def __init__(self, database_url: str, retry_s: float = 1.0) -> None:
        self._url = libpq_url(database_url)
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self.version = 0
        self.listening = False

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=5
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.version += 1  # whatever happened while not listening
                    self.listening = True
                    async for _ in conn.notifies():
                        self.version += 1
            except (psycopg.Error, OSError) as exc:
                log.warning("change listener: %s; retrying", exc)
            finally:
                self.listening = False
                self.version += 1
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
