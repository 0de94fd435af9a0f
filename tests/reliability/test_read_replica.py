"""Reads on a streaming replica: a primary and a replica made by pg_basebackup on loopback,
and the service with DATABASE_READ_URL. Reads go to the replica while it holds what the reader
must see; a writer's next read sees its write even while the replica's replay is paused; a
replica that lags past the bound or is stopped is left for the primary, and used again once
it is back."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from geo_service.store import migrate
from tests.cluster import Cluster
from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature

CLI = str(Path(sys.executable).parent / "geo-service")
MAX_LAG_S = 1.0


class Replicated:
    def __init__(self, primary: Cluster, replica: Cluster, base: str) -> None:
        self.primary, self.replica, self.base = primary, replica, base
        # An officer of BiH's border police: writes, and reads what BiH may see.
        self.headers = bearer(database_url=primary.url("geo_service"))

    def on_replica(self, sql: str) -> object:
        with psycopg.connect(self.replica.url("geo_service"), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()
            return None if row is None else row[0]

    def reads(self) -> dict[tuple[str, str], float]:
        """The service's count of reading requests by (database, reason)."""
        text = httpx.get(f"{self.base}/metrics").text
        return {
            (s.labels["target"], s.labels["reason"]): s.value
            for family in text_string_to_metric_families(text)
            if family.name == "geo_service_db_reads"
            for s in family.samples
            if s.name.endswith("_total")
        }

    def replica_state(self) -> str:
        return str(httpx.get(f"{self.base}/readyz").json()["read_replica"])


def eventually(check: Callable[[], bool], within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def replicated() -> Iterator[Replicated]:
    primary = Cluster(free_port())
    replica = None
    process = None
    try:
        primary.start()
        url = primary.create_database("geo_service")
        migrate.upgrade(url)
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([CLI, "reference", "load"], env=env, check=True, capture_output=True)
        replica = Cluster(free_port(), replica_of=primary)
        replica.start()
        port = free_port()
        process = start_server(
            url,
            port,
            DATABASE_READ_URL=replica.url("geo_service"),
            GEO_SERVICE_REPLICA_MAX_LAG_S=str(MAX_LAG_S),
            GEO_SERVICE_REPLICA_CHECK_INTERVAL_S="0.2",
        )
        yield Replicated(primary, replica, f"http://127.0.0.1:{port}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)
        if replica is not None:
            replica.remove()
        primary.remove()


def _delta(after: dict, before: dict, key: tuple[str, str]) -> float:
    return after.get(key, 0) - before.get(key, 0)


def test_reads_go_to_the_replica_and_a_writer_reads_its_write_while_replay_is_paused(
    replicated: Replicated,
) -> None:
    eventually(lambda: replicated.replica_state() == "in use")
    with httpx.Client(base_url=replicated.base, headers=replicated.headers, timeout=10) as writer:
        before = replicated.reads()
        for _ in range(5):
            assert writer.get("/api/v1/incidents").status_code == 200
        assert _delta(replicated.reads(), before, ("replica", "in use")) == 5

        replicated.on_replica("SELECT pg_wal_replay_pause()")
        try:
            created = writer.post("/api/v1/incidents", json=feature("REPLICA-1"))
            assert created.status_code == 201, created.text
            assert "geo_service_written" in created.cookies
            incident_id = created.json()["id"]
            before = replicated.reads()
            assert writer.get(f"/api/v1/incidents/{incident_id}").status_code == 200
            listed = writer.get("/api/v1/incidents").json()["features"]
            assert [f["id"] for f in listed] == [incident_id]
            hexes = writer.get(
                "/ogc/collections/incident-hexes/items", params={"resolution": 7}
            ).json()["features"]
            assert sum(f["properties"]["incidents"] for f in hexes) == 1
            # A reader that did not write sees it too: the process was told of the change.
            with httpx.Client(base_url=replicated.base, headers=replicated.headers) as other:
                assert len(other.get("/api/v1/incidents").json()["features"]) == 1
            # ...which the paused replica does not hold yet: the primary served those reads.
            assert replicated.on_replica("SELECT count(*) FROM incidents") == 0
            assert _delta(replicated.reads(), before, ("primary", "behind")) == 4
        finally:
            replicated.on_replica("SELECT pg_wal_replay_resume()")

        eventually(lambda: replicated.on_replica("SELECT count(*) FROM incidents") == 1)
        before = replicated.reads()
        assert writer.get(f"/api/v1/incidents/{incident_id}").status_code == 200
        assert _delta(replicated.reads(), before, ("replica", "in use")) == 1


def test_a_writer_on_another_process_reads_its_write(replicated: Replicated) -> None:
    """The WAL position of the write comes back with the writer: a position the replica has
    not replayed sends its reads to the primary."""
    eventually(lambda: replicated.replica_state() == "in use")
    far = "FFFF/0"
    before = replicated.reads()
    response = httpx.get(
        f"{replicated.base}/api/v1/incidents",
        cookies={"geo_service_written": far},
        headers=replicated.headers,
    )
    assert response.status_code == 200
    assert _delta(replicated.reads(), before, ("primary", "behind")) == 1
    # A cookie that is not a WAL position is ignored, not an error.
    before = replicated.reads()
    response = httpx.get(
        f"{replicated.base}/api/v1/incidents",
        cookies={"geo_service_written": "x'; --"},
        headers=replicated.headers,
    )
    assert response.status_code == 200
    assert _delta(replicated.reads(), before, ("replica", "in use")) == 1


def test_a_lagging_replica_is_left_until_it_catches_up(replicated: Replicated) -> None:
    eventually(lambda: replicated.replica_state() == "in use")
    replicated.on_replica("SELECT pg_wal_replay_pause()")
    try:
        with httpx.Client(
            base_url=replicated.base, headers=replicated.headers, timeout=10
        ) as writer:
            created = writer.post("/api/v1/incidents", json=feature("REPLICA-LAG"))
            assert created.status_code == 201
        eventually(lambda: replicated.replica_state() == "lagging", within_s=MAX_LAG_S + 5)
        before = replicated.reads()
        assert (
            httpx.get(f"{replicated.base}/api/v1/incidents", headers=replicated.headers).status_code
            == 200
        )
        assert _delta(replicated.reads(), before, ("primary", "lagging")) == 1
        lag = next(
            s.value
            for family in text_string_to_metric_families(
                httpx.get(f"{replicated.base}/metrics").text
            )
            if family.name == "geo_service_replica_lag_seconds"
            for s in family.samples
        )
        assert lag > MAX_LAG_S
    finally:
        replicated.on_replica("SELECT pg_wal_replay_resume()")
    eventually(lambda: replicated.replica_state() == "in use")


def test_a_stopped_replica_is_left_for_the_primary_and_used_again_once_back(
    replicated: Replicated,
) -> None:
    eventually(lambda: replicated.replica_state() == "in use")
    expected = len(
        httpx.get(f"{replicated.base}/api/v1/incidents", headers=replicated.headers).json()[
            "features"
        ]
    )
    replicated.replica.stop()
    try:
        answers = []
        started = time.monotonic()
        while time.monotonic() - started < 3:
            response = httpx.get(
                f"{replicated.base}/api/v1/incidents", headers=replicated.headers, timeout=10
            )
            answers.append(response.status_code)
            if response.status_code == 200:
                assert len(response.json()["features"]) == expected
            else:  # a read caught on the replica as it went: retry, as any other outage
                assert response.status_code == 503
                assert response.headers["retry-after"]
        # At most the read under way when the replica went is refused; then the primary.
        assert answers.count(503) <= 1 and answers[-1] == 200
        assert replicated.replica_state() == "down"
        assert httpx.get(f"{replicated.base}/readyz").status_code == 200
    finally:
        replicated.replica.start()
    eventually(lambda: replicated.replica_state() == "in use")
    before = replicated.reads()
    assert (
        httpx.get(f"{replicated.base}/api/v1/incidents", headers=replicated.headers).status_code
        == 200
    )
    assert _delta(replicated.reads(), before, ("replica", "in use")) == 1
