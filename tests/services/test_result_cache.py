"""Results kept between changes: reused until the change counter moves; never kept when
made from a replica that may lack the newest change."""

from dataclasses import dataclass

from geo_service.services.result_cache import READ_AS_OF, ResultCache, kept


@dataclass
class Counter:
    version: int = 1
    listening: bool = True


async def test_a_result_is_reused_until_something_changes() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    made = []

    async def make() -> str:
        made.append(changes.version)
        return f"made at {changes.version}"

    assert await kept(cache, "k", make, len) == "made at 1"
    assert await kept(cache, "k", make, len) == "made at 1"
    changes.version = 2
    assert await kept(cache, "k", make, len) == "made at 2"
    changes.listening = False  # changes may be missed: nothing is reused
    assert await kept(cache, "k", make, len) == "made at 2"
    assert made == [1, 2, 2]


async def test_a_result_read_from_a_replica_behind_the_newest_change_is_not_kept() -> None:
    changes = Counter(version=5)
    cache = ResultCache(changes)
    calls = 0

    async def make() -> int:
        nonlocal calls
        calls += 1
        return calls

    token = READ_AS_OF.set(4)  # the replica held every change up to the 4th only
    try:
        assert await kept(cache, "k", make, lambda _: 8) == 1
        assert await kept(cache, "k", make, lambda _: 8) == 2
    finally:
        READ_AS_OF.reset(token)
    token = READ_AS_OF.set(5)
    try:
        assert await kept(cache, "k", make, lambda _: 8) == 3
        assert await kept(cache, "k", make, lambda _: 8) == 3
    finally:
        READ_AS_OF.reset(token)
