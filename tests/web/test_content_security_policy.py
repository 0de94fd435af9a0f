"""Every page in a real Chromium under the service's Content-Security-Policy: the map pages,
the API docs and the situation report draw, and the browser refuses nothing; a script put
into a page afterwards is refused (the policy is in force)."""

import pytest

from tests.browser import load_recent, signed_in_page

PAGES = [
    ("/?lang=en", "body[data-layers=ready]"),
    ("/wall?lang=en", "body[data-wall=ready]"),
    ("/login?lang=sr-Cyrl", "body[data-login=ready]"),
    ("/docs", ".swagger-ui .opblock"),
    ("/redoc", "h1:has-text('Border situation service')"),
    ("/api/v1/reports/situation?period=week", ".leaflet-container .leaflet-overlay-pane path"),
]


@pytest.fixture(scope="module")
def server(engine, live_server: str, geography, tmp_path_factory) -> str:
    load_recent(live_server, geography, tmp_path_factory.mktemp("csp"), seed=33)
    return live_server


def open_watched(browser, base: str, path: str, ready: str):
    """The page at `path` once `ready` shows (logged in as an analyst), and what the browser
    refused on it."""
    page = signed_in_page(browser, base, "PCC", "analyst", viewport={"width": 1600, "height": 1000})
    refused: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    page.on("pageerror", lambda e: refused.append(str(e)))
    page.goto(f"{base}{path}")
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    return page, refused


@pytest.mark.parametrize(("path", "ready"), PAGES)
def test_the_page_draws_and_nothing_is_refused(server, browser, path, ready):
    page, refused = open_watched(browser, server, path, ready)
    # ReDoc's sidebar shows its maker's logo from their CDN: kept out, as it should be.
    logo = "Loading the image 'https://cdn.redoc.ly/"
    assert [r for r in refused if not (path == "/redoc" and r.startswith(logo))] == []
    page.close()


def test_a_script_put_into_a_page_is_refused(server, browser):
    page, refused = open_watched(browser, server, "/?lang=en", PAGES[0][1])
    page.evaluate(
        """() => {
        const script = document.createElement('script');
        script.textContent = 'window.injected = 1';
        document.body.append(script);
        document.body.insertAdjacentHTML('beforeend', '<img src="x" onerror="window.injected = 2">');
        }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.injected") is None
    assert len(refused) >= 2 and all("Content Security Policy" in r for r in refused)
    page.close()
