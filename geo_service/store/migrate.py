"""Running the Alembic migrations and telling whether the database is at their head."""

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from geo_service.settings import sqlalchemy_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("postgresql://unused/x")).get_current_head()


@dataclass(frozen=True)
class SchemaStatus:
    ready: bool
    reason: str


async def schema_status(engine: AsyncEngine, timeout_s: float = 2.0) -> SchemaStatus:
    """Whether the database answers within `timeout_s` and is at the newest migration."""
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as exc:  # any failure to reach the database means not ready
        return SchemaStatus(False, f"database unreachable: {type(exc).__name__}")
    head = head_revision()
    if current != head:
        return SchemaStatus(False, f"database at migration {current}, code at {head}")
    return SchemaStatus(True, "database reachable, migrations current")
