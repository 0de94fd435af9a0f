"""Crashes and stops in the middle of work: a service killed outright during a bulk import
leaves none of it, and the same import run again completes it with no duplicate; a service
told to stop finishes the import in hand before it exits."""

import asyncio
import signal
import threading
import time

import httpx
from sqlalchemy import text

from geo_service.services import synthetic
from tests.conftest import free_port, start_server
from tests.credentials import bearer

ROWS = 100_000
KILL_AFTER_S = 1.0


async def stored(db) -> int:
    async with db.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar_one()


def post_import(base: str, body: bytes, out: dict) -> None:
    try:
        response = httpx.post(
            f"{base}/api/v1/imports",
            content=body,
            headers={"Content-Type": "application/vnd.apache.parquet", **bearer()},
            timeout=120,
        )
        out["status"], out["body"] = response.status_code, response.json()
    except httpx.TransportError as exc:
        out["error"] = type(exc).__name__


def importing(base: str, body: bytes) -> tuple[threading.Thread, dict]:
    """An import sent in the background: its thread and, once it ends, its outcome."""
    out: dict = {}
    sending = threading.Thread(target=post_import, args=(base, body, out))
    sending.start()
    return sending, out


def parquet(geography, tmp_path) -> bytes:
    path = tmp_path / "incidents.parquet"
    frame = synthetic.incidents(geography, ROWS, seed=41).assign(agency="BIH_BP")  # one officer's
    synthetic.write(frame, str(path))
    return path.read_bytes()


async def test_a_kill_mid_import_leaves_nothing_and_the_rerun_completes_it(
    db, migrated, geography, tmp_path
):
    body = parquet(geography, tmp_path)
    port = free_port()
    process = start_server(migrated, port)
    base = f"http://127.0.0.1:{port}"
    try:
        sending, out = importing(base, body)
        await asyncio.sleep(KILL_AFTER_S)  # received, being checked and written
        process.kill()
        process.wait(10)
        sending.join(30)
        assert "error" in out  # never acknowledged
        assert await stored(db) == 0  # and nothing of it is there

        process = start_server(migrated, port)
        out = {}
        started = time.monotonic()
        await asyncio.to_thread(post_import, base, body, out)
        assert out["status"] == 201 and out["body"]["created"] == ROWS, out
        assert time.monotonic() - started > 1.5 * KILL_AFTER_S  # the kill came mid-import
        assert await stored(db) == ROWS
        again: dict = {}
        await asyncio.to_thread(post_import, base, body, again)
        assert again["body"]["unchanged"] == ROWS and await stored(db) == ROWS
    finally:
        process.kill()
        process.wait(10)


async def test_told_to_stop_the_service_finishes_the_import_in_hand(
    db, migrated, geography, tmp_path
):
    body = parquet(geography, tmp_path)
    port = free_port()
    process = start_server(migrated, port)
    base = f"http://127.0.0.1:{port}"
    try:
        sending, out = importing(base, body)
        await asyncio.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        told = time.monotonic()
        await asyncio.to_thread(sending.join, 120)
        assert out.get("status") == 201 and out["body"]["created"] == ROWS, out
        await asyncio.to_thread(process.wait, 30)
        assert time.monotonic() - told < 30
        assert await stored(db) == ROWS
    finally:
        process.kill()
        process.wait(10)
