"""Results shared by the processes of a service through files named after the database
snapshot: found under the same snapshot, not after a change, never while changes may be
missed or a read goes to a replica, and within a process's bounds."""

from dataclasses import dataclass

from sqlalchemy import text

from geo_service.services.result_cache import READ_AS_OF
from geo_service.services.shared_results import SharedResults, shared_or_made


@dataclass
class Counter:
    version: int = 1
    listening: bool = True


def made_by(log: list[str], value: str):
    async def make() -> str:
        log.append(value)
        return value

    return make


async def test_shared_under_one_snapshot_and_not_after_a_change(db, tmp_path) -> None:
    one, two = Counter(), Counter()
    first, second = SharedResults(tmp_path, db, one), SharedResults(tmp_path, db, two)
    log: list[str] = []
    enc, dec = str.encode, bytes.decode
    assert await shared_or_made(first, "k", made_by(log, "a"), enc, dec) == "a"
    assert await shared_or_made(second, "k", made_by(log, "b"), enc, dec) == "a"
    assert log == ["a"]
    async with db.begin() as conn:  # any transaction with a number moves the snapshot on
        await conn.execute(text("CREATE TEMPORARY TABLE moved (x int)"))
    two.version += 1  # as the notice of a change would
    assert await shared_or_made(second, "k", made_by(log, "c"), enc, dec) == "c"
    assert log == ["a", "c"]


async def test_nothing_shared_while_notices_may_be_missed_or_on_a_replica(db, tmp_path) -> None:
    counter = Counter(listening=False)
    shared = SharedResults(tmp_path, db, counter)
    assert await shared.snapshot() is None
    counter.listening = True
    token = READ_AS_OF.set(1)
    try:
        assert await shared.snapshot() is None
    finally:
        READ_AS_OF.reset(token)
    assert await shared.snapshot() is not None


async def test_a_process_files_within_its_bounds(db, tmp_path) -> None:
    shared = SharedResults(tmp_path, db, Counter(), max_files=2, max_bytes=10)
    snapshot = await shared.snapshot()
    assert snapshot is not None
    shared.put(snapshot, "a", b"12345")
    shared.put(snapshot, "b", b"123456")  # past the bytes
    shared.put(snapshot, "c", b"1")
    shared.put(snapshot, "d", b"1")  # past the files
    assert [shared.get(snapshot, k) for k in "abcd"] == [b"12345", None, b"1", None]


async def test_services_that_make_results_differently_do_not_share(db, tmp_path) -> None:
    log: list[str] = []
    enc, dec = str.encode, bytes.decode
    before = SharedResults(tmp_path, db, Counter(), made_by="layers as they were")
    assert await shared_or_made(before, "k", made_by(log, "old"), enc, dec) == "old"
    after = SharedResults(tmp_path, db, Counter(), made_by="layers as they are")
    assert await shared_or_made(after, "k", made_by(log, "new"), enc, dec) == "new"
    again = SharedResults(tmp_path, db, Counter(), made_by="layers as they were")
    again.start_afresh()  # a restart of the service forgets what it filed before
    assert await shared_or_made(again, "k", made_by(log, "anew"), enc, dec) == "anew"
    assert log == ["old", "new", "anew"]
