"""Input that once reached the database and ended as a 500 (NUL in text, ids past a bigint,
times whose UTC falls off the calendar, one feature of an aggregate layer) is refused with a
4xx problem instead, and nothing is written."""

import pytest

from geo_service.services import accounts
from tests.factories import feature

PASSWORD = "a long enough password"
SECTION = "/api/v1/sections/BIH-SRB-07/impact"


@pytest.fixture
async def auth(db):
    """Headers of an officer of BIH, and of an administrator of the PCC."""
    await accounts.add_user(db, "bih-officer", "BIH_BP", "officer", PASSWORD)
    await accounts.add_user(db, "pcc-admin", "PCC", "admin", PASSWORD)
    officer = await accounts.create_key(db, "bih-officer", "test", 1)
    admin = await accounts.create_key(db, "pcc-admin", "test", 1)
    return {
        "officer": {"Authorization": f"Bearer {officer}"},
        "admin": {"Authorization": f"Bearer {admin}"},
    }


@pytest.mark.parametrize(
    "method,url,status",
    [
        ("GET", "/api/v1/incidents?crossing_point=a%00b", 400),
        ("GET", "/api/v1/exports?border_section=%00", 400),
        ("GET", "/ogc/collections/border-sections/items/a%00b", 400),
        ("DELETE", "/api/v1/incidents/a%00b", 400),  # the audit trail would keep the path
        ("POST", "/api/v1/sections/a%00b/impact", 400),
        ("GET", "/api/v1/incidents/9223372036854775808", 400),
        ("DELETE", "/api/v1/incidents/9223372036854775808", 400),
        ("GET", "/api/v1/audit?before=9223372036854775808", 400),
        ("GET", "/ogc/collections/incidents/items/9223372036854775808", 404),
        ("GET", "/ogc/collections/incidents/items/%C2%B2", 404),  # '²' is a digit to Python
        ("GET", "/ogc/collections/emerging-hotspots/items/1", 404),
        ("GET", "/ogc/collections/hotspots/items/1", 404),
    ],
)
async def test_refused_in_the_path_or_query(client, auth, method, url, status):
    who = "admin" if "audit" in url or "impact" in url else "officer"
    response = await client.request(method, url, headers=auth[who])
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "url,body,field",
    [
        ("/api/v1/incidents", feature("N-1", narrative="a\u0000b"), "properties.narrative"),
        (
            "/api/v1/incidents",
            feature("T-1", occurred_at="0001-01-01T00:30:00+01:00"),
            "properties.occurred_at",
        ),
        (
            "/api/v1/incidents",
            feature("T-2", occurred_at="9999-12-31T23:30:00-01:00"),
            "properties.occurred_at",
        ),
        (SECTION, {"level": "high", "reason": "a\u0000bcd"}, "reason"),
    ],
)
async def test_refused_in_the_body(client, auth, url, body, field):
    who = "admin" if url == SECTION else "officer"
    response = await client.post(url, json=body, headers=auth[who])
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_a_login_name_with_a_control_character_is_refused(client, auth):
    response = await client.post("/api/v1/session", json={"username": "a\u0000b", "password": "x"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "username"
