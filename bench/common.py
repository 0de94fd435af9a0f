"""What the benchmark scripts share: their own database on the project's server, free
ports, servers started and stopped around a measurement, and latency figures."""

import asyncio
import contextlib
import math
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
# The benchmarks' clients are one address asking far faster than a person would: the
# service's rate limits are raised out of their way (every request still passes the limiter).
RAISED_RATE_LIMITS = {
    f"GEO_SERVICE_RATE_PER_{who}_{what}": "1000000"
    for who in ("ADDRESS", "CREDENTIAL")
    for what in ("PER_S", "BURST")
}


def bench_database(base_url: str, name: str) -> str:
    """The URL of database `name` beside `base_url`'s, created (with PostGIS and the
    service's schema) when missing."""
    from geo_service.settings import libpq_url
    from geo_service.store import migrate

    server = libpq_url(base_url).rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    migrate.upgrade(url)
    return url


BENCH_PASSWORD = "a-password-of-the-benchmarks"


def _on_accounts(url: str, agency: str, role: str, with_key: bool) -> tuple[str, str | None]:
    """The benchmarks' user of `agency` and `role` on database `url` (password
    BENCH_PASSWORD), made through the service's own accounts when missing, and a new API key
    of theirs (valid a day) when `with_key`."""
    from geo_service.services import accounts
    from geo_service.services.errors import InvalidInput
    from geo_service.settings import Settings
    from geo_service.store.db import create_engine

    name = f"bench-{agency}-{role}".lower().replace("_", "-")

    async def make() -> str | None:
        engine = create_engine(Settings(database_url=url))
        try:
            with contextlib.suppress(InvalidInput):  # made before
                await accounts.add_user(engine, name, agency, role, BENCH_PASSWORD)
            return await accounts.create_key(engine, name, "benchmark", 1) if with_key else None
        finally:
            await engine.dispose()

    return name, asyncio.run(make())


def bench_user(url: str, agency: str, role: str) -> str:
    """The name of the benchmarks' user of `agency` and `role` (made when missing)."""
    return _on_accounts(url, agency, role, with_key=False)[0]


def bearer(url: str, agency: str = "PCC", role: str = "analyst") -> dict[str, str]:
    """Headers presenting a new API key (valid a day) of the benchmarks' user of `agency`
    and `role`: every read and write of the service is some user's. The default, an analyst
    of the PCC, reads every partner's shared incidents."""
    return {"Authorization": f"Bearer {_on_accounts(url, agency, role, with_key=True)[1]}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(
    command: Sequence[str], env: dict[str, str], ready: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process for the duration of the block, once `ready` answers 200."""
    server = subprocess.Popen(
        list(command), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(240):
            try:
                if httpx.get(ready, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {server.returncode}")
            time.sleep(0.25)
        else:
            raise RuntimeError(f"{ready} never answered")
        yield server
    finally:
        server.terminate()
        server.wait(30)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def ensure_synthetic_rows(url: str, geo, rows: int, seed: int) -> tuple[str, str]:
    """The store holding exactly `rows` synthetic incidents; their first and last day."""
    from geo_service.services import bulk_import, synthetic
    from geo_service.services.readers import Table
    from geo_service.settings import Settings
    from geo_service.store.db import create_engine
    from geo_service.store.reference import load_reference
    from geo_service.store.visibility import SERVICE

    with psycopg.connect(url, autocommit=True) as conn:
        held = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
        if held != rows:
            print(f"loading {rows:,} synthetic incidents (held {held:,})", flush=True)
            conn.execute("TRUNCATE incidents, apprehensions")

            async def load() -> None:
                engine = create_engine(Settings(database_url=url, statement_timeout_s=3600))
                async with engine.begin() as c:
                    await load_reference(c, geo)
                frame = synthetic.incidents(geo, rows, seed=seed)
                table = Table.of_points(frame)
                await bulk_import.import_table(engine, SERVICE, geo, table)
                await engine.dispose()

            asyncio.run(load())
            conn.execute("VACUUM ANALYZE incidents")
            conn.execute("VACUUM ANALYZE apprehensions")
        first, last = conn.execute(
            "SELECT min(occurred_at), max(occurred_at) FROM incidents"
        ).fetchone()
    return first, last


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` and its children, in MiB."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    kids = [int(c) for c in text.split()]
    return kids + [g for k in kids for g in children(k)]
