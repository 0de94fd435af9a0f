"""CQL2 text filters (OGC API Features Part 3): the incidents a filter selects equal a recount
from the raw rows, the same through items, the incident list, hexagons and exports; the
queryables say what may be filtered on; a filter that is not CQL2, names an unknown property
or a function, or is sent to a layer without queryables is refused naming `filter`."""

import h3
import pytest
from shapely.geometry import box

from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import seen_by

ITEMS = "/ogc/collections/incidents/items"
ZVORNIK = box(19.0, 44.2, 19.3, 44.5)


@pytest.fixture
async def frame(db, geography):
    points = synthetic.incidents(geography, 1500, seed=23)
    await bulk_import.import_table(db, SERVICE, geography, Table.of_points(points))
    return seen_by(points)  # what the client's caller may see of them


FILTERS = [
    (
        "category = 'drug_smuggling' AND persons_involved >= 3",
        lambda f: (f["category"] == "drug_smuggling") & (f["persons_involved"] >= 3),
    ),
    (
        "category IN ('excise_smuggling', 'stolen_vehicle') OR NOT attempted = false",
        lambda f: f["category"].isin(["excise_smuggling", "stolen_vehicle"]) | f["attempted"],
    ),
    (
        "persons_involved BETWEEN 2 AND 4 AND direction <> 'exit'",
        lambda f: f["persons_involved"].between(2, 4) & (f["direction"] != "exit"),
    ),
    (
        "occurred_at >= TIMESTAMP('2025-06-01T00:00:00Z') AND means LIKE 'v%'",
        lambda f: (f["occurred_at"] >= "2025-06-01T00:00:00Z") & f["means"].str.startswith("v"),
    ),
    (
        f"S_INTERSECTS(geometry, {ZVORNIK.wkt})",
        lambda f: f.geometry.within(ZVORNIK),
    ),
    # A value is a value, whatever it holds.
    ("category = 'x; DROP TABLE incidents; --'", lambda f: f["category"] == "x; DROP"),
]


async def refs(client, url: str) -> set[str]:
    body = (await client.get(url)).json()
    assert not any(link["rel"] == "next" for link in body["links"]), "one page expected"
    return {f["properties"]["external_ref"] for f in body["features"]}


@pytest.mark.parametrize(("text", "rule"), FILTERS, ids=[t for t, _ in FILTERS])
async def test_a_filter_selects_what_a_recount_selects_through_every_read(
    client, frame, text, rule
):
    chosen = frame[rule(frame)]
    query = {"filter": text, "filter-lang": "cql2-text", "limit": 10000}
    items = await client.get(ITEMS, params=query)
    assert items.status_code == 200, items.text
    assert {f["properties"]["external_ref"] for f in items.json()["features"]} == set(
        chosen["external_ref"]
    )
    listed = (await client.get("/api/v1/incidents", params=query)).json()["features"]
    assert {f["properties"]["external_ref"] for f in listed} == set(chosen["external_ref"])
    hexes = await client.get(
        "/ogc/collections/incident-hexes/items", params={**query, "resolution": 7}
    )
    served = {f["properties"]["h3"]: f["properties"]["incidents"] for f in hexes.json()["features"]}
    recount: dict[str, int] = {}
    for x, y in zip(chosen.geometry.x, chosen.geometry.y, strict=True):
        cell = h3.latlng_to_cell(y, x, 7)
        recount[cell] = recount.get(cell, 0) + 1
    assert served == recount
    exported = await client.get("/api/v1/exports", params={"format": "csv", "filter": text})
    assert exported.status_code == 200, exported.text
    assert int(exported.headers["x-matched"]) == len(chosen)


async def test_a_filter_goes_with_the_next_link(client, frame):
    text = "sharing = 'pcc'"
    first = (await client.get(ITEMS, params={"filter": text, "limit": 100})).json()
    following = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert "filter=" in following
    second = (await client.get(following)).json()
    assert {f["properties"]["sharing"] for f in first["features"] + second["features"]} == {"pcc"}


async def test_the_queryables_say_what_may_be_filtered_on(client):
    incidents = await client.get("/ogc/collections/incidents/queryables")
    assert incidents.headers["content-type"] == "application/schema+json"
    properties = incidents.json()["properties"]
    assert properties["persons_involved"]["type"] == "integer"
    assert properties["occurred_at"]["format"] == "date-time"
    assert "narrative" not in properties and "external_ref" not in properties
    hexes = (await client.get("/ogc/collections/incident-hexes/queryables")).json()
    assert hexes["properties"] == properties  # hexagons count the incidents filtered
    assert (await client.get("/ogc/collections/borders/queryables")).json()["properties"] == {}
    unknown = await client.get("/ogc/collections/nowhere/queryables")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    conformance = (await client.get("/ogc/conformance")).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in conformance
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance


@pytest.mark.parametrize(
    ("params", "path", "field", "says"),
    [
        ({"filter": "category = "}, ITEMS, "filter", "not CQL2 text"),
        ({"filter": "narrative LIKE '%a%'"}, ITEMS, "filter", "not a queryable"),
        ({"filter": "pg_sleep(5) = 1"}, ITEMS, "filter", "functions are not supported"),
        ({"filter": "category = 'crisis'", "filter-lang": "cql2-json"}, ITEMS, "filter-lang", ""),
        ({"filter": "category = 'crisis'"}, "/ogc/collections/borders/items", "filter", ""),
        (
            {"filter": "category = 'crisis'"},
            "/ogc/collections/borders/tiles/WebMercatorQuad/9/283/185",
            "filter",
            "no queryables",
        ),
        ({"filter": "x" * 5000}, ITEMS, "filter", ""),
        ({"filter": "category = 'x'' OR ''1''=''1'"}, ITEMS, "filter", "not CQL2 text"),
        ({"filter": "persons_involved + 1 = 3"}, ITEMS, "filter", "arithmetic"),
        ({"filter": "category > 5"}, ITEMS, "filter", "compares with string values"),
        ({"filter": "occurred_at = 5"}, ITEMS, "filter", "date-time values"),
        ({"filter": "attempted = 1"}, ITEMS, "filter", "boolean values"),
        ({"filter": "S_INTERSECTS(category, POINT(19 44))"}, ITEMS, "filter", "geometry"),
    ],
)
async def test_a_bad_filter_is_refused_naming_it(client, db, params, path, field, says):
    response = await client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field and says in error["reason"]


async def test_a_filter_applies_to_incident_tiles(client, frame):
    import mapbox_vector_tile

    tile = "/ogc/collections/incidents/tiles/WebMercatorQuad/9/283/185"  # Zvornik
    response = await client.get(tile, params={"filter": "category = 'drug_smuggling'"})
    assert response.status_code == 200
    layers = mapbox_vector_tile.decode(response.content) if response.content else {}
    points = [f for layer in layers.values() for f in layer["features"]]
    assert points and {f["properties"]["category"] for f in points} == {"drug_smuggling"}


@pytest.mark.parametrize(
    "text",
    [
        "occurred_at T_AFTER TIMESTAMP('2025-01-01T00:00:00Z')",
        "occurred_at > DATE('2025-01-01')",
        "BBOX(geometry, 19, 44, 19.5, 44.5)",
        "crossing_point IS NULL AND location_accuracy_m > 5",
        "country = border_pair OR NOT (impact IN ('low'))",
        "S_WITHIN(geometry, POLYGON((19 44, 19.5 44, 19.5 44.5, 19 44.5, 19 44)))",
    ],
)
async def test_every_filter_taken_is_answered(client, frame, text):
    """Nothing a filter that passed the checks holds makes the database refuse it."""
    for path in (ITEMS, "/ogc/collections/incident-hexes/items"):
        response = await client.get(path, params={"filter": text})
        assert response.status_code == 200, (path, response.text)
