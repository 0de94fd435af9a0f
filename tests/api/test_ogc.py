"""/ogc: landing page, conformance and the collections built from the layer catalog."""

from geo_service.services.layer_catalog import load_catalog
from tests.factories import feature


async def test_landing_page_links_to_conformance_collections_and_the_api(client):
    body = (await client.get("/ogc")).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["conformance"].endswith("/ogc/conformance")
    assert rels["data"].endswith("/ogc/collections")
    assert rels["service-desc"].endswith("/openapi.json")
    assert (await client.get(rels["service-desc"])).status_code == 200


async def test_conformance_declares_core_geojson_oas30_and_cql2_filters(client):
    classes = (await client.get("/ogc/conformance")).json()["conformsTo"]
    assert {c.rsplit("/", 1)[1] for c in classes} == {
        "core", "geojson", "oas30",  # Part 1
        "queryables", "filter", "features-filter",  # Part 3
        "cql2-text", "basic-cql2", "advanced-comparison-operators", "basic-spatial-functions",
    }  # fmt: skip


async def test_collections_are_the_layer_catalog(client, settings):
    body = (await client.get("/ogc/collections")).json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == list(load_catalog(settings.layers_dir))
    hexes = next(c for c in body["collections"] if c["id"] == "incident-hexes")
    assert hexes["titles"]["sr-Cyrl"] == "Инциденти по хексагону"
    one = (await client.get("/ogc/collections/borders")).json()
    assert one["id"] == "borders" and any(link["rel"] == "items" for link in one["links"])
    west, south, east, north = one["extent"]["spatial"]["bbox"][0]
    assert west < 18.3 < 20.0 < east and south < 42.7 < 45.0 < north  # Trebinje to Rača


async def test_an_unknown_collection_is_a_404_problem(client):
    response = await client.get("/ogc/collections/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_reference_items_page_through_next_links(client, geography):
    seen, url, pages = [], "/ogc/collections/border-sections/items?limit=50", 0
    while url:
        body = (await client.get(url)).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        pages += 1
    assert sorted(seen) == sorted(geography.sections["id"]) and pages == 3
    one = (await client.get("/ogc/collections/border-sections/items/BIH-SRB-07")).json()
    assert one["id"] == "BIH-SRB-07" and one["geometry"]["type"] == "MultiLineString"
    assert one["properties"]["border_id"] == "BIH-SRB"


async def test_reference_items_in_a_bbox(client):
    # Around Zvornik: the crossings there, none of those near Trebinje.
    body = (
        await client.get("/ogc/collections/crossing-points/items?bbox=19.0,44.3,19.3,44.5")
    ).json()
    names = {f["properties"]["border_id"] for f in body["features"]}
    assert body["features"] and names == {"BIH-SRB"}


async def test_incident_items_are_the_incident_list(client):
    for i in range(3):
        await client.post("/api/v1/incidents", json=feature(f"OGC-{i}"))
    ogc = (await client.get("/ogc/collections/incidents/items?limit=2")).json()
    api = (await client.get("/api/v1/incidents?limit=2")).json()
    assert ogc["features"] == api["features"]
    feature_id = ogc["features"][0]["id"]
    assert (await client.get(f"/ogc/collections/incidents/items/{feature_id}")).json()[
        "id"
    ] == feature_id


async def test_unknown_features_are_404(client):
    assert (await client.get("/ogc/collections/borders/items/XXX-YYY")).status_code == 404
    assert (await client.get("/ogc/collections/incidents/items/abc")).status_code == 404
