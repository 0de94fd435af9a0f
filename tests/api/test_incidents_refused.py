"""Every kind of bad input gets problem+json naming the field and reason; nothing is written."""

import pytest
from sqlalchemy import text

from tests.factories import feature

URL = "/api/v1/incidents"
GEOJSON = {"Content-Type": "application/geo+json"}


def with_props(**props):
    return feature(**props)


def with_geometry(geometry):
    body = feature()
    body["geometry"] = geometry
    return body


CASES = [
    ("unknown agency", with_props(agency="XX_BP"), "properties.agency", "unknown agency"),
    ("unknown category", with_props(category="fishing"), "properties.category", "Input should be"),
    (
        "unknown nationality",
        with_props(apprehensions=[{"nationality": "ZZZ", "persons": 1}]),
        "properties.apprehensions[0].nationality",
        "unknown ISO 3166-1",
    ),
    (
        "lower-case nationality",
        with_props(apprehensions=[{"nationality": "afg", "persons": 1}]),
        "properties.apprehensions[0].nationality",
        "pattern",
    ),
    (
        "negative count",
        with_props(apprehensions=[{"nationality": "AFG", "persons": 3, "minors": -1}]),
        "properties.apprehensions[0].minors",
        "greater than or equal to 0",
    ),
    (
        "more minors than persons",
        with_props(apprehensions=[{"nationality": "AFG", "persons": 3, "minors": 4}]),
        "properties.apprehensions[0].minors",
        "exceed",
    ),
    (
        "more apprehended than involved",
        with_props(persons_involved=2),
        "properties.persons_involved",
        "7 persons apprehended exceed the 2 persons involved",
    ),
    (
        "nationality listed twice",
        with_props(
            apprehensions=[
                {"nationality": "AFG", "persons": 1},
                {"nationality": "AFG", "persons": 2},
            ]
        ),
        "properties.apprehensions[1].nationality",
        "listed twice",
    ),
    (
        "negative persons",
        with_props(persons_involved=-3),
        "properties.persons_involved",
        "greater than or equal to 0",
    ),
    ("future", with_props(occurred_at="2099-01-01T00:00:00Z"), "properties.occurred_at", "future"),
    (
        "before 2000",
        with_props(occurred_at="1999-12-31T23:00:00Z"),
        "properties.occurred_at",
        "2000",
    ),
    (
        "time without offset",
        with_props(occurred_at="2026-11-28T02:40:00"),
        "properties.occurred_at",
        "timezone",
    ),
    ("time not a time", with_props(occurred_at="yesterday"), "properties.occurred_at", "datetime"),
    ("missing category", with_props(category=None), "properties.category", "Input should be"),
    (
        "not a point",
        with_geometry({"type": "LineString", "coordinates": [[19.1, 44.3], [19.2, 44.4]]}),
        "geometry.type",
        "'Point'",
    ),
    (
        "longitude out of range",
        with_geometry({"type": "Point", "coordinates": [190.0, 44.3]}),
        "geometry",
        "out of range",
    ),
    (
        "latitude out of range",
        with_geometry({"type": "Point", "coordinates": [19.1, 95.0]}),
        "geometry",
        "out of range",
    ),
    (
        "latitude and longitude swapped",
        with_geometry({"type": "Point", "coordinates": [44.3921, 19.1031]}),
        "geometry",
        "outside the monitored region",
    ),
    (
        "outside the region",
        with_geometry({"type": "Point", "coordinates": [13.4, 52.5]}),
        "geometry",
        "outside the monitored region",
    ),
    (
        "coordinates as strings",
        with_geometry({"type": "Point", "coordinates": ["19.1", "44.3"]}),
        "geometry.coordinates[0]",
        "valid number",
    ),
    (
        "unknown crossing point",
        with_props(crossing_point="nowhere"),
        "properties.crossing_point",
        "unknown",
    ),
    ("misspelt property", with_props(catgory="x"), "properties.catgory", "Extra inputs"),
    ("bad sharing", with_props(sharing="public"), "properties.sharing", "Input should be"),
    ("empty reference", with_props(external_ref=""), "properties.external_ref", "at least 1"),
    ("persons as text", with_props(persons_involved="7"), "properties.persons_involved", "integer"),
]


@pytest.mark.parametrize(("case", "body", "field", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_refused_with_the_field_and_the_reason(client, db, case, body, field, reason):
    response = await client.post(URL, json=body, headers=GEOJSON)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"] and problem["instance"] == URL
    matching = [e for e in problem["errors"] if e["field"] == field]
    assert matching, problem["errors"]
    assert any(reason in e["reason"] for e in matching), matching
    async with db.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "Feature", "geometry": ',
        b"not json at all",
    ],
)
async def test_malformed_json_is_refused(client, raw):
    response = await client.post(URL, content=raw, headers=GEOJSON)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "body"
    assert "malformed JSON" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
async def test_non_finite_coordinates_are_refused(client, db, number):
    raw = (
        b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": ['
        + number
        + b", 44.3]},"
        b'"properties": {}}'
    )
    response = await client.post(URL, content=raw, headers=GEOJSON)
    assert response.status_code == 422
    errors = [e for e in response.json()["errors"] if e["field"] == "geometry.coordinates[0]"]
    assert errors and "finite number" in errors[0]["reason"], response.json()["errors"]


async def test_every_problem_of_one_body_is_listed(client):
    body = feature(category="fishing", agency="XX_BP", occurred_at="2099-01-01T00:00:00Z")
    body["geometry"]["coordinates"] = [13.4, 52.5]
    response = await client.post(URL, json=body, headers=GEOJSON)
    # The wire format is checked first; the domain rules run once the shape is right.
    fields = {e["field"] for e in response.json()["errors"]}
    assert "properties.category" in fields


async def test_an_oversized_body_is_413(client, db):
    body = feature(narrative="x" * 70_000)
    response = await client.post(URL, json=body, headers=GEOJSON)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_wrong_content_type_is_415(client):
    response = await client.post(
        URL, content=b"agency=BIH_BP", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert "application/geo+json" in response.json()["detail"]


async def test_plain_application_json_is_accepted(client):
    response = await client.post(URL, json=feature())
    assert response.status_code == 201


async def test_a_refusal_loses_nothing_already_accepted(client, db):
    ok = await client.post(URL, json=feature("KEEP-1"), headers=GEOJSON)
    assert ok.status_code == 201
    bad = await client.post(URL, json=feature("KEEP-2", category="fishing"), headers=GEOJSON)
    assert bad.status_code == 422
    assert (await client.get(ok.headers["location"])).status_code == 200
