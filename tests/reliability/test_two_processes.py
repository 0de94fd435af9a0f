"""Two service processes on one database: every live-stream client gets every event exactly
once whichever process it is connected to and whichever process took the write, and what
one process keeps in memory (a tile) is renewed when the other changes the incidents."""

import asyncio
import time

import httpx
import orjson

from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature

URL_TILE = "/ogc/collections/incidents/tiles/WebMercatorQuad/9/283/185"  # Zvornik


async def events_of(base: str, seen: list, ready: asyncio.Event) -> None:
    client = httpx.AsyncClient(base_url=base, headers=bearer("PCC", "viewer"), timeout=30)
    async with client, client.stream("GET", "/api/v1/stream") as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
                if event == "hello":
                    ready.set()
            elif line.startswith("data: ") and event == "incident":
                seen.append(orjson.loads(line.removeprefix("data: "))["id"])


async def test_every_client_gets_every_event_once_from_either_process(db, migrated):
    ports = [free_port(), free_port()]
    processes = [start_server(migrated, port) for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    listeners: list[asyncio.Task] = []
    try:
        seen: list[list[int]] = [[] for _ in range(4)]
        ready = [asyncio.Event() for _ in range(4)]
        listeners.extend(
            asyncio.create_task(events_of(bases[i % 2], seen[i], ready[i])) for i in range(4)
        )
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in ready)), 10)
        async with httpx.AsyncClient(headers=bearer(), timeout=10) as client:
            before = await client.get(bases[0] + URL_TILE)
            created = []
            for n in range(6):  # writes alternate between the processes
                body = feature(f"TWO-{time.time_ns()}-{n}", coordinates=[19.10, 44.39])
                response = await client.post(f"{bases[n % 2]}/api/v1/incidents", json=body)
                assert response.status_code == 201
                created.append(response.json()["id"])
            await asyncio.sleep(3)  # every event has arrived well within this; none more
            for received in seen:
                assert received == created  # each exactly once, in order
            after = await client.get(bases[0] + URL_TILE)  # kept by process 0 before
            assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        for process in processes:
            process.kill()
            process.wait(10)
