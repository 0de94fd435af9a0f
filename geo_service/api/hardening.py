"""HTTP hardening, pure ASGI: security headers and a Content-Security-Policy on every response
(errors included), CORS for the configured origins only, and request rates bounded per client
address and per credential, login attempts more tightly."""

import base64
import hashlib
import math
import re
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo_service.api.deps import SESSION_COOKIE
from geo_service.api.problems import problem, unexpected
from geo_service.settings import Settings

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Sent only on requests that came over HTTPS: the scheme uvicorn puts in the scope, which is
# X-Forwarded-Proto only when a proxy it trusts (--forwarded-allow-ips) sent it. Subdomains
# are left out: they may be other services, not all of them on HTTPS.
HSTS = (b"strict-transport-security", b"max-age=31536000")
# Pages that carry inline scripts of their own making (the API docs, the situation report):
# each response allows exactly the scripts it holds, by their SHA-256; and what more a page
# needs (ReDoc runs its search in a worker it makes from a blob).
SCRIPTS_BY_HASH = {
    "/docs": b"",
    "/docs/oauth2-redirect": b"",
    "/redoc": b"; worker-src 'self' blob:",
    "/api/v1/reports/situation": b"",
}
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\ssrc\s*=)[^>]*>(.*?)</script\s*>", re.I | re.S)
CSP_SOURCE = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d+)?$")

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
LOGIN = ("POST", "/api/v1/session")
CORS_HEADERS = [
    "Authorization", "Content-Type", "If-Match", "If-None-Match", "X-CSRF-Token", "X-Request-ID",
]  # fmt: skip


def tile_source(url_template: str | None) -> str | None:
    """The CSP source of an XYZ tile URL template: its scheme, host and port, a `{s}`-style
    first label as a wildcard (https://{s}.tile.example/{z}/{x}/{y}.png gives
    https://*.tile.example); None when there is none or it is not one a policy can hold."""
    if not url_template:
        return None
    parts = urlsplit(url_template)
    host = re.sub(r"^[^.]*\{[^}]*\}[^.]*\.", "*.", parts.netloc)
    source = f"{parts.scheme}://{host}"
    return source if CSP_SOURCE.match(source) else None


def content_security_policy(image_source: str | None, script_hashes: list[str]) -> bytes:
    images = " ".join(["'self' data: blob:", *([image_source] if image_source else [])])
    scripts = " ".join(["'self'", *(f"'sha256-{digest}'" for digest in script_hashes)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ).encode()


def inline_script_hashes(html: bytes) -> list[str]:
    """The base64 SHA-256 of each inline script's text, as a policy names it."""
    digests = (hashlib.sha256(text).digest() for text in INLINE_SCRIPT.findall(html))
    return list(dict.fromkeys(base64.b64encode(d).decode() for d in digests))


def _header(message: Message, name: bytes) -> bytes:
    return dict(message.get("headers", [])).get(name, b"")


class SecurityHeaders:
    """Security headers and the Content-Security-Policy on every response. An error nothing
    else handled would be answered by Starlette's outermost middleware, outside this one and
    the request id's: it is answered and logged here instead (the same generic 500), unless
    the response had begun."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.image_source = tile_source(settings.basemap_url)
        self.policy = content_security_policy(self.image_source, [])

    def _with_headers(self, scope: Scope, message: Message, policy: bytes) -> Message:
        headers = [*message.get("headers", []), *SECURITY_HEADERS]
        headers.append((b"content-security-policy", policy))
        if scope.get("scheme") == "https":
            headers.append(HSTS)
        return {**message, "headers": headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        page: tuple[Message, bytes] | None = None  # an HTML page with scripts allowed by hash
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal started, page
            if message["type"] == "http.response.start":
                extra = SCRIPTS_BY_HASH.get(str(getattr(scope.get("route"), "path", "")))
                if extra is not None and _header(message, b"content-type").startswith(b"text/html"):
                    page = message, extra
                    return
                started = True
                await send(self._with_headers(scope, message, self.policy))
            elif page is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                start, extra = page
                policy = content_security_policy(self.image_source, inline_script_hashes(body))
                started = True
                await send(self._with_headers(scope, start, policy + extra))
                await send({**message, "body": body})
            else:
                await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            page = None
            response = await unexpected(Request(scope), exc)
            await response(scope, receive, sending)


class CrossOrigin:
    """CORS for the configured origins only (credentials included, so never `*`); with none
    configured no CORS header is sent at all and browsers keep other origins out."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        if "*" in settings.cors_origins:
            raise ValueError("cors_origins: list the origins; '*' is not accepted")
        self.app = app
        if settings.cors_origins:
            self.app = CORSMiddleware(
                app,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=CORS_HEADERS,
                expose_headers=["ETag", "Location", "X-Request-ID", "X-Matched"],
                allow_credentials=True,
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class TokenBuckets:
    """A token bucket per key: `rate` tokens a second, `burst` at most. A key's bucket unused
    long enough to have filled up is dropped (a new one is the same); beyond `max_keys` the
    least recently used go first, so the map stays bounded whatever the keys."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.max_keys = rate, max(burst, 1.0), max_keys
        self.filled_in = self.burst / rate
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # (tokens, when)

    def take(self, key: str, now: float) -> float:
        """0 when a token was taken, else the seconds until there is one."""
        tokens, when = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - when) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self.buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self.buckets) > self.max_keys or (
            now - next(iter(self.buckets.values()))[1] >= self.filled_in
        ):
            self.buckets.popitem(last=False)
        return wait


class RateLimits:
    """Requests per client address, per credential (a digest of the Authorization or
    X-API-Key header or of the session cookie; it need not be valid to count), and login
    attempts per address; over a limit, 429 with Retry-After. The buckets are this process's
    own: with several processes each counts what it serves. The address is the socket's,
    which uvicorn replaces with X-Forwarded-For only from proxies it trusts."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        limits = {
            "requests from this address": (
                settings.rate_per_address_per_s,
                settings.rate_per_address_burst,
            ),
            "requests with this credential": (
                settings.rate_per_credential_per_s,
                settings.rate_per_credential_burst,
            ),
            "login attempts from this address": (
                settings.login_attempts_per_minute / 60,
                settings.login_attempts_burst,
            ),
        }
        self.buckets = {what: TokenBuckets(*kept) for what, kept in limits.items() if kept[0] > 0}

    @staticmethod
    def _keys(scope: Scope, path: str) -> dict[str, str | None]:
        """The bucket each limit takes from for this request (None: not limited by it)."""
        address = (scope.get("client") or ("unknown",))[0]
        headers = dict(scope["headers"])
        secret = headers.get(b"authorization") or headers.get(b"x-api-key")
        if secret is None and b"cookie" in headers:
            cookie = cookie_parser(headers[b"cookie"].decode("latin-1")).get(SESSION_COOKIE)
            secret = cookie.encode() if cookie else None
        login = (scope["method"], path) == LOGIN
        return {
            "requests from this address": address,
            "requests with this credential": hashlib.sha256(secret).hexdigest() if secret else None,
            "login attempts from this address": address if login else None,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if scope["type"] != "http" or path in UNLIMITED_PATHS or not self.buckets:
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        wait, what = max(
            (
                (self.buckets[what].take(key, now), what)
                for what, key in self._keys(scope, path).items()
                if key is not None and what in self.buckets
            ),
            default=(0.0, ""),
        )
        if wait == 0:
            await self.app(scope, receive, send)
            return
        seconds = math.ceil(wait)
        response = problem(
            Request(scope),
            429,
            "Too many requests",
            f"too many {what}; retry in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
        await response(scope, receive, send)
