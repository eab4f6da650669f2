"""A real PostgreSQL server (Debian's ``postgresql`` package) started in a temporary folder for the tests.

PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the ``postgres``
user the Debian package creates (``runuser``), in a folder handed to it. It listens on a free
loopback port with trust authentication and is stopped (``pg_ctl stop -m immediate``) at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg


def pg_bin_dir() -> Path:
    """The newest installed server's bin folder (``/usr/lib/postgresql/15/bin`` on Debian 12)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` (make test does this)")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = pg_bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stdout}\n{result.stderr}")

    def start(self) -> PostgresServer:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "assistant",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        )
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start"
        )
        return self

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://assistant@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"postgresql://assistant@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
