"""Demo incidents drawn from a scenario file: deterministic for a seed, shaped by the
scenario's yearly volumes, seasons, hours, hubs, categories, nationalities and routes.

Points are placed on the detecting country's side of the border they cross, the scenario's
distance from the line (measured on the border sections' 25 m segments, in metres), so that
the reporting border police is always the one of the country the point lies in.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd

from geo_service.geo import crs
from geo_service.geo.locate import country_of, place
from geo_service.geo.reference import Geography

AGENCY_OF_COUNTRY = {"BIH": "BIH_BP", "SRB": "SRB_BP", "MNE": "MNE_BP"}
MONITORED = ("BIH-SRB", "BIH-MNE", "SRB-MNE")
LOCAL = "Europe/Sarajevo"


def _pick(rng: np.random.Generator, weights: dict[Any, float], n: int) -> np.ndarray:
    keys = np.array(list(weights), dtype=object)
    p = np.array([float(v) for v in weights.values()])
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _border_of(countries: list[str]) -> str:
    a, b = sorted(countries)
    pair = f"{a}-{b}"
    return pair if pair in MONITORED else f"{b}-{a}"


class Placer:
    """Points on a chosen side of the monitored borders, from the sections' segments."""

    def __init__(self, geo: Geography) -> None:
        self.geo = geo
        self.start = geo.segment_start
        self.end = geo.segment_end
        self.border = geo.section_borders[geo.segment_section]
        self.section = geo.section_ids[geo.segment_section]
        self.monitored = np.flatnonzero(np.isin(self.border, MONITORED))
        self._to_metric = crs.metric_transformer()

    def metric(self, lon: float, lat: float) -> np.ndarray:
        return np.array(self._to_metric.transform(lon, lat))

    def near(self, centre: np.ndarray, border: str, sd_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Segments of `border` around `centre` and their chances (normal, sd `sd_m`)."""
        idx = self.monitored[self.border[self.monitored] == border]
        d = np.hypot(*(self.start[idx] - centre).T)
        keep = d < 4 * sd_m
        idx, d = idx[keep], d[keep]
        p = np.exp(-0.5 * (d / sd_m) ** 2)
        return idx, p / p.sum()

    def along(self, section: str) -> tuple[np.ndarray, np.ndarray]:
        """The segments of one section, equally likely."""
        return _evenly(np.flatnonzero(self.section == section))

    def place(
        self,
        rng: np.random.Generator,
        segments: tuple[np.ndarray, np.ndarray],
        sides: np.ndarray,
        offset_m: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude of points `offset_m` from a segment drawn from `segments`,
        on the side of each point's country in `sides` (drawn again where that fails)."""
        n = len(sides)
        lon, lat = np.zeros(n), np.zeros(n)
        todo = np.arange(n)
        offset_m = offset_m.astype(float).copy()
        for attempt in range(40):
            if not len(todo):
                break
            if attempt >= 20:  # hard places (a narrow side near a tripoint): come closer
                offset_m[todo] = np.maximum(offset_m[todo] / 2, 20.0)
            k = len(todo)
            seg = rng.choice(segments[0], size=k, p=segments[1])
            a, b = self.start[seg], self.end[seg]
            base = a + (b - a) * rng.random(k)[:, None]
            direction = b - a
            length = np.hypot(*direction.T)
            length[length == 0] = 1.0
            normal = np.column_stack([-direction[:, 1], direction[:, 0]]) / length[:, None]
            away = normal * offset_m[todo][:, None]
            placed = np.zeros(k, dtype=bool)
            for candidate in (base + away, base - away):
                x, y = candidate.T
                clon, clat = self._to_metric.transform(x, y, direction="INVERSE")
                clon, clat = np.asarray(clon), np.asarray(clat)
                right = (country_of(self.geo, clon, clat) == sides[todo]) & ~placed
                lon[todo[right]], lat[todo[right]] = clon[right], clat[right]
                placed |= right
            todo = todo[~placed]
        if len(todo):
            raise RuntimeError(f"{len(todo)} points could not be placed on their side")
        return np.round(lon, 6), np.round(lat, 6)

    def border_segments(self, border: str) -> tuple[np.ndarray, np.ndarray]:
        """The segments of one monitored border, equally likely."""
        return _evenly(self.monitored[self.border[self.monitored] == border])


def _evenly(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return idx, np.full(len(idx), 1.0 / len(idx))


def _daily_volume(scenario: dict[str, Any], days: pd.DatetimeIndex, scale: float) -> np.ndarray:
    """Expected incidents on each day: the year's volume spread by the month weights."""
    volume = scenario["volume"]
    arrivals = {int(y): float(v) for y, v in volume["arrivals"].items()}
    months = np.array(scenario["season"]["months"], dtype=float)
    out = np.zeros(len(days))
    for year in np.unique(days.year):
        known = [y for y in arrivals if y <= year] or [min(arrivals)]
        total = arrivals[max(known)] * volume["incidents_per_arrival"] * scale
        in_year = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        weights = months[in_year.month - 1]
        per_day = total * weights / weights.sum()
        lookup = dict(zip(in_year.day_of_year, per_day, strict=True))
        mask = days.year == year
        out[mask] = [lookup[d] for d in days[mask].day_of_year]
    return out


def _times(
    rng: np.random.Generator, scenario: dict[str, Any], days: pd.DatetimeIndex, counts: np.ndarray
) -> pd.DatetimeIndex:
    """Instants (UTC) on the given days, `counts` per day, at the scenario's local hours."""
    hours = np.array(scenario["time_of_day"]["hours"], dtype=float)
    n = int(counts.sum())
    day = np.repeat(days.values, counts)
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    local = pd.DatetimeIndex(day + seconds.astype("timedelta64[s]"))
    utc = local.tz_localize(LOCAL, ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward")
    return utc.tz_convert("UTC")


def _nationality_mix(scenario: dict[str, Any], year: int) -> dict[str, float]:
    mixes = {int(y): m for y, m in scenario["nationalities"].items()}
    known = [y for y in mixes if y <= year] or [min(mixes)]
    return mixes[max(known)]


def _groups(
    rng: np.random.Generator, scenario: dict[str, Any], years: np.ndarray, people: np.ndarray
) -> tuple[np.ndarray, list[str | None]]:
    g = scenario["groups"]
    n = len(years)
    size = np.minimum(rng.zipf(g["zipf"], n) + rng.integers(0, 2, n), g["max"])
    involved = np.where(people, size, rng.integers(1, g["suspects_max"] + 1, n))
    first = np.empty(n, dtype=object)
    second = np.empty(n, dtype=object)
    for year in np.unique(years):
        mask = years == year
        mix = _nationality_mix(scenario, int(year))
        first[mask] = _pick(rng, mix, int(mask.sum()))
        second[mask] = _pick(rng, mix, int(mask.sum()))
    mixed = (rng.random(n) < g["mixed"]) & (involved >= 2) & (second != first)
    split = np.where(mixed, np.maximum(1, involved // 2), involved)
    minors_a = rng.binomial(split, g["minors"])
    women_a = rng.binomial(split, g["women"])
    rest = involved - split
    minors_b = rng.binomial(np.maximum(rest, 0), g["minors"])
    women_b = rng.binomial(np.maximum(rest, 0), g["women"])
    out: list[str | None] = []
    for i in range(n):
        if not people[i]:
            out.append(None)
            continue
        groups = [
            {"nationality": first[i], "persons": int(split[i]), "minors": int(minors_a[i]),
             "women": int(women_a[i])}
        ]  # fmt: skip
        if mixed[i]:
            groups.append(
                {"nationality": second[i], "persons": int(rest[i]), "minors": int(minors_b[i]),
                 "women": int(women_b[i])}
            )  # fmt: skip
            groups.sort(key=lambda grp: grp["nationality"])
        out.append(orjson.dumps(groups).decode())
    return involved, out


def _choose(
    rng: np.random.Generator, scenario: dict[str, Any], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each incident's category, and its hub given the category (-1: the green border)."""
    categories = {k: v for k, v in scenario["categories"].items() if not isinstance(v, dict)}
    category = _pick(rng, categories, n)
    hubs = scenario["hubs"]
    affinity = scenario["categories"].get("hubs", {})
    hub = np.full(n, -1)
    green = rng.random(n) < scenario["placement"]["green_border"]
    for c in categories:
        mask = (category == c) & ~green
        weights = np.array([h["weight"] * affinity.get(c, {}).get(h["name"], 1.0) for h in hubs])
        hub[mask] = rng.choice(len(hubs), size=int(mask.sum()), p=weights / weights.sum())
    return category, hub


def sample(
    geo: Geography, scenario: dict[str, Any], when: datetime, rng: np.random.Generator
) -> dict[str, Any]:
    """One incident of the scenario at `when`, as a GeoJSON Feature an officer would send."""
    instant = pd.DatetimeIndex([pd.Timestamp(when)])
    row = _draw(rng, geo, Placer(geo), scenario, instant, *_choose(rng, scenario, 1), route=None)
    record = row.iloc[0]
    properties: dict[str, Any] = {
        str(key): (value.item() if hasattr(value, "item") else value)
        for key, value in record.items()
        if not str(key).startswith("_") and key not in ("lon", "lat") and value is not None
    }
    groups = properties.pop("apprehensions", None)
    properties["apprehensions"] = orjson.loads(groups) if groups else []
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [float(record.lon), float(record.lat)]},
        "properties": properties,
    }


def generate(
    geo: Geography,
    scenario: dict[str, Any],
    start: date,
    end: date,
    *,
    scale: float = 1.0,
    seed: int = 1,
    now: datetime | None = None,
) -> gpd.GeoDataFrame:
    """The scenario's incidents from `start` to `end` (days, end excluded; nothing after
    `now`, by default the present), in time order, as the columns `geo-service import`
    reads."""
    rng = np.random.default_rng(seed)
    placer = Placer(geo)
    days = pd.date_range(start, end - timedelta(days=1), freq="D")
    counts = rng.poisson(_daily_volume(scenario, days, scale))
    when = _times(rng, scenario, days, counts)
    n = len(when)
    frame = _draw(rng, geo, placer, scenario, when, *_choose(rng, scenario, n), route=None)
    for r, route in enumerate(scenario.get("routes", [])):
        frame = pd.concat([frame, _route(rng, geo, placer, scenario, route, r, days, scale)])
    # Nothing after the moment of generation (a period reaching into today is cut there).
    frame = frame[frame["_when"] <= pd.Timestamp(now or datetime.now(UTC))]
    frame = frame.sort_values(["_when", "_order"], kind="stable").reset_index(drop=True)
    name = scenario["name"]
    frame.insert(1, "external_ref", [f"DEMO-{name}-{seed}-{i:07d}" for i in range(len(frame))])
    frame = frame.drop(columns=["_when", "_order"])
    for column in ("apprehensions", "crossing_point"):  # missing stays None, not NaN
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    geometry = gpd.points_from_xy(frame.pop("lon"), frame.pop("lat"))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _route(
    rng: np.random.Generator,
    geo: Geography,
    placer: Placer,
    scenario: dict[str, Any],
    route: dict[str, Any],
    r: int,
    days: pd.DatetimeIndex,
    scale: float,
) -> pd.DataFrame:
    """A route's incidents: on its section, over its active days, rising or falling."""
    total = len(days)
    if route["ramp"] == "rising":
        first = total - route["last_days"]
        active = np.arange(total) >= first
        factor = np.clip((np.arange(total) - first + 1) / route["last_days"], 0, 1)
    else:
        last = total - route["until_days_before_end"]
        active = np.arange(total) < last
        floor = route.get("floor", 0.0)  # the share of its first strength it falls to
        factor = np.clip(1 - (1 - floor) * np.arange(total) / max(last, 1), 0, 1)
    expected = np.where(active, route["per_day"] * factor * scale, 0.0)
    counts = rng.poisson(expected)
    when = _times(rng, scenario, days, counts)
    n = len(when)
    category = np.full(n, route["category"], dtype=object)
    return _draw(rng, geo, placer, scenario, when, category, np.full(n, -2), route=(r, route))


def _draw(
    rng: np.random.Generator,
    geo: Geography,
    placer: Placer,
    scenario: dict[str, Any],
    when: pd.DatetimeIndex,
    category: np.ndarray,
    hub: np.ndarray,
    route: tuple[int, dict[str, Any]] | None,
) -> pd.DataFrame:
    """Everything about incidents whose time, category and hub (or route) are drawn."""
    n = len(when)
    placement = scenario["placement"]
    reporting = scenario["reporting"]
    offset = np.minimum(rng.exponential(placement["mean_km"] * 1000, n), placement["max_km"] * 1000)
    offset = np.maximum(offset, 30.0)
    side = np.empty(n, dtype=object)
    lon, lat = np.zeros(n), np.zeros(n)
    crossing = np.full(n, None, dtype=object)
    means = _pick(rng, reporting["means"], n)
    detection = _pick(rng, reporting["detection"], n)
    hubs = scenario["hubs"]
    groups_of_place: list[tuple[np.ndarray, dict[str, float], Any, dict[str, Any] | None]] = []
    if route is not None:
        along = placer.along(route[1]["section"])
        groups_of_place.append((np.arange(n), route[1]["side"], along, None))
    else:
        green = np.flatnonzero(hub == -1)
        if len(green):
            groups_of_place.append((green, {"BIH": 0.5, "SRB": 0.35, "MNE": 0.15}, None, None))
        for h, spec in enumerate(hubs):
            idx = np.flatnonzero(hub == h)
            if len(idx):
                groups_of_place.append((idx, spec["side"], None, spec))
    for idx, sides_mix, segments, spec in groups_of_place:
        if spec is None and segments is None:
            # The green border: a border drawn by its length, either side of it.
            lengths = np.array([np.sum(placer.border[placer.monitored] == b) for b in MONITORED])
            on = np.array(MONITORED, dtype=object)[
                rng.choice(len(MONITORED), size=len(idx), p=lengths / lengths.sum())
            ]
            for b in MONITORED:
                sub = idx[on == b]
                if not len(sub):
                    continue
                first, second = b.split("-")
                sides = np.where(rng.random(len(sub)) < 0.5, first, second).astype(object)
                lon[sub], lat[sub] = placer.place(
                    rng, placer.border_segments(b), sides, offset[sub]
                )
                side[sub] = sides
            continue
        sides = _pick(rng, sides_mix, len(idx))
        if spec is not None and "crossing_point" in spec:
            cp = geo.crossing_points.set_index("id").loc[spec["crossing_point"]]
            centre = placer.metric(cp.geometry.x, cp.geometry.y)
            segments = placer.near(centre, cp["border"], 150.0)
            offset[idx] = np.minimum(np.abs(rng.normal(0, 150.0, len(idx))) + 20.0, 400.0)
            crossing[idx] = spec["crossing_point"]
            detection[idx] = "border_check"
            means[idx] = np.where(
                rng.random(len(idx)) < 0.75, spec.get("means", "vehicle"), "train"
            )
        elif spec is not None:
            centre = placer.metric(spec["lon"], spec["lat"])
            border = _border_of(list(spec["side"]))
            segments = placer.near(centre, border, placement["along_km"] * 1000)
        lon[idx], lat[idx] = placer.place(rng, segments, sides, offset[idx])
        side[idx] = sides
        if route is not None:  # a route's incidents are all nearest its own section
            section = route[1]["section"]
            for _ in range(20):
                wrong = idx[place(geo, lon[idx], lat[idx]).border_section != section]
                if not len(wrong):
                    break
                lon[wrong], lat[wrong] = placer.place(rng, segments, side[wrong], offset[wrong])
    people = np.isin(category, scenario["groups"]["categories"])
    years = when.year.to_numpy()
    involved, groups = _groups(rng, scenario, years, people)
    accuracy = {float(k): v for k, v in placement["accuracy_m"].items()}
    frame = pd.DataFrame(
        {
            "agency": [AGENCY_OF_COUNTRY[s] for s in side],
            "category": category,
            "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lon": lon,
            "lat": lat,
            "location_accuracy_m": _pick(rng, accuracy, n).astype(float),
            "direction": _pick(rng, reporting["direction"], n),
            "attempted": rng.random(n) < reporting["attempted"],
            "detection": detection,
            "means": means,
            "persons_involved": involved,
            "crossing_point": crossing,
            "impact": _pick(rng, reporting["impact"], n),
            "sharing": np.where(rng.random(n) < reporting["pcc"], "pcc", "national"),
            "apprehensions": groups,
            "_when": when,
            "_order": np.arange(n) + (0 if route is None else (route[0] + 1) * 10**9),
        }
    )
    return frame


def write(frame: gpd.GeoDataFrame, path: str) -> None:
    """Write incidents as CSV (lon/lat columns), GeoJSON or GeoParquet."""
    if path.endswith(".csv"):
        out = pd.DataFrame(frame.drop(columns="geometry"))
        out.insert(4, "lon", frame.geometry.x)
        out.insert(5, "lat", frame.geometry.y)
        out.to_csv(path, index=False, float_format="%.6f")
    elif path.endswith((".parquet", ".geoparquet")):
        frame.to_parquet(path, index=False)
    elif path.endswith((".geojson", ".json")):
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    else:
        raise ValueError(f"{path}: write .csv, .geojson or .parquet")


def default_period(today: date | None = None) -> tuple[date, date]:
    """About two years up to and including today."""
    today = today or datetime.now(UTC).date()
    return today - timedelta(days=730), today + timedelta(days=1)
