"""Situation reports: the figures of a demo day and week recounted from the incidents
themselves, only what the recipient may see, the same file for the same data, and bad
requests refused saying why."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import orjson
import pandas as pd
import pytest

from geo_service.services import bulk_import, demo, reports
from geo_service.services.readers import Table
from geo_service.services.scenarios import load_scenario
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import SERVICE, Caller

ZONE = ZoneInfo("Europe/Sarajevo")
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)


class Tables(HTMLParser):
    """Every table cell marked data-col, by table id, row data-key and column."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, dict[str, dict[str, str]]] = {}
        self.texts: dict[str, str] = {}
        self._table = self._row = self._col = self._id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table:
            self._row = a.get("data-key")
        elif tag == "td" and self._row is not None:
            self._col = a.get("data-col")
        if tag in ("dd", "p") and a.get("id"):
            self._id = a["id"]
            self.texts[self._id] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self._col = None
        elif tag in ("dd", "p"):
            self._id = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._col and self._table and self._row is not None:
            row = self.cells.setdefault(self._table, {}).setdefault(self._row, {})
            row[self._col] = row.get(self._col, "") + data.strip()
        if self._id:
            self.texts[self._id] += data


def parsed(html: str) -> Tables:
    tables = Tables()
    tables.feed(html)
    return tables


@pytest.fixture(scope="module")
def frame(geography, settings):
    scenario = load_scenario(settings.scenarios_dir, "baseline")
    out = demo.generate(
        geography, scenario, date(2025, 11, 1), date(2026, 11, 29), scale=0.3, seed=4, now=NOW
    )
    out["local_day"] = pd.to_datetime(out["occurred_at"], utc=True).dt.tz_convert(ZONE).dt.date
    return out


@pytest.fixture
async def stored(db, geography, frame):
    report = await bulk_import.import_table(
        db, SERVICE, geography, Table.of_points(frame.drop(columns="local_day"))
    )
    assert report.created == len(frame)
    return frame


def persons(groups) -> Counter:
    out: Counter = Counter()
    for g in orjson.loads(groups) if groups else []:
        out[g["nationality"]] += g["persons"]
    return out


async def make(db, geography, settings, caller=SERVICE, where=None, **kw) -> str:
    params = {"kind": "day", "day": DAY, "lang": "en", "now": NOW} | kw
    return await reports.situation_report(
        db, caller, geography, settings, where or IncidentFilter(), **params
    )


def as_int(cell: dict[str, str], col: str) -> int:
    return int(cell[col])


async def test_a_demo_day_holds_the_figures_of_its_incidents(db, geography, settings, stored):
    html = await make(db, geography, settings)
    t = parsed(html)
    days = stored["local_day"]
    today, yesterday = stored[days == DAY], stored[days == DAY - timedelta(days=1)]
    year_before = stored[days == date(2025, 11, 20)]
    assert len(today) > 5

    head = t.cells["headline"]
    assert as_int(head["incidents"], "now") == len(today)
    assert as_int(head["incidents"], "previous") == len(yesterday)
    assert as_int(head["incidents"], "year_before") == len(year_before)
    assert as_int(head["persons_involved"], "now") == today["persons_involved"].sum()
    apprehended = sum((persons(g) for g in today["apprehensions"]), Counter())
    assert as_int(head["persons_apprehended"], "now") == sum(apprehended.values())

    by_category = t.cells["by-category"]
    assert {k: as_int(v, "incidents") for k, v in by_category.items()} == dict(
        Counter(today["category"])
    )
    previous = Counter(yesterday["category"])
    for key, cell in by_category.items():
        assert as_int(cell, "previous") == previous.get(key, 0)
    assert {k: as_int(v, "incidents") for k, v in t.cells["by-agency"].items()} == dict(
        Counter(today["agency"])
    )
    nationality = {
        k: as_int(v, "persons_apprehended") for k, v in t.cells["by-nationality"].items()
    }
    assert nationality == dict(apprehended)

    # Sections: the locations as the import placed them, counted by the database's own rows.
    async with db.connect() as conn:
        from sqlalchemy import text

        rows = await conn.execute(
            text(
                "SELECT coalesce(border_section, '-'), count(*) FROM incidents "
                "WHERE occurred_at >= :s AND occurred_at < :e GROUP BY 1"
            ),
            {
                "s": datetime(2026, 11, 20, tzinfo=ZONE),
                "e": datetime(2026, 11, 21, tzinfo=ZONE),
            },
        )
        per_section = dict(rows.all())
    shown = {k: as_int(v, "incidents") for k, v in t.cells["by-section"].items()}
    assert {k: v for k, v in shown.items() if v} == per_section

    # The hour chart: 24 local hours summing to the day.
    hours = Counter(pd.to_datetime(today["occurred_at"], utc=True).dt.tz_convert(ZONE).dt.hour)
    bars = [int(c) for c in __import__("re").findall(r'data-count="(\d+)"', html)]
    assert len(bars) == 24 and bars == [hours.get(h, 0) for h in range(24)]

    assert "the service (every agency)" in t.texts["recipient"]
    assert f"{len(stored)} incidents visible" in t.texts["data"]
    assert "20.11.2026" in t.texts["period"]


async def test_a_week_and_a_partner_agency_see_their_own(db, geography, settings, stored):
    caller = Caller(agency="MNE_BP", role="analyst")
    html = await make(db, geography, settings, caller=caller, kind="week", lang="sr-Cyrl")
    t = parsed(html)
    days = stored["local_day"]
    week = stored[(days > DAY - timedelta(days=7)) & (days <= DAY)]
    seen = week[(week["agency"] == "MNE_BP") | (week["sharing"] == "pcc")]
    assert len(seen) < len(week)  # national records of the others stay out
    assert as_int(t.cells["headline"]["incidents"], "now") == len(seen)
    assert {k: as_int(v, "incidents") for k, v in t.cells["by-agency"].items()} == dict(
        Counter(seen["agency"])
    )
    assert "Гранична полиција Црне Горе" in t.texts["recipient"]
    assert "Седмични извјештај о стању" in html and 'lang="sr-Cyrl"' in html
    assert "14.11.2026 – 20.11.2026" in t.texts["period"]
    assert len([c for c in __import__("re").findall(r'data-count="(\d+)"', html)]) == 7


async def test_the_same_data_makes_the_same_file(db, geography, settings, stored):
    first = await make(db, geography, settings, lang="bs")
    again = await make(db, geography, settings, lang="bs", now=NOW + timedelta(hours=2))
    generated = "2026-11-29 08:00:00 CET", "2026-11-29 10:00:00 CET"
    assert generated[0] in first and generated[1] in again
    assert first.replace(*generated) == again
    assert "Dnevni izvještaj o stanju" in first
    other = await make(
        db, geography, settings, lang="bs", where=IncidentFilter(agencies=("SRB_BP",))
    )
    assert other != first and "Agencija: SRB_BP" in parsed(other).texts["filters"]


async def test_the_alerts_raised_in_the_period_are_listed(db, geography, settings, stored):
    from sqlalchemy import text

    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO alerts (kind, subject, level, detail, raised_at) VALUES "
                "('section-level', 'BIH-SRB-07', 'high', '{}', :inside), "
                "('hot-spot', '871ec5a6bffffff', 'hot-99', '{}', :outside)"
            ),
            {
                "inside": datetime(2026, 11, 20, 23, 30, tzinfo=ZONE),
                "outside": datetime(2026, 11, 21, 0, 30, tzinfo=ZONE),
            },
        )
    listed = list(parsed(await make(db, geography, settings)).cells["alerts"].values())
    assert listed == [
        {"time": "2026-11-20 23:30", "kind": "section impact level", "subject": "BIH-SRB-07",
         "level": "high"}
    ]  # fmt: skip
