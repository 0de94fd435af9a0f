"""Results kept between changes: reused until the change counter moves; never kept when
made from a replica that may lack the newest change."""

import asyncio
from datetime import date

from geo_service.services.result_cache import READ_AS_OF, ResultCache, kept
from tests.factories import ChangeCounter as Counter


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


async def test_a_result_of_some_days_counts_outlives_changes_to_other_days() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    made = []

    async def make() -> int:
        made.append(changes.version)
        return changes.version

    november = (date(2026, 11, 1), date(2026, 12, 1))
    may_day = (date(2026, 5, 1), date(2026, 5, 1))
    assert await kept(cache, "nov", make, lambda _: 8, days=november) == 1
    assert await kept(cache, "any", make, lambda _: 8) == 1
    changes.move_on((date(2026, 12, 1), date(2026, 12, 6)))  # today's reports
    changes.move_on(())  # a narrative rewritten: no count moved
    changes.move_on(may_day)
    assert await kept(cache, "nov", make, lambda _: 8, days=november) == 1  # still kept
    assert await kept(cache, "any", make, lambda _: 8) == 4  # made again
    changes.move_on((date(2026, 10, 20), date(2026, 11, 1)))  # reaches its first day
    assert await kept(cache, "nov", make, lambda _: 8, days=november) == 5
    changes.move_on((date(2026, 11, 30), date(2026, 12, 2)))  # and its last
    assert await kept(cache, "nov", make, lambda _: 8, days=november) == 6
    changes.move_on()  # days not known (a write of this process, a missed notice)
    assert await kept(cache, "nov", make, lambda _: 8, days=november) == 7
    changes.move_on(may_day)
    assert await kept(cache, "open", make, lambda _: 8, days=(None, date(2026, 5, 1))) == 8
    changes.move_on(may_day)  # after its end
    assert await kept(cache, "open", make, lambda _: 8, days=(None, date(2026, 5, 1))) == 8
    assert made == [1, 1, 4, 5, 6, 7, 8]


async def test_a_result_that_can_be_amended_is_amended_for_changes_to_its_days() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    calls = []

    async def make() -> str:
        calls.append(("made", changes.version))
        return f"made at {changes.version}"

    async def amend(held: str, moved: tuple) -> str:
        calls.append(("amended", held, moved))
        return f"{held}, amended at {changes.version}"

    november = (date(2026, 11, 1), date(2026, 12, 1))
    first, second = (date(2026, 11, 3), date(2026, 11, 3)), (date(2026, 11, 9), date(2026, 11, 12))
    ask = lambda: kept(cache, "nov", make, len, days=november, amend=amend)  # noqa: E731
    assert await ask() == "made at 1"
    changes.move_on(first)
    changes.move_on((date(2026, 12, 6), date(2026, 12, 6)))  # another day: nothing to amend
    changes.move_on(second)
    assert await ask() == "made at 1, amended at 4"
    assert await ask() == "made at 1, amended at 4"  # kept, amended
    changes.move_on()  # days not known: made again
    assert await ask() == "made at 5"
    assert calls == [("made", 1), ("amended", "made at 1", (first, second)), ("made", 5)]


async def test_a_result_made_while_things_changed_is_kept_to_amend_or_to_serve() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    november = (date(2026, 11, 1), date(2026, 12, 1))
    made_at = cache.keep_version()
    changes.move_on((date(2026, 12, 6), date(2026, 12, 6)))  # not its days
    cache.put("other days", made_at, "kept", 8, days=november)
    assert cache.get("other days") == "kept"
    changes.move_on((date(2026, 11, 5), date(2026, 11, 5)))
    made_at = changes.version - 1  # made before that change
    cache.put("amendable", made_at, "to amend", 8, days=november, amendable=True)
    cache.put("not amendable", made_at, "dropped", 8, days=november)
    cache.put("no days", made_at, "dropped", 8)
    assert cache.get("amendable") is None
    assert cache.to_amend("amendable") == ("to amend", ((date(2026, 11, 5), date(2026, 11, 5)),))
    assert cache.to_amend("not amendable") is None and cache.get("not amendable") is None
    assert cache.get("no days") is None
    changes.move_on()  # days not known: nothing made before is kept
    cache.put("amendable", changes.version - 1, "lost", 8, days=november, amendable=True)
    assert cache.to_amend("amendable") is None and cache.get("amendable") is None


async def test_a_result_made_again_in_the_background_takes_the_place_of_the_kept_one() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    gate = asyncio.Event()
    made = []

    async def make_again() -> str:
        made.append(changes.version)
        await gate.wait()
        return "made again"

    cache.put("k", cache.keep_version(), "kept", 8)
    cache.remake_later("k", make_again, len)
    cache.remake_later("k", make_again, len)  # once at a time
    await asyncio.sleep(0)
    assert cache.get("k") == "kept"
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert cache.get("k") == "made again" and made == [1]
    # Stopped with the cache: nothing left running, nothing started after.
    gate.clear()
    cache.remake_later("k", make_again, len)
    await asyncio.sleep(0)
    await cache.close()
    cache.remake_later("k", make_again, len)
    gate.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert cache.get("k") == "made again" and made == [1, 1]


async def test_background_remakes_run_one_at_a_time() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    running, most = 0, 0

    def make_again(name: str):
        async def make() -> str:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1
            return name

        return make

    for name in ("a", "b", "c"):
        cache.remake_later(name, make_again(name), len)
    for _ in range(50):
        if all(cache.get(k) for k in "abc"):
            break
        await asyncio.sleep(0.01)
    assert [cache.get(k) for k in "abc"] == ["a", "b", "c"] and most == 1


async def test_a_change_during_an_amendment_leaves_it_to_amend_again() -> None:
    changes = Counter()
    cache = ResultCache(changes)
    november = (date(2026, 11, 1), date(2026, 12, 1))
    first, second = (date(2026, 11, 3), date(2026, 11, 3)), (date(2026, 11, 20), date(2026, 11, 20))
    seen = []

    async def make() -> str:
        return "made"

    async def amend(held: str, moved: tuple) -> str:
        seen.append(moved)
        if len(seen) == 1:
            changes.move_on(second)  # committed while this amendment reads
        return f"{held} +{len(moved)}"

    ask = lambda: kept(cache, "nov", make, len, days=november, amend=amend)  # noqa: E731
    assert await ask() == "made"
    changes.move_on(first)
    assert await ask() == "made +1"  # served, but kept only as one still to amend
    assert await ask() == "made +1 +1"
    assert await ask() == "made +1 +1"
    assert seen == [(first,), (second,)]
    # Read from a replica holding changes up to an older count: kept to amend for the rest.
    changes.move_on(first)
    token = READ_AS_OF.set(changes.version - 1)
    try:
        assert await ask() == "made +1 +1 +1"
    finally:
        READ_AS_OF.reset(token)
    assert await ask() == "made +1 +1 +1 +1"
    assert seen[-2:] == [(first,), (first,)]
