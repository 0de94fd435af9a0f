"""A situation report opened from disk in a real Chromium: its map draws (borders, sections,
hexagons, crossing points, layer control) and nothing is asked of any address outside the
file — no CDN, no tiles."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from geo_service.services import bulk_import, reports, synthetic
from geo_service.services.readers import Table
from geo_service.store.db import create_engine
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import SERVICE
from tests.browser import screenshot
from tests.conftest import truncate


@pytest.fixture(scope="module")
def report_file(settings, geography, migrated, tmp_path_factory) -> Path:
    """A weekly report of a week of incidents, made before the browser starts (Playwright's
    synchronous API holds the thread's event loop while it runs)."""

    async def make() -> str:
        engine = create_engine(settings)
        try:
            await truncate(engine)
            end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
            frame = synthetic.incidents(
                geography, 1500, seed=9, start=end - timedelta(days=6), end=end
            )
            await bulk_import.import_table(engine, SERVICE, geography, Table.of_points(frame))
            return await reports.situation_report(
                engine, SERVICE, geography, settings, IncidentFilter(),
                kind="week", day=(end - timedelta(days=1)).date(), lang="bs",
            )  # fmt: skip
        finally:
            await engine.dispose()

    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(asyncio.run(make()), encoding="utf-8")
    return path


def test_the_report_draws_offline_from_the_file_alone(report_file, browser):
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(report_file.as_uri())
    page.wait_for_selector(".leaflet-container .leaflet-overlay-pane path")
    assert errors == []
    assert requests == [report_file.as_uri()]  # the file itself, nothing else
    layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [x.strip() for x in layers] == [
        "Države", "Dionice granice po nivou uticaja", "Granice", "Incidenti po heksagonu",
        "Žarišta i hladne tačke", "Granični prelazi",
    ]  # fmt: skip
    drawn = page.locator(".leaflet-overlay-pane path").count()
    assert drawn > 139 + 6  # every section and country, and hexagons besides
    assert page.locator(".leaflet-marker-pane *, .leaflet-overlay-pane path").count() > drawn - 1
    assert int(page.locator("#headline tr[data-key=incidents] td[data-col=now]").inner_text()) > 0
    screenshot(page, "situation-report")
    page.close()
