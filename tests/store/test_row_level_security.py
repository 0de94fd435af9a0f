"""Row-level security under the visibility filter: with the filter left out on purpose, a
connection lent for an agency still reads only that agency's incidents and what partners
shared with the PCC (their groups and the counts kept per cell too), and writes only its own;
the service works as a role that is neither a superuser nor the tables' owner."""

import pytest
from sqlalchemy import text, true
from sqlalchemy.exc import ProgrammingError

from geo_service.store import incidents as store
from geo_service.store import visibility
from geo_service.store.incidents import IncidentFilter
from geo_service.store.visibility import SERVICE, Caller, acting_as
from tests.credentials import bearer
from tests.factories import feature

SEEDED = [  # reference, agency, sharing
    ("BIH-NAT", "BIH_BP", "national"),
    ("BIH-PCC", "BIH_BP", "pcc"),
    ("SRB-NAT", "SRB_BP", "national"),
    ("SRB-PCC", "SRB_BP", "pcc"),
    ("MNE-NAT", "MNE_BP", "national"),
]
AGENCIES = ("BIH_BP", "SRB_BP", "MNE_BP", "PCC")


def expected(agency: str) -> set[str]:
    return {ref for ref, owner, sharing in SEEDED if owner == agency or sharing == "pcc"}


@pytest.fixture
async def seeded(client, db):
    for n, (ref, agency, sharing) in enumerate(SEEDED):
        body = feature(ref, agency=agency, sharing=sharing, coordinates=[19.10, 44.30 + n / 100])
        response = await client.post("/api/v1/incidents", json=body, headers=bearer(agency))
        assert response.status_code == 201, response.text
    return db


async def _one_column(db, sql: str) -> set:
    async with db.connect() as conn:
        return set((await conn.execute(text(sql))).scalars())


@pytest.mark.parametrize("agency", AGENCIES)
async def test_without_the_filter_an_agency_reads_only_its_own_and_the_shared(seeded, agency):
    with acting_as(Caller(agency, "analyst")):
        assert await _one_column(seeded, "SELECT external_ref FROM incidents") == expected(agency)
        groups = await _one_column(
            seeded,
            "SELECT i.external_ref FROM apprehensions a JOIN incidents i ON i.id = a.incident_id",
        )
        assert groups == expected(agency)
        kept = await _one_column(seeded, "SELECT DISTINCT agency || ':' || sharing FROM hex_counts")
        assert kept == {
            f"{owner}:{sharing}" for ref, owner, sharing in SEEDED if ref in expected(agency)
        }


@pytest.mark.parametrize("agency", AGENCIES)
async def test_the_store_with_its_filter_bypassed_still_reads_by_the_rule(
    seeded, agency, monkeypatch
):
    monkeypatch.setattr(visibility, "shared_with", lambda *args: true())
    with acting_as(Caller(agency, "analyst")):
        async with seeded.connect() as conn:
            rows = await store.list_incidents(conn, Caller(agency), IncidentFilter(), limit=100)
    assert {r.external_ref for r in rows} == expected(agency)
    # The filter is bypassed indeed: the service itself sees all through it.
    async with seeded.connect() as conn:
        rows = await store.list_incidents(conn, SERVICE, IncidentFilter(), limit=100)
    assert len(rows) == len(SEEDED)


async def test_a_callers_spatial_filter_searches_the_spatial_index(seeded):
    """Under row-level security PostgreSQL searches an index only with LEAKPROOF conditions:
    the bounding-box overlap is one (migration 0007), so a caller's box or tile request does
    not read every incident."""
    box = "geom && ST_MakeEnvelope(19.0, 44.2, 19.2, 44.4, 4326)"
    with acting_as(Caller("BIH_BP", "analyst")):
        async with seeded.begin() as conn:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await conn.execute(text(f"EXPLAIN SELECT id FROM incidents WHERE {box}"))
            lines = "\n".join(plan.scalars())
    assert "ix_incidents_geom" in lines and "Seq Scan" not in lines, lines


async def test_the_policy_reads_the_agency_once_per_statement(seeded):
    """The caller's agency is read once per statement (an InitPlan), not once per row that
    the policy checks (migration 0009)."""
    with acting_as(Caller("BIH_BP", "analyst")):
        async with seeded.begin() as conn:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await conn.execute(
                text("EXPLAIN (VERBOSE) SELECT count(*) FROM hex_counts WHERE resolution = 7")
            )
            lines = "\n".join(plan.scalars())
    policy = next(line for line in lines.splitlines() if "Filter:" in line)
    assert "InitPlan" in lines and "current_setting" not in policy and "$0" in policy, lines


async def test_an_agency_writes_only_its_own(seeded):
    with acting_as(Caller("BIH_BP", "officer")):
        # What a partner shared is read, not changed.
        async with seeded.begin() as conn:
            changed = await conn.execute(
                text(
                    "UPDATE incidents SET narrative = 'x' WHERE external_ref IN ('SRB-PCC', 'SRB-NAT')"
                )
            )
            assert changed.rowcount == 0
            changed = await conn.execute(
                text("UPDATE incidents SET narrative = 'x' WHERE external_ref = 'BIH-NAT'")
            )
            assert changed.rowcount == 1
        with pytest.raises(ProgrammingError, match="row-level security"):
            async with seeded.begin() as conn:
                await conn.execute(
                    text("UPDATE incidents SET agency = 'SRB_BP' WHERE external_ref = 'BIH-NAT'")
                )


async def test_a_caller_role_without_an_agency_reads_nothing(seeded):
    async with seeded.connect() as conn:
        await conn.execute(text("SET ROLE geo_service_caller"))
        try:
            held = await conn.execute(text("SELECT count(*) FROM incidents"))
            assert held.scalar_one() == 0
        finally:
            await conn.execute(text("RESET ROLE"))
            await conn.commit()


async def test_the_service_is_neither_superuser_nor_owner(seeded):
    async with seeded.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT current_user, r.rolsuper, t.tableowner FROM pg_roles r, pg_tables t "
                    "WHERE r.rolname = current_user AND t.tablename = 'incidents'"
                )
            )
        ).one()
        assert row[0] == "geo_service_app" and row[1] is False and row[2] != row[0]
        assert (await conn.execute(text("SELECT count(*) FROM incidents"))).scalar_one() == 5
        with pytest.raises(ProgrammingError, match="permission denied"):
            await conn.execute(text("TRUNCATE incidents"))
