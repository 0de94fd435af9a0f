"""Observability: Prometheus metrics by route and status, a request id on every response and
in every log line of the request, JSON logs, and readiness that includes the change
listener."""

import re
import time
from pathlib import Path
from tempfile import gettempdir

import httpx
import orjson

from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_requests_by_route_and_status_and_writes(client):
    before = (await client.get("/metrics")).text
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    created = await client.post("/api/v1/incidents", json=feature(f"MET-{time.time_ns()}"))
    assert created.status_code == 201
    missing = await client.get("/api/v1/incidents/987654321")
    assert missing.status_code == 404
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    total = "geo_service_http_requests_total"
    assert grew(total, method="GET", route="/healthz", status="200") == 3
    assert grew(total, method="POST", route="/api/v1/incidents", status="201") == 1
    # The route's template, not the id asked for: the metrics do not grow with every id.
    assert grew(total, method="GET", route="/api/v1/incidents/{incident_id}", status="404") == 1
    assert "987654321" not in after
    assert grew("geo_service_incidents_written_total", path="api") == 1
    assert (
        grew("geo_service_http_request_duration_seconds_count", method="GET", route="/healthz") == 3
    )
    assert "geo_service_db_pool_connections" in after and "geo_service_stream_clients" in after


async def test_every_response_carries_a_request_id(client):
    given = await client.get("/healthz", headers={"X-Request-ID": "ops-4711"})
    assert given.headers["x-request-id"] == "ops-4711"
    made = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    odd = await client.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert odd.headers["x-request-id"] != "x" * 500  # not echoed: a fresh one


async def test_readiness_includes_the_change_listener(client, app, monkeypatch):
    assert (await client.get("/readyz")).status_code == 200
    monkeypatch.setattr(app.state.changes, "listening", False)
    response = await client.get("/readyz")
    assert response.status_code == 503 and "listener" in response.json()["reason"]


def test_the_served_process_logs_json_lines_with_the_request_id(migrated):
    port = free_port()
    process = start_server(migrated, port)
    try:
        response = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/incidents/42424242",
            headers={"X-Request-ID": "trace-42", **bearer("BIH_BP", "analyst")},
        )
        assert response.status_code == 404
    finally:
        process.terminate()
        process.wait(20)
    lines = (Path(gettempdir()) / f"geo-service-test-{port}.log").read_text().splitlines()
    entries = [orjson.loads(line) for line in lines if line.strip()]  # every line is JSON
    mine = [e for e in entries if e.get("request_id") == "trace-42"]
    assert mine and any("/api/v1/incidents/42424242" in e["message"] for e in mine)
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
