"""A database outage under load: eight clients keep posting incidents (retrying with the same
reference until acknowledged) while PostgreSQL is stopped for 10 s and started again. While
it is down every answer is a 503 with Retry-After, soon, and /readyz says not ready; within
5 s of its return the service serves again, without a restart; afterwards every incident
acknowledged is stored exactly once, whole, and nothing else is."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from geo_service.store import migrate
from tests.cluster import Cluster
from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature

CLIENTS = 8
DOWN_S = 10
CLI = str(Path(sys.executable).parent / "geo-service")


@pytest.fixture
def outage():
    cluster = Cluster(free_port())
    cluster.start()
    process = None
    try:
        url = cluster.create_database("geo_service")
        migrate.upgrade(url)
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([CLI, "reference", "load"], env=env, check=True, capture_output=True)
        port = free_port()
        process = start_server(url, port)
        yield cluster, url, f"http://127.0.0.1:{port}", bearer(database_url=url)
    finally:
        if process is not None:
            process.kill()
            process.wait(10)
        cluster.remove()


class Client(threading.Thread):
    """Posts incidents one after another, each retried with its reference until it is
    acknowledged; stops after the one in hand once told to."""

    def __init__(
        self, base: str, headers: dict, number: int, stop: threading.Event, log: list
    ) -> None:
        super().__init__(daemon=True)
        self.base, self.number, self.stop, self.log = base, number, stop, log
        self.headers = headers
        self.acknowledged: dict[str, int] = {}
        self.attempted: set[str] = set()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=15) as http:
            n = 0
            while not self.stop.is_set():
                ref = f"OUTAGE-{self.number}-{n}"
                n += 1
                body = feature(ref)
                self.attempted.add(ref)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    sent = time.monotonic()
                    try:
                        response = http.post("/api/v1/incidents", json=body)
                    except httpx.TransportError as exc:
                        self.log.append((sent, time.monotonic() - sent, type(exc).__name__, None))
                        time.sleep(0.2)
                        continue
                    self.log.append(
                        (sent, time.monotonic() - sent, response.status_code,
                         response.headers.get("retry-after"))
                    )  # fmt: skip
                    if response.status_code in (200, 201):
                        self.acknowledged[ref] = len(body["properties"]["apprehensions"])
                        break
                    time.sleep(0.2)


def test_the_service_rides_out_a_database_outage(outage):
    cluster, url, base, headers = outage
    stop, log = threading.Event(), []
    clients = [Client(base, headers, i, stop, log) for i in range(CLIENTS)]
    for c in clients:
        c.start()
    time.sleep(3)
    cluster.stop()
    down_at = time.monotonic()
    time.sleep(2)
    ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["status"] == "not ready"
    time.sleep(DOWN_S - (time.monotonic() - down_at))
    cluster.start()
    up_at = time.monotonic()
    time.sleep(6)
    stop.set()
    for c in clients:
        c.join(90)
        assert not c.is_alive()

    outcomes = {entry[2] for entry in log}
    assert outcomes <= {200, 201, 503}, outcomes  # never a 500, never a dropped connection
    assert all(entry[3] for entry in log if entry[2] == 503)  # Retry-After on every 503
    assert max(entry[1] for entry in log) < 8  # no answer hangs
    assert any(entry[2] == 503 for entry in log if down_at < entry[0] < up_at)
    served_again = min(e[0] + e[1] for e in log if e[2] in (200, 201) and e[0] > up_at)
    assert served_again - up_at < 5
    assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200

    acknowledged = {ref: groups for c in clients for ref, groups in c.acknowledged.items()}
    attempted = set().union(*(c.attempted for c in clients))
    with psycopg.connect(url) as conn:
        stored = dict(
            conn.execute(
                "SELECT i.external_ref, count(a.*) FROM incidents i "
                "LEFT JOIN apprehensions a ON a.incident_id = i.id "
                "WHERE i.external_ref LIKE 'OUTAGE-%' GROUP BY i.id, i.external_ref"
            ).fetchall()
        )
        rows = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
    assert rows == len(stored)  # each reference once
    assert set(acknowledged) <= set(stored) <= attempted
    assert set(stored) == set(acknowledged)  # every client carried its last one through
    assert all(stored[ref] == groups for ref, groups in acknowledged.items())  # whole
    assert len(acknowledged) > CLIENTS * 5
