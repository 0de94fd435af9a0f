"""Statements made once and reused: building a large SQLAlchemy statement costs a few
milliseconds of Python, and a map asks for many tiles and windows that differ only in
values the statement takes as parameters."""

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Reused(Generic[T]):
    """Up to `size` made things by key (all let go when full: there are few keys in use)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._held: dict[Hashable, T] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """What `make()` made for `key`, made now if not before (every time when `key` cannot
        be one: a filter given as a list)."""
        try:
            held = self._held.get(key)
        except TypeError:
            return make()
        if held is None:
            if len(self._held) >= self._size:
                self._held.clear()
            held = self._held[key] = make()
        return held
