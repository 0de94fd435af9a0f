"""The `geo-service` command: database, serving, imports, reference and demo data."""

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer

from geo_service.settings import get_settings

app = typer.Typer(no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)
db_app = typer.Typer(no_args_is_help=True, help="Database schema (Alembic migrations).")
reference_app = typer.Typer(no_args_is_help=True, help="Reference geography (data/borders/).")
demo_app = typer.Typer(no_args_is_help=True, help="Demo and synthetic incidents.")
app.add_typer(db_app, name="db")
app.add_typer(reference_app, name="reference")
app.add_typer(demo_app, name="demo")
users_app = typer.Typer(no_args_is_help=True, help="Users: one agency and one role each.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys of users, for machine clients.")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

T = TypeVar("T")


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(engine)` on a fresh engine, disposed afterwards; a database without the
    service's tables is told to be migrated (exit 1), not shown as a traceback."""
    import psycopg
    from sqlalchemy.exc import ProgrammingError

    from geo_service.store.db import create_engine

    async def main() -> T:
        engine = create_engine(get_settings())
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ProgrammingError as exc:
        if not isinstance(exc.orig, psycopg.errors.UndefinedTable):
            raise
        typer.echo(
            f"the database lacks the service's tables ({exc.orig.diag.message_primary}); "
            "migrate it first: "
            "geo-service db upgrade",
            err=True,
        )
        raise typer.Exit(1) from None


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database up to `revision` (the newest by default)."""
    from geo_service.store import migrate

    migrate.upgrade(get_settings().database_url, revision)


def _with_database_tool(action: str, path: Path, done: str) -> None:
    from geo_service.store import backup as store

    try:
        getattr(store, action)(get_settings().database_url, path)
    except store.BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(done)


@app.command("backup")
def backup(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="the dump file to write")],
) -> None:
    """Dump the whole database (pg_dump, custom format)."""
    _with_database_tool("backup", out, f"database written to {out}")


@app.command("restore")
def restore(
    dump: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a backup's file")],
) -> None:
    """Replace the database's content with a backup's (pg_restore, one transaction)."""
    _with_database_tool("restore", dump, f"database restored from {dump}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to `revision` (`base` removes every table)."""
    from geo_service.store import migrate

    migrate.downgrade(get_settings().database_url, revision)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    demo_live: Annotated[
        bool, typer.Option(help="also keep reporting demo incidents through the API")
    ] = False,
) -> None:
    """Serve the HTTP API and the map pages."""
    import uvicorn

    settings = get_settings()
    live = None
    if demo_live:
        address = f"http://127.0.0.1:{port or settings.port}"
        command = [sys.executable, "-m", "geo_service.cli", "demo", "live", "--url", address]
        command.append("--with-parent")  # it ends when this process ends
        live = subprocess.Popen(command)
    try:
        _serve(uvicorn, host or settings.host, port or settings.port, workers)
    finally:
        if live is not None:
            live.terminate()


def _serve(uvicorn: Any, host: str, port: int, workers: int) -> None:
    from geo_service.logs import log_config

    uvicorn.run(
        "geo_service.api.app:create_app",
        log_config=log_config(),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )


@reference_app.command("load")
def reference_load() -> None:
    """Load countries, borders, sections, crossing points and the corridor (idempotent)."""
    from geo_service.geo.reference import load_geography
    from geo_service.store.reference import load_reference, reference_counts

    geo = load_geography(get_settings().borders_dir)

    async def work(engine: Any) -> dict[str, int]:
        async with engine.begin() as conn:
            await load_reference(conn, geo)
            return await reference_counts(conn)

    counts = _run(work)
    typer.echo(", ".join(f"{n} {name}" for name, n in counts.items()))


def _progress(total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar on a terminal; silence elsewhere."""
    if not sys.stderr.isatty():
        return (lambda n: None), (lambda: None)
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task("importing", total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


@app.command("import")
def import_file(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, GeoJSON, GPKG, GeoParquet")
    ],
    skip_invalid: Annotated[
        bool, typer.Option(help="import the good rows; write the rejected ones to --rejected")
    ] = False,
    rejected: Annotated[
        Path | None, typer.Option(help="where the rejected rows go (default FILE.rejected.csv)")
    ] = None,
) -> None:
    """Import incidents from a file: all or nothing unless --skip-invalid."""
    from geo_service.geo.reference import load_geography
    from geo_service.services import bulk_import
    from geo_service.services.errors import InvalidInput, ServiceError
    from geo_service.services.readers import read_file
    from geo_service.store.visibility import SERVICE

    geo = load_geography(get_settings().borders_dir)
    try:
        table = read_file(path)
        advance, stop = _progress(len(table.frame))

        async def work(engine: Any) -> bulk_import.ImportReport:
            try:
                return await bulk_import.import_table(
                    engine, SERVICE, geo, table, skip_invalid=skip_invalid, on_progress=advance
                )
            finally:
                stop()

        report = _run(work)
    except InvalidInput as exc:
        for e in exc.errors:
            typer.echo(f"row {e.row}: {e.field}: {e.reason}", err=True)
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from None
    except ServiceError as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(1) from None
    if report.rejected:
        out = rejected or path.with_suffix(".rejected.csv")
        _write_rejected(out, table.frame, report)
        typer.echo(f"rejected rows and their reasons: {out}", err=True)
    summary = report.as_dict()
    summary.pop("errors")
    typer.echo(orjson.dumps(summary).decode())


FilterOption = Annotated[list[str] | None, typer.Option(help="one or more (repeat or comma)")]


def _selection(
    datetime: str | None,
    bbox: str | None,
    category: list[str] | None,
    agency: list[str] | None,
    nationality: list[str] | None,
    border_section: list[str] | None,
    crossing_point: list[str] | None,
) -> Any:
    """The incident filter the API's parameters of the same names make (one parser)."""
    from geo_service.api.deps import incident_filter
    from geo_service.api.problems import HTTPProblem

    try:
        return asyncio.run(
            incident_filter(
                bbox=bbox,
                datetime=datetime,
                category=category,
                agency=agency,
                nationality=nationality,
                crossing_point=crossing_point,
                border_section=border_section,
            )
        )
    except HTTPProblem as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from None


def _run_or_refuse(work: Callable[[Any], Awaitable[T]]) -> T:
    """`_run(work)`, a refusal told field by field (exit status 2)."""
    from geo_service.services.errors import InvalidInput

    try:
        return _run(work)
    except InvalidInput as exc:
        for e in exc.errors:
            typer.echo(f"{e.field}: {e.reason}", err=True)
        raise typer.Exit(2) from None


def _run_or_tell(work: Callable[[Any], Awaitable[T]]) -> T:
    """`_run_or_refuse(work)`, a missing user or key told (exit status 2)."""
    from geo_service.services.errors import NotFound

    try:
        return _run_or_refuse(work)
    except NotFound as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from None


@users_app.command("add")
def users_add(
    username: str,
    agency: Annotated[str, typer.Option(help="BIH_BP, MNE_BP, SRB_BP or PCC")],
    role: Annotated[str, typer.Option(help="viewer, analyst, officer or admin")],
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="12+")
    ],
) -> None:
    """Add a user (the password is asked for when not given)."""
    from geo_service.services import accounts

    user = _run_or_tell(lambda e: accounts.add_user(e, username, agency, role, password))
    typer.echo(f"user {user.name}: {user.role} of {user.agency}")


@users_app.command("list")
def users_list() -> None:
    """Every user, with agency, role and whether disabled."""
    from geo_service.services import accounts

    for u in _run(accounts.users):
        state = f"disabled {u.disabled_at:%Y-%m-%d}" if u.disabled_at else "enabled"
        typer.echo(f"{u.username}\t{u.agency}\t{u.role}\t{state}")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: no more logins or keys; open sessions end."""
    from geo_service.services import accounts

    _run_or_tell(lambda e: accounts.disable_user(e, username))
    typer.echo(f"user {username} disabled")


@keys_app.command("create")
def keys_create(
    username: str,
    name: Annotated[str, typer.Option(help="what the key is for")] = "api",
    days: Annotated[int, typer.Option(min=1, max=730, help="days until it expires")] = 90,
) -> None:
    """Create an API key for a user; it is shown this once and stored only as a digest."""
    from geo_service.services import accounts

    typer.echo(_run_or_tell(lambda e: accounts.create_key(e, username, name, days)))


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="the key's prefix (keys list)")],
) -> None:
    """Revoke a key at once."""
    from geo_service.services import accounts

    _run_or_tell(lambda e: accounts.revoke_key(e, prefix))
    typer.echo(f"key {prefix} revoked")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: prefix, name, user, expiry, revoked, last used (never the key itself)."""
    from geo_service.services import accounts

    for k in _run(accounts.keys):
        state = (
            f"revoked {k.revoked_at:%Y-%m-%d}"
            if k.revoked_at
            else f"expires {k.expires_at:%Y-%m-%d}"
        )
        used = f"last used {k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never used"
        typer.echo(f"{k.prefix}\t{k.name}\t{k.username}\t{state}\t{used}")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option(dir_okay=False, help="FILE.geojson, .csv or .gpkg")],
    format: Annotated[
        str | None, typer.Option(help="geojson, csv or gpkg (default: from --out)")
    ] = None,
    datetime: Annotated[
        str | None, typer.Option(help="RFC 3339 instant or interval start/end, `..` open")
    ] = None,
    bbox: Annotated[str | None, typer.Option(help="minLon,minLat,maxLon,maxLat")] = None,
    category: FilterOption = None,
    agency: FilterOption = None,
    nationality: FilterOption = None,
    border_section: FilterOption = None,
    crossing_point: FilterOption = None,
) -> None:
    """Export a selection of incidents, with the filters of the layers and the API."""
    from geo_service.services import exports
    from geo_service.store.visibility import SERVICE

    fmt = format or out.suffix.lstrip(".").lower()
    where = _selection(
        datetime, bbox, category, agency, nationality, border_section, crossing_point
    )

    async def work(engine: Any) -> int:
        made = await exports.export(engine, SERVICE, where, fmt, get_settings())
        with out.open("wb") as f:
            async for piece in made.pieces:
                f.write(piece)
        return made.matched

    matched = _run_or_refuse(work)
    typer.echo(f"{matched} incidents written to {out}")


@app.command("report")
def report(
    out: Annotated[Path, typer.Option(dir_okay=False, help="FILE.html")],
    period: Annotated[str, typer.Option(help="day or week")] = "day",
    date: Annotated[
        str | None, typer.Option(help="the (last) day, YYYY-MM-DD; default yesterday")
    ] = None,
    lang: Annotated[str, typer.Option(help="en, bs or sr-Cyrl")] = "en",
    bbox: Annotated[str | None, typer.Option(help="minLon,minLat,maxLon,maxLat")] = None,
    category: FilterOption = None,
    agency: FilterOption = None,
    nationality: FilterOption = None,
    border_section: FilterOption = None,
    crossing_point: FilterOption = None,
) -> None:
    """The PCC's daily or weekly situation report as one HTML file that opens offline."""
    import datetime as dt

    from geo_service.geo.reference import load_geography
    from geo_service.services import reports
    from geo_service.store.visibility import SERVICE

    settings = get_settings()
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        typer.echo(f"date: {date!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    where = _selection(None, bbox, category, agency, nationality, border_section, crossing_point)
    geo = load_geography(settings.borders_dir)

    async def work(engine: Any) -> str:
        return await reports.situation_report(
            engine, SERVICE, geo, settings, where, kind=period, day=day, lang=lang
        )

    html = _run_or_refuse(work)
    out.write_text(html, encoding="utf-8")
    typer.echo(f"report written to {out}")


def _write_rejected(out: Path, frame: Any, report: Any) -> None:
    import pandas as pd

    reasons: dict[int, list[str]] = {}
    for e in report.rejected:
        reasons.setdefault(e.row, []).append(f"{e.field}: {e.reason}")
    rows = sorted(reasons)
    bad = pd.DataFrame(frame.iloc[[r - 1 for r in rows]]).copy()
    bad.insert(0, "reason", ["; ".join(reasons[r]) for r in rows])
    bad.insert(0, "row", rows)
    bad.to_csv(out, index=False)


@demo_app.command("synthetic")
def demo_synthetic(
    out: Annotated[Path, typer.Option(help="file to write (.csv, .geojson, .gpkg, .parquet)")],
    count: Annotated[int, typer.Option(help="how many incidents")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 1,
) -> None:
    """Write synthetic incidents along the monitored borders to a file."""
    from geo_service.geo.reference import load_geography
    from geo_service.services import synthetic

    geo = load_geography(get_settings().borders_dir)
    synthetic.write(synthetic.incidents(geo, count, seed=seed), str(out))
    typer.echo(f"{count} incidents written to {out}")


def _scenario_table(
    scenario: str, start: datetime | None, end: datetime | None, scale: float, seed: int
) -> Any:
    from geo_service.geo.reference import load_geography
    from geo_service.services import demo
    from geo_service.services.scenarios import load_scenario

    settings = get_settings()
    geo = load_geography(settings.borders_dir)
    first, last = demo.default_period()
    frame = demo.generate(
        geo,
        load_scenario(settings.scenarios_dir, scenario),
        start.date() if start else first,
        (end.date() + timedelta(days=1)) if end else last,
        scale=scale,
        seed=seed,
        now=datetime.now(UTC),
    )
    return geo, frame


FROM = Annotated[datetime | None, typer.Option("--from", help="first day (default: two years ago)")]
TO = Annotated[datetime | None, typer.Option("--to", help="last day (default: today)")]
SCALE = Annotated[float, typer.Option(help="volume factor (1: the scenario's own volumes)")]
SEED = Annotated[int, typer.Option(help="random seed: the same seed, the same incidents")]
SCENARIO = Annotated[str, typer.Option(help="a file of data/scenarios/, without .toml")]


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="file to write (.csv, .geojson, .parquet)")],
    start: FROM = None,
    end: TO = None,
    scale: SCALE = 1.0,
    seed: SEED = 1,
    scenario: SCENARIO = "baseline",
) -> None:
    """Write a scenario's incidents to a file (days in Europe/Sarajevo time)."""
    from geo_service.services import demo

    _, frame = _scenario_table(scenario, start, end, scale, seed)
    demo.write(frame, str(out))
    typer.echo(f"{len(frame)} incidents of {scenario!r} written to {out}")


async def _load(engine: Any, geo: Any, frame: Any) -> int:
    from geo_service.services import bulk_import
    from geo_service.services.readers import Table
    from geo_service.store.visibility import SERVICE

    table = Table.of_points(frame)
    report = await bulk_import.import_table(engine, SERVICE, geo, table)
    return report.created


@demo_app.command("load")
def demo_load(
    start: FROM = None,
    end: TO = None,
    scale: SCALE = 1.0,
    seed: SEED = 1,
    scenario: SCENARIO = "baseline",
) -> None:
    """Load a scenario's incidents into the database, through the import's bulk path."""
    geo, frame = _scenario_table(scenario, start, end, scale, seed)
    created = _run(lambda engine: _load(engine, geo, frame))
    typer.echo(f"{created} incidents of {scenario!r} loaded")


@demo_app.command("ensure")
def demo_ensure(
    scale: SCALE = 1.0,
    seed: SEED = 2026,
    scenario: SCENARIO = "baseline",
) -> None:
    """Load the demo (two years up to today) when the store holds no incidents."""
    from sqlalchemy import func, select

    from geo_service.store.models import incidents

    async def work(engine: Any) -> int:
        async with engine.connect() as conn:
            present = (await conn.execute(select(func.count()).select_from(incidents))).scalar_one()
        if present:
            return 0
        geo, frame = _scenario_table(scenario, None, None, scale, seed)
        return await _load(engine, geo, frame)

    created = _run(work)
    typer.echo(f"demo: {created} incidents loaded" if created else "demo: store already has data")


@demo_app.command("users")
def demo_users() -> None:
    """Make one demo user per agency and role and print their passwords (this once)."""
    from geo_service.services import accounts

    made = _run(accounts.make_demo_users)
    if not made:
        typer.echo("demo users: made before (their passwords were printed then)")
        return
    typer.echo("demo users (shown this once; the service runs with them in demo mode only):")
    for name, (agency, role, password) in made.items():
        typer.echo(f"  {name:<20} {agency:<7} {role:<8} {password}")


@demo_app.command("live")
def demo_live(
    url: Annotated[str, typer.Option(help="the service's address")] = "http://127.0.0.1:8000",
    per_minute: Annotated[float, typer.Option(help="incidents a minute, on average")] = 3.0,
    scenario: SCENARIO = "baseline",
    seed: SEED = 7,
    count: Annotated[int, typer.Option(help="stop after this many (0: never)")] = 0,
    key: Annotated[
        list[str] | None,
        typer.Option(
            help="AGENCY=KEY: an officer's API key to report that agency's incidents with "
            "(repeat per agency); default: new keys of the demo officers, revoked when it ends"
        ),
    ] = None,
    with_parent: Annotated[
        bool, typer.Option(hidden=True, help="end when the process that started it ends")
    ] = False,
) -> None:
    """Keep reporting plausible incidents through the public API, as officers would."""
    from geo_service.services import accounts
    from geo_service.services import demo_live as live

    settings = get_settings()
    keys = dict(item.partition("=")[::2] for item in key or ())
    made = not keys
    if made:  # a missing demo officer is told (`geo-service demo users` makes them)
        keys = _run_or_tell(accounts.demo_officer_keys)
    try:
        sent = asyncio.run(
            live.run(
                url,
                settings,
                scenario,
                keys,
                seed=seed,
                per_minute=per_minute,
                count=count,
                with_parent=with_parent,
            )
        )
    finally:
        if made:  # the keys made for this run end with it

            async def revoke(engine: Any) -> None:
                for made_key in keys.values():
                    await accounts.revoke_key(engine, made_key.split("_")[1])

            _run(revoke)
    typer.echo(f"{sent} incidents reported")


if __name__ == "__main__":
    app()
