"""Reads under row-level security made cheaper: the caller's agency is read once per
statement, not once per row.

The policies of 0005 named the agency with `current_setting(...)`, which PostgreSQL evaluates
again for every row it checks: a 30-day hexagon window checks ~24k kept counts, and the
setting cost ~6 ms of a ~10 ms scan. Written as a scalar subquery, it is evaluated once per
statement (an InitPlan), and the counts' own primary key answers the scan alone (an
index-only scan: agency and sharing are part of it). Same rule, same rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CALLER = "geo_service_caller"


def _rules(agency: str) -> dict[str, tuple[str, str]]:
    """Per table, as in 0005: which rows the caller reads, and which it changes or removes."""
    shared = f"(agency = {agency} OR (sharing = 'pcc' AND {agency} <> ''))"
    own = f"(agency = {agency})"
    own_incident = (
        f"EXISTS (SELECT 1 FROM incidents i WHERE i.id = incident_id AND i.agency = {agency})"
    )
    return {
        "incidents": (shared, own),
        "hex_counts": (shared, own),
        "hex_nationalities": (shared, own),
        "apprehensions": (
            "EXISTS (SELECT 1 FROM incidents i WHERE i.id = incident_id)",
            own_incident,
        ),
    }


PER_ROW = "coalesce(current_setting('geo_service.agency', true), '')"
ONCE = f"(SELECT {PER_ROW})"


def _policies(agency: str) -> None:
    for table, (seen, own) in _rules(agency).items():
        op.execute(f"ALTER POLICY reads ON {table} TO {CALLER} USING ({seen})")
        op.execute(f"ALTER POLICY updates ON {table} TO {CALLER} USING ({own}) WITH CHECK ({own})")
        op.execute(f"ALTER POLICY deletes ON {table} TO {CALLER} USING ({own})")


def upgrade() -> None:
    _policies(ONCE)


def downgrade() -> None:
    _policies(PER_ROW)
