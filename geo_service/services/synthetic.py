"""Synthetic incidents along the monitored borders: deterministic for a seed.

Plausible in shape (most near the Drina crossings, at night, with apprehension groups), but
no scenario: for benchmarks, tests and a first demo.
"""

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geo_service import domain
from geo_service.geo import crs
from geo_service.geo.locate import country_of, in_region
from geo_service.geo.reference import Geography

# Places where crossings concentrate (DESIGN.md), as lon, lat with a relative weight.
HUBS = (
    (19.11, 44.40, 5.0),  # Zvornik, Kozluk, Mali Zvornik
    (19.33, 44.19, 2.5),  # Bratunac
    (19.29, 43.78, 2.0),  # Višegrad
    (19.37, 43.62, 1.5),  # Rudo
    (18.34, 42.71, 2.0),  # Trebinje
    (18.43, 42.87, 1.5),  # Bileća
    (19.33, 44.90, 1.5),  # Rača
)
CATEGORY_WEIGHTS = {
    "unauthorised_crossing": 0.55,
    "migrant_smuggling": 0.14,
    "trafficking_in_human_beings": 0.02,
    "drug_smuggling": 0.07,
    "weapons_smuggling": 0.01,
    "excise_smuggling": 0.08,
    "stolen_vehicle": 0.04,
    "document_fraud": 0.05,
    "other_crime": 0.03,
    "crisis": 0.01,
}
NATIONALITY_WEIGHTS = {
    "AFG": 0.25,
    "PAK": 0.22,
    "MAR": 0.12,
    "BGD": 0.08,
    "IRQ": 0.07,
    "SYR": 0.06,
    "IRN": 0.05,
    "TUR": 0.05,
    "EGY": 0.04,
    "IND": 0.03,
    "NPL": 0.03,
}
AGENCY_OF_COUNTRY = {"BIH": "BIH_BP", "SRB": "SRB_BP", "MNE": "MNE_BP"}
PEOPLE = ("unauthorised_crossing", "migrant_smuggling", "trafficking_in_human_beings", "crisis")


def _pick(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array(list(weights.values()))
    return rng.choice(keys, size=n, p=p / p.sum())


def _locations(rng: np.random.Generator, geo: Geography, n: int) -> tuple[np.ndarray, np.ndarray]:
    sections = geo.sections[geo.sections["border"].isin(["BIH-SRB", "BIH-MNE", "SRB-MNE"])]
    metric = sections.to_crs(crs.METRIC).geometry.values
    mid = gpd.GeoSeries(
        shapely.line_interpolate_point(sections.geometry.values, 0.5, normalized=True)
    )
    weight = np.full(len(sections), 0.3)
    for lon, lat, w in HUBS:
        d_km = np.hypot((mid.x - lon) * 80, (mid.y - lat) * 111)
        weight += w * np.exp(-((d_km / 15.0) ** 2))
    pick = rng.choice(len(sections), size=n, p=weight / weight.sum())
    along = shapely.line_interpolate_point(metric[pick], rng.random(n), normalized=True)
    x = shapely.get_x(along) + rng.normal(0, 2500, n)
    y = shapely.get_y(along) + rng.normal(0, 2500, n)
    lon, lat = crs.metric_transformer().transform(x, y, direction="INVERSE")
    return np.asarray(lon), np.asarray(lat)


def incidents(
    geo: Geography,
    n: int,
    *,
    seed: int = 1,
    start: datetime | None = None,
    end: datetime | None = None,
) -> gpd.GeoDataFrame:
    """`n` synthetic incidents between `start` and `end` (default: the 730 days up to now)."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    start = start or end - timedelta(days=730)
    lon, lat = _locations(rng, geo, n)
    outside = ~in_region(geo, lon, lat)
    lon[outside], lat[outside] = 19.10, 44.39  # rare far tails go back to Zvornik

    # Most crossings happen at night: hours drawn around 02:00 local time.
    span_days = max((end - start).days, 1)
    day = rng.integers(0, span_days, n)
    hour = (rng.normal(2.0, 3.5, n) % 24) - 1.0  # local (UTC+1) to UTC
    when = (
        np.datetime64(start.replace(tzinfo=None), "s")
        + day.astype("timedelta64[D]")
        + (hour * 3600).astype("timedelta64[s]")
    )
    when = np.minimum(when, np.datetime64(end.replace(tzinfo=None), "s"))
    when = np.maximum(when, np.datetime64(start.replace(tzinfo=None), "s"))

    category = _pick(rng, CATEGORY_WEIGHTS, n)
    country = country_of(geo, lon, lat)
    agency = np.array([AGENCY_OF_COUNTRY.get(c, "PCC") for c in country], dtype=object)
    people = np.isin(category, PEOPLE)
    involved = np.where(people, 1 + rng.geometric(0.25, n), rng.integers(1, 4, n))
    groups: list[str | None] = []
    for i in range(n):
        if not people[i] or rng.random() < 0.3:
            groups.append(None)
            continue
        k = 1 if involved[i] < 4 else int(rng.integers(1, 3))
        nats = list(dict.fromkeys(_pick(rng, NATIONALITY_WEIGHTS, 3)))[:k]
        left = int(involved[i])
        out = []
        for j, nat in enumerate(nats):
            persons = left if j == len(nats) - 1 else max(1, left // 2)
            left -= persons
            if persons < 1:
                break
            minors = int(rng.binomial(persons, 0.15))
            women = int(rng.binomial(persons, 0.1))
            out.append({"nationality": nat, "persons": persons, "minors": minors, "women": women})
        groups.append(orjson.dumps(out).decode())

    frame = pd.DataFrame(
        {
            "agency": agency,
            "external_ref": [f"SYN-{seed}-{i:08d}" for i in range(n)],
            "category": category,
            "occurred_at": [
                t.isoformat() + "Z" for t in when.astype("datetime64[s]").astype(object)
            ],
            "location_accuracy_m": rng.choice([10.0, 50.0, 100.0, 500.0], n),
            "direction": rng.choice(["entry", "exit", "unknown"], n, p=[0.7, 0.2, 0.1]),
            "attempted": rng.random(n) < 0.2,
            "detection": rng.choice(domain.DETECTIONS, n, p=[0.3, 0.45, 0.2, 0.05]),
            "means": rng.choice(domain.MEANS, n, p=[0.6, 0.25, 0.05, 0.05, 0.05]),
            "persons_involved": involved,
            "impact": rng.choice(domain.IMPACTS, n, p=[0.6, 0.3, 0.1]),
            "sharing": rng.choice(domain.SHARINGS, n, p=[0.15, 0.85]),
            "apprehensions": groups,
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    # In time order, as reports arrive (and as a store fills: rows of a period lie together).
    return out.sort_values("occurred_at", kind="stable").reset_index(drop=True)


def write(frame: gpd.GeoDataFrame, path: str) -> None:
    """Write synthetic incidents as CSV (lon/lat), GeoJSON, GeoPackage or GeoParquet."""
    if path.endswith(".csv"):
        out = pd.DataFrame(frame.drop(columns="geometry"))
        out.insert(4, "lon", frame.geometry.x.round(6))
        out.insert(5, "lat", frame.geometry.y.round(6))
        out.to_csv(path, index=False)
    elif path.endswith((".parquet", ".geoparquet")):
        frame.to_parquet(path)
    else:
        frame.to_file(path, engine="pyogrio")
