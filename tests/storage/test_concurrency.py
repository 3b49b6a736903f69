"""Several senders claiming the same prompts at once: every prompt is claimed exactly once.

Two engines stand for two processes (each its own connection pool); each runs several
claimers concurrently, so claims really interleave on the server (PostgreSQL) or queue on the
file lock (SQLite).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from storage.store import SqlStore, open_store
from tests.storage.builders import MONDAY, acme, due

PROMPTS = 500
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
