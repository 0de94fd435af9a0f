"""Users, API keys, browser sessions, and the audit trail.

A user belongs to one agency and has one role. Passwords are stored as argon2id hashes; API
keys and session tokens (random, 256 bits) as SHA-256 digests, so that what is stored opens
nothing. The audit trail is append-only for the service: its roles may add and read rows,
never change or remove them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERVICE_ROLES = ("geo_service_app", "geo_service_caller")


def _now() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.Text()),
        _now(),
        sa.Column("disabled_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "role IN ('viewer', 'analyst', 'officer', 'admin')", name=op.f("ck_users_role")
        ),
        sa.ForeignKeyConstraint(
            ["agency"], ["agencies.code"], name=op.f("fk_users_agency_agencies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index("uq_users_username", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _now(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_api_keys_secret_sha256")),
    )
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.Text(), nullable=False),
        _now(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("user_id", sa.BigInteger()),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(length=16)),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text()),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text())),
        sa.Column("address", postgresql.INET()),
        sa.Column("request_id", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    for role in SERVICE_ROLES:
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM {role}")
        op.execute(f"GRANT SELECT, INSERT ON audit TO {role}")


def downgrade() -> None:
    op.drop_table("audit")
    op.drop_table("sessions")
    op.drop_table("api_keys")
    op.drop_table("users")
