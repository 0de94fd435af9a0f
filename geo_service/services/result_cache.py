"""Results (tiles, hexagon pages) kept in memory between changes: a hit only while nothing
changed in the incidents since the result was made (the change counter of store.changes),
least recently used dropped first past a size in bytes. A result made from the kept counts of
some days alone (`days`) outlives changes known to have moved the counts of other days only."""

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from datetime import date
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from geo_service.store.windows import DateRange

T = TypeVar("T")

# Set for a request that reads a replica: the change counter its reads are known to hold every
# change of. A result made then is kept only if nothing changed since that count.
READ_AS_OF: ContextVar[int | None] = ContextVar("read_as_of", default=None)


class ChangeCounter(Protocol):
    version: int
    listening: bool

    def moved_since(self, version: int) -> list[tuple[date, date]] | None: ...


class _Held(NamedTuple):
    version: int
    value: Any
    size: int
    days: DateRange | None  # made from the kept counts of these days alone


def _touches(days: DateRange, moved: tuple[date, date]) -> bool:
    start, end = days
    first, last = moved
    return (end is None or first < end) and (start is None or last >= start)


class ResultCache:
    def __init__(self, changes: ChangeCounter, max_bytes: int = 64 * 2**20) -> None:
        self._changes = changes
        self._max_bytes = max_bytes
        self._items: OrderedDict[Hashable, _Held] = OrderedDict()
        self._bytes = 0
        self._held_version: int | None = None

    def version(self) -> int | None:
        """The counter to make a tile under (read before making it), or None: keep nothing."""
        current = self._changes.version if self._changes.listening else None
        if current != self._held_version:
            # Whatever was kept under another count can never be used again (unless the
            # changes since are known to have moved no day it was made from): let it go now
            # rather than when newer results push it out (writes all day would otherwise keep
            # the cache full of the dead).
            moved = None
            if current is not None and self._held_version is not None:
                moved = self._changes.moved_since(self._held_version)
            outliving: OrderedDict[Hashable, _Held] = OrderedDict()
            if current is not None and moved is not None:
                for key, held in self._items.items():
                    if held.days is not None and not any(_touches(held.days, m) for m in moved):
                        outliving[key] = held._replace(version=current)
            self._items = outliving
            self._bytes = sum(held.size for held in outliving.values())
            self._held_version = current
        return current

    def get(self, key: Hashable) -> Any | None:
        current = self.version()
        held = self._items.get(key)
        if current is None or held is None or held.version != current:
            return None
        self._items.move_to_end(key)
        return held.value

    def put(
        self,
        key: Hashable,
        version: int | None,
        value: Any,
        size: int,
        days: DateRange | None = None,
    ) -> None:
        """Keep `value`, made under `version` (from the kept counts of `days` alone, when
        given), unless something changed since."""
        if version is None or version != self.version() or size > self._max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._items[key] = _Held(version, value, size, days)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size


async def kept(
    cache: ResultCache | None,
    key: Hashable,
    make: Callable[[], Awaitable[T]],
    size: Callable[[T], int],
    days: DateRange | None = None,
) -> T:
    """`make()`'s result, from `cache` when nothing changed since it was kept there (nothing
    that moved the kept counts of `days`, when it is made from those alone)."""
    if cache is None:
        return await make()
    held = cache.get(key)
    if held is not None:
        return cast(T, held)
    version = cache.version()
    as_of = READ_AS_OF.get()
    if version is not None and as_of is not None and as_of < version:
        version = as_of  # put() will refuse it: the replica may lack the newest change
    value = await make()
    cache.put(key, version, value, size(value), days)
    return value
