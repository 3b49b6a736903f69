"""Database URLs, SQLite's multi-process settings and the readiness ping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import (
    DEFAULT_URL,
    SQLITE_BUSY_TIMEOUT_MS,
    UnsupportedDatabaseError,
    create_engine,
    normalise_url,
)
from storage.store import SqlStore, open_store


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
