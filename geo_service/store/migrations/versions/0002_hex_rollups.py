"""Incidents per H3 cell per day and month, kept by triggers: hex_counts, hex_nationalities.

Every change to incidents or apprehensions adds its difference in the same transaction
(statement-level triggers over transition tables, so a COPY of a million rows is one
aggregate); a hard delete recounts the days and months it touched; a TRUNCATE empties them.
Each also notifies the channel `geo_service_changes` (delivered at commit).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As they were when this revision was written (domain.CATEGORIES).
CATEGORIES = (
    "unauthorised_crossing",
    "migrant_smuggling",
    "trafficking_in_human_beings",
    "drug_smuggling",
    "weapons_smuggling",
    "excise_smuggling",
    "stolen_vehicle",
    "document_fraud",
    "other_crime",
    "crisis",
)
# The resolutions of whole-corridor views; at 8 and 9 a cell holds so few incidents a day
# that counting ahead would cost the write path more than it saves a read.
RESOLUTIONS = (5, 6, 7)
KEY = "resolution, period, start, cell, agency, sharing"
# The incident columns whose change moves a row's contribution.
COUNTED = (
    "category",
    "occurred_at",
    "agency",
    "sharing",
    "persons_involved",
    *(f"h3_res{r}" for r in RESOLUTIONS),
)

CELL = "CASE r.res " + " ".join(f"WHEN {r} THEN s.h3_res{r}" for r in RESOLUTIONS) + " END"
SPREAD = (
    "CROSS JOIN (VALUES " + ", ".join(f"({r})" for r in RESOLUTIONS) + ") AS r(res) "
    "CROSS JOIN LATERAL (VALUES "
    "('d', (s.occurred_at AT TIME ZONE 'UTC')::date), "
    "('m', date_trunc('month', s.occurred_at AT TIME ZONE 'UTC')::date)"
    ") AS p(period, start)"
)


def _sums(prefix: str, value: str) -> tuple[str, str]:
    names = ", ".join(f"{prefix}_{c}" for c in CATEGORIES)
    sums = ", ".join(
        f"coalesce(sum({value}) FILTER (WHERE s.category = '{c}'), 0)" for c in CATEGORIES
    )
    return names, sums


def _added(table: str, names: str) -> str:
    return ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in names.split(", "))


def counts(source: str, keep: str = "TRUE") -> str:
    """Add the rows of `source` (incident columns and `sign`) to hex_counts."""
    n_names, n_sums = _sums("n", "s.sign")
    p_names, p_sums = _sums("p", "s.sign * s.persons_involved")
    return f"""
    INSERT INTO hex_counts AS h ({KEY}, {n_names}, {p_names})
    SELECT r.res, p.period, p.start, {CELL}, s.agency, s.sharing, {n_sums}, {p_sums}
    FROM ({source}) AS s {SPREAD}
    WHERE {keep}
    GROUP BY 1, 2, 3, 4, 5, 6
    ORDER BY 1, 2, 3, 4, 5, 6
    ON CONFLICT ({KEY}) DO UPDATE SET {_added("h", n_names)}, {_added("h", p_names)};
    """


def nationalities(source: str, keep: str = "TRUE") -> str:
    """Add the rows of `source` (incident columns, `nationality`, `persons`, `sign`) to
    hex_nationalities."""
    a_names, a_sums = _sums("a", "s.sign * s.persons")
    return f"""
    INSERT INTO hex_nationalities AS h ({KEY}, nationality, {a_names})
    SELECT r.res, p.period, p.start, {CELL}, s.agency, s.sharing, s.nationality, {a_sums}
    FROM ({source}) AS s {SPREAD}
    WHERE {keep}
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT ({KEY}, nationality) DO UPDATE SET {_added("h", a_names)};
    """


# Every change also tells the service's processes, at commit, so that what they keep of the
# incidents (tile caches) is renewed by the database's changes, not by time.
CHANNEL = "geo_service_changes"


# The incidents a statement changed, as the notice names them (up to NOTICE_IDS of them; the
# count tells whether that is all).
NOTICE_IDS = 100
CHANGED_IDS = {
    "incidents": {"INSERT": "SELECT id FROM new_rows", "UPDATE": "SELECT id FROM new_rows",
                  "DELETE": "SELECT id FROM old_rows"},
    "groups": {"INSERT": "SELECT incident_id FROM new_rows",
               "UPDATE": "SELECT incident_id FROM new_rows",
               "DELETE": "SELECT incident_id FROM old_rows"},
}  # fmt: skip


def _notice(ids: str | None) -> str:
    """The notice of a change: JSON with the table, the operation and the incidents' ids."""
    if ids is None:
        return f"PERFORM pg_notify('{CHANNEL}', json_build_object('table', TG_TABLE_NAME, " \
            "'op', TG_OP, 'count', NULL, 'ids', '[]'::json)::text);"  # fmt: skip
    return f"""
    PERFORM pg_notify('{CHANNEL}', json_build_object(
        'table', TG_TABLE_NAME, 'op', TG_OP,
        'count', (SELECT count(DISTINCT x) FROM ({ids}) AS i(x)),
        'ids', coalesce((SELECT json_agg(x) FROM (
            SELECT DISTINCT x FROM ({ids}) AS i(x) ORDER BY x LIMIT {NOTICE_IDS}) AS s), '[]')
    )::text);
    """


def _function(name: str, body: str) -> str:
    table = "groups" if "_groups_" in name else "incidents"
    event = {"inserted": "INSERT", "updated": "UPDATE", "deleted": "DELETE"}.get(
        name.rsplit("_", 1)[1]
    )
    ids = CHANGED_IDS[table].get(event) if event else None
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
    {body}
    {_notice(ids)}
    RETURN NULL;
    END
    $fn$;
    """


CHANGED = (
    "("
    + ", ".join(f"n.{c}" for c in COUNTED)
    + ", n.deleted_at IS NULL) IS DISTINCT FROM ("
    + ", ".join(f"o.{c}" for c in COUNTED)
    + ", o.deleted_at IS NULL)"
)
GROUP_COLUMNS = "a.nationality, a.persons"

FUNCTIONS = {
    "hex_rollup_incidents_inserted": counts(
        "SELECT i.*, 1 AS sign FROM new_rows i WHERE i.deleted_at IS NULL"
    ),
    "hex_rollup_incidents_updated": counts(
        "SELECT n.*, 1 AS sign FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"WHERE n.deleted_at IS NULL AND {CHANGED} "
        "UNION ALL "
        "SELECT o.*, -1 AS sign FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE o.deleted_at IS NULL AND {CHANGED}"
    )
    + nationalities(
        f"SELECT n.*, {GROUP_COLUMNS}, 1 AS sign FROM new_rows n "
        "JOIN old_rows o ON o.id = n.id JOIN apprehensions a ON a.incident_id = n.id "
        f"WHERE n.deleted_at IS NULL AND {CHANGED} "
        "UNION ALL "
        f"SELECT o.*, {GROUP_COLUMNS}, -1 AS sign FROM old_rows o "
        "JOIN new_rows n ON n.id = o.id JOIN apprehensions a ON a.incident_id = o.id "
        f"WHERE o.deleted_at IS NULL AND {CHANGED}"
    ),
    # A hard delete (their groups go with them): recount the days and months it touched.
    "hex_rollup_incidents_deleted": """
    PERFORM hex_rollup_recount(
        ARRAY(SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM old_rows)
    );
    """,
    "hex_rollup_incidents_truncated": "TRUNCATE hex_counts, hex_nationalities;",
    "hex_rollup_groups_inserted": nationalities(
        f"SELECT i.*, {GROUP_COLUMNS}, 1 AS sign FROM new_rows a "
        "JOIN incidents i ON i.id = a.incident_id WHERE i.deleted_at IS NULL"
    ),
    "hex_rollup_groups_updated": nationalities(
        f"SELECT i.*, {GROUP_COLUMNS}, 1 AS sign FROM new_rows a "
        "JOIN incidents i ON i.id = a.incident_id WHERE i.deleted_at IS NULL "
        "UNION ALL "
        f"SELECT i.*, {GROUP_COLUMNS}, -1 AS sign FROM old_rows a "
        "JOIN incidents i ON i.id = a.incident_id WHERE i.deleted_at IS NULL"
    ),
    "hex_rollup_groups_deleted": nationalities(
        f"SELECT i.*, {GROUP_COLUMNS}, -1 AS sign FROM old_rows a "
        "JOIN incidents i ON i.id = a.incident_id WHERE i.deleted_at IS NULL"
    ),
    "hex_rollup_groups_truncated": "TRUNCATE hex_nationalities;",
}

TRIGGERS = (
    ("incidents", "INSERT", "NEW TABLE AS new_rows", "hex_rollup_incidents_inserted"),
    (
        "incidents",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "hex_rollup_incidents_updated",
    ),
    ("incidents", "DELETE", "OLD TABLE AS old_rows", "hex_rollup_incidents_deleted"),
    ("incidents", "TRUNCATE", None, "hex_rollup_incidents_truncated"),
    ("apprehensions", "INSERT", "NEW TABLE AS new_rows", "hex_rollup_groups_inserted"),
    (
        "apprehensions",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "hex_rollup_groups_updated",
    ),
    ("apprehensions", "DELETE", "OLD TABLE AS old_rows", "hex_rollup_groups_deleted"),
    ("apprehensions", "TRUNCATE", None, "hex_rollup_groups_truncated"),
)

# Recount the given days, and the months they fall in, from the incidents themselves.
_MONTHS = "ARRAY(SELECT DISTINCT date_trunc('month', d)::date FROM unnest(days) AS d)"
_IN_MONTHS = f"date_trunc('month', i.occurred_at AT TIME ZONE 'UTC')::date = ANY({_MONTHS})"
_KEEP = "(p.period = 'm' OR p.start = ANY(days))"
RECOUNT = f"""
CREATE FUNCTION hex_rollup_recount(days date[]) RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM hex_counts WHERE (period = 'd' AND start = ANY(days))
        OR (period = 'm' AND start = ANY({_MONTHS}));
    DELETE FROM hex_nationalities WHERE (period = 'd' AND start = ANY(days))
        OR (period = 'm' AND start = ANY({_MONTHS}));
    {counts(f"SELECT i.*, 1 AS sign FROM incidents i WHERE i.deleted_at IS NULL AND {_IN_MONTHS}", _KEEP)}
    {nationalities(f"SELECT i.*, {GROUP_COLUMNS}, 1 AS sign FROM incidents i JOIN apprehensions a ON a.incident_id = i.id WHERE i.deleted_at IS NULL AND {_IN_MONTHS}", _KEEP)}
END
$fn$;
"""


def _key_columns() -> list[sa.Column]:
    return [
        sa.Column("resolution", sa.SmallInteger(), nullable=False),
        sa.Column("period", sa.String(length=1), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("agency", sa.String(length=16), nullable=False),
        sa.Column("sharing", sa.String(length=8), nullable=False),
    ]


def _category_columns(prefix: str) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_{c}", sa.Integer(), server_default="0", nullable=False)
        for c in CATEGORIES
    ]


def upgrade() -> None:
    op.create_table(
        "hex_counts",
        *_key_columns(),
        *_category_columns("n"),
        *_category_columns("p"),
        sa.PrimaryKeyConstraint(*KEY.split(", "), name=op.f("pk_hex_counts")),
    )
    op.create_table(
        "hex_nationalities",
        *_key_columns(),
        sa.Column("nationality", sa.String(length=3), nullable=False),
        *_category_columns("a"),
        sa.PrimaryKeyConstraint(*KEY.split(", "), "nationality", name=op.f("pk_hex_nationalities")),
    )
    op.execute(RECOUNT)
    for name, body in FUNCTIONS.items():
        op.execute(_function(name, body))
    for table, event, referencing, function in TRIGGERS:
        refs = f"REFERENCING {referencing} " if referencing else ""
        op.execute(
            f"CREATE TRIGGER {function} AFTER {event} ON {table} {refs}"
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    # What is stored already.
    op.execute(counts("SELECT i.*, 1 AS sign FROM incidents i WHERE i.deleted_at IS NULL"))
    op.execute(
        nationalities(
            f"SELECT i.*, {GROUP_COLUMNS}, 1 AS sign FROM incidents i "
            "JOIN apprehensions a ON a.incident_id = i.id WHERE i.deleted_at IS NULL"
        )
    )


def downgrade() -> None:
    for table, _event, _referencing, function in TRIGGERS:
        op.execute(f"DROP TRIGGER {function} ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    op.execute("DROP FUNCTION hex_rollup_recount(date[])")
    op.drop_table("hex_nationalities")
    op.drop_table("hex_counts")
