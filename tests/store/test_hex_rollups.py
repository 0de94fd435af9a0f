"""The counts kept per H3 cell (hex_counts, hex_nationalities) equal a recount of the stored
incidents after every kind of write, and hexagon aggregates read through them equal the same
aggregates read from the incidents alone, for windows of any alignment."""

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta

import orjson
import pytest
from sqlalchemy import text

from geo_service import domain
from geo_service.services import bulk_import, synthetic
from geo_service.services import hexes as hex_service
from geo_service.services.readers import Table
from geo_service.services.result_cache import ResultCache
from geo_service.store import hexes
from geo_service.store.incidents import IncidentFilter
from geo_service.store.models import ROLLUP_RESOLUTIONS
from geo_service.store.visibility import SERVICE, Caller
from geo_service.store.windows import pieces_touched, split
from tests.conftest import as_owner
from tests.factories import ChangeCounter, feature

URL = "/api/v1/incidents"


@pytest.fixture
async def stored(client, db, geography):
    """Imported, posted, patched, soft-deleted and hard-deleted incidents."""
    # A fixed span (not the two years up to today), so that the windows below hold the same
    # incidents whatever the day the suite runs.
    frame = synthetic.incidents(geography, 600, seed=44, end=datetime(2026, 11, 1, tzinfo=UTC))
    table = Table.of_points(frame)
    assert (await bulk_import.import_table(db, SERVICE, geography, table)).created == 600
    ids = []
    for i, (x, y) in enumerate([(19.11, 44.40), (19.30, 43.78), (18.35, 42.70)]):
        body = feature(
            f"ROLL-{i}",
            coordinates=[x, y],
            occurred_at="2026-11-01T23:30:00+00:00",
            apprehensions=[{"nationality": "AFG", "persons": 3, "minors": 1, "women": 0}],
        )
        response = await client.post(URL, json=body)
        assert response.status_code == 201, response.text
        ids.append(response.json()["properties"]["id"])
    patches = [
        {"properties": {"category": "drug_smuggling"}},
        {"properties": {"occurred_at": "2026-10-31T22:00:00Z", "sharing": "national"}},
        {"geometry": {"type": "Point", "coordinates": [19.40, 43.60]}},
        {"properties": {"apprehensions": [{"nationality": "SYR", "persons": 7}]}},
        {"properties": {"narrative": "changes no count"}},
    ]
    for i, patch in enumerate(patches):
        target = ids[i % len(ids)]
        current = (await client.get(f"{URL}/{target}")).headers["etag"]
        response = await client.patch(f"{URL}/{target}", json=patch, headers={"If-Match": current})
        assert response.status_code == 200, response.text
    assert (await client.delete(f"{URL}/{ids[2]}")).status_code == 204
    async with db.begin() as conn:
        await conn.execute(
            text("DELETE FROM incidents WHERE id IN (SELECT min(id) FROM incidents)")
        )
    return db


def _kept(rows, key_len: int) -> dict:
    out = {}
    for r in rows:
        values = tuple(r[key_len:])
        if any(values):
            out[tuple(r[:key_len])] = values
    return out


async def test_kept_counts_equal_a_recount_after_every_kind_of_write(stored):
    async with stored.connect() as conn:
        incidents = (
            await conn.execute(
                text(
                    "SELECT id, category, occurred_at, agency, sharing, persons_involved, "
                    "h3_res5, h3_res6, h3_res7, h3_res8, h3_res9 "
                    "FROM incidents WHERE deleted_at IS NULL"
                )
            )
        ).all()
        groups = (
            await conn.execute(text("SELECT incident_id, nationality, persons FROM apprehensions"))
        ).all()
        counts = (await conn.execute(text("SELECT * FROM hex_counts"))).all()
        nationalities = (await conn.execute(text("SELECT * FROM hex_nationalities"))).all()
    categories = domain.CATEGORIES
    expected_counts: dict = defaultdict(lambda: [0] * (2 * len(categories)))
    expected_nat: dict = defaultdict(lambda: [0] * len(categories))
    by_id = {}
    for i in incidents:
        by_id[i.id] = i
        day = i.occurred_at.astimezone(UTC).date()
        k = categories.index(i.category)
        for res in ROLLUP_RESOLUTIONS:
            cell = getattr(i, f"h3_res{res}")
            for period, start in (("d", day), ("m", day.replace(day=1))):
                key = (res, period, start, cell, i.agency, i.sharing)
                expected_counts[key][k] += 1
                expected_counts[key][len(categories) + k] += i.persons_involved
    for g in groups:
        i = by_id.get(g.incident_id)
        if i is None:
            continue
        day = i.occurred_at.astimezone(UTC).date()
        k = categories.index(i.category)
        for res in ROLLUP_RESOLUTIONS:
            cell = getattr(i, f"h3_res{res}")
            for period, start in (("d", day), ("m", day.replace(day=1))):
                expected_nat[(res, period, start, cell, i.agency, i.sharing, g.nationality)][k] += (
                    g.persons
                )
    assert _kept(counts, 6) == {k: tuple(v) for k, v in expected_counts.items()}
    assert _kept(nationalities, 7) == {k: tuple(v) for k, v in expected_nat.items()}


async def test_truncating_incidents_empties_the_kept_counts(stored):
    await as_owner(stored, "TRUNCATE incidents, apprehensions")
    async with stored.connect() as conn:
        left = (await conn.execute(text("SELECT count(*) FROM hex_counts"))).scalar_one()
        left += (await conn.execute(text("SELECT count(*) FROM hex_nationalities"))).scalar_one()
    assert left == 0


def _instant(rng: random.Random) -> datetime:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    whole = rng.random() < 0.3  # some windows start or end on a midnight
    t = base + timedelta(days=rng.randrange(0, 700))
    return t if whole else t + timedelta(seconds=rng.randrange(0, 86_400))


async def test_aggregates_through_kept_counts_equal_the_incidents_alone(stored):
    rng = random.Random(3)
    callers = [SERVICE, Caller(agency="BIH_BP", role="analyst")]
    used: Counter = Counter()
    for trial in range(12):
        a, b = sorted([_instant(rng), _instant(rng)])
        where = IncidentFilter(
            start=None if trial == 0 else a,
            end=None if trial == 1 else b,
            categories=("unauthorised_crossing", "drug_smuggling") if trial % 3 == 0 else (),
            agencies=("SRB_BP", "BIH_BP") if trial % 4 == 1 else (),
        )
        resolution = ROLLUP_RESOLUTIONS[trial % len(ROLLUP_RESOLUTIONS)]  # the kept ones
        caller = callers[trial % 2]
        kept = await hexes.per_cell(stored, caller, where, resolution, limit=100_000)
        # A box around the whole region: the same incidents, read from the incidents alone.
        alone = await hexes.per_cell(
            stored,
            caller,
            IncidentFilter(**{**where.__dict__, "bbox": (10, 35, 30, 50)}),
            resolution,
            limit=100_000,
        )
        assert kept and kept == alone, (trial, split(where.start, where.end))
        parts = split(where.start, where.end)
        used["months"] += bool(parts.months)
        used["days"] += bool(parts.days)
        used["raw"] += bool(parts.raw)
    assert min(used.values()) >= 3  # every source took part in several trials


async def test_windows_split_alike_reuse_one_statement_with_their_own_times(stored):
    """A statement made for one window serves the next window of the same shape with that
    window's own times (store.hexes reuses statements): each equals the incidents alone."""
    caller = Caller(agency="BIH_BP", role="analyst")
    base = datetime(2025, 3, 10, 7, 30, tzinfo=UTC)
    seen = []
    for shift in range(0, 400, 40):  # the same shape: partial day, days, months, partial day
        start = base + timedelta(days=shift)
        where = IncidentFilter(start=start, end=start + timedelta(days=75, hours=3))
        kept = await hexes.per_cell(stored, caller, where, 6, limit=100_000)
        alone = await hexes.per_cell(
            stored,
            caller,
            IncidentFilter(**{**where.__dict__, "bbox": (10, 35, 30, 50)}),
            6,
            limit=100_000,
        )
        assert kept == alone, shift
        seen.append(sum(c.incidents for c in kept))
    assert len(set(seen)) > 3  # the windows held different incidents


async def test_sums_kept_per_month_and_day_amended_after_writes_equal_those_read_again(stored):
    """A window's whole-day sums, kept with their months and days, amended after each write
    by reading only the months and days it moved, equal the sums read afresh."""
    caller = Caller(agency="BIH_BP", role="analyst")
    chosen = ("unauthorised_crossing", "migrant_smuggling", "drug_smuggling")
    for where in (
        IncidentFilter(
            start=datetime(2025, 12, 10, 7, 30, tzinfo=UTC),
            end=datetime(2026, 10, 20, 13, tzinfo=UTC),
        ),
        IncidentFilter(
            start=datetime(2026, 9, 20, 7, 30, tzinfo=UTC),
            end=datetime(2026, 10, 20, 13, tzinfo=UTC),
            categories=chosen,
        ),
    ):
        categories = list(where.categories) or list(hexes.CATEGORIES)
        kept = await hexes.tally(stored, caller, where, 6, "whole", pieces=True)
        plain = await hexes.tally(stored, caller, where, 6, "whole")
        assert kept.pieces and (kept.counts, kept.apprehended) == (plain.counts, plain.apprehended)
        assert kept.cells(categories) == plain.cells(categories)
        async with stored.connect() as conn:
            inside = (
                await conn.execute(
                    text(
                        "SELECT i.id, i.occurred_at FROM incidents i WHERE i.deleted_at IS NULL "
                        "AND i.occurred_at >= :start AND i.occurred_at < :end "
                        "AND (i.agency = 'BIH_BP' OR i.sharing = 'pcc') "
                        "AND EXISTS (SELECT FROM apprehensions a WHERE a.incident_id = i.id) "
                        "ORDER BY i.occurred_at"
                    ),
                    {
                        "start": where.start + timedelta(days=2),
                        "end": where.end - timedelta(days=2),
                    },
                )
            ).all()
        assert len(inside) >= 4
        first, middle, last = inside[0], inside[len(inside) // 2], inside[-1]
        day = lambda t: t.astimezone(UTC).date()  # noqa: E731
        writes = [
            # A category changed (counts move between categories, the chosen ones or not).
            (
                "UPDATE incidents SET category = 'drug_smuggling' WHERE id = :id",
                first,
                [first.occurred_at],
            ),
            # Moved 4 days back (out of one piece into another: another day, maybe another
            # month).
            (
                "UPDATE incidents SET occurred_at = :to WHERE id = :id",
                middle,
                [middle.occurred_at - timedelta(days=4), middle.occurred_at],
            ),
            # One of its groups of apprehended persons, more of them, of another nationality.
            (
                "UPDATE apprehensions SET nationality = (SELECT min(n) FROM unnest("
                "ARRAY['IRQ', 'LBY', 'TUR', 'ERI']) AS n WHERE n NOT IN (SELECT nationality "
                "FROM apprehensions WHERE incident_id = :id)), persons = persons + 2 "
                "WHERE (incident_id, nationality) = (SELECT incident_id, min(nationality) "
                "FROM apprehensions WHERE incident_id = :id GROUP BY incident_id)",
                last,
                [last.occurred_at],
            ),
            # Deleted.
            ("UPDATE incidents SET deleted_at = now() WHERE id = :id", first, [first.occurred_at]),
        ]
        changed = 0
        # Sums of edges (every other kept cell, one more), added before each change.
        width = len(categories) + 1
        edges = hexes.Tally(
            {cell: (1,) * width for cell in sorted(kept.counts)[::2]} | {1: (1,) * width},
            {cell: {"AFG": 1} for cell in sorted(kept.counts)[::4]},
        )
        for statement, row, moved_at in writes:
            kept.cells(categories, plus=edges)
            async with stored.begin() as conn:
                to = middle.occurred_at - timedelta(days=4)
                await conn.execute(text(statement), {"id": row.id, "to": to})
            # As the change's notice names them: its first and last day.
            moved = [(day(min(moved_at)), day(max(moved_at)))]
            touched = pieces_touched(split(where.start, where.end), moved, 16)
            assert touched
            amended = await hexes.amend(stored, caller, where, 6, kept, moved)
            again = await hexes.tally(stored, caller, where, 6, "whole", pieces=True)
            assert amended is not kept and amended.pieces is not None and again.pieces is not None
            assert (amended.counts, amended.apprehended) == (again.counts, again.apprehended)
            assert amended.cells(categories) == again.cells(categories)
            assert amended.cells(categories, plus=edges) == again.cells(categories, plus=edges)
            changed += amended.cells(categories) != kept.cells(categories)
            pieces = lambda t: {k: (p.counts, p.apprehended) for k, p in t.pieces.items()}  # noqa: E731
            assert pieces(amended) == pieces(again)
            # Only the months and days moved were read again.
            same = [k for k in kept.pieces if amended.pieces.get(k) is kept.pieces[k]]
            assert same == [k for k in kept.pieces if k not in touched]
            kept = amended
        assert changed >= 2
        # Changes reaching more months and days than are worth amending: all read again.
        many = [(day(where.start), day(where.end))]
        whole = await hexes.amend(stored, caller, where, 6, kept, many)
        assert whole.pieces is None and (whole.counts, whole.apprehended) == (
            kept.counts,
            kept.apprehended,
        )


def test_the_months_and_days_a_change_reaches():
    parts = split(datetime(2025, 12, 10, 7, 30, tzinfo=UTC), datetime(2026, 10, 20, 13, tzinfo=UTC))
    d = lambda *ymd: datetime(*ymd, tzinfo=UTC).date()  # noqa: E731
    # Whole days 2025-12-11 to 12-31, months 2026-01 to 09, days 2026-10-01 to 10-19.
    assert pieces_touched(parts, [(d(2026, 3, 5), d(2026, 3, 5))], 16) == [("m", d(2026, 3, 1))]
    assert pieces_touched(parts, [(d(2025, 12, 30), d(2026, 2, 2))], 16) == [
        ("d", d(2025, 12, 30)),
        ("d", d(2025, 12, 31)),
        ("m", d(2026, 1, 1)),
        ("m", d(2026, 2, 1)),
    ]
    assert pieces_touched(parts, [(d(2026, 10, 19), d(2026, 10, 25))], 16) == [
        ("d", d(2026, 10, 19))
    ]
    assert pieces_touched(parts, [(d(2025, 1, 1), d(2025, 12, 10))], 16) == []  # before it
    assert pieces_touched(parts, [(d(2025, 12, 1), d(2026, 1, 1))], 30) == [
        *(("d", d(2025, 12, day)) for day in range(11, 32)),
        ("m", d(2026, 1, 1)),
    ]
    assert pieces_touched(parts, [(d(2025, 12, 11), d(2025, 12, 31))], 16) is None  # too many
    # Open on one side: the months before its end.
    open_start = split(None, datetime(2026, 3, 2, tzinfo=UTC))
    assert pieces_touched(open_start, [(d(2019, 7, 4), d(2019, 7, 4))], 16) == [
        ("m", d(2019, 7, 1))
    ]


async def test_windows_moved_either_way_and_changes_at_their_edges_count_as_incidents_alone(
    stored, geography
):
    """Corridor hexagons of a window moved on and back by minutes and hours (its partial
    days kept and moved by what it moved: taken away at its start, added at its end), and
    after writes on the days of its edges, equal those read from the incidents alone."""
    changes = ChangeCounter()
    cache = ResultCache(changes)
    caller = Caller(agency="BIH_BP", role="analyst")

    async def both(start: datetime, end: datetime, categories: tuple[str, ...] = ()) -> int:
        where = IncidentFilter(start=start, end=end, categories=categories)
        ask = dict(limit=100_000, cursor=None, corridor=True)
        kept = await hex_service.hex_page(stored, caller, geography, where, 6, cache=cache, **ask)
        alone = await hex_service.hex_page(stored, caller, geography, where, 6, **ask)
        features = orjson.loads(orjson.dumps(kept.features))
        assert features == orjson.loads(orjson.dumps(alone.features)), (start, end, categories)
        return sum(f["properties"]["incidents"] for f in features)

    base = datetime(2026, 8, 3, 7, 30, 15, tzinfo=UTC)
    span = timedelta(days=40, hours=5)
    # Copies of a corridor incident the caller sees, on the days of the windows' edges (two
    # at the very instants some windows start and end at).
    copy = (
        "INSERT INTO incidents (agency, external_ref, category, occurred_at, geom, "
        "persons_involved, sharing, country, border_pair, border_section, "
        "distance_to_border_m, h3_res5, h3_res6, h3_res7, h3_res8, h3_res9, h3_res10, "
        "submission_sha256) SELECT agency, :ref, category, :at, geom, persons_involved, "
        "sharing, country, border_pair, border_section, distance_to_border_m, h3_res5, "
        "h3_res6, h3_res7, h3_res8, h3_res9, h3_res10, submission_sha256 FROM incidents "
        "WHERE sharing = 'pcc' AND border_section IS NOT NULL ORDER BY id LIMIT 1"
    )
    edges = [base + timedelta(minutes=m) for m in (3, 20, 60, 96, 150, 400, 500)]
    edges += [base + span + timedelta(minutes=m) for m in (-200, -30, 2, 50, 160, 500)]
    async with stored.begin() as conn:
        for i, at in enumerate(edges):
            await conn.execute(text(copy), {"ref": f"EDGE-{i}", "at": at})
    seen = set()
    for minutes in (0, 7, 50, 180, 95, 96, 30, 600, 420):  # on and back
        start = base + timedelta(minutes=minutes)
        seen.add(await both(start, start + span))
        assert await both(start, start + span, ("unauthorised_crossing",)) >= 0
    assert len(seen) >= 3  # the windows held different incidents
    # Writes on the days of its edges: a report at its end, another category at its start.
    start, end = base + timedelta(minutes=420), base + timedelta(minutes=420) + span
    before = await both(start, end)
    midnight = datetime.combine(start.date(), time(), UTC) + timedelta(days=1)
    async with stored.begin() as conn:
        await conn.execute(text(copy), {"ref": "EDGE-LIVE", "at": end - timedelta(minutes=5)})
        moved = await conn.execute(
            text(
                "UPDATE incidents SET category = CASE category WHEN 'crisis' THEN 'other_crime' "
                "ELSE 'crisis' END WHERE id = "
                "(SELECT id FROM incidents WHERE occurred_at >= :start AND occurred_at < "
                ":midnight AND external_ref LIKE 'EDGE-%' ORDER BY occurred_at LIMIT 1) "
                "RETURNING occurred_at"
            ),
            {"start": start, "midnight": midnight},
        )
        assert moved.first() is not None
    changes.move_on((end.date(), end.date()))
    changes.move_on((start.date(), start.date()))
    after = await both(start + timedelta(seconds=1), end + timedelta(seconds=1))
    assert after == before + 1


def test_a_kept_sum_plus_changing_edges_gives_the_cells_a_fresh_sum_does():
    """The cells of kept sums plus a window's edges, worked out again only where the edges'
    sums changed since the last ones added, equal those worked out afresh."""
    rng = random.Random(5)
    chosen = ["unauthorised_crossing", "drug_smuggling"]
    nationalities = ["AFG", "MAR", "SYR", "PAK"]

    def sums(cells: list[int], rate: float) -> hexes.Tally:
        counts, apprehended = {}, {}
        for cell in cells:
            if rng.random() < rate:
                counts[cell] = (rng.randrange(3), rng.randrange(1, 3), rng.randrange(9))
                if rng.random() < 0.5:
                    apprehended[cell] = {
                        n: rng.randrange(1, 5) for n in rng.sample(nationalities, 2)
                    }
        return hexes.Tally(counts, apprehended)

    cells = list(range(100, 160))
    kept = sums(cells, 0.6)
    for _ in range(40):
        edges = sums(cells + list(range(200, 210)), 0.3)
        fresh = hexes.Tally(dict(kept.counts), dict(kept.apprehended))
        assert kept.cells(chosen, plus=edges) == fresh.cells(chosen, plus=edges)
    assert kept.cells(chosen) == hexes.Tally(kept.counts, kept.apprehended).cells(chosen)


def test_a_tally_less_another_holds_only_the_cells_whose_sums_differ():
    """What one day's sums changed by after an edit: the cells whose sums differ, each by the
    difference, so that adding it to the old sums gives the new ones."""
    old = hexes.Tally(
        {1: (2, 0, 5), 2: (1, 1, 3), 3: (0, 1, 1)},
        {1: {"AFG": 2}, 2: {"SYR": 1, "MAR": 2}},
    )
    new = hexes.Tally(
        {1: (2, 0, 5), 2: (1, 2, 6), 4: (1, 0, 2)},  # 2 edited, 3 gone, 4 new
        {1: {"AFG": 2}, 2: {"SYR": 1}, 4: {"PAK": 3}},
    )
    delta = new.less(old)
    assert delta.counts == {2: (0, 1, 3), 3: (0, -1, -1), 4: (1, 0, 2)}
    assert delta.apprehended == {2: {"MAR": -2}, 4: {"PAK": 3}}
    again = old.plus(delta)
    assert (again.counts, again.apprehended) == (new.counts, new.apprehended)
    assert new.less(new) == hexes.Tally({}, {})
