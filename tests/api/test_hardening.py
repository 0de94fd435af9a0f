"""HTTP hardening: security headers and a Content-Security-Policy on every kind of response
(inline scripts only by their hash, and only on the pages that carry some), CORS closed
unless configured, request rates bounded per address, per credential and, more tightly, for
login attempts; a 500 says nothing of what went wrong."""

import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy.exc import ProgrammingError

from geo_service.api.app import create_app
from geo_service.api.hardening import CrossOrigin, TokenBuckets, tile_source
from geo_service.services import incidents as incident_service
from tests.api.test_tiles import ZVORNIK_Z9, url
from tests.conftest import ROOT, RequestTransport
from tests.credentials import bearer

GIS = "https://gis.pcc.example"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
DIRECTIVES = [
    "default-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", re.S)


def policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.strip().split(" ", 1)[0]: d.strip() for d in directives}


def assert_hardened(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.url)
    csp = policy(response)
    for directive in DIRECTIVES:
        assert csp[directive.split(" ", 1)[0]].startswith(directive), (directive, csp)
    assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in csp["script-src"]
    assert "x-request-id" in response.headers
    assert "strict-transport-security" not in response.headers  # plain HTTP


def hashes_of_inline_scripts(html: str) -> set[str]:
    return {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in INLINE_SCRIPT.findall(html)
    }


@asynccontextmanager
async def client_at(app, address: str, base: str = "http://testserver"):
    """A client on `app` whose requests come from `address`."""
    transport = RequestTransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url=base) as c:
        yield c


@pytest.fixture(scope="module")
async def hardened(engine, settings) -> AsyncIterator[object]:
    """The service with one origin allowed for CORS and small limits that do not refill
    during a test (each test asks from an address of its own)."""
    configured = settings.model_copy(
        update={
            "cors_origins": [GIS],
            "rate_per_address_per_s": 0.001,
            "rate_per_address_burst": 6,
            "rate_per_credential_per_s": 0.001,
            "rate_per_credential_burst": 3,
            "login_attempts_per_minute": 0.06,
            "login_attempts_burst": 2,
        }
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/layers",  # JSON
        "/api/v1/incidents?limit=1",  # GeoJSON
        url("incidents", ZVORNIK_Z9),  # a vector tile
        "/",
        "/wall",
        "/login",
        "/static/app.js",
        "/docs",
        "/openapi.json",
        "/api/v1/incidents/987654321",  # 404
        "/api/v1/incidents?limit=x",  # 400
        "/healthz",
    ],
)
async def test_every_kind_of_response_carries_the_security_headers(client, path):
    response = await client.get(path)
    assert response.status_code < 500
    assert_hardened(response)


async def test_hsts_only_over_https(app, db):
    async with client_at(app, "127.0.0.9", base="https://testserver") as secure:
        response = await secure.get("/api/v1/layers")
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    # A client's own X-Forwarded-Proto is not believed (uvicorn applies a trusted proxy's).
    async with client_at(app, "127.0.0.9") as plain:
        spoofed = await plain.get("/api/v1/layers", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in spoofed.headers


@pytest.mark.parametrize("path", ["/", "/wall", "/login"])
async def test_the_map_pages_run_no_inline_script(client, path):
    response = await client.get(path)
    assert policy(response)["script-src"] == "script-src 'self'"
    assert not INLINE_SCRIPT.search(response.text)
    for page in (ROOT / "web" / "src").glob("*.html"):
        html = page.read_text()
        assert not INLINE_SCRIPT.search(html), page
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", html, re.I), page  # no onclick=…
        assert "javascript:" not in html, page


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_the_api_docs_allow_exactly_their_own_inline_scripts(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    sources = policy(response)["script-src"].split()[1:]
    assert sources[0] == "'self'"
    assert set(sources[1:]) == hashes_of_inline_scripts(response.text)
    if path != "/redoc":  # ReDoc's page has no inline script at all
        assert len(sources) > 1


async def test_the_situation_report_allows_exactly_its_own_inline_scripts(client):
    response = await client.get("/api/v1/reports/situation?period=day")
    assert response.status_code == 200
    assert_hardened(response)
    sources = policy(response)["script-src"].split()[1:]
    hashes = hashes_of_inline_scripts(response.text)
    assert len(hashes) >= 2 and sources[0] == "'self'"
    assert set(sources[1:]) == hashes and len(sources) == len(hashes) + 1
    assert int(response.headers["content-length"]) == len(response.content)


def test_the_basemap_origin_is_allowed_for_images_only():
    assert tile_source(None) is None
    assert (
        tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    )
    assert (
        tile_source("https://tiles.example:8443/a/{z}/{x}/{y}.png") == "https://tiles.example:8443"
    )
    assert tile_source("https://x.example; script-src * /{z}/{x}/{y}.png") is None
    assert tile_source("javascript:alert(1)") is None


async def test_the_basemap_origin_is_in_img_src(engine, settings):
    configured = settings.model_copy(
        update={"basemap_url": "https://{s}.tiles.example/{z}/{x}/{y}.png"}
    )
    application = create_app(configured)
    async with (
        application.router.lifespan_context(application),
        client_at(application, "127.0.0.8") as c,
    ):
        csp = policy(await c.get("/"))
    assert csp["img-src"] == "img-src 'self' data: blob: https://*.tiles.example"
    assert csp["script-src"] == "script-src 'self'" and csp["connect-src"] == "connect-src 'self'"


async def test_cors_is_closed_unless_configured(client):
    preflight = await client.options(
        "/api/v1/incidents",
        headers={"Origin": GIS, "Access-Control-Request-Method": "POST"},
    )
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    simple = await client.get("/api/v1/layers", headers={"Origin": GIS})
    assert simple.status_code == 200
    assert not any(h.startswith("access-control-") for h in simple.headers)


async def test_cors_answers_the_configured_origins_only(hardened):
    async with client_at(hardened, "10.1.0.1") as c:
        preflight = await c.options(
            "/api/v1/incidents/1",
            headers={
                "Origin": GIS,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, if-match, content-type",
            },
        )
        simple = await c.get("/api/v1/layers", headers={"Origin": GIS})
        other = await c.options(
            "/api/v1/incidents",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        unasked = await c.get("/api/v1/layers", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == GIS
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) >= {
        "GET", "POST", "PATCH", "DELETE",
    }  # fmt: skip
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "if-match", "x-csrf-token", "x-request-id"} <= set(allowed.split(", "))
    assert_hardened(preflight)
    assert simple.headers["access-control-allow-origin"] == GIS
    exposed = set(simple.headers["access-control-expose-headers"].lower().split(", "))
    assert exposed == {"etag", "location", "x-request-id", "x-matched"}
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in unasked.headers


def test_cors_for_any_origin_is_refused(settings):
    async def nothing(scope, receive, send) -> None:
        pass

    with pytest.raises(ValueError, match="cors_origins"):
        CrossOrigin(nothing, settings.model_copy(update={"cors_origins": ["*"]}))


def assert_too_many(response: httpx.Response, about: str) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == 429 and about in body["detail"]
    assert_hardened(response)


async def test_requests_past_the_burst_from_one_address_are_refused(hardened):
    async with client_at(hardened, "10.2.0.1") as c:
        answers = [(await c.get("/api/v1/layers")).status_code for _ in range(6)]
        refused = await c.get("/api/v1/layers")
        health = [(await c.get(p)).status_code for p in ("/healthz", "/metrics")]
    assert answers == [200] * 6
    assert_too_many(refused, "from this address")
    assert health == [200, 200]  # probes and metrics are never limited
    async with client_at(hardened, "10.2.0.2") as neighbour:
        assert (await neighbour.get("/api/v1/layers")).status_code == 200


async def test_one_credential_is_limited_from_whatever_address(hardened):
    key = {"X-API-Key": "k-" + "7" * 40}
    statuses = []
    for i in range(4):
        async with client_at(hardened, f"10.3.0.{i}") as c:
            statuses.append(await c.get("/api/v1/layers", headers=key))
    assert [r.status_code for r in statuses[:3]] == [200] * 3
    assert_too_many(statuses[3], "with this credential")
    async with client_at(hardened, "10.3.0.9") as c:
        cookie = {"Cookie": "geo_service_session=s-" + "5" * 40}
        answers = [(await c.get("/api/v1/layers", headers=cookie)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


async def test_login_attempts_are_limited_more_tightly(hardened):
    async with client_at(hardened, "10.4.0.1") as c:
        attempts = [
            await c.post("/api/v1/session", json={"username": "nobody", "password": "wrong"})
            for _ in range(3)
        ]
        other = await c.get("/api/v1/layers")
    assert all(a.status_code not in (429, 500) for a in attempts[:2])
    assert_too_many(attempts[2], "login attempts")
    assert other.status_code == 200  # the address may still do everything else


def test_token_buckets_refill_and_stay_bounded():
    buckets = TokenBuckets(rate=1.0, burst=2, max_keys=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert buckets.take("a", 1.0) == 0.0  # refilled at one a second
    for i, key in enumerate("bcde"):
        buckets.take(key, 1.0 + i / 10)
    assert len(buckets.buckets) == 3 and "a" not in buckets.buckets  # least recent first
    buckets.take("f", 10.0)
    assert list(buckets.buckets) == ["f"]  # buckets that refilled meanwhile are dropped


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("SELECT narrative FROM incidents WHERE id = 42: boom"),
        ProgrammingError("SELECT narrative FROM incidents", {}, Exception('relation "x"')),
    ],
)
async def test_an_unexpected_error_is_a_bare_500_with_every_header(
    app, db, monkeypatch, caplog, error
):
    async def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(incident_service, "get_feature", failing)
    with caplog.at_level(logging.ERROR, logger="geo_service.api.problems"):
        async with client_at(app, "127.0.0.7") as c:
            response = await c.get(
                "/api/v1/incidents/1", headers={"X-Request-ID": "fail-1", **bearer()}
            )
    logged = [r for r in caplog.records if r.name == "geo_service.api.problems"]
    assert len(logged) == 1 and logged[0].exc_info  # once, with the trace, in the log only
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error; it has been logged",
        "instance": "/api/v1/incidents/1",
    }
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "fail-1"
    assert_hardened(response)
