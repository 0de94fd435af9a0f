"""The map page in a real Chromium: its layer control is the layer catalog, in the page's
language; incident layers come as vector tiles; nothing is fetched from outside."""

import pytest
from playwright.sync_api import expect

from geo_service.services.layer_catalog import load_catalog
from tests.browser import screenshot, signed_in_page


@pytest.fixture(scope="module")
def server(live_server: str) -> str:
    return live_server


@pytest.mark.parametrize("lang", ["en", "bs", "sr-Cyrl"])
def test_the_layer_control_is_the_layer_catalog(server, browser, settings, lang):
    page = signed_in_page(browser, server, "PCC", "analyst")
    outside: list[str] = []
    page.on("request", lambda r: r.url.startswith(server) or outside.append(r.url))
    page.goto(f"{server}/?lang={lang}")
    page.wait_for_selector("body[data-layers=ready]")
    labels = page.locator(".leaflet-control-layers-overlays label span > span").all_inner_texts()
    catalog = load_catalog(settings.layers_dir).values()
    assert [label.strip() for label in labels] == [layer.titles[lang] for layer in catalog]
    assert page.evaluate("document.documentElement.lang") == lang
    assert outside == []
    screenshot(page, f"map-page-{lang}")
    page.close()


def test_incident_layers_are_drawn_from_vector_tiles(server, browser, settings):
    page = signed_in_page(browser, server, "PCC", "analyst")
    page.goto(f"{server}/?lang=en")
    page.wait_for_selector("body[data-layers=ready]")
    page.evaluate("map.setView([44.40, 19.10], 10) && null")  # not the map, serialised
    # The layer control enables the incidents only within their zoom range: once there.
    page.wait_for_function("() => map.getZoom() === 10")  # a function: no eval under the CSP
    page.wait_for_load_state("networkidle")
    title = load_catalog(settings.layers_dir)["incidents"].titles["en"]
    box = page.get_by_label(title, exact=True)
    expect(box).to_be_enabled()
    with page.expect_response(lambda r: "/ogc/collections/incidents/tiles/" in r.url) as tile:
        box.check()
    response = tile.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    screenshot(page, "map-page-incident-tiles")
    page.close()
