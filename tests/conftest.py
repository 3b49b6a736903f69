"""Fixtures shared by every test package: a real PostgreSQL server and migrated databases of
both backends (`store` runs each test on SQLite and on PostgreSQL)."""

import pytest

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


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> object:
    """Keep each test's own report, so a fixture can tell at teardown whether it failed."""
    report = yield
    if isinstance(report, pytest.TestReport) and report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def failed(item: pytest.Item) -> bool:
    report = item.stash.get(_CALL_REPORT, None)
    return report is not None and report.failed
