"""Database URLs and async engines: the one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_URL = "sqlite+aiosqlite:///drumbeat.db"

# How long a SQLite writer waits for another process's write transaction (the CLI and the
# server share the file) before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000
POOL_SIZE, POOL_OVERFLOW = 10, 20
IDLE_BEFORE_PING = 5.0  # seconds a pooled connection may sit unused and not be pinged
_LAST_USED = "drumbeat_last_used"

# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE (see
# `_sqlite_begin`). Set on the store's writer engine; PostgreSQL ignores it.
WRITE_TRANSACTION = "drumbeat_write_transaction"

_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg",
                     "postgresql+psycopg2", "postgresql+pg8000"}  # fmt: skip
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}


class UnsupportedDatabaseError(ValueError):
    """The URL names a database Drumbeat does not run on."""


def normalise_url(url: str | URL | None) -> URL:
    """The async-driver form of a database URL; `None` or "" means the default SQLite file.

    Accepts what hosting platforms put in DATABASE_URL (`postgres://`, `postgresql://`, a sync
    driver name, `sslmode=`) and plain `sqlite:///path`.
    """
    if url is None or (isinstance(url, str) and not url.strip()):
        return make_url(DEFAULT_URL)
    parsed = make_url(url.strip() if isinstance(url, str) else url)
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in _POSTGRES_DRIVERS:
        query = dict(parsed.query)
        if "sslmode" in query:  # libpq spelling; asyncpg calls the same setting "ssl"
            query["ssl"] = query.pop("sslmode")
        return parsed.set(drivername="postgresql+asyncpg", query=query)
    raise UnsupportedDatabaseError(
        f"Unsupported database URL scheme {parsed.drivername!r}: use postgresql:// or sqlite:///"
    )


def is_sqlite(url: str | URL | None) -> bool:
    return normalise_url(url).get_backend_name() == "sqlite"


def create_engine(url: str | URL | None = None, *, echo: bool = False) -> AsyncEngine:
    """An async engine for `url` (normalised), with SQLite set up for several processes."""
    target = normalise_url(url)
    if target.get_backend_name() == "sqlite":
        engine = create_async_engine(target, echo=echo)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        target,
        echo=echo,
        # A Monday morning's requests wait on round trips, not on the CPU: enough connections
        # that fifty check-ins at once do not queue for one (times a few replicas, well
        # within PostgreSQL's default of 100).
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        # JIT compilation costs more than it saves on these short queries (it kicked in on the
        # organisation-wide digest and added a tenth of a second).
        connect_args={"server_settings": {"jit": "off"}},
    )
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's pool_pre_ping, for connections that sat idle: asyncpg's ping is three
    round trips (BEGIN, a query, ROLLBACK) and pool_pre_ping pays them on every checkout, a
    dozen times per check-in. A connection used moments ago is alive; one that was not is
    pinged, and replaced when the server went away (a restart, a failover, a proxy's idle
    timeout)."""
    pool = engine.sync_engine.pool
    dialect = engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < IDLE_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError() from error  # the pool connects afresh
            raise


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL (readers never block the writer), foreign keys, a busy timeout, and transactions
    that SQLAlchemy starts itself so writers can take the write lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3's own implicit BEGIN only starts transactions before DML and never as
        # IMMEDIATE; `_sqlite_begin` replaces it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough with WAL, much faster
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
        # when another connection wrote in between (busy_timeout cannot help it). Writers
        # therefore take the lock at BEGIN, where busy_timeout makes them queue instead.
        immediate = conn.get_execution_options().get(WRITE_TRANSACTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def ping(engine: AsyncEngine) -> None:
    """Readiness probe: raises when the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
