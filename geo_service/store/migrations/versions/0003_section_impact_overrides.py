"""Impact levels set by hand on border sections, with their reasons and history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "section_impact_overrides",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("section_id", sa.String(length=10), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "level IS NULL OR level IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_section_impact_overrides_level"),
        ),
        sa.CheckConstraint(
            "length(reason) BETWEEN 3 AND 2000", name=op.f("ck_section_impact_overrides_reason")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["border_sections.id"],
            name=op.f("fk_section_impact_overrides_section_id_border_sections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_section_impact_overrides")),
    )
    op.create_index(
        "ix_section_impact_overrides_section_id_set_at",
        "section_impact_overrides",
        ["section_id", "set_at"],
    )
    # A level set by hand changes what the service keeps of the sections: tell it.
    op.execute(
        """
        CREATE FUNCTION section_impact_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_notify('geo_service_changes', TG_TABLE_NAME || ' ' || TG_OP);
            RETURN NULL;
        END
        $fn$;
        CREATE TRIGGER section_impact_changed AFTER INSERT ON section_impact_overrides
        FOR EACH STATEMENT EXECUTE FUNCTION section_impact_changed();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER section_impact_changed ON section_impact_overrides")
    op.execute("DROP FUNCTION section_impact_changed()")
    op.drop_index(
        "ix_section_impact_overrides_section_id_set_at", table_name="section_impact_overrides"
    )
    op.drop_table("section_impact_overrides")
