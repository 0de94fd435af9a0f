"""/api/v1/stream: a new incident reaches an open stream within 2 s of its POST, from a
served process; each caller's events hold only what it may see; a service told to stop asks
its streams to reconnect and exits at once."""

import asyncio
import signal
import time

import httpx
import orjson

from geo_service.services.stream import events
from geo_service.store.visibility import SERVICE, Caller
from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature


async def next_event(lines, kind: str) -> dict:
    event = None
    async for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == kind:
            return orjson.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


async def test_a_new_incident_reaches_an_open_stream_within_2_s(db, live_server):
    client = httpx.AsyncClient(base_url=live_server, headers=bearer(), timeout=10)
    async with client, client.stream("GET", "/api/v1/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        await next_event(lines, "hello")
        created = await client.post("/api/v1/incidents", json=feature("STREAM-1"))
        posted = time.monotonic()
        assert created.status_code == 201
        arrived = await asyncio.wait_for(next_event(lines, "incident"), 2.0)
        assert time.monotonic() - posted < 2.0
        assert arrived["properties"]["external_ref"] == "STREAM-1"
        deleted = await client.delete(f"/api/v1/incidents/{arrived['id']}")
        assert deleted.status_code == 204
        removed = await asyncio.wait_for(next_event(lines, "removed"), 2.0)
        assert removed == {"id": arrived["id"]}


async def test_each_caller_gets_only_what_it_may_see(client, db):
    ids = {}
    for ref, agency, sharing in [("N", "BIH_BP", "national"), ("P", "BIH_BP", "pcc")]:
        body = feature(f"SEE-{ref}", agency=agency, sharing=sharing)
        ids[ref] = (await client.post("/api/v1/incidents", json=body)).json()["id"]
    notice = {"table": "incidents", "op": "INSERT", "ids": sorted(ids.values()), "count": 2}
    montenegro = await events(db, Caller("MNE_BP", "analyst"), notice)
    assert [orjson.loads(d)["properties"]["external_ref"] for _, d in montenegro] == ["SEE-P"]
    bosnia = await events(db, Caller("BIH_BP", "analyst"), notice)
    assert len(bosnia) == 2 and {e for e, _ in bosnia} == {"incident"}
    too_many = {**notice, "count": 500}
    assert [e for e, _ in await events(db, SERVICE, too_many)] == ["refresh"]


async def test_told_to_stop_the_service_asks_its_streams_to_reconnect_and_exits(migrated):
    port = free_port()
    process = start_server(migrated, port)
    try:
        client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=bearer("PCC", "viewer"), timeout=10
        )
        async with client, client.stream("GET", "/api/v1/stream") as stream:
            lines = stream.aiter_lines()
            await next_event(lines, "hello")
            told = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert await next_event(lines, "reconnect") == {"reason": "stopping"}
            assert [line async for line in lines if line.startswith("event:")] == []  # ended
        await asyncio.to_thread(process.wait, 10)
        assert time.monotonic() - told < 5  # not the 20 s a held-open stream would cost
    finally:
        process.kill()
        process.wait(10)
