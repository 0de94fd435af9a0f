"""/api/v1/trends: series that add up to the incidents stored, changes against the period
before and a year before with ACLED's labels, and limits said."""

from collections import Counter
from datetime import UTC, datetime

import orjson
import pandas as pd
import pytest

from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.services.trends import change_label
from geo_service.store.visibility import SERVICE
from tests.factories import seen_by

URL = "/api/v1/trends"
WINDOW = "2026-09-01T00:00:00Z/2026-11-01T00:00:00Z"


@pytest.fixture
async def stored(db, geography):
    frame = synthetic.incidents(
        geography,
        3_000,
        seed=31,
        start=datetime(2025, 1, 1, tzinfo=UTC),
        end=datetime(2026, 11, 1, tzinfo=UTC),
    )
    table = Table.of_points(frame)
    assert (await bulk_import.import_table(db, SERVICE, geography, table)).created == 3_000
    frame = seen_by(frame).copy()  # what the client's caller may see of them
    frame["when"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame


def within(frame, start: str, end: str):
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    return frame[(frame["when"] >= lo) & (frame["when"] < hi)]


async def test_series_by_category_add_up_to_the_incidents(client, stored):
    body = (await client.get(f"{URL}?by=category&step=weekly&datetime={WINDOW}")).json()
    chosen = within(stored, "2026-09-01", "2026-11-01")
    expected = Counter(chosen["category"])
    assert {s["key"]: s["total"]["incidents"] for s in body["series"]} == dict(expected)
    for s in body["series"]:
        assert sum(p["incidents"] for p in s["points"]) == s["total"]["incidents"]
        rows = chosen[chosen["category"] == s["key"]]
        assert s["total"]["persons_involved"] == rows["persons_involved"].sum()
    before = within(stored, "2026-07-02", "2026-09-01")  # the 61 days before
    crossing = next(s for s in body["series"] if s["key"] == "unauthorised_crossing")
    assert (
        crossing["previous"]["incidents"] == (before["category"] == "unauthorised_crossing").sum()
    )
    year = within(stored, "2025-09-01", "2025-11-01")
    assert (
        crossing["year_before"]["incidents"] == (year["category"] == "unauthorised_crossing").sum()
    )


async def test_persons_apprehended_by_nationality(client, stored):
    body = (await client.get(f"{URL}?by=nationality&step=monthly&datetime={WINDOW}")).json()
    persons: Counter = Counter()
    for groups in within(stored, "2026-09-01", "2026-11-01")["apprehensions"]:
        for g in orjson.loads(groups) if isinstance(groups, str) else []:
            persons[g["nationality"]] += g["persons"]
    assert {s["key"]: s["total"]["persons_apprehended"] for s in body["series"]} == dict(persons)
    assert all(len(s["points"]) <= 2 for s in body["series"])  # September and October


@pytest.mark.parametrize(
    ("now", "before", "label"),
    [
        (130, 100, "large increase"),
        (125, 100, "moderate increase"),
        (110, 100, "moderate increase"),
        (109, 100, "limited change"),
        (75, 100, "limited change"),
        (74, 100, "large decrease"),
        (50, 9, "low baseline"),
    ],
)
def test_change_labels(now, before, label):
    assert change_label(now, before) == label


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("by=weather", "by"),
        ("step=minutely", "step"),
        ("step=daily&datetime=2000-01-01T00:00:00Z/2026-01-01T00:00:00Z", "step"),
    ],
)
async def test_what_cannot_be_drawn_is_refused_saying_why(client, db, query, field):
    response = await client.get(f"{URL}?{query}")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


async def test_an_empty_window_is_an_empty_result(client, db):
    body = (await client.get(f"{URL}?by=agency&datetime={WINDOW}")).json()
    assert body["series"] == [] and body["windows"]["previous"][1] == "2026-09-01T00:00:00Z"
