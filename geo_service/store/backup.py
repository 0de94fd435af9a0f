"""Backup and restore of the whole database with PostgreSQL's own tools: `pg_dump` in its
custom format (compressed, restorable table by table) and `pg_restore`.

A restore replaces what the target database holds (`--clean --if-exists`) and loads every
table as it was dumped with the triggers held back (`--disable-triggers`, which needs a
superuser, as the project-local cluster's `postgres` is): the counts kept per H3 cell are
restored as they were, not counted a second time by the triggers of the incidents' rows."""

import shutil
import subprocess
from pathlib import Path

from geo_service.settings import libpq_url


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed; the message is theirs."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client-15)")
    return path


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(done.stderr.strip() or f"{command[0]} exited with {done.returncode}")


def backup(database_url: str, out: Path) -> None:
    """Dump the database to `out` (custom format)."""
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={out}",
          f"--dbname={libpq_url(database_url)}"])  # fmt: skip


def restore(database_url: str, dump: Path) -> None:
    """Replace the database's content with `dump`'s, in one transaction."""
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--disable-triggers",
          "--single-transaction", "--exit-on-error", f"--dbname={libpq_url(database_url)}",
          str(dump)])  # fmt: skip
