"""POST /api/v1/imports: CSV, GeoJSON, GeoPackage and GeoParquet, all or nothing.

The client is an officer of BiH's border police: every file holds that agency's records (a
partner's are refused, see test_authentication.py), wherever they lie.
"""

import geopandas as gpd
import orjson
from shapely.geometry import Point
from sqlalchemy import text

from tests.factories import feature

URL = "/api/v1/imports"

CSV = (
    "agency,external_ref,category,occurred_at,lon,lat,persons_involved,sharing,narrative,apprehensions\n"
    "BIH_BP,CSV-1,unauthorised_crossing,2026-11-28T02:40:00+01:00,19.1031,44.3921,7,pcc,"
    '"Grupa kod Zvornika: č ć đ š ž","[{""nationality"": ""AFG"", ""persons"": 5, ""minors"": 2}]"\n'
    "BIH_BP,CSV-2,excise_smuggling,2026-11-27T22:00:00Z,19.13,44.38,,national,Цигарете,\n"
    "BIH_BP,CSV-3,drug_smuggling,2026-11-26T23:15:00+01:00,18.55,42.85,2,pcc,,\n"
)


async def count(db, table: str = "incidents") -> int:
    async with db.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()


async def test_csv_with_lon_lat_columns(client, db):
    response = await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    assert response.json() == {
        "received": 3,
        "created": 3,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    }
    listed = (await client.get("/api/v1/incidents?limit=10")).json()["features"]
    by_ref = {f["properties"]["external_ref"]: f["properties"] for f in listed}
    assert by_ref["CSV-1"]["narrative"] == "Grupa kod Zvornika: č ć đ š ž"
    assert by_ref["CSV-2"]["narrative"] == "Цигарете"
    assert by_ref["CSV-1"]["apprehensions"] == [
        {"nationality": "AFG", "persons": 5, "minors": 2, "women": 0}
    ]
    assert by_ref["CSV-1"]["country"] == "BIH" and by_ref["CSV-2"]["country"] == "SRB"
    assert by_ref["CSV-3"]["border_pair"] == "BIH-MNE"
    assert by_ref["CSV-1"]["occurred_at"] == "2026-11-28T01:40:00Z"
    # The same single incident through POST /incidents is the same submission.
    single = feature(
        "CSV-3",
        agency="BIH_BP",
        category="drug_smuggling",
        occurred_at="2026-11-26T23:15:00+01:00",
        coordinates=[18.55, 42.85],
        persons_involved=2,
        sharing="pcc",
        narrative=None,
        apprehensions=[],
        location_accuracy_m=None,
        direction=None,
        attempted=None,
        detection=None,
        means=None,
        impact=None,
    )
    again = await client.post("/api/v1/incidents", json=single)
    assert again.status_code == 200, again.text


async def test_csv_with_a_wkt_column(client, db):
    body = (
        "agency,external_ref,category,occurred_at,wkt\n"
        "BIH_BP,W-1,stolen_vehicle,2026-11-20T10:00:00Z,POINT (19.33 44.90)\n"
    )
    response = await client.post(URL, content=body.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    assert await count(db) == 1


async def test_one_bad_row_refuses_the_whole_import_and_lists_every_bad_row(client, db):
    bad = CSV + (
        "BIH_BP,CSV-4,fishing,2026-11-28T02:40:00+01:00,19.10,44.39,,,,\n"
        "BIH_BP,CSV-5,unauthorised_crossing,2026-11-28T02:40:00,19.10,44.39,,,,\n"
        "BIH_BP,CSV-6,unauthorised_crossing,2026-11-28T02:40:00Z,2.35,48.85,,,,\n"
        "BIH_BP,CSV-7,unauthorised_crossing,2026-11-28T02:40:00Z,abc,44.39,,,,\n"
        "BIH_BP,CSV-1,unauthorised_crossing,2026-11-28T02:40:00Z,19.10,44.39,,,,\n"
        'BIH_BP,CSV-8,unauthorised_crossing,2026-11-28T02:40:00Z,19.10,44.39,1,,,"[{""nationality"": ""AFG"", ""persons"": 3}]"\n'
    )
    response = await client.post(URL, content=bad.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"].startswith("6 of 9 rows were refused; nothing was imported")
    reasons = {(e["row"], e["field"]): e["reason"] for e in problem["errors"]}
    assert "unknown category 'fishing'" in reasons[(4, "category")]
    assert "UTC offset" in reasons[(5, "occurred_at")]
    assert "outside the monitored region" in reasons[(6, "geometry")]
    assert "must be a number" in reasons[(7, "lon")]
    assert "appears earlier" in reasons[(8, "external_ref")]
    assert "exceed" in reasons[(9, "persons_involved")]
    assert await count(db) == 0


async def test_skip_invalid_imports_the_good_rows(client, db):
    bad = CSV + "BIH_BP,CSV-4,fishing,2026-11-28T02:40:00+01:00,19.10,44.39,,,,\n"
    response = await client.post(
        f"{URL}?skip_invalid=true", content=bad.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["created"], report["rejected"]) == (3, 1)
    assert report["errors"][0]["row"] == 4
    assert await count(db) == 3


async def test_importing_the_same_rows_again_changes_nothing(client, db):
    first = await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    again = await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert first.status_code == again.status_code == 201
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 3)
    assert await count(db) == 3 and await count(db, "apprehensions") == 1


async def test_a_changed_row_under_a_stored_reference_is_refused(client, db):
    await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    changed = CSV.replace(",7,pcc,", ",8,pcc,")
    response = await client.post(
        URL, content=changed.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == 1
    assert "different content" in response.json()["errors"][0]["reason"]


async def test_geojson_feature_collection(client, db):
    collection = {
        "type": "FeatureCollection",
        "features": [feature("FC-1"), feature("FC-2", coordinates=[19.13, 44.38], agency="BIH_BP")],
    }
    collection["features"].append(
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[19.1, 44.3], [19.2, 44.4]]},
            "properties": feature("FC-3")["properties"],
        }
    )
    response = await client.post(
        URL, content=orjson.dumps(collection), headers={"Content-Type": "application/geo+json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"row": 3, "field": "geometry", "reason": "must be a Point, not a LineString"}
    ]
    collection["features"].pop()
    response = await client.post(
        URL, content=orjson.dumps(collection), headers={"Content-Type": "application/geo+json"}
    )
    assert response.status_code == 201, response.text
    assert await count(db) == 2 and await count(db, "apprehensions") == 4


async def test_geopackage(client, db, tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "agency": ["BIH_BP", "BIH_BP"],
            "external_ref": ["GPKG-1", "GPKG-2"],
            "category": ["unauthorised_crossing", "migrant_smuggling"],
            "occurred_at": ["2026-11-28T02:40:00+01:00", "2026-11-27T01:00:00Z"],
            "persons_involved": [3, 4],
            "apprehensions": ['[{"nationality": "SYR", "persons": 3}]', None],
        },
        geometry=[Point(19.10, 44.39), Point(19.13, 44.38)],
        crs="EPSG:4326",
    )
    path = tmp_path / "incidents.gpkg"
    frame.to_file(path, engine="pyogrio")
    response = await client.post(
        URL, content=path.read_bytes(), headers={"Content-Type": "application/geopackage+sqlite3"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["created"] == 2
    assert await count(db, "apprehensions") == 1


async def test_an_unreadable_body_is_a_400_problem(client, db):
    response = await client.post(
        URL, content=b"\x00\x01garbage", headers={"Content-Type": "application/geopackage+sqlite3"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    response = await client.post(URL, content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "lon and lat" in response.json()["detail"]


async def test_wrong_type_and_oversized_imports(client, app, db):
    response = await client.post(URL, content=b"x", headers={"Content-Type": "application/pdf"})
    assert response.status_code == 415
    limit = app.state.settings.max_import_bytes
    app.state.settings.max_import_bytes = 100
    try:
        response = await client.post(
            URL, content=CSV.encode(), headers={"Content-Type": "text/csv"}
        )
    finally:
        app.state.settings.max_import_bytes = limit
    assert response.status_code == 413
    assert await count(db) == 0


async def test_a_date_without_a_time_or_offset_is_refused(client, db):
    body = "agency,external_ref,category,occurred_at,lon,lat\nBIH_BP,D-1,other_crime,2026-11-28,19.10,44.39\n"
    response = await client.post(URL, content=body.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert "UTC offset" in response.json()["errors"][0]["reason"]


async def test_counts_beyond_what_is_plausible_are_refused_not_a_500(client, db):
    body = (
        "agency,external_ref,category,occurred_at,lon,lat,apprehensions\n"
        'BIH_BP,BIG-1,unauthorised_crossing,2026-11-28T02:40:00Z,19.10,44.39,"[{""nationality"": ""AFG"", ""persons"": 18446744073709551615}]"\n'
        'BIH_BP,BIG-2,unauthorised_crossing,2026-11-28T02:40:00Z,19.10,44.39,"[{""nationality"": ""AFG"", ""persons"": 3000000000}]"\n'
        'BIH_BP,BIG-3,unauthorised_crossing,2026-11-28T02:40:00Z,19.10,44.39,"[{""nationality"": ""AFG"", ""persons"": 6000}, {""nationality"": ""PAK"", ""persons"": 6000}]"\n'
    )
    response = await client.post(URL, content=body.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 422, response.text
    assert {e["row"] for e in response.json()["errors"]} == {1, 2, 3}
    assert await count(db) == 0


async def test_a_reference_of_a_deleted_incident_is_a_row_error(client, db):
    await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    listed = (await client.get("/api/v1/incidents?agency=BIH_BP")).json()["features"]
    assert (await client.delete(f"/api/v1/incidents/{listed[0]['id']}")).status_code == 204
    response = await client.post(URL, content=CSV.encode(), headers={"Content-Type": "text/csv"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {
            "row": 1,
            "field": "external_ref",
            "reason": "'CSV-1' of BIH_BP belongs to a deleted incident; use a new reference",
        }
    ]


async def test_geoparquet_with_nested_apprehension_groups(client, db, tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "agency": ["BIH_BP"],
            "external_ref": ["PQ-1"],
            "category": ["unauthorised_crossing"],
            "occurred_at": ["2026-11-28T02:40:00+01:00"],
            "apprehensions": [[{"nationality": "SYR", "persons": 3, "minors": 1, "women": 0}]],
        },
        geometry=[Point(19.10, 44.39)],
        crs="EPSG:4326",
    )
    path = tmp_path / "nested.parquet"
    frame.to_parquet(path)
    response = await client.post(
        URL, content=path.read_bytes(), headers={"Content-Type": "application/vnd.apache.parquet"}
    )
    assert response.status_code == 201, response.text
    stored = (await client.get("/api/v1/incidents")).json()["features"][0]["properties"]
    assert stored["apprehensions"] == [
        {"nationality": "SYR", "persons": 3, "minors": 1, "women": 0}
    ]
    assert stored["persons_involved"] == 3
