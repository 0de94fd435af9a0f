"""GET /api/v1/layers: the front end's layer list, made from the catalog, and the optional
raster basemap of a connected deployment (none by default: nothing asked outside)."""

from geo_service.services.layer_catalog import load_catalog


async def test_the_layer_list_is_the_catalog_and_has_no_basemap_by_default(client, settings):
    body = (await client.get("/api/v1/layers")).json()
    assert [layer["id"] for layer in body["layers"]] == list(load_catalog(settings.layers_dir))
    assert body["basemap"] is None


async def test_a_configured_basemap_is_offered(client, app, monkeypatch):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    monkeypatch.setattr(app.state.settings, "basemap_url", url)
    monkeypatch.setattr(app.state.settings, "basemap_attribution", "© example")
    body = (await client.get("/api/v1/layers")).json()
    assert body["basemap"] == {"url": url, "attribution": "© example"}
