"""Transactions and the few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Insert

from storage.engine import WRITE_TRANSACTION

T = TypeVar("T")


class Database:
    """An engine plus the three kinds of transaction the repositories use."""

    def __init__(self, *, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{WRITE_TRANSACTION: True})
        # A lone read needs no transaction: on PostgreSQL, AUTOCOMMIT spares the BEGIN and
        # ROLLBACK round trips around it (two of every three on the interactive path).
        self._reader = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if self.is_postgresql else engine
        )

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only unit of work of one statement (or several that need not agree)."""
        async with self._reader.connect() as conn:
            yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """Several reads that must see the same state. SQLite's deferred transaction already
        reads one snapshot; PostgreSQL's default READ COMMITTED would not."""
        async with self.engine.connect() as conn:
            if self.is_postgresql:
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One all-or-nothing write transaction (BEGIN IMMEDIATE on SQLite)."""
        async with self._writer.begin() as conn:
            yield conn

    def insert_ignoring(self, table: Table, conflict: Sequence[str]) -> Insert:
        """INSERT ... ON CONFLICT (conflict) DO NOTHING."""
        return insert_ignoring(self.dialect, table, conflict)

    def upsert(
        self,
        table: Table,
        conflict: Sequence[str],
        values: Mapping[str, Any],
        *,
        only_if_greater: str | None = None,
    ) -> Insert:
        """INSERT ... ON CONFLICT (conflict) DO UPDATE the other columns of `values`;
        with `only_if_greater`, only when that column's new value is greater (a watermark)."""
        stmt = (postgresql.insert if self.is_postgresql else sqlite.insert)(table).values(values)
        changes = {name: stmt.excluded[name] for name in values if name not in conflict}
        where = None
        if only_if_greater is not None:
            where = table.c[only_if_greater] < stmt.excluded[only_if_greater]
        return stmt.on_conflict_do_update(index_elements=conflict, set_=changes, where=where)


class Repository:
    """Base of the repository classes: they share one `Database`, so `SqlStore` can combine
    them by inheritance."""

    def __init__(self, *, db: Database) -> None:
        self._db = db


def chunks(items: Sequence[T], size: int = 500) -> list[Sequence[T]]:
    """IN lists of bounded length (SQLite's variable limit, PostgreSQL's planner)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def insert_ignoring(dialect: str, table: Table, conflict: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING, for `dialect` ("postgresql" or "sqlite")."""
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=conflict)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=conflict)
