"""GET /api/v1/reports/situation: an HTML file for the asked period and language, and every
bad parameter refused at once as problem+json naming it and why."""

from datetime import date, datetime, timedelta

import pytest

from geo_service.services.reports import ZONE


async def test_a_report_is_one_html_file(client, db):
    response = await client.get("/api/v1/reports/situation?period=day&lang=sr-Cyrl")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.startswith("<!DOCTYPE html>") and '<html lang="sr-Cyrl">' in html
    # By default the last whole day of the PCC (Europe/Sarajevo: an hour or two ahead of UTC).
    yesterday = datetime.now(ZONE).date() - timedelta(days=1)
    assert yesterday.strftime("%d.%m.%Y") in html
    assert "<script src=" not in html and "<link " not in html  # everything inlined


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("period=month", ["period"]),
        ("lang=de", ["lang"]),
        ("period=year&lang=fr", ["period", "lang"]),
        (f"date={(date.today() + timedelta(days=2)).isoformat()}", ["date"]),
        ("date=yesterday", ["date"]),
        ("datetime=2026-01-01T00:00:00Z/..", ["datetime"]),
        ("category=sheep", ["category"]),
    ],
)
async def test_bad_reports_are_refused_saying_which_and_why(client, db, query, fields):
    response = await client.get(f"/api/v1/reports/situation?{query}")
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"].split(".")[-1] for e in errors] == fields
    assert all(e["reason"] for e in errors)
