"""The functions that keep the counts per cell (0002, made again in 0010) plan their
statements as PostgreSQL chooses, whatever the session says.

The service's connections plan every statement for its values (`plan_cache_mode =
force_custom_plan`, store/db.py): its reads name a box and a time window whose selectivity a
plan for any values cannot know. The counting functions' statements read the rows of one
write, and a plan kept for any values serves every write alike; planned afresh they cost a
single-incident write ~0.3 ms more (~0.95 against ~0.65 ms per insert with its counts, on
the layer benchmark's database). A function made again with CREATE OR REPLACE loses this
setting: a migration that does so sets it again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EACH_COUNTING_FUNCTION = """
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname LIKE 'hex\\_rollup\\_%'
    LOOP
        EXECUTE format('ALTER FUNCTION %s {change}', f);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(_EACH_COUNTING_FUNCTION.format(change="SET plan_cache_mode = auto"))


def downgrade() -> None:
    op.execute(_EACH_COUNTING_FUNCTION.format(change="RESET plan_cache_mode"))
