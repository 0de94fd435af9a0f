"""GDAL's OAPIF driver, a real OGC API Features client, lists the collections and reads
every feature of each served one from a running service."""

import httpx
import pyogrio
import pytest

from geo_service.geo.corridor import corridor_cells
from tests.credentials import api_key, bearer
from tests.factories import feature

CATEGORIES = {
    f"{pattern} {kind} spot"
    for pattern in (
        "new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
        "oscillating", "historical",
    )
    for kind in ("hot", "cold")
} | {"no pattern"}  # fmt: skip

SERVED = {
    "borders",
    "border-sections",
    "crossing-points",
    "countries",
    "corridor",
    "incidents",
    "incident-hexes",
    "hotspots",
    "emerging-hotspots",
}


@pytest.fixture
def server(live_server, engine):
    return live_server


@pytest.fixture
def as_analyst():
    """GDAL presenting an API key of an analyst of BiH's border police, as ogr2ogr or QGIS
    would be set up to (GDAL's `GDAL_HTTP_AUTH=BEARER` and `GDAL_HTTP_BEARER`)."""
    key = api_key("BIH_BP", "analyst")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": key})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


async def test_gdal_reads_every_served_collection(db, server, geography, as_analyst):
    async with httpx.AsyncClient(base_url=server, headers=bearer()) as client:
        for i in range(150):  # more than one page of GDAL's requests
            body = feature(f"GDAL-{i}", coordinates=[19.10 + i * 1e-4, 44.39])
            assert (await client.post("/api/v1/incidents", json=body)).status_code == 201
    source = f"OAPIF:{server}/ogc"
    listed = {name for name, _ in pyogrio.list_layers(source)}
    assert listed == SERVED
    expected = {
        "borders": len(geography.borders),
        "border-sections": len(geography.sections),
        "crossing-points": len(geography.crossing_points),
        "countries": len(geography.countries),
        "corridor": 1,
        "incidents": 150,
    }
    for layer, count in expected.items():
        frame = pyogrio.read_dataframe(source, layer=layer)
        assert len(frame) == count, layer
        assert frame.geometry.notna().all(), layer
    hexes = pyogrio.read_dataframe(source, layer="incident-hexes")
    assert hexes["incidents"].sum() == 150 and (hexes.geometry.geom_type == "Polygon").all()
    corridor_at_7 = len(corridor_cells(geography, 7))
    spots = pyogrio.read_dataframe(source, layer="hotspots")
    assert len(spots) == corridor_at_7 and spots["incidents"].sum() == 150
    assert (spots.loc[spots["incidents"] > 0, "class"].str.startswith("hot")).all()
    emerging = pyogrio.read_dataframe(source, layer="emerging-hotspots")
    assert len(emerging) == corridor_at_7 and set(emerging["category"]) <= CATEGORIES
