"""Exports: GeoJSON, CSV and GeoPackage of a selection read back with geopandas give the
same features and values as the API; CSV keeps the local letters; bad requests and
selections over the limit are refused before anything is sent."""

import io

import geopandas as gpd
import pandas as pd
import pytest

from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import feature

NARRATIVE = "Grupa kod Šćepan Polja, čamac na Drini; vozač đak — Ђорђе Шћепановић"
WINDOW = "2026-01-01T00:00:00Z/2026-12-31T23:59:59Z"


@pytest.fixture
async def stored(client, db, geography):
    frame = synthetic.incidents(geography, 600, seed=11)
    report = await bulk_import.import_table(db, SERVICE, geography, Table.of_points(frame))
    assert report.created == 600
    body = feature(
        "GP-ŠĆ-1",
        narrative=NARRATIVE,
        occurred_at="2026-06-01T22:15:00+02:00",
        crossing_point=None,
    )
    created = await client.post("/api/v1/incidents", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def api_features(client, query: str) -> dict[int, dict]:
    out: dict[int, dict] = {}
    url = f"/api/v1/incidents?limit=1000&{query}"
    while url:
        body = (await client.get(url)).json()
        out.update({f["id"]: f for f in body["features"]})
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return out


@pytest.mark.parametrize("query", ["", "category=unauthorised_crossing&agency=BIH_BP"])
async def test_geojson_and_gpkg_read_back_as_the_api_serves_them(client, stored, query, tmp_path):
    expected = await api_features(client, query)
    assert len(expected) > 20

    geojson = await client.get(f"/api/v1/exports?format=geojson&{query}")
    assert geojson.status_code == 200 and geojson.headers["content-type"] == "application/geo+json"
    assert int(geojson.headers["x-matched"]) == len(expected)
    assert "attachment" in geojson.headers["content-disposition"]
    collection = geojson.json()
    # The very documents the API serves, feature by feature.
    assert {f["id"]: f for f in collection["features"]} == expected

    frame = gpd.read_file(io.BytesIO(geojson.content))
    assert sorted(frame["id"]) == sorted(expected)

    gpkg = await client.get(f"/api/v1/exports?format=gpkg&{query}")
    assert gpkg.status_code == 200
    (tmp_path / "x.gpkg").write_bytes(gpkg.content)
    layers = gpd.read_file(tmp_path / "x.gpkg", layer="incidents")
    assert sorted(layers["id"]) == sorted(expected)
    assert layers.crs.to_epsg() == 4326
    for row in layers.itertuples():
        f = expected[row.id]
        p = f["properties"]
        assert (row.geometry.x, row.geometry.y) == pytest.approx(f["geometry"]["coordinates"])
        assert row.category == p["category"] and row.agency == p["agency"]
        assert row.external_ref == p["external_ref"] and row.border_section == p["border_section"]
        assert row.persons_involved == p["persons_involved"]
        assert row.persons_apprehended == sum(g["persons"] for g in p["apprehensions"])
        assert pd.Timestamp(row.occurred_at) == pd.Timestamp(p["occurred_at"])
        assert (row.narrative if isinstance(row.narrative, str) else None) == p["narrative"]


async def test_csv_opens_with_its_letters_and_iso_times(client, stored):
    response = await client.get("/api/v1/exports?format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # spreadsheets then read UTF-8
    frame = pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig", dtype=str)
    expected = await api_features(client, "")
    assert sorted(frame["id"].astype(int)) == sorted(expected)
    mine = frame[frame["external_ref"] == "GP-ŠĆ-1"].iloc[0]
    assert mine["narrative"] == NARRATIVE
    assert mine["occurred_at"] == "2026-06-01T20:15:00Z"
    assert mine["nationalities"] == "; ".join(
        f"{g['nationality']}:{g['persons']}"
        for g in sorted(expected[int(mine["id"])]["properties"]["apprehensions"],
                        key=lambda g: g["nationality"])
    )  # fmt: skip
    for row in frame.itertuples():
        p = expected[int(row.id)]["properties"]
        assert row.occurred_at == p["occurred_at"] and row.category == p["category"]
        assert float(row.longitude) == pytest.approx(
            expected[int(row.id)]["geometry"]["coordinates"][0], abs=1e-6
        )


async def test_an_empty_selection_is_a_valid_empty_file(client, stored, tmp_path):
    query = "datetime=2001-01-01T00:00:00Z/2001-01-02T00:00:00Z"
    geojson = await client.get(f"/api/v1/exports?format=geojson&{query}")
    assert geojson.json() == {"type": "FeatureCollection", "features": []}
    gpkg = await client.get(f"/api/v1/exports?format=gpkg&{query}")
    (tmp_path / "x.gpkg").write_bytes(gpkg.content)
    assert len(gpd.read_file(tmp_path / "x.gpkg", layer="incidents")) == 0
    csv = await client.get(f"/api/v1/exports?format=csv&{query}")
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("id,agency,external_ref")


async def test_bad_exports_are_refused_saying_why(client, stored, app, monkeypatch):
    unknown = await client.get("/api/v1/exports?format=xlsx")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["errors"][0]["field"] == "format"

    bad_filter = await client.get("/api/v1/exports?format=csv&category=sheep")
    assert bad_filter.status_code == 400 and bad_filter.json()["errors"][0]["field"] == "category"

    # What the caller may see of the 601 stored: BiH's own and the partners' shared.
    matched = int((await client.get("/api/v1/exports?format=csv")).headers["x-matched"])
    assert 300 < matched < 601
    monkeypatch.setattr(app.state.settings, "export_max_incidents", matched - 1)
    over = await client.get("/api/v1/exports?format=csv")
    assert over.status_code == 422
    error = over.json()["errors"][0]
    assert error["field"] == "selection" and f"{matched} incidents" in error["reason"]
    assert f"limit of {matched - 1}" in error["reason"]
    monkeypatch.setattr(app.state.settings, "export_max_incidents", matched)
    assert (await client.get("/api/v1/exports?format=csv")).status_code == 200
