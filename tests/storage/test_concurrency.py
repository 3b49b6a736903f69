"""Several processes at once: every prompt is claimed exactly once, and an import never undoes
a check-in.

Two engines stand for two processes (each its own connection pool); each runs several
claimers concurrently, so claims really interleave on the server (PostgreSQL) or queue on the
file lock (SQLite).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.ports import Answering
from storage.checkins import _lock_for_checkin
from storage.store import SqlStore, open_store
from tests.storage.builders import ANA, BEN, MONDAY, WEEK, acme, due, update, weekly

PROMPTS = 500
FILE_VALUE = 8.5  # kr-lead's current value in the builders' file
LEASE = timedelta(minutes=5)


async def drain(store: SqlStore, worker: str) -> list[int]:
    claimed: list[int] = []
    while batch := await store.claim_unsent(
        "acme", now=MONDAY, worker=worker, limit=7, lease=LEASE
    ):
        claimed.extend(p.id for p in batch)
        await asyncio.sleep(0)  # let the other claimers in between batches
    return claimed


async def test_concurrent_claimers_never_share_a_prompt(store: SqlStore, database_url: str) -> None:
    await store.save_organisation(acme())
    people = [f"p{i}@acme.test" for i in range(PROMPTS)]
    assert await store.add_prompts("acme", [due(p, is_lead=i % 10 == 0)
                                            for i, p in enumerate(people)]) == PROMPTS  # fmt: skip

    async with open_store(database_url) as first, open_store(database_url) as second:
        results = await asyncio.gather(
            *(drain(s, f"{name}-{i}") for name, s in (("a", first), ("b", second))
              for i in range(4))
        )  # fmt: skip

    counts = Counter(prompt_id for claimed in results for prompt_id in claimed)
    assert len(counts) == PROMPTS
    assert max(counts.values()) == 1
    assert sum(1 for claimed in results if claimed) > 1  # the work was actually shared


async def test_imports_never_undo_a_check_in_made_meanwhile(
    store: SqlStore, database_url: str
) -> None:
    """A CLI import and a server's check-ins at the same time, as two processes: each import
    keeps the value the last committed check-in wrote, never one it read before."""
    await store.save_organisation(acme())
    values = [float(v) for v in range(1, 31)]
    seen: list[float | None] = []
    first_committed = asyncio.Event()

    async def check_ins(server: SqlStore) -> None:
        for i, value in enumerate(values):
            await server.save_checkin(
                "acme", weekly(BEN, update("kr-lead", value)), period=WEEK,
                answering=Answering(), submitted_at=MONDAY, idempotency_key=f"k{i}",
            )  # fmt: skip
            first_committed.set()
            await asyncio.sleep(0)

    async def imports(cli: SqlStore) -> None:
        for n in range(10):
            if n == 1:  # SQLite may queue all of one side first: make them overlap
                await first_committed.wait()
            saved = await cli.save_organisation(acme())
            metric = saved.key_result["kr-lead"].metric
            seen.append(metric.current if metric else None)
            await asyncio.sleep(0)

    async with open_store(database_url) as server, open_store(database_url) as cli:
        await asyncio.gather(check_ins(server), imports(cli))

    assert await store.current_values("acme", ["kr-lead"]) == {"kr-lead": values[-1]}
    # The file says 8.5: an import may show it only before the first check-in committed.
    order = [0.0 if v == FILE_VALUE else v for v in seen]
    assert order == sorted(order)  # an import never goes back to an older value
    assert any(v in values for v in seen)  # and they did interleave


POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@POSTGRES_ONLY
async def test_check_ins_of_one_organisation_do_not_wait_for_each_other_but_an_import_does(
    store: SqlStore, database_url: str
) -> None:
    """Fifty owners checking in at once must not take turns on the organisation's row; an
    import must wait for the check-ins under way (and they for it)."""
    await store.save_organisation(acme())
    async with open_store(database_url) as other:
        engine = other.engine
        async with engine.connect() as held, held.begin():
            # Ana's check-in, half-way: it holds what a check-in holds until it commits.
            await _lock_for_checkin(held, "acme", ANA, RhythmKind.WEEKLY, WEEK)

            bens = store.save_checkin(
                "acme", weekly(BEN, update("kr-lead", 9.0)), period=WEEK,
                answering=Answering(), submitted_at=MONDAY, idempotency_key="ben",
            )  # fmt: skip
            saved = await asyncio.wait_for(bens, timeout=5)
            assert saved.created

            importing = asyncio.create_task(store.save_organisation(acme()))
            await asyncio.sleep(0.5)
            assert not importing.done()  # waits for Ana's check-in to commit
        await asyncio.wait_for(importing, timeout=5)
