"""One contract, two backends: every `store` test runs on SQLite and on PostgreSQL.

Both backends start from the schema the real migration builds: on SQLite a file migrated once
per session with `storage.migrate.upgrade` and copied per test; on PostgreSQL a schema of its own
per test, made by running the migration's SQL (Alembic's offline rendering of the same
upgrade) as a new role. test_migrations.py runs `upgrade` itself on both.
"""

from __future__ import annotations

import functools
import io
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command

from storage.migrate import alembic_config, upgrade
from storage.store import SqlStore, open_store
from tests.pg import PostgresServer

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "drumbeat.db"
    await upgrade(sqlite_url(path))
    return path


@functools.cache
def migration_sql(url: str) -> str:
    """The SQL `upgrade` would run on `url`'s kind of database (Alembic's offline mode)."""
    config = alembic_config(url)
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    return config.output_buffer.getvalue()


@pytest.fixture(scope="session")
async def postgres_database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A database shared by the tests, each working in a schema of its own."""
    name = await postgres_server.create_database(prefix="storage")
    yield name
    await postgres_server.drop_database(name)


@dataclass(frozen=True, slots=True)
class Backend:
    """One database server kind and its migrated template."""

    name: str
    sqlite_template: Path | None = None
    server: PostgresServer | None = None
    postgres_database: str = ""

    async def new_database(self, directory: Path, *, migrated: bool = True) -> str:
        """The URL of a new, empty database (SQLite) or schema (PostgreSQL); `migrated`: with
        the tables."""
        if self.sqlite_template is not None:
            path = directory / f"db-{uuid.uuid4().hex[:8]}.sqlite"
            if migrated:
                shutil.copyfile(self.sqlite_template, path)
            return sqlite_url(path)
        assert self.server is not None
        url = self.server.url(self.postgres_database)
        script = migration_sql(url) if migrated else ""
        return await self.server.create_schema(self.postgres_database, script=script)

    async def drop_database(self, url: str) -> None:
        if self.server is not None:
            await self.server.drop_schema(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    # A sync fixture, so the session templates (async fixtures) can be requested lazily: a
    # SQLite-only run (-m "not postgres") never starts PostgreSQL.
    if request.param == "sqlite":
        return Backend("sqlite", sqlite_template=request.getfixturevalue("sqlite_template"))
    return Backend(
        "postgresql",
        server=request.getfixturevalue("postgres_server"),
        postgres_database=request.getfixturevalue("postgres_database"),
    )


@pytest.fixture
async def database_url(backend: Backend, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a fresh, migrated, empty database of each backend."""
    url = await backend.new_database(tmp_path)
    try:
        yield url
    finally:
        await backend.drop_database(url)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    async with open_store(database_url) as opened:
        yield opened
