"""Demo scenarios: deterministic, valid through the import's own checks and the API's,
shaped as their files say, placed on the reporting agency's side, with their planted
ground truth in the data."""

import io
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson
import pandas as pd
import pytest

from geo_service.geo.locate import country_of, in_region, place
from geo_service.services import bulk_import, demo
from geo_service.services.readers import Table
from geo_service.services.scenarios import ScenarioError, load_scenario
from geo_service.store.visibility import SERVICE
from tests.credentials import officer_of

COUNTRY_OF_AGENCY = {"BIH_BP": "BIH", "SRB_BP": "SRB", "MNE_BP": "MNE"}
END = date(2026, 11, 29)


@pytest.fixture(scope="module")
def scenarios(settings):
    return {
        name: load_scenario(settings.scenarios_dir, name)
        for name in ("baseline", "surge", "diminishing")
    }


@pytest.fixture(scope="module")
def history(geography, scenarios):
    """Six whole years of the baseline at a fifth of its volume."""
    return demo.generate(
        geography, scenarios["baseline"], date(2018, 1, 1), date(2024, 1, 1), scale=0.2, seed=3
    )


def csv_bytes(frame) -> bytes:
    out = io.StringIO()
    demo_frame = pd.DataFrame(frame.drop(columns="geometry"))
    demo_frame["wkt"] = frame.geometry.to_wkt()
    demo_frame.to_csv(out, index=False)
    return out.getvalue().encode()


def test_the_same_seed_gives_the_same_incidents(geography, scenarios, tmp_path):
    runs = []
    for _ in range(2):
        frame = demo.generate(geography, scenarios["surge"], date(2026, 9, 1), END, seed=11)
        path = tmp_path / f"run{len(runs)}.csv"
        demo.write(frame, str(path))
        runs.append(path.read_bytes())
    assert runs[0] == runs[1] and len(runs[0]) > 100_000
    other = demo.generate(geography, scenarios["surge"], date(2026, 9, 1), END, seed=12)
    assert csv_bytes(other) != csv_bytes(frame)


async def test_every_incident_passes_the_imports_checks(db, geography, scenarios):
    frame = demo.generate(geography, scenarios["surge"], date(2026, 5, 1), END, seed=5)
    table = Table.of_points(frame)
    report = await bulk_import.import_table(db, SERVICE, geography, table)
    assert report.created == len(frame) and not report.rejected


async def test_live_incidents_pass_the_apis_checks(client, geography, scenarios):
    rng = np.random.default_rng(1)
    for i in range(25):
        feature = demo.sample(
            geography, scenarios["baseline"], datetime.now(UTC) - timedelta(minutes=5), rng
        )
        feature["properties"]["external_ref"] = f"LIVE-TEST-{i}"
        response = await client.post("/api/v1/incidents", json=feature, headers=officer_of(feature))
        assert response.status_code == 201, response.text


def test_yearly_totals_follow_the_scenarios_figures(history, scenarios):
    volume = scenarios["baseline"]["volume"]
    years = pd.DatetimeIndex(history["occurred_at"]).tz_convert("Europe/Sarajevo").year
    counts = Counter(years)
    for year in range(2018, 2024):
        expected = volume["arrivals"][str(year)] * volume["incidents_per_arrival"] * 0.2
        assert abs(counts[year] / expected - 1) < 0.05, (year, counts[year], expected)


def test_summer_and_autumn_peak_and_most_crossings_are_at_night(history, scenarios):
    local = pd.DatetimeIndex(history["occurred_at"]).tz_convert("Europe/Sarajevo")
    months = np.bincount(local.month - 1, minlength=12).astype(float)
    weights = np.array(scenarios["baseline"]["season"]["months"])
    assert np.corrcoef(months, weights)[0, 1] > 0.9
    assert months[6:10].sum() > 2 * months[0:3].sum()
    night = np.isin(local.hour, [20, 21, 22, 23, 0, 1, 2, 3, 4]).mean()
    assert night > 0.6


def test_the_nationality_mix_changes_by_year_as_the_file_says(history, scenarios):
    local_year = pd.DatetimeIndex(history["occurred_at"]).tz_convert("Europe/Sarajevo").year
    persons: dict[int, Counter] = {2019: Counter(), 2020: Counter(), 2023: Counter()}
    for year, groups in zip(local_year, history["apprehensions"], strict=True):
        if year in persons and groups:
            for g in orjson.loads(groups):
                persons[year][g["nationality"]] += g["persons"]
    for year, counter in persons.items():
        mix = scenarios["baseline"]["nationalities"][str(year)]
        total = sum(counter.values())
        top = max(mix, key=mix.get)
        assert counter.most_common(1)[0][0] == top
        assert abs(counter[top] / total - mix[top] / sum(mix.values())) < 0.04


def test_groups_are_heavy_tailed_with_minors(history):
    sizes = [
        g["persons"]
        for groups in history["apprehensions"]
        if isinstance(groups, str)
        for g in orjson.loads(groups)
    ]
    minors = sum(
        g["minors"]
        for groups in history["apprehensions"]
        if isinstance(groups, str)
        for g in orjson.loads(groups)
    )
    assert np.median(sizes) <= 3 and max(sizes) >= 20
    assert 0.08 < minors / sum(sizes) < 0.2


def test_points_lie_on_the_reporting_agencys_side_near_the_border(geography, history, scenarios):
    lon, lat = history.geometry.x.to_numpy(), history.geometry.y.to_numpy()
    countries = country_of(geography, lon, lat)
    assert (countries == history["agency"].map(COUNTRY_OF_AGENCY).to_numpy()).all()
    assert in_region(geography, lon, lat).all()
    placed = place(geography, lon, lat)
    km = placed.distance_to_border_m / 1000
    max_km = scenarios["baseline"]["placement"]["max_km"]
    assert (km <= max_km + 0.5).all() and np.mean(km < 5) > 0.9
    # Nearest to a monitored border, but for a few near the tripoints with a fourth country.
    assert np.isin(placed.border_pair, ["BIH-SRB", "BIH-MNE", "SRB-MNE"]).mean() > 0.97
    at_crossings = history["crossing_point"].notna()
    assert at_crossings.any() and (km[at_crossings.to_numpy()] < 0.6).all()
    assert (history.loc[at_crossings, "detection"] == "border_check").all()


def test_categories_happen_where_the_file_puts_them(geography, history):
    placed = place(geography, history.geometry.x.to_numpy(), history.geometry.y.to_numpy())
    on_mne_border = pd.Series(placed.border_pair == "BIH-MNE")
    drugs = (history["category"] == "drug_smuggling").to_numpy()
    # Drugs on the Albania–Montenegro–BiH route: mostly on the BiH–Montenegro border.
    assert on_mne_border[drugs].mean() > 0.5
    assert on_mne_border[drugs].mean() > 2 * on_mne_border[~drugs].mean()
    vehicles = (history["category"] == "stolen_vehicle").to_numpy()
    assert history.loc[vehicles, "crossing_point"].notna().mean() > 0.5


def weekly_at(geography, frame, section: str, category: str) -> pd.Series:
    placed = place(geography, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    chosen = frame[(placed.border_section == section) & (frame["category"] == category).to_numpy()]
    when = pd.DatetimeIndex(chosen["occurred_at"])
    days = (pd.Timestamp(END, tz="UTC") - when).days
    weeks = days // 7
    return pd.Series(1, index=weeks).groupby(level=0).sum().reindex(range(0, 104), fill_value=0)


def test_the_surge_is_planted_where_its_ground_truth_says(geography, scenarios):
    scenario = scenarios["surge"]
    truth = scenario["ground_truth"]
    frame = demo.generate(geography, scenario, END - timedelta(days=728), END, seed=2)
    weekly = weekly_at(geography, frame, truth["section"], truth["category"])
    recent = weekly.iloc[: truth["recent_weeks"]].mean()
    before = weekly.iloc[truth["recent_weeks"] :].mean()
    assert recent > truth["min_ratio"] * max(before, 1.0)
    # And nowhere else did the last weeks change like that.
    baseline = demo.generate(
        geography, scenarios["baseline"], END - timedelta(days=728), END, seed=2
    )
    assert len(frame) - len(baseline) == pytest.approx(
        weekly.iloc[: truth["recent_weeks"]].sum() - before * truth["recent_weeks"], rel=0.25
    )


def test_the_fading_route_is_planted_where_its_ground_truth_says(geography, scenarios):
    scenario = scenarios["diminishing"]
    truth = scenario["ground_truth"]
    frame = demo.generate(geography, scenario, END - timedelta(days=728), END, seed=2)
    weekly = weekly_at(geography, frame, truth["section"], truth["category"])
    recent = weekly.iloc[: truth["recent_weeks"]].mean()
    early = weekly.iloc[-26:].mean()  # the first half year of the period
    assert early > 20 and recent <= truth["max_ratio"] * early


def test_a_scenario_with_faults_is_refused_naming_them(tmp_path):
    (tmp_path / "bad.toml").write_text('name = "bad"\n[volume]\narrivals = {}\n')
    with pytest.raises(ScenarioError, match="missing `season`"):
        load_scenario(tmp_path, "bad")
    with pytest.raises(ScenarioError, match="no scenario 'nothing'"):
        load_scenario(tmp_path, "nothing")
