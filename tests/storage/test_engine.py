"""Database URLs, SQLite's multi-process settings and the readiness ping."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.engine as engine_module
from storage.engine import (
    DEFAULT_URL,
    SQLITE_BUSY_TIMEOUT_MS,
    UnsupportedDatabaseError,
    create_engine,
    normalise_url,
)
from storage.store import SqlStore, open_store
from tests.pg import PostgresServer


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, DEFAULT_URL),
        ("  ", DEFAULT_URL),
        ("sqlite:///data/drumbeat.db", "sqlite+aiosqlite:///data/drumbeat.db"),
        ("sqlite:////var/lib/drumbeat.db", "sqlite+aiosqlite:////var/lib/drumbeat.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u:p%40ss@h/db", "postgresql+asyncpg://u:p%40ss@h/db"),
        ("postgres://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str | None, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


def test_other_databases_are_refused() -> None:
    with pytest.raises(UnsupportedDatabaseError, match="mysql"):
        normalise_url("mysql://u@h/db")


async def test_sqlite_is_set_up_for_several_processes(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await engine.dispose()
    assert pragmas == ["wal", 1, SQLITE_BUSY_TIMEOUT_MS]


async def test_ping(store: SqlStore, tmp_path: Path) -> None:
    assert await store.ping() is True

    unreachable = open_store("postgresql://nobody@127.0.0.1:1/none")
    assert await unreachable.ping() is False  # connection refused: not ready, no exception
    await unreachable.aclose()


POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


async def _pooled_backend_killed(database_url: str, server: PostgresServer) -> AsyncEngine:
    """An engine whose one pooled connection the server has since dropped (a restart)."""
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    admin = await asyncpg.connect(server._dsn())
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    return engine


@POSTGRES_ONLY
async def test_a_connection_that_sat_idle_is_pinged_and_replaced_when_the_server_dropped_it(
    database_url: str, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await _pooled_backend_killed(database_url, postgres_server)
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING", 0.0)  # it has sat long enough
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


@POSTGRES_ONLY
async def test_a_connection_used_moments_ago_is_not_pinged(
    database_url: str, postgres_server: PostgresServer
) -> None:
    """The price of not pinging busy connections: a query on one the server dropped in the
    last seconds fails once (the request gets its apology), and the pool starts afresh."""
    engine = await _pooled_backend_killed(database_url, postgres_server)
    try:
        with pytest.raises(DBAPIError):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
