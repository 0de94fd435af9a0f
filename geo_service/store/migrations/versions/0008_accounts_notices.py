"""A notice on the service's change channel whenever users, API keys or sessions are changed
or removed, so that every process forgets the credentials it verified lately (a key revoked,
a user disabled, a session ended stops working everywhere as soon as the notice arrives).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a change must touch to make a verified credential doubtful: not a key's last use,
# which is noted as it is used (that would empty every process's keys every minute).
WATCHED = {
    "users": "UPDATE OF agency, role, disabled_at OR DELETE OR TRUNCATE",
    "api_keys": "UPDATE OF user_id, secret_sha256, expires_at, revoked_at OR DELETE OR TRUNCATE",
    "sessions": "UPDATE OR DELETE OR TRUNCATE",
}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION accounts_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_notify('geo_service_changes', json_build_object(
                'table', 'accounts', 'op', 'CHANGE', 'ids', '[]'::json, 'count', NULL)::text);
            RETURN NULL;
        END
        $fn$
        """
    )
    for table, events in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER {table}_changed AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION accounts_changed()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_changed ON {table}")
    op.execute("DROP FUNCTION accounts_changed()")
