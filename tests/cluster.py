"""A PostgreSQL cluster of a test's own, on a free port, that the test may stop and start
(the shared test database's server is never stopped). As root it belongs to the `postgres`
system user, as initdb requires."""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    assert found, "no PostgreSQL server binaries (./dev setup installs them)"
    return Path(found[-1])


class Cluster:
    def __init__(self, port: int, *, replica_of: "Cluster | None" = None, conf: str = "") -> None:
        """A new cluster on `port`; with `replica_of`, a streaming replica of that running
        cluster, copied from it by pg_basebackup; `conf`: more lines of postgresql.conf."""
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="geo-service-cluster-"))
        self.data = self.root / "data"
        self.bin = _bindir()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, "postgres")
        if replica_of is None:
            self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                     "--encoding=UTF8", "--locale=C.UTF-8")  # fmt: skip
            settings = "fsync = off\nmax_connections = 100\ntimezone = 'UTC'\n"
        else:
            # -R: the copy starts as a standby streaming from the original.
            self._pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(replica_of.port),
                     "-U", "postgres", "-D", str(self.data), "-R", "-X", "stream",
                     "-c", "fast")  # fmt: skip
            settings = "hot_standby_feedback = on\n"
        with (self.data / "postgresql.conf").open("a") as out:
            out.write(
                f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = ''\n"
                + settings
                + conf
            )

    def _pg(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd="/")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.root / "pg.log"), "-w", "start")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(self.url(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        return self.url(name)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
