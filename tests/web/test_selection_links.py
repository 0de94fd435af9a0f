"""The map page's selection (the filters in its URL) goes with its report links and exports:
the CSV downloaded from the page holds exactly the incidents the API selects with the same
filters, and the report linked is the one for those filters."""

import csv
import io
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.browser import load_recent, screenshot, signed_in_page
from tests.credentials import bearer


@pytest.fixture(scope="module")
def server(engine, live_server: str, geography, tmp_path_factory) -> str:
    load_recent(live_server, geography, tmp_path_factory.mktemp("selection"), seed=21)
    return live_server


FILTERS = "category=unauthorised_crossing,migrant_smuggling&agency=BIH_BP"


def test_exports_and_reports_follow_the_page_filters(server, browser, tmp_path):
    page = signed_in_page(browser, server, "BIH_BP", "analyst")
    page.goto(f"{server}/?lang=bs&{FILTERS}")
    page.wait_for_selector("body[data-selection=ready]")
    report = page.locator("#report-week").get_attribute("href")
    assert report.startswith("/api/v1/reports/situation?period=week&lang=bs")
    assert "agency=BIH_BP" in report and "category=unauthorised_crossing" in report
    csv_href = page.locator("#export-csv").get_attribute("href")
    assert csv_href.startswith("/api/v1/exports?format=csv") and "agency=BIH_BP" in csv_href
    assert "Izvoz" in page.locator(".selection-panel").inner_text()
    assert "period=30d" in page.url and "agency=BIH_BP" in page.url

    with page.expect_download() as download:
        page.locator("#export-csv").click()
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    window = parse_qs(urlparse(csv_href).query)["datetime"][0]  # the page's period
    expected = httpx.get(
        f"{server}/ogc/collections/incidents/items?limit=10000&{FILTERS}&datetime={window}",
        headers=bearer("BIH_BP", "analyst"),
        timeout=30,
    ).json()
    assert sorted(int(r["id"]) for r in rows) == sorted(f["id"] for f in expected["features"])
    assert rows and {r["agency"] for r in rows} == {"BIH_BP"}
    assert {r["category"] for r in rows} <= {"unauthorised_crossing", "migrant_smuggling"}

    brief = page.request.get(f"{server}{report}")
    assert brief.status == 200 and "Granična policija Bosne i Hercegovine" in brief.text()
    assert "Agencija: BIH_BP" in brief.text()
    screenshot(page, "map-page-selection")
    page.close()
