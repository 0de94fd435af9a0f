"""The browser of the browser tests: Debian's Chromium driven by Playwright."""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright


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
