"""Alerts (a section's impact level rising, a cell becoming a hot spot) and the last state
seen of each subject; every new alert notifies the change channel for the live stream.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("kind IN ('section-level', 'hot-spot')", name=op.f("ck_alerts_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_raised_at", "alerts", ["raised_at"])
    op.create_table(
        "alert_states",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("kind", "subject", name=op.f("pk_alert_states")),
    )
    op.execute(
        """
        CREATE FUNCTION alerts_raised() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_notify('geo_service_changes', json_build_object(
                'table', 'alerts', 'op', 'INSERT',
                'count', (SELECT count(*) FROM new_rows),
                'ids', coalesce((SELECT json_agg(id ORDER BY id) FROM new_rows), '[]')
            )::text);
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER alerts_raised AFTER INSERT ON alerts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION alerts_raised();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER alerts_raised ON alerts")
    op.execute("DROP FUNCTION alerts_raised()")
    op.drop_table("alert_states")
    op.drop_index("ix_alerts_raised_at", table_name="alerts")
    op.drop_table("alerts")
