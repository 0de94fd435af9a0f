"""The browser of the browser tests (Debian's Chromium driven by Playwright), and data they
load through the running service."""

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from geo_service.services import synthetic
from tests.credentials import bearer, log_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def screenshot(page, name: str) -> None:
    """Keep what the page looked like, under test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def chromium() -> str:
    path = os.environ.get("GEO_SERVICE_CHROMIUM") or shutil.which("chromium")
    assert path, "no Chromium: `./dev test` installs Debian's chromium package"
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in_page(browser: Browser, base: str, agency: str, role: str, **options: Any) -> Page:
    """A new page, in a context of its own logged in as the tests' user of `agency` and
    `role`; `options` are the context's (viewport and the like)."""
    page = browser.new_context(**options).new_page()
    log_in(page, base, agency, role)
    return page


def load_recent(base: str, geography, tmp: Path, seed: int = 31) -> None:
    """A week of incidents up to now, through the service's import: each agency's own, by an
    officer of that agency."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    frame = synthetic.incidents(geography, 600, seed=seed, start=end - timedelta(days=6), end=end)
    for agency, own in frame.groupby("agency"):
        path = tmp / f"recent-{agency}.geojson"
        synthetic.write(own, str(path))
        response = httpx.post(
            f"{base}/api/v1/imports",
            content=path.read_bytes(),
            headers={"Content-Type": "application/geo+json", **bearer(str(agency))},
            timeout=60,
        )
        assert response.status_code == 201, response.text
