"""PostGIS's bounding-box overlap (`&&` on geometries) marked LEAKPROOF, so that the spatial
index serves callers under row-level security.

PostgreSQL evaluates a condition that is not LEAKPROOF only after a row has passed the
row-level security policy, and so never uses it to search an index: for a caller of an agency,
a bounding-box or tile request read every incident (a sequential scan of a million rows,
~300 ms, instead of ~3 ms). `geometry_overlaps` compares two bounding boxes and returns a
boolean; it raises no error that carries a value of the row it reads, which is what LEAKPROOF
promises. Only a superuser may mark a function so: a migration run by another role leaves it
unmarked (the service still answers rightly, more slowly) and says so.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 21:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _mark(leakproof: bool) -> None:
    setting = "LEAKPROOF" if leakproof else "NOT LEAKPROOF"
    op.execute(
        f"""
        DO $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                ALTER FUNCTION geometry_overlaps(geometry, geometry) {setting};
            ELSE
                RAISE WARNING 'geometry_overlaps not marked {setting} (needs a superuser): '
                    'spatial filters of callers under row-level security cannot use the '
                    'spatial index';
            END IF;
        END $$
        """
    )


def upgrade() -> None:
    _mark(True)


def downgrade() -> None:
    _mark(False)
