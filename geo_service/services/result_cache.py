"""Results (tiles, hexagon pages) kept in memory between changes: a hit only while nothing
changed in the incidents since the result was made (the change counter of store.changes),
least recently used dropped first past a size in bytes."""

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")

# Set for a request that reads a replica: the change counter its reads are known to hold every
# change of. A result made then is kept only if nothing changed since that count.
READ_AS_OF: ContextVar[int | None] = ContextVar("read_as_of", default=None)


class ChangeCounter(Protocol):
    version: int
    listening: bool


class ResultCache:
    def __init__(self, changes: ChangeCounter, max_bytes: int = 64 * 2**20) -> None:
        self._changes = changes
        self._max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[int, Any, int]] = OrderedDict()
        self._bytes = 0
        self._held_version: int | None = None

    def version(self) -> int | None:
        """The counter to make a tile under (read before making it), or None: keep nothing."""
        current = self._changes.version if self._changes.listening else None
        if current != self._held_version:
            # Whatever was kept under another count can never be used again: let it go now
            # rather than when newer results push it out (writes all day would otherwise keep
            # the cache full of the dead).
            self._items.clear()
            self._bytes = 0
            self._held_version = current
        return current

    def get(self, key: Hashable) -> Any | None:
        current = self.version()
        held = self._items.get(key)
        if current is None or held is None or held[0] != current:
            return None
        self._items.move_to_end(key)
        return held[1]

    def put(self, key: Hashable, version: int | None, value: Any, size: int) -> None:
        """Keep `value`, made under `version`, unless something changed since."""
        if version is None or version != self.version() or size > self._max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[2]
        self._items[key] = (version, value, size)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped


async def kept(
    cache: ResultCache | None,
    key: Hashable,
    make: Callable[[], Awaitable[T]],
    size: Callable[[T], int],
) -> T:
    """`make()`'s result, from `cache` when nothing changed since it was kept there."""
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
    cache.put(key, version, value, size(value))
    return value
