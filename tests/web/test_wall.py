"""The wall map in a real Chromium at 1080p: it draws hexagons, sections and crossing points
and the panel's figures are the API's; text is readable from afar; an incident POSTed while
it is open pulses on it within 2 s; when the service goes away it says since when its data
are, and it comes back by itself. Nothing is asked outside the service's origin."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.browser import load_recent, screenshot, signed_in_page
from tests.conftest import free_port, start_server
from tests.credentials import bearer
from tests.factories import feature


@pytest.fixture(scope="module")
def server(engine, live_server: str, geography, tmp_path_factory) -> str:
    """The live service with the reference geography (the engine loads it) and a week."""
    load_recent(live_server, geography, tmp_path_factory.mktemp("wall"))
    return live_server


def open_wall(browser, base: str, query: str = "lang=en"):
    """The wall, as the operations room's display: logged in as a viewer of the PCC."""
    page = signed_in_page(browser, base, "PCC", "viewer", viewport={"width": 1920, "height": 1080})
    outside: list[str] = []
    page.on("request", lambda r: r.url.startswith(base) or outside.append(r.url))
    page.goto(f"{base}/wall?{query}")
    page.wait_for_selector("body[data-wall=ready]")
    page.wait_for_selector("body[data-connection=live]")
    return page, outside


def test_the_wall_map_draws_the_situation(server, browser):
    page, outside = open_wall(browser, server)
    assert page.locator("path.wall-hex").count() > 10
    assert page.locator("path.wall-section").count() >= 139
    assert page.locator("path.wall-crossing").count() == 16
    assert page.locator("path.wall-recent").count() > 0

    start = page.evaluate("Date.now()")
    since = datetime.fromtimestamp(start / 1000 - 7 * 86_400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    week = httpx.get(
        f"{server}/api/v1/trends?datetime={since}/..", headers=bearer("PCC", "viewer"), timeout=30
    ).json()
    shown = int(page.locator("#count-7d").inner_text().replace(",", ""))
    assert shown == week["series"][0]["total"]["incidents"]
    assert page.locator("#categories-7d li").count() == 5

    sizes = page.evaluate(
        "[...document.querySelectorAll('#panel li, #panel h2, #panel span, #clock')]"
        ".map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 24
    clock = page.locator("#clock").inner_text()
    sarajevo = datetime.now(UTC) + timedelta(hours=1)  # CET; the test date is in winter
    assert clock[:2] == sarajevo.strftime("%H") or clock[:5] >= sarajevo.strftime("%H:%M")
    screenshot(page, "wall")
    assert outside == []
    page.close()


def test_a_new_incident_pulses_on_the_open_wall_within_two_seconds(server, browser):
    page, outside = open_wall(browser, server, "lang=sr-Cyrl")
    now = datetime.now(UTC).replace(microsecond=0)
    body = feature(f"WALL-{time.time_ns()}", occurred_at=now.isoformat())
    posted = httpx.post(f"{server}/api/v1/incidents", json=body, headers=bearer(), timeout=10)
    assert posted.status_code == 201, posted.text
    returned = time.monotonic()
    incident = posted.json()["id"]
    page.wait_for_selector(f".pulse[data-incident-id='{incident}']", timeout=2000)
    assert time.monotonic() - returned < 2.0
    screenshot(page, "wall-new-incident")
    assert outside == []
    page.close()


def test_a_lost_connection_is_shown_and_healed(server, browser, migrated):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(migrated, port)
    try:
        page, _ = open_wall(browser, base, "lang=bs")
        process.kill()  # gone at once, as a crash or a cut cable would take it
        process.wait(20)
        page.wait_for_selector("#offline:not([hidden])", timeout=10_000)
        banner = page.locator("#offline").inner_text()
        assert banner.startswith("Veza prekinuta — podaci od ")
        assert page.evaluate("document.body.dataset.connection") == "lost"
        screenshot(page, "wall-offline")

        process = start_server(migrated, port)  # the same address again
        page.wait_for_selector("#offline[hidden]", state="attached", timeout=15_000)
        assert page.evaluate("document.body.dataset.connection") == "live"
        page.close()
    finally:
        process.kill()
        process.wait(20)


def test_the_wall_cycles_through_its_views_on_a_timer(server, browser):
    page, outside = open_wall(browser, server, "lang=en&cycle=4&views=drina,trebinje")
    centre = "(() => { const c = map.getCenter(); return [c.lat, c.lng]; })()"
    page.wait_for_selector("body[data-view=trebinje]", timeout=8000)
    page.wait_for_timeout(2600)  # the two-second flight there
    lat, lng = page.evaluate(centre)
    assert 42.45 < lat < 43.05 and 18.15 < lng < 18.95  # around Trebinje
    page.wait_for_selector("body[data-view=drina]", timeout=8000)
    page.wait_for_timeout(2600)
    lat, lng = page.evaluate(centre)
    assert 43.7 < lat < 44.5 and 18.9 < lng < 19.5  # the Drina, Zvornik to Višegrad
    assert outside == []
    page.close()
