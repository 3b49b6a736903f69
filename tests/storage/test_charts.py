"""Charts behind links, on both backends: kept until they expire, pruned after, and one
signing secret per database whichever store instance asks first."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.migrate import upgrade
from storage.store import SqlStore, open_store
from storage.tables import chart_secret_t
from tests.databases import sqlite_url
from tests.storage.builders import MONDAY, acme

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # every byte value, NULs included


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


async def test_a_saved_chart_reads_back_until_it_expires(acme_store: SqlStore) -> None:
    until = MONDAY + timedelta(days=30)
    await acme_store.save_chart("acme", "chart-one", PNG, expires_at=until)

    assert await acme_store.chart_png("chart-one", now=MONDAY) == PNG
    assert await acme_store.chart_png("chart-one", now=until - timedelta(seconds=1)) == PNG
    assert await acme_store.chart_png("chart-one", now=until) is None
    assert await acme_store.chart_png("no-such-chart", now=MONDAY) is None


async def test_prune_forgets_expired_charts_only(acme_store: SqlStore) -> None:
    await acme_store.save_chart("acme", "old", PNG, expires_at=MONDAY + timedelta(hours=1))
    await acme_store.save_chart("acme", "new", b"new", expires_at=MONDAY + timedelta(days=2))

    assert await acme_store.prune_charts(now=MONDAY) == 0
    assert await acme_store.prune_charts(now=MONDAY + timedelta(days=1)) == 1
    assert await acme_store.prune_charts(now=MONDAY + timedelta(days=1)) == 0

    later = MONDAY + timedelta(days=1)
    assert await acme_store.chart_png("old", now=MONDAY) is None  # gone, not just expired
    assert await acme_store.chart_png("new", now=later) == b"new"


async def test_the_secret_is_made_once_per_database(database_url: str) -> None:
    """Two stores on one database (two replicas), asking at the same moment, get one secret,
    and it stays the same for a store opened later."""
    async with open_store(database_url) as one, open_store(database_url) as two:
        first, second = await asyncio.gather(one.chart_secret(), two.chart_secret())
        assert first == second
        assert len(first) == 32
        async with one.engine.connect() as conn:
            rows = (await conn.execute(select(func.count()).select_from(chart_secret_t))).scalar()
        assert rows == 1
    async with open_store(database_url) as later:
        assert await later.chart_secret() == first


async def test_each_database_has_its_own_secret(store: SqlStore, tmp_path: Path) -> None:
    other_url = sqlite_url(tmp_path / "other.db")
    await upgrade(other_url)
    async with open_store(other_url) as other:
        assert await other.chart_secret() != await store.chart_secret()
