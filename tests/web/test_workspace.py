"""The analysts' workspace in a real Chromium: a filter change redraws the hexagons and lands
in the URL; a click on a hexagon opens its counts, the same as the API's; the language switch
changes every label and is remembered. Nothing is asked outside the service's origin."""

import math
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import h3
import httpx
import pytest

from tests.browser import load_recent, screenshot, signed_in_page
from tests.credentials import bearer


@pytest.fixture(scope="module")
def server(engine, live_server: str, geography, tmp_path_factory) -> str:
    load_recent(live_server, geography, tmp_path_factory.mktemp("workspace"), seed=32)
    return live_server


# The workspace's user: an analyst of the PCC (every partner's shared incidents).
ANALYST = ("PCC", "analyst")


def api(url: str) -> httpx.Response:
    """What the API answers the workspace's user."""
    return httpx.get(url, headers=bearer(*ANALYST), timeout=30)


def open_page(browser, base: str, query: str):
    page = signed_in_page(browser, base, *ANALYST, viewport={"width": 1600, "height": 1000})
    outside: list[str] = []
    page.on("request", lambda r: r.url.startswith(base) or outside.append(r.url))
    page.goto(f"{base}/?{query}")
    page.wait_for_selector("body[data-layers=ready]")
    return page, outside


def page_window(page) -> str:
    """The time window the page's selection stands for (its export link carries it)."""
    href = page.locator("#export-csv").get_attribute("href")
    return parse_qs(urlparse(href).query)["datetime"][0]


def tile_of(lng: float, lat: float, z: int) -> tuple[int, int]:
    """The WebMercatorQuad tile holding a point."""
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lng + 180) / 360 * n), int(y)


def busiest_cell(base: str, window: str) -> dict:
    body = api(
        f"{base}/ogc/collections/incident-hexes/items?resolution=7&limit=10000&datetime={window}"
    ).json()
    return max(body["features"], key=lambda f: f["properties"]["incidents"])["properties"]


def test_a_filter_change_redraws_the_hexagons_and_lands_in_the_url(server, browser):
    page, outside = open_page(browser, server, "lang=en&period=7d&resolution=7")
    cell = busiest_cell(server, page_window(page))
    lat, lng = h3.cell_to_latlng(cell["h3"])
    page.evaluate(f"map.setView([{lat}, {lng}], 10) && null")
    page.wait_for_load_state("networkidle")
    x, y = tile_of(lng, lat, 10)
    path = f"/incident-hexes/tiles/WebMercatorQuad/10/{x}/{y}?"
    with page.expect_response(
        lambda r: path in r.url and "category=drug_smuggling" in r.url
    ) as filtered:
        page.locator("input[name=category][value=drug_smuggling]").check()
    assert filtered.value.status == 200
    assert "category=drug_smuggling" in page.url and "at=" in page.url
    drawn = parse_qs(urlparse(filtered.value.url).query)
    assert drawn["category"] == ["drug_smuggling"] and drawn["resolution"] == ["7"]
    # The same tile without the filter holds more: the hexagons shown changed.
    tile = filtered.value.url.split("?")[0]
    everything = api(f"{tile}?resolution=7&datetime={drawn['datetime'][0]}")
    assert len(everything.content) > len(filtered.value.body())
    screenshot(page, "workspace-filtered")
    assert outside == []
    page.close()


def test_a_hexagon_click_opens_its_counts(server, browser):
    page, outside = open_page(browser, server, "lang=en&period=7d&resolution=7")
    window = page_window(page)
    cell = busiest_cell(server, window)
    lat, lng = h3.cell_to_latlng(cell["h3"])
    x, y = tile_of(lng, lat, 11)
    with page.expect_response(
        lambda r: f"/incident-hexes/tiles/WebMercatorQuad/11/{x}/{y}?" in r.url
    ):
        page.evaluate(f"map.setView([{lat}, {lng}], 11) && null")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # drawn on the canvas after it arrives
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f"#details[data-place='{cell['h3']}']")
    total = int(page.locator("#details-total").inner_text().replace(",", ""))
    assert total == cell["incidents"]
    by_category = {
        row.get_attribute("data-key"): int(row.locator("td.figure").inner_text().replace(",", ""))
        for row in page.locator("#details-categories tr").all()
    }
    assert by_category == {k: v for k, v in cell["by_category"].items() if v}
    listed = page.locator("#details-incidents li").count()
    assert listed == min(total, 20)
    screenshot(page, "workspace-details")
    assert outside == []
    page.close()


def test_the_language_switch_changes_the_labels_and_is_remembered(server, browser):
    page = signed_in_page(browser, server, *ANALYST)
    context = page.context
    page.goto(f"{server}/?lang=en")
    page.wait_for_selector("body[data-layers=ready]")
    assert page.locator("#filters h3").first.inner_text() == "Time"
    with page.expect_navigation():
        page.locator("#lang").select_option("sr-Cyrl")
    page.wait_for_selector("body[data-layers=ready]")
    assert page.evaluate("document.documentElement.lang") == "sr-Cyrl"
    assert page.locator("#filters h3").first.inner_text() == "Вријеме"
    assert "Незаконит прелазак границе" in page.locator("#filters").inner_text()
    page.goto(f"{server}/")  # no language asked: the one chosen before
    page.wait_for_selector("body[data-layers=ready]")
    assert page.evaluate("document.documentElement.lang") == "sr-Cyrl"
    assert "Извоз" in page.locator(".selection-panel").inner_text()
    screenshot(page, "workspace-sr-Cyrl")
    context.close()


def test_the_time_slider_plays_the_period_step_by_step(server, browser):
    page, outside = open_page(browser, server, "lang=en&period=7d&resolution=7")
    assert page.locator("#step-label").inner_text() == "whole period"
    page.wait_for_load_state("networkidle")
    asked: list[str] = []
    page.on("request", lambda r: "/incident-hexes/tiles/" in r.url and asked.append(r.url))
    page.locator("#play").click()
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('step') === '1'", timeout=5000
    )
    page.locator("#play").click()  # pause
    windows = {parse_qs(urlparse(u).query)["datetime"][0] for u in asked}
    days = {
        (datetime.fromisoformat(b) - datetime.fromisoformat(a)).days
        for a, b in (w.split("/") for w in windows)
    }
    assert days == {1} and len(windows) == 2  # the first two days, one after the other
    assert page.locator("#step-label").inner_text() != "whole period"
    assert outside == []
    page.close()


def test_a_section_click_opens_its_counts_and_legends_follow_the_layers(server, browser):
    page, outside = open_page(
        browser, server, "lang=en&period=7d&layers=hotspots,emerging-hotspots"
    )
    legends = page.locator(".legend").inner_text()
    assert "Incidents per hexagon" in legends and "Hot and cold spots (Gi*)" in legends
    assert "Emerging hot spots" in legends
    window = page_window(page)
    busiest = api(f"{server}/api/v1/trends?by=section&datetime={window}").json()["series"]
    section = max((s for s in busiest if s["key"] != "-"), key=lambda s: s["total"]["incidents"])
    page.wait_for_function("() => made['border-sections'].getLayers().length >= 139")
    page.evaluate(
        "id => { made['border-sections'].eachLayer(l => { if (l.feature.properties.id === id)"
        " l.fire('click', { latlng: map.getCenter() }, true); }); }",
        section["key"],
    )
    page.wait_for_selector(f"#details[data-place='{section['key']}']")
    total = int(page.locator("#details-total").inner_text().replace(",", ""))
    assert total == section["total"]["incidents"]
    screenshot(page, "workspace-section")
    assert outside == []
    page.close()
