"""/ogc: landing page, conformance and the collections built from the layer catalog."""

from geo_service.services.layer_catalog import load_catalog


async def test_landing_page_links_to_conformance_collections_and_the_api(client):
    body = (await client.get("/ogc")).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["conformance"].endswith("/ogc/conformance")
    assert rels["data"].endswith("/ogc/collections")
    assert rels["service-desc"].endswith("/openapi.json")
    assert (await client.get(rels["service-desc"])).status_code == 200


async def test_conformance_declares_core_geojson_and_oas30(client):
    classes = (await client.get("/ogc/conformance")).json()["conformsTo"]
    assert {c.rsplit("/", 1)[1] for c in classes} == {"core", "geojson", "oas30"}


async def test_collections_are_the_layer_catalog(client, settings):
    body = (await client.get("/ogc/collections")).json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == list(load_catalog(settings.layers_dir))
    hexes = next(c for c in body["collections"] if c["id"] == "incident-hexes")
    assert hexes["titles"]["sr-Cyrl"] == "Инциденти по хексагону"
    one = (await client.get("/ogc/collections/borders")).json()
    assert one["id"] == "borders" and any(link["rel"] == "items" for link in one["links"])


async def test_an_unknown_collection_is_a_404_problem(client):
    response = await client.get("/ogc/collections/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
