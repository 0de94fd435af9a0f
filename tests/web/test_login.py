"""Logging in from the browser: the login page takes a password, sets the session cookie and
returns to the page that sent the user; a page whose session has ended goes to the login
page; a wrong password is told, in the page's language; `next` leads only within the site."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

PASSWORD = "a long enough password"
CLI = str(Path(sys.executable).parent / "geo-service")


@pytest.fixture(scope="module")
def wall_user(settings, live_server) -> str:
    """A viewer of the PCC: a wall display's user (made by the CLI, as an operator would)."""
    name = "login-test-viewer"
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    made = subprocess.run(
        [CLI, "users", "add", name, "--agency", "PCC", "--role", "viewer", "--password", PASSWORD],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0 or "is taken" in made.stderr, made.stderr
    return name


def test_logging_in_returns_to_the_page_that_asked(browser, live_server, wall_user):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/login?next=%2Fwall%3Flang%3Den&lang=bs")
    page.wait_for_selector("body[data-login=ready]")
    assert page.locator("button[type=submit]").inner_text() == "Prijavi se"
    page.fill("input[name=username]", wall_user)
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    page.wait_for_selector("#refused:not([hidden])")
    assert "Pogrešno" in page.inner_text("#refused")

    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/wall?lang=en")
    page.wait_for_selector("body[data-wall=ready]")
    cookie = next(c for c in context.cookies() if c["name"] == "geo_service_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    who = httpx.get(f"{live_server}/api/v1/session", cookies={cookie["name"]: cookie["value"]})
    assert who.json()["username"] == wall_user and who.json()["role"] == "viewer"
    context.close()


@pytest.mark.parametrize("session", [None, "ended"])
def test_a_page_without_a_session_goes_to_the_login_page(browser, live_server, session):
    context = browser.new_context()
    host = live_server.split("//")[1].split(":")[0]
    if session is not None:
        context.add_cookies(
            [{"name": "geo_service_session", "value": session, "domain": host, "path": "/"}]
        )
    page = context.new_page()
    page.goto(f"{live_server}/wall?lang=en")
    page.wait_for_url(f"{live_server}/login?next=%2Fwall%3Flang%3Den")
    page.wait_for_selector("body[data-login=ready]")
    context.close()


def test_next_leads_only_within_the_site(browser, live_server, wall_user):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/login?next=//elsewhere.example/")
    page.wait_for_selector("body[data-login=ready]")
    page.fill("input[name=username]", wall_user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    context.close()
