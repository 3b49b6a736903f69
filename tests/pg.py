"""A real PostgreSQL server for the tests.

With DATABASE_URL set to a PostgreSQL URL the tests use that server (the role must be allowed
to CREATE DATABASE). Otherwise a throwaway cluster is started once per test session with the
Debian package's initdb/pg_ctl (`scripts/ensure-postgres.sh` installs it), in a temporary
directory, on a free port of 127.0.0.1, and removed at the end. initdb refuses to run as root,
so as root the server runs as the `postgres` user the package creates.

Tests ask for `postgres_server` and start clean with a database of their own
(`create_database`, about 0.3 s: it copies a template) or, cheaper, a schema of their own in a
shared database (`create_schema`, a few milliseconds): a new role whose schema has the role's
name, so the default search_path ("$user", public) puts everything the role does there.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"


@dataclass(frozen=True, slots=True)
class PostgresServer:
    admin_url: str  # a database to run CREATE/DROP DATABASE from

    def url(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(False)

    def _dsn(self, database: str | None = None) -> str:
        # asyncpg wants a libpq-style URL, without a SQLAlchemy driver name.
        url = make_url(self.admin_url).set(drivername="postgresql")
        if database:
            url = url.set(database=database)
        return url.render_as_string(False)

    async def create_database(self, *, template: str | None = None, prefix: str = "test") -> str:
        """A new, uniquely named database (a copy of `template` if given); returns its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self._dsn())
        try:
            suffix = f' TEMPLATE "{template}"' if template else ""
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        return name

    async def create_schema(self, database: str, *, script: str = "") -> str:
        """A new role owning a new, empty schema in `database`; runs `script` (SQL) there as
        that role and returns a URL that connects as the role."""
        role = f"t_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self._dsn(database))
        try:
            await admin.execute(
                f"CREATE ROLE {role} LOGIN PASSWORD '{role}'; "
                f"CREATE SCHEMA {role} AUTHORIZATION {role}"
            )
        finally:
            await admin.close()
        url = make_url(self.url(database)).set(username=role, password=role)
        if script:
            owner = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
            try:
                await owner.execute(script)
            finally:
                await owner.close()
        return url.render_as_string(False)

    async def drop_schema(self, url: str) -> None:
        """Drop a `create_schema` schema and its role (their sessions are ended first)."""
        target = make_url(url)
        role = target.username
        admin = await asyncpg.connect(self._dsn(target.database))
        try:
            await admin.execute(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
            await admin.execute(f"DROP SCHEMA {role} CASCADE; DROP ROLE {role}")
        finally:
            await admin.close()

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self._dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def _postgres_url_from_env() -> str | None:
    url = os.environ.get("DATABASE_URL", "").strip()
    return url if url.startswith(("postgres://", "postgresql")) else None


def _newest_bin_dir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(part) for part in name.split(".") if part.isdigit())

    found = [d for d in glob.glob(PG_BIN_GLOB) if Path(d, "initdb").exists()]
    return Path(max(found, key=version)) if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Cluster:
    """initdb + pg_ctl in a temporary directory, as `postgres` when we are root."""

    def __init__(self, *, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="drumbeat-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", SERVER_USER, "--"]
            shutil.chown(self.root, SERVER_USER, SERVER_USER)

    def _run(self, *args: str) -> None:
        # cwd: the server user may not be allowed into the directory pytest runs from.
        done = subprocess.run(
            [*self.as_user, *args], cwd=self.root, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}"
            )

    def start(self) -> str:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SERVER_USER,
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            # A test server: durability buys nothing, speed does.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=300 -c wal_level=minimal -c max_wal_senders=0"
        )
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "60", "start")  # fmt: skip
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():  # started, not only initialised
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                          "stop")  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    from_env = _postgres_url_from_env()
    if from_env:
        yield PostgresServer(admin_url=from_env)
        return
    bin_dir = _newest_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL tests need a server: set DATABASE_URL to a PostgreSQL URL, or install "
            f"the server binaries (none found in {PG_BIN_GLOB}; run scripts/ensure-postgres.sh).",
            pytrace=False,
        )
    cluster = _Cluster(bin_dir=bin_dir)
    try:
        admin_url = cluster.start()
        yield PostgresServer(admin_url=admin_url)
    finally:
        cluster.stop()
