"""Change notices name the days whose kept counts moved: `days` is [first, last] (UTC dates,
as the counts are kept), or null when the change moved no count (a narrative rewritten, a
status set). A process keeping sums over whole days lets go of those the change touched only:
a live report (today) leaves last month's sums as they are. A notice without `days` (a
TRUNCATE) may have moved any.

The functions of 0002 are made again with the same work and this notice.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:30:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rollups() -> ModuleType:
    """Revision 0002, whose trigger functions these are."""
    path = Path(__file__).with_name("0002_hex_rollups.py")
    spec = importlib.util.spec_from_file_location("hex_rollups_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_0002 = _rollups()
UTC_DAY = "({0} AT TIME ZONE 'UTC')::date"
GROUPS_OF = "JOIN incidents i ON i.id = a.incident_id WHERE i.deleted_at IS NULL"
# Per function, the days (one column) whose kept counts its statement moved.
DAYS = {
    "hex_rollup_incidents_inserted": f"SELECT {UTC_DAY.format('occurred_at')} FROM new_rows "
    "WHERE deleted_at IS NULL",
    "hex_rollup_incidents_updated": f"SELECT {UTC_DAY.format('t.at')} FROM new_rows n "
    "JOIN old_rows o ON o.id = n.id "
    "CROSS JOIN LATERAL (VALUES (n.occurred_at), (o.occurred_at)) AS t(at) "
    f"WHERE {_0002.CHANGED}",
    "hex_rollup_incidents_deleted": f"SELECT {UTC_DAY.format('occurred_at')} FROM old_rows",
    "hex_rollup_groups_inserted": f"SELECT {UTC_DAY.format('i.occurred_at')} FROM new_rows a "
    f"{GROUPS_OF}",
    "hex_rollup_groups_updated": f"SELECT {UTC_DAY.format('i.occurred_at')} FROM "
    f"(SELECT incident_id FROM new_rows UNION ALL SELECT incident_id FROM old_rows) AS a "
    f"{GROUPS_OF}",
    "hex_rollup_groups_deleted": f"SELECT {UTC_DAY.format('i.occurred_at')} FROM old_rows a "
    f"{GROUPS_OF}",
}


def _with_days(name: str) -> str:
    """0002's function `name`, its notice carrying the days its change moved."""
    made = _0002._function(name, _0002.FUNCTIONS[name])
    days = (
        f"(SELECT json_build_array(min(d), max(d)) FROM ({DAYS[name]}) AS c(d) HAVING count(d) > 0)"
    )
    notice = "json_build_object(\n        'table', TG_TABLE_NAME, 'op', TG_OP,"
    assert made.count(notice) == 1, name
    made = made.replace(notice, f"{notice} 'days', {days},")
    return made.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    for name in DAYS:
        op.execute(_with_days(name))


def downgrade() -> None:
    for name in DAYS:
        made = _0002._function(name, _0002.FUNCTIONS[name])
        op.execute(made.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
