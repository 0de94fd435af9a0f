"""The `cell` filter: incidents in given H3 cells (each at its own resolution), as the map's
drill-down into a hexagon asks for them, the same through every read."""

import h3
import pytest

from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import seen_by


@pytest.fixture
async def frame(db, geography):
    points = synthetic.incidents(geography, 1500, seed=17)
    await bulk_import.import_table(db, SERVICE, geography, Table.of_points(points))
    return seen_by(points)


def cell_of(frame, resolution: int) -> list[str]:
    return [
        h3.latlng_to_cell(y, x, resolution)
        for x, y in zip(frame.geometry.x, frame.geometry.y, strict=True)
    ]


async def test_incidents_in_cells_of_any_resolution(client, frame):
    frame = frame.assign(r7=cell_of(frame, 7), r9=cell_of(frame, 9))
    busiest7 = frame["r7"].value_counts().index[0]
    some9 = frame["r9"].value_counts().index[1]
    expected = set(frame.loc[(frame["r7"] == busiest7) | (frame["r9"] == some9), "external_ref"])
    body = (await client.get(f"/api/v1/incidents?cell={busiest7},{some9}&limit=10000")).json()
    assert {f["properties"]["external_ref"] for f in body["features"]} == expected
    items = (
        await client.get(f"/ogc/collections/incidents/items?cell={busiest7}&limit=10000")
    ).json()
    assert len(items["features"]) == (frame["r7"] == busiest7).sum()
    trend = (
        await client.get(
            f"/api/v1/trends?cell={busiest7}&step=monthly&datetime=2024-01-01T00:00:00Z/.."
        )
    ).json()
    assert trend["series"][0]["total"]["incidents"] == (frame["r7"] == busiest7).sum()


@pytest.mark.parametrize("value", ["zzz", "8f1ec5a6b000000", "801ffffffffffff"])
async def test_a_bad_cell_is_refused(client, db, value):
    response = await client.get(f"/api/v1/incidents?cell={value}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cell"
