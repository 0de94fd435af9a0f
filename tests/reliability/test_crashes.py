"""Crashes and stops in the middle of work: a service killed outright during a bulk import
leaves none of it, and the same import run again completes it with no duplicate; a service
told to stop finishes the import in hand before it exits."""

import asyncio
import signal
import threading
import time

import httpx
import psycopg
from sqlalchemy import text

from geo_service.services import synthetic
from geo_service.settings import libpq_url
from tests.conftest import free_port, start_server
from tests.credentials import bearer

ROWS = 30_000


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


async def until_writing(database_url: str) -> None:
    """Until the import's COPY into the incidents is running, as another connection sees it:
    the import received, checked and being written, not yet committed."""
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as conn:
        await conn.set_autocommit(True)
        for _ in range(3000):
            running = await conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE 'COPY \"incidents\"%'"
            )
            if await running.fetchone():
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the import's COPY was never seen running")


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
        await until_writing(migrated)
        process.kill()
        process.wait(10)
        sending.join(30)
        assert "error" in out  # never acknowledged
        assert await stored(db) == 0  # and nothing of it is there

        process = start_server(migrated, port)
        out = {}
        await asyncio.to_thread(post_import, base, body, out)
        assert out["status"] == 201 and out["body"]["created"] == ROWS, out
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
        await until_writing(migrated)
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
