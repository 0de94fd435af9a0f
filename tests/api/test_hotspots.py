"""The hotspots and emerging-hotspots layers served: Gi* of the served counts equals esda's,
planted patterns are found, and what cannot be computed is refused saying the limit."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import esda
import h3
import numpy as np
import pytest

from geo_service.geo.corridor import corridor_cells
from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import seen_by
from tests.geo.test_hotspot_statistics import pysal_weights

HOTSPOTS = "/ogc/collections/hotspots/items"
EMERGING = "/ogc/collections/emerging-hotspots/items"


async def import_frame(db, geography, frame):
    table = Table.of_points(frame)
    report = await bulk_import.import_table(db, SERVICE, geography, table)
    assert report.created == len(frame)


async def every_feature(client, url: str) -> list[dict]:
    features = []
    while url:
        body = (await client.get(url)).json()
        features += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return features


async def test_served_z_scores_equal_esda_on_the_same_counts(client, db, geography):
    frame = synthetic.incidents(geography, 3_000, seed=8)
    await import_frame(db, geography, frame)
    features = await every_feature(client, f"{HOTSPOTS}?resolution=7&limit=2000")
    cells = corridor_cells(geography, 7)
    assert [f["properties"]["h3"] for f in features] == [h3.int_to_str(int(c)) for c in cells]
    seen = seen_by(frame)
    recount = Counter(
        h3.latlng_to_cell(y, x, 7) for x, y in zip(seen.geometry.x, seen.geometry.y, strict=True)
    )
    y = np.array([recount.get(h3.int_to_str(int(c)), 0) for c in cells], dtype=float)
    assert [f["properties"]["incidents"] for f in features] == y.astype(int).tolist()
    reference = esda.G_Local(y, pysal_weights(cells), transform="B", star=True, permutations=0)
    served = np.array([f["properties"]["z"] for f in features])
    assert np.max(np.abs(served - reference.Zs)) < 1e-9
    classes = Counter(f["properties"]["class"] for f in features)
    assert classes["hot-99"] > 0 and classes["not-significant"] > 0


async def test_a_route_opening_in_the_last_weeks_is_a_new_or_consecutive_hot_spot(
    client, db, geography
):
    end = datetime(2026, 11, 29, tzinfo=UTC)
    old = synthetic.incidents(geography, 1_500, seed=9, start=end - timedelta(days=84), end=end)
    fresh = synthetic.incidents(geography, 1, seed=10, start=end - timedelta(days=10), end=end)
    route = fresh.loc[fresh.index.repeat(120)].copy()
    route["external_ref"] = [f"ROUTE-{i}" for i in range(120)]
    await import_frame(db, geography, old)
    await import_frame(db, geography, route)
    cell = h3.latlng_to_cell(route.geometry.y.iloc[0], route.geometry.x.iloc[0], 7)
    query = f"resolution=7&step=weekly&steps=12&datetime=../{end:%Y-%m-%dT%H:%M:%SZ}&limit=5000"
    features = {
        f["properties"]["h3"]: f["properties"]
        for f in await every_feature(client, f"{EMERGING}?{query}")
    }
    assert features[cell]["category"] in {"new hot spot", "consecutive hot spot"}
    assert features[cell]["hot_steps"] >= 1


async def test_an_empty_window_is_a_valid_empty_result(client, db):
    features = (await client.get(f"{HOTSPOTS}?resolution=6&limit=10000")).json()["features"]
    assert features and all(f["properties"]["class"] == "not-significant" for f in features)
    emerging = (await client.get(f"{EMERGING}?resolution=6&limit=10000")).json()["features"]
    assert emerging and all(f["properties"]["category"] == "no pattern" for f in emerging)


@pytest.mark.parametrize(
    ("url", "field", "says"),
    [
        (f"{EMERGING}?steps=5", "steps", "at least 10"),
        (f"{EMERGING}?resolution=9&steps=52", "steps", "1,000,000 bins"),
        (f"{EMERGING}?step=hourly", "step", "daily, weekly, monthly"),
        (f"{HOTSPOTS}?resolution=5", "resolution", "between 6 and 9"),
    ],
)
async def test_what_cannot_be_computed_is_refused_saying_the_limit(client, db, url, field, says):
    response = await client.get(url)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == field and says in error["reason"]


async def test_hot_spots_are_features_not_tiles(client):
    response = await client.get("/ogc/collections/hotspots/tiles/WebMercatorQuad/9/283/185")
    assert response.status_code == 404
