"""POST /api/v1/incidents: create, enrich, idempotent retry, conflicts, concurrency."""

import asyncio

import h3
import httpx
from sqlalchemy import text

from tests.conftest import as_owner
from tests.credentials import officer_of
from tests.factories import feature

URL = "/api/v1/incidents"
GEOJSON = {"Content-Type": "application/geo+json"}


async def post(client: httpx.AsyncClient, body: dict) -> httpx.Response:
    """POST `body` as an officer of its agency."""
    return await client.post(URL, json=body, headers={**GEOJSON, **officer_of(body)})


async def test_create_returns_the_stored_feature_with_what_the_service_derives(client):
    response = await post(client, feature())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    props = body["properties"]
    assert response.headers["location"] == f"{URL}/{props['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["geometry"] == {"type": "Point", "coordinates": [19.1031, 44.3921]}
    assert props["version"] == 1 and props["status"] == "open"
    assert props["occurred_at"] == "2026-11-28T01:40:00Z"
    # Zvornik lies in BiH on the Drina, a few hundred metres from Serbia.
    assert props["country"] == "BIH"
    assert props["border_pair"] == "BIH-SRB"
    assert props["border_section"].startswith("BIH-SRB-")
    assert 0 < props["distance_to_border_m"] < 3000
    assert props["h3_cell"] == h3.latlng_to_cell(44.3921, 19.1031, 10)
    assert props["apprehensions"] == [
        {"nationality": "AFG", "persons": 5, "minors": 2, "women": 1},
        {"nationality": "PAK", "persons": 2, "minors": 0, "women": 0},
    ]
    again = await client.get(props and response.headers["location"])
    assert again.json() == body


async def test_every_h3_resolution_is_computed_from_the_point(client, db):
    await post(client, feature())
    async with db.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM incidents"))).mappings().one()
    for resolution in range(5, 11):
        expected = h3.str_to_int(h3.latlng_to_cell(44.3921, 19.1031, resolution))
        assert row[f"h3_res{resolution}"] == expected


async def test_the_same_submission_again_answers_200_with_the_same_incident(client, db):
    first = await post(client, feature())
    second = await post(client, feature())
    assert first.status_code == 201 and second.status_code == 200, second.text
    assert second.json()["properties"]["id"] == first.json()["properties"]["id"]
    assert second.headers["location"] == first.headers["location"]
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar() == 1
        assert (await conn.execute(text("SELECT count(*) FROM apprehensions"))).scalar() == 2


async def test_read_only_properties_sent_back_are_ignored(client):
    first = (await post(client, feature())).json()
    resent = await post(client, first)
    assert resent.status_code == 200, resent.text
    assert resent.json()["properties"]["id"] == first["properties"]["id"]


async def test_a_different_body_under_the_same_reference_is_a_conflict(client, db):
    await post(client, feature())
    response = await post(client, feature(persons_involved=9))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "different content" in response.json()["detail"]
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT persons_involved FROM incidents"))).scalar() == 7


async def test_the_same_reference_of_another_agency_is_another_incident(client):
    a = await post(client, feature())
    b = await post(client, feature(agency="SRB_BP", coordinates=[19.13, 44.38]))
    assert a.status_code == b.status_code == 201
    assert a.json()["properties"]["id"] != b.json()["properties"]["id"]
    assert b.json()["properties"]["country"] == "SRB"


async def test_concurrent_posts_under_one_reference_store_one_row(client, db):
    responses = await asyncio.gather(*(post(client, feature("RACE-1")) for _ in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], [r.text for r in responses]
    assert len({r.json()["properties"]["id"] for r in responses}) == 1
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar() == 1
        assert (await conn.execute(text("SELECT count(*) FROM apprehensions"))).scalar() == 2


async def test_optional_properties_take_their_defaults(client):
    minimal = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [18.35, 42.72]},
        "properties": {
            "agency": "MNE_BP",
            "external_ref": "UP-1",
            "category": "drug_smuggling",
            "occurred_at": "2026-11-20T22:10:00Z",
        },
    }
    response = await post(client, minimal)
    assert response.status_code == 201, response.text
    props = response.json()["properties"]
    assert props["direction"] == "unknown" and props["sharing"] == "national"
    assert props["persons_involved"] == 0 and props["apprehensions"] == []
    assert props["border_pair"] == "BIH-MNE"


async def test_persons_involved_defaults_to_the_persons_apprehended(client):
    body = feature()
    del body["properties"]["persons_involved"]
    response = await post(client, body)
    assert response.json()["properties"]["persons_involved"] == 7


async def test_an_agency_added_to_the_table_is_accepted_at_once(client, db):
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO agencies (code, country, name_local) VALUES ('TST_BP', 'BIH', 'Test')"
            )
        )
    try:
        response = await post(client, feature("NEW-AGENCY", agency="TST_BP"))
        assert response.status_code == 201, response.text
    finally:
        await as_owner(
            db,
            "TRUNCATE incidents, apprehensions, users, api_keys, audit CASCADE",
            "DELETE FROM agencies WHERE code = 'TST_BP'",
        )


async def test_a_new_incident_cannot_be_posted_closed(client):
    response = await post(client, feature("CLOSED-1", status="closed"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "properties.status"
    assert (await post(client, feature("OPEN-1", status="open"))).status_code == 201


async def test_text_is_trimmed_as_imports_trim_it(client):
    response = await post(client, feature("  TRIM-1  ", narrative="  Near Zvornik.  "))
    props = response.json()["properties"]
    assert props["external_ref"] == "TRIM-1" and props["narrative"] == "Near Zvornik."
    again = await post(client, feature("TRIM-1", narrative="Near Zvornik."))
    assert again.status_code == 200
