"""incident-hexes: counts per hexagon equal an independent recount of the raw points with
h3-py, at every resolution, filtered or not; each incident is counted once."""

import asyncio
from collections import Counter

import h3
import pandas as pd
import pytest
from sqlalchemy import text

from geo_service.geo.h3cells import cell_hex
from geo_service.services import bulk_import, synthetic
from geo_service.services.readers import Table
from geo_service.store.visibility import SERVICE
from tests.factories import feature, seen_by

URL = "/ogc/collections/incident-hexes/items"


@pytest.fixture
async def points(db, geography):
    frame = synthetic.incidents(geography, 2_000, seed=21)
    table = Table.of_points(frame)
    report = await bulk_import.import_table(db, SERVICE, geography, table)
    assert report.created == 2_000
    return seen_by(frame)  # what the client's caller may see of them


async def hex_counts(client, query: str) -> dict[str, dict]:
    body = (await client.get(f"{URL}?limit=10000&{query}")).json()
    assert not any(link["rel"] == "next" for link in body["links"])
    return {f["properties"]["h3"]: f["properties"] for f in body["features"]}


@pytest.mark.parametrize("resolution", [5, 6, 7, 8, 9])
async def test_counts_match_a_recount_with_h3_py(client, points, resolution):
    served = await hex_counts(client, f"resolution={resolution}")
    recount = Counter(
        h3.latlng_to_cell(y, x, resolution)
        for x, y in zip(points.geometry.x, points.geometry.y, strict=True)
    )
    assert {c: p["incidents"] for c, p in served.items()} == dict(recount)
    assert sum(p["incidents"] for p in served.values()) == len(points)
    for props in served.values():
        assert sum(props["by_category"].values()) == props["incidents"]


async def test_filtered_counts_match_and_persons_add_up(client, points):
    chosen = points[
        (points["category"] == "unauthorised_crossing") & (points["occurred_at"] >= "2026")
    ]
    served = await hex_counts(
        client, "resolution=7&category=unauthorised_crossing&datetime=2026-01-01T00:00:00Z/.."
    )
    recount = Counter(
        h3.latlng_to_cell(y, x, 7)
        for x, y in zip(chosen.geometry.x, chosen.geometry.y, strict=True)
    )
    assert {c: p["incidents"] for c, p in served.items()} == dict(recount)
    assert sum(p["persons_involved"] for p in served.values()) == chosen["persons_involved"].sum()


async def test_hexagons_are_the_cells_drawn(client, points):
    body = (await client.get(f"{URL}?resolution=6&limit=1")).json()
    hexagon = body["features"][0]
    ring = hexagon["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    expected = [[lng, lat] for lat, lng in h3.cell_to_boundary(hexagon["id"])]
    assert ring[:-1] == expected
    assert any(link["rel"] == "next" for link in body["links"])


async def test_a_point_on_a_hexagon_edge_is_counted_once(client, db):
    cell = h3.latlng_to_cell(44.39, 19.10, 7)
    (lat1, lng1), (lat2, lng2) = h3.cell_to_boundary(cell)[:2]
    on_edge = [(lng1 + lng2) / 2, (lat1 + lat2) / 2]
    assert (
        await client.post("/api/v1/incidents", json=feature("EDGE", coordinates=on_edge))
    ).status_code == 201
    served = await hex_counts(client, "resolution=7")
    assert sum(p["incidents"] for p in served.values()) == 1


async def test_bad_resolution_is_a_problem(client):
    for query in ("resolution=4", "resolution=10", "resolution=x"):
        response = await client.get(f"{URL}?{query}")
        assert response.status_code == 400, query
        assert response.json()["errors"][0]["field"] == "resolution"


async def test_corridor_cells_with_the_empty_ones(client, points, geography):
    from geo_service.geo.corridor import corridor_cells
    from geo_service.geo.h3cells import cell_hex

    study = {cell_hex(c) for c in corridor_cells(geography, 6)}
    everything = await hex_counts(client, "resolution=6&corridor=true&include_empty=true")
    assert set(everything) == study
    occupied = await hex_counts(client, "resolution=6&corridor=true")
    assert set(occupied) == {c for c, p in everything.items() if p["incidents"]}
    recount = Counter(
        c
        for c in (
            h3.latlng_to_cell(y, x, 6)
            for x, y in zip(points.geometry.x, points.geometry.y, strict=True)
        )
        if c in study
    )
    assert {c: p["incidents"] for c, p in occupied.items()} == dict(recount)
    assert sum(p["incidents"] for p in everything.values()) == sum(recount.values())


async def test_empty_cells_need_the_corridor(client):
    response = await client.get(f"{URL}?include_empty=true")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "include_empty"


async def test_corridor_pages_follow_next_links(client, points):
    seen, url = [], f"{URL}?resolution=7&corridor=true&include_empty=true&limit=1000"
    while url:
        body = (await client.get(url)).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    everything = await hex_counts(client, "resolution=7&corridor=true&include_empty=true")
    assert seen == sorted(everything, key=h3.str_to_int) and len(seen) == len(set(seen))


async def test_kept_hexagons_are_renewed_when_the_incidents_change(client, points, app):
    before = await hex_counts(client, "resolution=6")
    assert before == await hex_counts(client, "resolution=6")  # kept, and the same
    async with app.state.engine.begin() as conn:
        deleted = await conn.execute(
            text(
                "UPDATE incidents SET deleted_at = now() WHERE id % 2 = 0 RETURNING agency, sharing"
            )
        )
        gone = sum(1 for agency, sharing in deleted if agency == "BIH_BP" or sharing == "pcc")
    for _ in range(40):
        after = await hex_counts(client, "resolution=6")
        if after != before:
            break
        await asyncio.sleep(0.05)
    assert sum(p["incidents"] for p in after.values()) == len(points) - gone


async def test_corridor_hexagons_of_a_moving_window_match_a_recount(client, points, geography, app):
    """A window moved on by hours (its whole days read once, then kept; only its edges read
    again) counts as a recount of the points does, filtered or not, and after a change inside
    its whole days."""
    from geo_service.geo.corridor import corridor_cell_set

    study = {cell_hex(c) for c in corridor_cell_set(geography, 7)}
    times = pd.to_datetime(points["occurred_at"], utc=True)
    middle = times.sort_values().iloc[len(points) // 2]

    def recount(frame, start, end, category=None):
        at = pd.to_datetime(frame["occurred_at"], utc=True)
        chosen = frame[(at >= start) & (at <= end)]
        if category:
            chosen = chosen[chosen["category"] == category]
        out: dict[str, list[int]] = {}
        for x, y, persons, cat in zip(
            chosen.geometry.x,
            chosen.geometry.y,
            chosen["persons_involved"],
            chosen["category"],
            strict=True,
        ):
            cell = h3.latlng_to_cell(y, x, 7)
            if cell in study:
                out.setdefault(cell, []).append((persons, cat))
        return {
            cell: (len(rows), sum(p for p, _ in rows), dict(Counter(c for _, c in rows)))
            for cell, rows in out.items()
        }

    async def served(start, end, category=None):
        window = f"datetime={start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"
        query = f"resolution=7&corridor=true&{window}" + (
            f"&category={category}" if category else ""
        )
        return {
            cell: (p["incidents"], p["persons_involved"], p["by_category"])
            for cell, p in (await hex_counts(client, query)).items()
        }

    async def served_once_known(start, end, expected) -> None:
        """Served as `expected` once the change is known (its notice reached the process)."""
        for _ in range(40):
            if await served(start, end) == expected:
                break
            await asyncio.sleep(0.05)
        assert await served(start, end) == expected

    # The window starts an hour before a corridor incident of the morning (UTC) whose cell
    # holds others in the window: moved on by 3 hours, it leaves that incident out, its
    # whole days the same (the cell's hexagon made for one request must not serve the next).
    cells = pd.Series(
        [
            h3.latlng_to_cell(y, x, 7)
            for x, y in zip(points.geometry.x, points.geometry.y, strict=True)
        ],
        index=points.index,
    )
    hour = times.dt.hour
    mornings = cells[cells.isin(study) & (times < middle) & (hour >= 2) & (hour < 12)]
    for i in times[mornings.index].sort_values(ascending=False).index:
        cell, first = mornings[i], times[i] - pd.Timedelta(hours=1)
        held = recount(points, first, first + pd.Timedelta(days=30))[cell][0]
        if held > 1:
            break
    moved = recount(points, first + pd.Timedelta(hours=3), first + pd.Timedelta(days=30, hours=3))
    assert moved[cell][0] == held - 1
    for hours in (0, 3, 5, 11):
        start, end = first + pd.Timedelta(hours=hours), first + pd.Timedelta(days=30, hours=hours)
        expected = recount(points, start, end)
        assert expected and await served(start, end) == expected, hours
        assert await served(start, end, "unauthorised_crossing") == recount(
            points, start, end, "unauthorised_crossing"
        )
    # Incidents deleted in the whole days of the window: seen once the change is known.
    inside = points[
        (times >= first + pd.Timedelta(days=3)) & (times < first + pd.Timedelta(days=20))
    ]
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE incidents SET deleted_at = now() WHERE external_ref = ANY(:refs)"),
            {"refs": list(inside["external_ref"])},
        )
    remaining = points[~points["external_ref"].isin(inside["external_ref"])]
    start, end = first + pd.Timedelta(hours=13), first + pd.Timedelta(days=30, hours=13)
    expected = recount(remaining, start, end)
    await served_once_known(start, end, expected)

    # In use and changed: from now on kept per month and day as well (made beside the
    # requests), so that the next change reads again only the day it moved.
    def kept_whole() -> list:
        held = app.state.result_cache._items.items()
        return [
            h.value
            for k, h in held
            if k[0] == "hexes-whole" and not k[3].categories and h.value.pieces
        ]

    for _ in range(100):
        if kept_whole():
            break
        await asyncio.sleep(0.05)
    (pieced,) = kept_whole()
    # The corridor incidents of one of its whole days.
    at = times[remaining.index]
    later = remaining[(at >= first + pd.Timedelta(days=21)) & cells[remaining.index].isin(study)]
    day = at[later.index].min().date()
    gone = later[at[later.index].dt.date == day]
    async with app.state.engine.begin() as conn:
        await conn.execute(
            text("UPDATE incidents SET deleted_at = now() WHERE external_ref = ANY(:refs)"),
            {"refs": list(gone["external_ref"])},
        )
    remaining = remaining[~remaining["external_ref"].isin(gone["external_ref"])]
    before, expected = expected, recount(remaining, start, end)
    assert expected != before
    await served_once_known(start, end, expected)
    (amended,) = kept_whole()
    assert amended is not pieced
    same = [k for k, piece in pieced.pieces.items() if amended.pieces.get(k) is piece]
    assert len(same) == len(pieced.pieces) - 1  # all but the day's


async def test_persons_apprehended_and_the_top_nationality_ties_to_the_first_code(client):
    """Apprehended persons add up over a cell's incidents; the top nationality is the one of
    most persons, a tie going to the first code (AFG 4 = MAR 4 > SYR 3), through the counts
    kept per day and month (resolution 7, a window) and from the incidents alone (9)."""
    groups = [
        [("AFG", 3), ("SYR", 2)],
        [("SYR", 1), ("MAR", 4)],
        [("AFG", 1)],
    ]
    for i, group in enumerate(groups):
        body = feature(
            f"NAT-{i}",
            coordinates=[19.10, 44.39],
            occurred_at=f"2026-10-{10 + i * 9:02d}T12:00:00Z",
            apprehensions=[
                {"nationality": n, "persons": p, "minors": 0, "women": 0} for n, p in group
            ],
        )
        assert (await client.post("/api/v1/incidents", json=body)).status_code == 201
    for resolution in (7, 9):
        cell = h3.latlng_to_cell(44.39, 19.10, resolution)
        window = "datetime=2026-10-09T06:00:00Z/2026-11-02T18:00:00Z"
        props = (await hex_counts(client, f"resolution={resolution}&{window}"))[cell]
        assert props["incidents"] == 3 and props["persons_apprehended"] == 11, props
        assert props["top_nationality"] == "AFG", props
    cell = h3.latlng_to_cell(44.39, 19.10, 7)
    for corridor in ("", "&corridor=true"):  # the corridor's whole days are kept apart
        for window, incidents, apprehended, top in (
            ("2026-10-09T06:00:00Z/2026-10-20T00:00:00Z", 2, 10, "MAR"),
            # the second and third in the partial days at the edges, none in the whole ones
            ("2026-10-19T06:00:00Z/2026-10-28T18:00:00Z", 2, 6, "MAR"),
            # the first two in whole days, the third in an edge: AFG 3 + 1 = MAR 4 > SYR 3
            ("2026-10-10T00:00:00Z/2026-10-28T18:00:00Z", 3, 11, "AFG"),
        ):
            query = f"resolution=7&datetime={window}{corridor}"
            props = (await hex_counts(client, query))[cell]
            assert props["incidents"] == incidents, (query, props)
            assert props["persons_apprehended"] == apprehended, (query, props)
            assert props["top_nationality"] == top, (query, props)
