"""The `geo-service` command: import files (all or nothing, or skipping invalid rows)."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import orjson
import pandas as pd
import psycopg
import pytest
from sqlalchemy import text

from geo_service.services import accounts, synthetic
from geo_service.settings import libpq_url
from tests.credentials import api_key

CLI = str(Path(sys.executable).parent / "geo-service")


def run(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=300)


async def count(db) -> int:
    async with db.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar()


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".gpkg", ".parquet"])
async def test_import_each_format(settings, geography, db, tmp_path, suffix):
    path = tmp_path / f"incidents{suffix}"
    frame = synthetic.incidents(geography, 300, seed=5)
    synthetic.write(frame, str(path))
    result = run(settings, "import", str(path))
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"received": 300, "created": 300, "unchanged": 0, "rejected": 0}
    assert await count(db) == 300
    again = run(settings, "import", str(path))
    assert orjson.loads(again.stdout.strip().splitlines()[-1])["unchanged"] == 300
    assert await count(db) == 300


async def test_import_with_a_bad_row_imports_nothing_and_names_it(
    settings, geography, db, tmp_path
):
    path = tmp_path / "bad.csv"
    synthetic.write(synthetic.incidents(geography, 50, seed=6), str(path))
    frame = pd.read_csv(path)
    frame.loc[9, "category"] = "fishing"
    frame.loc[19, "lat"] = 95
    frame.to_csv(path, index=False)
    result = run(settings, "import", str(path))
    assert result.returncode == 1
    assert "row 10: category: unknown category 'fishing'" in result.stderr
    assert "row 20: geometry: coordinates out of range" in result.stderr
    assert "nothing was imported" in result.stderr
    assert await count(db) == 0


async def test_skip_invalid_writes_the_rejected_rows_with_reasons(
    settings, geography, db, tmp_path
):
    path = tmp_path / "mixed.csv"
    synthetic.write(synthetic.incidents(geography, 40, seed=7), str(path))
    frame = pd.read_csv(path)
    frame.loc[4, "occurred_at"] = "2099-01-01T00:00:00Z"
    frame.to_csv(path, index=False)
    rejected = tmp_path / "rejected.csv"
    result = run(settings, "import", str(path), "--skip-invalid", "--rejected", str(rejected))
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout.strip().splitlines()[-1])["created"] == 39
    out = pd.read_csv(rejected)
    assert out["row"].tolist() == [5]
    assert out["reason"].tolist() == ["occurred_at: lies in the future"]
    assert out["external_ref"].tolist() == [frame.loc[4, "external_ref"]]
    assert await count(db) == 39


async def test_an_unreadable_file_is_a_clear_error(settings, db, tmp_path):
    path = tmp_path / "x.gpkg"
    path.write_bytes(b"not a geopackage")
    result = run(settings, "import", str(path))
    assert result.returncode == 1 and "could not read the gpkg input" in result.stderr
    path = tmp_path / "x.txt"
    path.write_text("hello")
    result = run(settings, "import", str(path))
    assert result.returncode == 1 and "unknown file type" in result.stderr


async def test_geoparquet_written_by_geopandas_with_typed_times(settings, geography, db, tmp_path):
    frame = synthetic.incidents(geography, 20, seed=8)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    path = tmp_path / "typed.parquet"
    gpd.GeoDataFrame(frame).to_parquet(path)
    result = run(settings, "import", str(path))
    assert result.returncode == 0, result.stderr
    assert await count(db) == 20


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".parquet"])
async def test_demo_generate_writes_what_import_reads(settings, db, tmp_path, suffix):
    path = tmp_path / f"surge{suffix}"
    args = ("--scenario", "surge", "--from", "2026-10-01", "--to", "2026-10-31", "--seed", "4")
    result = run(settings, "demo", "generate", *args, "--out", str(path))
    assert result.returncode == 0, result.stderr
    written = int(result.stdout.split()[0])
    assert written > 1000
    imported = run(settings, "import", str(path))
    assert imported.returncode == 0, imported.stderr
    assert await count(db) == written
    if suffix == ".csv":  # the same options, the same bytes
        again = tmp_path / "again.csv"
        run(settings, "demo", "generate", *args, "--out", str(again))
        assert again.read_bytes() == path.read_bytes()


async def test_demo_load_and_ensure(settings, db):
    result = run(settings, "demo", "load", "--from", "2026-11-01", "--to", "2026-11-07")
    assert result.returncode == 0, result.stderr
    loaded = await count(db)
    assert loaded > 200 and f"{loaded} incidents of 'baseline' loaded" in result.stdout
    ensured = run(settings, "demo", "ensure")
    assert "store already has data" in ensured.stdout and await count(db) == loaded


async def test_demo_live_reports_through_the_api(settings, db, live_server):
    keys = [f"--key={agency}={api_key(agency)}" for agency in ("BIH_BP", "MNE_BP", "SRB_BP")]
    args = ("--url", live_server, "--per-minute", "600", "--count", "3")
    result = run(settings, "demo", "live", *args, *keys)
    assert result.returncode == 0, result.stderr
    assert "3 incidents reported" in result.stdout
    async with db.connect() as conn:
        refs = (await conn.execute(text("SELECT external_ref FROM incidents"))).scalars().all()
    assert len(refs) == 3 and all(r.startswith("LIVE-") for r in refs)
    # Without keys it needs the demo's officers, and says so.
    refused = run(settings, "demo", "live", *args)
    assert refused.returncode == 2 and "demo-bih-officer" in refused.stderr


async def test_serve_with_demo_live_keeps_reporting(settings, db):
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await accounts.make_demo_users(db)  # the live reports are sent as their officers
    env = {**os.environ, "DATABASE_URL": settings.database_url, "GEO_SERVICE_DEMO": "1"}
    process = await asyncio.create_subprocess_exec(
        CLI, "serve", "--port", str(port), "--demo-live", env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(80):
            if await count(db):
                break
            await asyncio.sleep(0.5)
        async with db.connect() as conn:
            refs = (await conn.execute(text("SELECT external_ref FROM incidents"))).scalars().all()
        assert refs and all(r.startswith("LIVE-") for r in refs)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 20)
    # The reporting process ends with the service.
    for _ in range(20):
        if not running(f"demo live --url http://127.0.0.1:{port}"):
            break
        await asyncio.sleep(0.5)
    assert not running(f"demo live --url http://127.0.0.1:{port}")


def running(text_: str) -> bool:
    """Whether a process whose command line holds `text_` runs (read from /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text_ in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


async def test_export_writes_the_selection(settings, geography, db, tmp_path):
    path = tmp_path / "incidents.csv"
    frame = synthetic.incidents(geography, 300, seed=8)
    synthetic.write(frame, str(path))
    assert run(settings, "import", str(path)).returncode == 0
    out = tmp_path / "bih.gpkg"
    result = run(settings, "export", "--out", str(out), "--agency", "BIH_BP", "--category",
                 "unauthorised_crossing,migrant_smuggling")  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = gpd.read_file(out, layer="incidents")
    expected = frame[
        (frame["agency"] == "BIH_BP")
        & frame["category"].isin(["unauthorised_crossing", "migrant_smuggling"])
    ]
    assert sorted(read["external_ref"]) == sorted(expected["external_ref"])
    assert f"{len(expected)} incidents written" in result.stdout

    refused = run(settings, "export", "--out", str(tmp_path / "x.xlsx"))
    assert refused.returncode == 2 and "format: must be one of geojson, csv, gpkg" in refused.stderr
    bad = run(settings, "export", "--out", str(out), "--category", "sheep")
    assert bad.returncode == 2 and "category: unknown code 'sheep'" in bad.stderr


async def test_report_writes_one_html_file(settings, db, tmp_path):
    out = tmp_path / "brief.html"
    result = run(settings, "report", "--out", str(out), "--period", "week", "--lang", "bs",
                 "--date", "2026-11-20")  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert '<html lang="bs">' in html and "Sedmični izvještaj o stanju" in html
    assert "14.11.2026 – 20.11.2026" in html
    refused = run(settings, "report", "--out", str(out), "--period", "month", "--lang", "de")
    assert refused.returncode == 2
    assert "period: 'month' is not one of day, week" in refused.stderr
    assert "lang: 'de' is not one of en, bs, sr-Cyrl" in refused.stderr


def test_a_database_not_migrated_is_told_to_be_migrated(settings):
    server, own = libpq_url(settings.database_url).rsplit("/", 1)
    name = f"{own}_empty"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        empty = settings.model_copy(update={"database_url": f"{server}/{name}"})
        result = run(empty, "users", "list")
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert 'relation "users" does not exist' in result.stderr
        assert result.stderr.strip().endswith("geo-service db upgrade")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


async def test_users_and_keys(settings, db, client, caught_up):
    made = run(settings, "users", "add", "mne-officer", "--agency", "MNE_BP", "--role", "officer",
               "--password", "a long enough password")  # fmt: skip
    assert made.returncode == 0, made.stderr
    refused = run(settings, "users", "add", "x", "--agency", "NOPE", "--role", "chief",
                  "--password", "short")  # fmt: skip
    assert refused.returncode == 2
    assert {"username", "agency", "role", "password"} <= {
        line.split(":")[0] for line in refused.stderr.splitlines()
    }
    listed = run(settings, "users", "list")
    assert "mne-officer\tMNE_BP\tofficer\tenabled" in listed.stdout

    key = run(settings, "keys", "create", "mne-officer", "--name", "sync", "--days", "7")
    assert key.returncode == 0, key.stderr
    secret = key.stdout.strip()
    assert secret.startswith("gsk_")
    headers = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 200
    prefix = secret.split("_")[1]
    keys = run(settings, "keys", "list").stdout
    assert f"{prefix}\tsync\tmne-officer" in keys and secret not in keys

    assert run(settings, "keys", "revoke", prefix).returncode == 0
    await caught_up()  # the service has the database's notice of the change
    assert (await client.get("/api/v1/incidents", headers=headers)).status_code == 401
    assert run(settings, "keys", "revoke", prefix).returncode == 2

    assert run(settings, "users", "disable", "mne-officer").returncode == 0
    assert "disabled" in run(settings, "users", "list").stdout
    assert run(settings, "keys", "create", "mne-officer").returncode == 2
