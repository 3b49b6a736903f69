"""Fixtures shared by every test package: a real PostgreSQL server and migrated databases of
both backends (`store` runs each test on SQLite and on PostgreSQL)."""

from tests.databases import (
    backend,
    database_url,
    postgres_database,
    sqlite_template,
    store,
)
from tests.pg import postgres_server

__all__ = [
    "backend",
    "database_url",
    "postgres_database",
    "postgres_server",
    "sqlite_template",
    "store",
]
