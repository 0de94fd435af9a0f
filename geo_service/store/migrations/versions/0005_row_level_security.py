"""The service's own database roles and row-level security on the incidents.

The service does not read or write as the owner of the tables. It connects (or switches,
`GEO_SERVICE_DB_ROLE`) to `geo_service_app`: not a superuser, owner of nothing, with the
rights it needs on the tables and BYPASSRLS, for what the service does itself (imports,
alerts, the live stream's shared reads). A request made for an agency switches to
`geo_service_caller` and names the agency in the setting `geo_service.agency`; for that role,
PostgreSQL applies the sharing rule of store.visibility once more underneath every query:
an incident is seen by its agency, and by every agency when shared `pcc`; its apprehension
groups and the counts kept per cell with it. A query that forgot the filter still reads
nothing it should not, and writes only the agency's own.

Roles belong to the cluster, not to a database: they are made once and kept.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP, CALLER = "geo_service_app", "geo_service_caller"
AGENCY = "coalesce(current_setting('geo_service.agency', true), '')"
# The agency's own rows, and every partner's shared with the PCC (no agency named: none).
SHARED = f"(agency = {AGENCY} OR (sharing = 'pcc' AND {AGENCY} <> ''))"
OWN = f"(agency = {AGENCY})"
OF_SEEN_INCIDENT = "EXISTS (SELECT 1 FROM incidents i WHERE i.id = incident_id)"
OF_OWN_INCIDENT = (
    f"EXISTS (SELECT 1 FROM incidents i WHERE i.id = incident_id AND i.agency = {AGENCY})"
)
# Per table: which rows the caller reads, which it may insert, and which change or remove.
# An incident and its groups are inserted by one statement, whose subqueries do not see the
# incident it inserts: a group's insert is checked by its foreign key and by the service.
POLICIES = {
    "incidents": (SHARED, OWN, OWN),
    "hex_counts": (SHARED, OWN, OWN),
    "hex_nationalities": (SHARED, OWN, OWN),
    "apprehensions": (OF_SEEN_INCIDENT, "true", OF_OWN_INCIDENT),
}


def upgrade() -> None:
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP}') THEN
            CREATE ROLE {APP} NOLOGIN BYPASSRLS;
          END IF;
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{CALLER}') THEN
            CREATE ROLE {CALLER} NOLOGIN;
          END IF;
        END $$""")
    op.execute(f"GRANT {CALLER} TO {APP}")
    for role in (APP, CALLER):
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
        op.execute(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
        )
        op.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}"
        )
    # Refreshing the planner's statistics after an import is the owner's right: lent, for
    # the incidents' tables only.
    op.execute(f"""
        CREATE FUNCTION geo_service_analyze(tbl text, col text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
        BEGIN
          IF tbl NOT IN ('incidents', 'apprehensions') THEN
            RAISE EXCEPTION 'not a table of incidents: %', tbl;
          END IF;
          EXECUTE format('ANALYZE %I (%I)', tbl, col);
        END $$;
        REVOKE ALL ON FUNCTION geo_service_analyze(text, text) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION geo_service_analyze(text, text) TO {APP}""")
    for table, (seen, new, own) in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY reads ON {table} FOR SELECT TO {CALLER} USING ({seen})")
        op.execute(f"CREATE POLICY inserts ON {table} FOR INSERT TO {CALLER} WITH CHECK ({new})")
        op.execute(
            f"CREATE POLICY updates ON {table} FOR UPDATE TO {CALLER} "
            f"USING ({own}) WITH CHECK ({own})"
        )
        op.execute(f"CREATE POLICY deletes ON {table} FOR DELETE TO {CALLER} USING ({own})")


def downgrade() -> None:
    for table in POLICIES:
        for policy in ("reads", "inserts", "updates", "deletes"):
            op.execute(f"DROP POLICY {policy} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION geo_service_analyze(text, text)")
    for role in (APP, CALLER):
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
