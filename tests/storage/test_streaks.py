"""The streak kept on prompts stays right when answers come late or prompts fail, and a
store loaded around the repository still reports correct streaks."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from rhythm.cadences import RhythmKind
from rhythm.ports import Answering
from storage.store import SqlStore
from storage.tables import prompt_t
from tests.storage.builders import BEN, MONDAY, acme, due, weekly
from tests.storage.builders import update as kr_update

LEASE = timedelta(minutes=5)
PERIODS = ["2026-W06", "2026-W07", "2026-W08", "2026-W09", "2026-W10"]


async def prompts(store: SqlStore) -> dict[str, int]:
    await store.save_organisation(acme())
    ids = {}
    for i, period in enumerate(PERIODS):
        at = MONDAY - timedelta(weeks=len(PERIODS) - 1 - i)
        await store.add_prompts("acme", [due(BEN, period=period, at=at)])
        [p] = await store.claim_unsent("acme", now=at, worker="w", limit=1, lease=LEASE)
        await store.mark_sent(p.id, at=at, message_ref="m")
        ids[period] = p.id
    return ids


async def answer(store: SqlStore, ids: dict[str, int], period: str) -> None:
    await store.save_checkin(
        "acme",
        weekly(BEN, kr_update("kr-lead", 5)),
        period=period,
        answering=Answering(prompt_id=ids[period]),
        submitted_at=MONDAY,
        idempotency_key=period,
    )


async def streak(store: SqlStore) -> int:
    facts = await store.digest_facts(
        "acme", kind=RhythmKind.WEEKLY, period="2026-W10", previous="2026-W09",
        key_results=[], people=[BEN], teams=[],
    )  # fmt: skip
    return facts.streaks.get(BEN, 0)


async def test_late_answers_and_failures_repair_the_chain(store: SqlStore) -> None:
    ids = await prompts(store)
    for period in ("2026-W06", "2026-W07", "2026-W09", "2026-W10"):
        await answer(store, ids, period)
    assert await streak(store) == 2  # W08 missed

    await answer(store, ids, "2026-W08")  # answered late
    assert await streak(store) == 5


async def test_an_undeliverable_prompt_is_no_miss(store: SqlStore) -> None:
    ids = await prompts(store)
    for period in ("2026-W06", "2026-W07", "2026-W09", "2026-W10"):
        await answer(store, ids, period)

    await store.mark_failed(ids["2026-W08"], at=MONDAY, error="blocked")

    assert await streak(store) == 4


async def test_streaks_without_kept_values_are_counted_and_rebuilt(store: SqlStore) -> None:
    ids = await prompts(store)
    for period in PERIODS[1:]:
        await answer(store, ids, period)
    async with store.engine.begin() as conn:  # as a bulk import would leave them
        await conn.execute(update(prompt_t).values(streak=None))

    assert await streak(store) == 4
    assert await store.rebuild_streaks("acme") == 4
    assert await store.rebuild_streaks("acme") == 0
    assert await streak(store) == 4


async def test_a_streak_older_than_the_last_two_periods_is_found(store: SqlStore) -> None:
    """Digests read streaks from this period's and the previous period's prompts; when those
    say nothing (failed, still open), the answer further back still counts."""
    ids = await prompts(store)
    for period in ("2026-W06", "2026-W07", "2026-W08"):
        await answer(store, ids, period)
    await store.mark_failed(ids["2026-W09"], at=MONDAY, error="blocked")

    assert await streak(store) == 3  # W10 still open, W09 undeliverable

    async with store.engine.begin() as conn:  # and when they were loaded around the repository
        await conn.execute(update(prompt_t).values(streak=None))
    assert await streak(store) == 3


async def test_a_miss_in_the_previous_period_ends_the_streak(store: SqlStore) -> None:
    ids = await prompts(store)
    for period in ("2026-W06", "2026-W07", "2026-W08"):
        await answer(store, ids, period)

    assert await streak(store) == 0  # W09 missed, W10 still open
