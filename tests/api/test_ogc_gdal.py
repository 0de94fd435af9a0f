"""GDAL's OAPIF driver, a real OGC API Features client, lists the collections and reads
every feature of each served one from a running service."""

import httpx
import pyogrio
import pytest

from tests.factories import feature

SERVED = {
    "borders",
    "border-sections",
    "crossing-points",
    "countries",
    "corridor",
    "incidents",
    "incident-hexes",
}


@pytest.fixture
def server(live_server, engine):
    return live_server


async def test_gdal_reads_every_served_collection(db, server, geography):
    async with httpx.AsyncClient(base_url=server) as client:
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
