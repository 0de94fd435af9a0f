"""Results (tiles, hexagon pages) kept in memory between changes: a hit only while nothing
changed in the incidents since the result was made (the change counter of store.changes),
least recently used dropped first past a size in bytes. A result made from the kept counts of
some days alone (`days`) outlives changes known to have moved the counts of other days only;
one that can be amended (`amend`) outlives changes to its own days too, as a result to amend
(with the days they moved) rather than to serve."""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextvars import ContextVar
from datetime import date
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from geo_service.store.windows import DateRange

T = TypeVar("T")
log = logging.getLogger(__name__)
# The first and last day of a change's kept counts.
Moved = tuple[date, date]

# Set for a request that reads a replica: the change counter its reads are known to hold every
# change of. A result made then is kept only if nothing changed since that count.
READ_AS_OF: ContextVar[int | None] = ContextVar("read_as_of", default=None)


class ChangeCounter(Protocol):
    version: int
    listening: bool

    def moved_since(self, version: int) -> list[Moved] | None: ...


class _Held(NamedTuple):
    version: int
    value: Any
    size: int
    days: DateRange | None  # made from the kept counts of these days alone
    amendable: bool = False
    # Changes since it was made that moved some of its days: not to serve, but to amend.
    moved: tuple[Moved, ...] | None = None


def _touching(days: DateRange, moved: Sequence[Moved]) -> tuple[Moved, ...]:
    """The changes of `moved` that reach into `days`."""
    start, end = days
    return tuple(
        (first, last)
        for first, last in moved
        if (end is None or first < end) and (start is None or last >= start)
    )


class ResultCache:
    def __init__(self, changes: ChangeCounter, max_bytes: int = 64 * 2**20) -> None:
        self._changes = changes
        self._max_bytes = max_bytes
        self._items: OrderedDict[Hashable, _Held] = OrderedDict()
        self._bytes = 0
        self._held_version: int | None = None
        self._remaking: dict[Hashable, asyncio.Task[None]] = {}
        self._one_at_a_time = asyncio.Lock()
        self._closed = False

    def version(self) -> int | None:
        """The counter to make a tile under (read before making it), or None: keep nothing."""
        current = self._changes.version if self._changes.listening else None
        if current != self._held_version:
            # Whatever was kept under another count can never be used again (unless the
            # changes since are known to have moved no day it was made from, or it can be
            # amended with theirs): let it go now rather than when newer results push it out
            # (writes all day would otherwise keep the cache full of the dead).
            moved = None
            if current is not None and self._held_version is not None:
                moved = self._changes.moved_since(self._held_version)
            outliving: OrderedDict[Hashable, _Held] = OrderedDict()
            if current is not None and moved is not None:
                for key, held in self._items.items():
                    if held.days is None:
                        continue
                    touched = _touching(held.days, moved)
                    if not touched:
                        outliving[key] = held._replace(version=current)
                    elif held.amendable:
                        before = held.moved or ()
                        outliving[key] = held._replace(version=current, moved=before + touched)
            self._items = outliving
            self._bytes = sum(held.size for held in outliving.values())
            self._held_version = current
        return current

    def get(self, key: Hashable) -> Any | None:
        current = self.version()
        held = self._items.get(key)
        if current is None or held is None or held.version != current or held.moved:
            return None
        self._items.move_to_end(key)
        return held.value

    def to_amend(self, key: Hashable) -> tuple[Any, tuple[Moved, ...]] | None:
        """What is kept under `key` to amend, and the days of the changes it lacks."""
        current = self.version()
        held = self._items.get(key)
        if current is None or held is None or held.version != current or not held.moved:
            return None
        return held.value, held.moved

    def keep_version(self) -> int | None:
        """The counter to make a result under, to keep it (read before making it)."""
        version = self.version()
        as_of = READ_AS_OF.get()
        if version is not None and as_of is not None and as_of < version:
            # The replica may lack the changes since: put() keeps the result only if it is
            # known that they moved none of its days (or it can be amended for them).
            return as_of
        return version

    def put(
        self,
        key: Hashable,
        version: int | None,
        value: Any,
        size: int,
        days: DateRange | None = None,
        amendable: bool = False,
    ) -> None:
        """Keep `value`, made under `version` (from the kept counts of `days` alone, when
        given; to be amended rather than made again after changes to those, if
        `amendable`), unless something changed since (that moved those days, when given; that
        it cannot be amended for)."""
        current = self.version()
        if version is None or current is None or size > self._max_bytes:
            return
        held = _Held(current, value, size, days, amendable)
        if version != current:
            moved = self._changes.moved_since(version) if days is not None else None
            if moved is None or days is None:
                return
            touched = _touching(days, moved)
            if touched and not amendable:
                return
            held = held._replace(moved=touched or None)
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._items[key] = held
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size

    def remake_later(
        self,
        key: Hashable,
        make: Callable[[], Awaitable[T]],
        size: Callable[[T], int],
        days: DateRange | None = None,
        amendable: bool = False,
    ) -> None:
        """Make `key`'s result again in the background, to keep in place of the one kept (as
        one to amend, if things changed meanwhile): a form of it that costs more to make and
        less to amend, once it is in use. One such result is made at a time: others wait
        their turn, and one already waiting is not asked for twice."""
        version = self.keep_version()
        if key in self._remaking or self._closed or version is None:
            return

        async def remake() -> None:
            async with self._one_at_a_time:
                value = await make()
            self.put(key, version, value, size(value), days, amendable)

        task = asyncio.create_task(remake())
        self._remaking[key] = task
        task.add_done_callback(lambda done: self._remade(key, done))

    def _remade(self, key: Hashable, task: "asyncio.Task[None]") -> None:
        if self._remaking.get(key) is task:
            del self._remaking[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("making %r again", key, exc_info=task.exception())

    async def close(self) -> None:
        """Stop making anything in the background, now and from now on."""
        self._closed = True
        tasks = list(self._remaking.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def kept(
    cache: ResultCache | None,
    key: Hashable,
    make: Callable[[], Awaitable[T]],
    size: Callable[[T], int],
    days: DateRange | None = None,
    amend: Callable[[T, tuple[Moved, ...]], Awaitable[T]] | None = None,
) -> T:
    """`make()`'s result, from `cache` when nothing changed since it was kept there (nothing
    that moved the kept counts of `days`, when it is made from those alone); with `amend`,
    the kept one amended when changes moved some of those days (`amend(kept, moved)`: the
    first and last day of each change)."""
    if cache is None:
        return await make()
    held = cache.get(key)
    if held is not None:
        return cast(T, held)
    version = cache.keep_version()
    stale = cache.to_amend(key) if amend is not None else None
    value = await (make() if stale is None or amend is None else amend(*stale))
    cache.put(key, version, value, size(value), days, amendable=amend is not None)
    return value
