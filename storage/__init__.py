"""Drumbeat's storage: SQLModel tables, async engines (SQLite or PostgreSQL), Alembic
migrations and `SqlStore`, which implements every repository port of `rhythm.ports`.

    await upgrade(url)                      # once at start-up (storage.migrate)
    async with open_store(url) as store:    # url: DATABASE_URL, default sqlite drumbeat.db
        ...
"""

from storage.engine import DEFAULT_URL, create_engine, normalise_url, ping
from storage.migrate import upgrade, upgrade_blocking
from storage.store import SqlStore, open_store

__all__ = [
    "DEFAULT_URL",
    "SqlStore",
    "create_engine",
    "normalise_url",
    "open_store",
    "ping",
    "upgrade",
    "upgrade_blocking",
]
