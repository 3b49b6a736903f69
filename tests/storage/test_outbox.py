"""The outbox: direct messages written once by key and claimed like prompts; nudges spent
out of a weekly allowance, never beyond it, even when spent at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from rhythm.messages import Action, Notice
from rhythm.records import OutboxRecord, Outgoing, Spend, Spent
from storage.outbox import _spent, notice_from_json, notice_json
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, CAI, MONDAY, acme

LEASE = timedelta(minutes=2)
WEEK = "2026-W10"


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


def message(key: str, person: str = BEN, title: str = "Hello") -> Outgoing:
    return Outgoing(key, person, Notice(title))


async def claim(
    store: SqlStore, now: datetime = MONDAY, worker: str = "w1", limit: int = 100
) -> list[OutboxRecord]:
    return await store.claim_outbox("acme", now=now, worker=worker, limit=limit, lease=LEASE)


async def spent(store: SqlStore, org: str, person: str, week: str) -> int:
    """The nudges stored against the person's week (what `nudge` counts against the cap)."""
    async with store.engine.connect() as conn:
        return await _spent(conn, org, person, week)


def test_the_notice_codec_round_trips() -> None:
    notice = Notice(
        "🚧 Ben is waiting on Platform",
        ("**Ben** is blocked on *Lead time*.", "“CI is down”"),
        actions=(Action("blocker:ack", "On it", "12", primary=True),
                 Action("blocker:notus", "Not us", "12")),
        footer="Raised Mon 02 Mar.",
    )  # fmt: skip
    assert notice_from_json(notice_json(notice)) == notice
    assert notice_from_json(notice_json(Notice("Plain"))) == Notice("Plain")


async def test_a_notice_comes_back_as_written(acme_store: SqlStore) -> None:
    notice = Notice("Title", ("a", "b"), (Action("x", "X", "1", primary=True),), "foot")
    await acme_store.enqueue("acme", [Outgoing("k", BEN, notice)], at=MONDAY)

    [record] = await claim(acme_store)

    assert (record.key, record.person, record.notice) == ("k", BEN, notice)
    assert (record.created_at, record.attempted_at, record.sent_at, record.attempts) == (
        MONDAY, None, None, 0,
    )  # fmt: skip


async def test_enqueue_writes_each_key_once(acme_store: SqlStore) -> None:
    assert (
        await acme_store.enqueue("acme", [message("a"), message("b"), message("a")], at=MONDAY) == 2
    )
    assert await acme_store.enqueue("acme", [message("b"), message("c", ANA)], at=MONDAY) == 1
    assert await acme_store.enqueue("acme", [], at=MONDAY) == 0
    await acme_store.save_organisation(acme("other"))
    assert (
        await acme_store.enqueue("other", [message("a")], at=MONDAY) == 1
    )  # keys are per organisation

    claimed = await claim(acme_store)
    assert [(m.key, m.person) for m in claimed] == [("a", BEN), ("b", BEN), ("c", ANA)]
    # Written without a time, a message is as old as its first claim.
    assert {m.created_at for m in claimed} == {MONDAY}


async def test_two_workers_never_claim_the_same_message(acme_store: SqlStore) -> None:
    await acme_store.enqueue("acme", [message(f"m{i}") for i in range(40)], at=MONDAY)

    first, second = await asyncio.gather(
        claim(acme_store, worker="a", limit=25), claim(acme_store, worker="b", limit=25)
    )

    assert len(first) + len(second) == 40
    assert not {m.id for m in first} & {m.id for m in second}
    assert [m.id for m in first] == sorted(m.id for m in first)  # oldest first
    assert await claim(acme_store, worker="c") == []


async def test_a_lease_that_ends_gives_the_message_to_another(acme_store: SqlStore) -> None:
    await acme_store.enqueue("acme", [message("m")], at=MONDAY)
    [claimed] = await claim(acme_store, worker="a")

    assert await claim(acme_store, now=MONDAY + LEASE - timedelta(seconds=1), worker="b") == []
    [again] = await claim(acme_store, now=MONDAY + LEASE, worker="b")
    assert again.id == claimed.id


async def test_a_send_leaves_only_while_its_claim_holds_and_renewing_keeps_it(
    acme_store: SqlStore,
) -> None:
    await acme_store.enqueue("acme", [message("m")], at=MONDAY)
    [held] = await claim(acme_store, worker="a")
    assert not await acme_store.mark_outbox_attempt(held.id, at=MONDAY, worker="b")
    late = MONDAY + LEASE + timedelta(seconds=1)
    assert not await acme_store.mark_outbox_attempt(held.id, at=late, worker="a")  # ran out
    await acme_store.renew_outbox([held.id], worker="a", until=late + LEASE)
    assert await claim(acme_store, now=late, worker="b") == []  # renewed: still a's
    assert await acme_store.mark_outbox_attempt(held.id, at=late, worker="a")
    await acme_store.renew_outbox([held.id], worker="b", until=late + 2 * LEASE)  # not b's
    assert await claim(acme_store, now=late + LEASE, worker="b") != []


async def test_release_forgets_the_attempt_unless_in_doubt(acme_store: SqlStore) -> None:
    await acme_store.enqueue("acme", [message("sure"), message("doubt")], at=MONDAY)
    sure, doubt = await claim(acme_store)
    for m in (sure, doubt):
        assert await acme_store.mark_outbox_attempt(
            m.id, at=MONDAY + timedelta(seconds=1), worker="w1"
        )
    retry_at = MONDAY + timedelta(minutes=1)
    await acme_store.release_outbox(sure.id, retry_at=retry_at, in_doubt=False)
    await acme_store.release_outbox(doubt.id, retry_at=retry_at, in_doubt=True)

    assert await claim(acme_store, now=retry_at - timedelta(seconds=1)) == []
    again = {m.key: m for m in await claim(acme_store, now=retry_at)}
    assert (again["sure"].attempted_at, again["sure"].attempts) == (None, 1)
    assert not again["sure"].in_doubt
    assert again["doubt"].attempted_at == MONDAY + timedelta(seconds=1)
    assert again["doubt"].in_doubt
    assert again["doubt"].attempts == 1


async def test_sent_and_failed_messages_are_never_claimed(acme_store: SqlStore) -> None:
    await acme_store.enqueue(
        "acme", [message("sent"), message("failed"), message("open")], at=MONDAY
    )
    sent, failed, _ = await claim(acme_store)
    await acme_store.mark_outbox_sent(sent.id, at=MONDAY, message_ref="ts-1")
    await acme_store.mark_outbox_failed(failed.id, at=MONDAY, error="no such person")

    later = MONDAY + timedelta(hours=1)
    assert [m.key for m in await claim(acme_store, now=later)] == ["open"]
    assert await claim(acme_store, now=later + timedelta(hours=1), limit=0) == []


# ---- nudges -------------------------------------------------------------------------------


def spend(key: str, person: str = BEN, *, week: str = WEEK, cap: int = 3) -> Spend:
    return Spend(person, week, key, cap, MONDAY)


async def test_nudges_are_spent_once_per_key_and_capped_per_week(acme_store: SqlStore) -> None:
    store = acme_store
    assert await store.nudge("acme", spend("r1"), message("r1")) is Spent.SPENT
    assert await store.nudge("acme", spend("r1"), message("r1")) is Spent.ALREADY
    assert await store.nudge("acme", spend("lead-1")) is Spent.SPENT  # no message: still spent
    assert await store.nudge("acme", spend("r2"), message("r2")) is Spent.SPENT
    assert await spent(store, "acme", BEN, WEEK) == 3
    # The week is used up, whichever key comes next; a key spent already stays ALREADY.
    assert await store.nudge("acme", spend("r3"), message("r3")) is Spent.CAPPED
    assert await store.nudge("acme", spend("r2"), message("r2")) is Spent.ALREADY
    assert await spent(store, "acme", BEN, WEEK) == 3
    # Another person, another week, a larger cap: each counted apart.
    assert await store.nudge("acme", spend("a1", ANA)) is Spent.SPENT
    assert await store.nudge("acme", spend("r4", week="2026-W11")) is Spent.SPENT
    assert await store.nudge("acme", spend("r5", cap=4), message("r5")) is Spent.SPENT
    assert await store.nudge("acme", spend("r6", cap=0)) is Spent.CAPPED

    # Only the messages of nudges spent were written, each once.
    assert [m.key for m in await claim(store)] == ["r1", "r2", "r5"]
    assert await spent(store, "acme", ANA, WEEK) == 1
    assert await spent(store, "acme", CAI, WEEK) == 0


async def test_spending_at_once_never_exceeds_the_cap(acme_store: SqlStore) -> None:
    """Six spenders of different keys for one person's week at the same time, through separate
    connections: exactly the cap is spent (PostgreSQL counts under an advisory lock)."""
    results = await asyncio.gather(
        *(acme_store.nudge("acme", spend(f"k{i}"), message(f"k{i}")) for i in range(6))
    )

    assert sorted(results) == sorted([Spent.SPENT] * 3 + [Spent.CAPPED] * 3)
    assert await spent(acme_store, "acme", BEN, WEEK) == 3
    assert len(await claim(acme_store)) == 3


async def test_the_same_nudge_spent_at_once_counts_once(acme_store: SqlStore) -> None:
    results = await asyncio.gather(
        *(acme_store.nudge("acme", spend("same"), message("same")) for _ in range(4))
    )

    assert sorted(results) == sorted([Spent.SPENT] + [Spent.ALREADY] * 3)
    assert await spent(acme_store, "acme", BEN, WEEK) == 1


async def test_a_restarted_worker_gives_back_what_it_held(acme_store: SqlStore) -> None:
    await acme_store.enqueue("acme", [message("m"), message("n")], at=MONDAY)
    held = await claim(acme_store, worker="a", limit=1)
    assert await acme_store.release_outbox_claims("acme", worker="b") == 0
    assert await acme_store.release_outbox_claims("acme", worker="a") == 1
    assert {m.id for m in await claim(acme_store, worker="b")} >= {m.id for m in held}
