"""The API against its own OpenAPI document, fuzzed (schemathesis): whatever an authenticated
caller sends to any operation, valid or not, the answer is no 5xx and is what the document
says — a documented status code, a documented content type, a body of the documented schema.

The app runs on the tests' event loop (its engine and listeners belong to that loop), so the
cases are generated and checked in a worker thread and each request is sent back to the loop
through an httpx client on the app itself."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from geo_service.api.app import create_app
from geo_service.services import accounts
from geo_service.settings import Settings
from tests.conftest import TEST_DATABASE_URL, truncate
from tests.factories import feature

BASE_URL = "http://testserver"
PASSWORD = "a long enough password"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Left out, each because it cannot be fuzzed in-process: the live stream answers with an
# event stream that never ends while the client stays.
EXCLUDED = {"GET /api/v1/stream"}
# Fuzzed as a PCC administrator: an officer is refused them whatever is sent.
AS_ADMIN = {"GET /api/v1/audit", "POST /api/v1/sections/{section_id}/impact"}
EXAMPLES = 10  # per operation and per generation mode
REFERENCES = itertools.count(1)

DOCUMENT = create_app(Settings(database_url=TEST_DATABASE_URL)).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, methods in DOCUMENT["paths"].items()
    for method in methods
    if f"{method.upper()} {path}" not in EXCLUDED
]


@dataclass(frozen=True)
class Keys:
    officer: str
    admin: str


@pytest.fixture(scope="module")
async def fuzzed(engine, settings) -> AsyncIterator[object]:
    """The service without its request-rate limits: a fuzzer asks hundreds of times a second
    from one address with one key, and 429s would hide every other answer."""
    unlimited = settings.model_copy(
        update={"rate_per_address_per_s": 0, "rate_per_credential_per_s": 0}
    )
    application = create_app(unlimited)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def keys(engine, fuzzed) -> Keys:
    """API keys of a BIH officer (who writes as well as reads) and of a PCC administrator."""
    await truncate(engine)
    await accounts.add_user(engine, "fuzz-officer", "BIH_BP", "officer", PASSWORD)
    await accounts.add_user(engine, "fuzz-admin", "PCC", "admin", PASSWORD)
    officer = await accounts.create_key(engine, "fuzz-officer", "fuzz", 1)
    return Keys(officer, await accounts.create_key(engine, "fuzz-admin", "fuzz", 1))


@pytest.fixture
async def known(fuzzed, keys, geography) -> dict[str, list[str]]:
    """Values of path parameters and headers that name something that exists (random ones
    only ever find nothing): two incidents made for this test (another's may have deleted
    its own), the collections, some border sections, the version of a new incident."""
    transport = httpx.ASGITransport(app=fuzzed)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        auth = {"Authorization": f"Bearer {keys.officer}"}
        incidents = []
        for _ in range(2):
            body = feature(f"F-{next(REFERENCES)}")
            created = await client.post("/api/v1/incidents", json=body, headers=auth)
            assert created.status_code == 201, created.text
            incidents.append(str(created.json()["id"]))
        listed = (await client.get("/ogc/collections", headers=auth)).json()["collections"]
    return {
        "collection_id": [c["id"] for c in listed],
        "section_id": [str(s) for s in geography.section_ids[:5]],
        "incident_id": incidents,
        "feature_id": incidents,
        "if-match": ['"1"'],
    }


def cases(operation: Any, known: dict[str, list[str]]) -> SearchStrategy[schemathesis.Case]:
    """Valid and invalid requests to `operation`; half of them with the path parameters and
    headers that name something that exists."""
    parameters = DOCUMENT["paths"][operation.path][operation.method.lower()].get("parameters", [])
    existing = {
        where: {
            p["name"]: st.sampled_from(known[p["name"]])
            for p in parameters
            if p["in"] == where and p["name"] in known
        }
        for where in ("path", "header")
    }
    out = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        out.append(operation.as_strategy(generation_mode=mode))
        if existing["path"] or existing["header"]:
            given = st.tuples(*(st.fixed_dictionaries(existing[w]) for w in ("path", "header")))
            out.append(
                given.flatmap(
                    lambda fixed, mode=mode: operation.as_strategy(
                        generation_mode=mode, path_parameters=fixed[0], headers=fixed[1]
                    )
                )
            )
    return st.one_of(out)


def as_sent(case: schemathesis.Case, key: str) -> requests.PreparedRequest:
    """The request of `case`, with `key`."""
    headers = {"Authorization": f"Bearer {key}"}
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    return requests.Request(**kwargs).prepare()


@pytest.mark.parametrize("label", OPERATIONS)
async def test_operation_answers_as_documented(fuzzed, keys, known, label):
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None, label
    key = keys.admin if label in AS_ADMIN else keys.officer
    loop = asyncio.get_running_loop()
    # A 500 comes back as the answer it is, for the checks to report with its case.
    transport = httpx.ASGITransport(app=fuzzed, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:

        def send(request: requests.PreparedRequest) -> httpx.Response:
            call = client.request(
                str(request.method),
                str(request.url),
                headers=dict(request.headers),
                content=request.body,
            )
            return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=60)

        @settings(
            max_examples=2 * EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases(operation, known))
        def answers_as_documented(case: schemathesis.Case) -> None:
            request = as_sent(case, key)
            response = send(request)
            case.validate_response(response, checks=CHECKS, headers=dict(request.headers))

        await asyncio.to_thread(answers_as_documented)
