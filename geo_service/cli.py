"""The `geo-service` command: database, serving, imports, reference and demo data."""

import asyncio
import sys
from collections.abc import Awaitable, Callable
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

T = TypeVar("T")


def _run(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(engine)` on a fresh engine, disposed afterwards."""
    from geo_service.store.db import create_engine

    async def main() -> T:
        engine = create_engine(get_settings())
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database up to `revision` (the newest by default)."""
    from geo_service.store import migrate

    migrate.upgrade(get_settings().database_url, revision)


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
) -> None:
    """Serve the HTTP API."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "geo_service.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
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


@demo_app.command("ensure")
def demo_ensure(
    count: Annotated[int, typer.Option(help="incidents to load when the store is empty")] = 20_000,
) -> None:
    """Load synthetic demo incidents (two years up to now) when the store holds none."""
    from sqlalchemy import func, select

    from geo_service.geo.reference import load_geography
    from geo_service.services import bulk_import, synthetic
    from geo_service.services.readers import Table
    from geo_service.store.models import incidents
    from geo_service.store.visibility import SERVICE

    geo = load_geography(get_settings().borders_dir)

    async def work(engine: Any) -> int:
        async with engine.connect() as conn:
            present = (await conn.execute(select(func.count()).select_from(incidents))).scalar_one()
        if present:
            return 0
        frame = synthetic.incidents(geo, count, seed=2026)
        table = Table(
            frame.drop(columns="geometry"),
            frame.geometry.x.to_numpy(),
            frame.geometry.y.to_numpy(),
            [],
        )
        report = await bulk_import.import_table(engine, SERVICE, geo, table)
        return report.created

    created = _run(work)
    typer.echo(f"demo: {created} incidents loaded" if created else "demo: store already has data")
