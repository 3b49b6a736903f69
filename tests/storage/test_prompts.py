"""Prompts: written once, claimed by one worker at a time, reminded with compare-and-set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.ports import Answering
from rhythm.records import PromptRecord
from storage.store import SqlStore
from tests.storage.builders import (
    ANA,
    BEN,
    CAI,
    DEV,
    LAST_WEEK,
    MONDAY,
    WEEK,
    acme,
    due,
    update,
    weekly,
)

LEASE = timedelta(minutes=5)


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


async def claim(
    store: SqlStore, now: datetime = MONDAY, worker: str = "w1", limit: int = 100
) -> list[PromptRecord]:
    return await store.claim_unsent("acme", now=now, worker=worker, limit=limit, lease=LEASE)


async def test_add_prompts_ignores_existing_ones(acme_store: SqlStore) -> None:
    first = await acme_store.add_prompts("acme", [due(ANA), due(BEN)])
    again = await acme_store.add_prompts("acme", [due(ANA), due(BEN), due(CAI), due(CAI)])
    none = await acme_store.add_prompts("acme", [])

    assert (first, again, none) == (2, 1, 0)
    assert sorted(p.person for p in await claim(acme_store)) == [ANA, BEN, CAI]


async def test_prompt_comes_back_as_written_with_utc_times(acme_store: SqlStore) -> None:
    paris = MONDAY.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    written = due(ANA, at=paris, is_lead=True)
    await acme_store.add_prompts("acme", [written])

    [record] = await claim(acme_store)

    assert (record.rhythm, record.kind, record.person, record.period, record.is_lead) == (
        "r-weekly",
        RhythmKind.WEEKLY,
        ANA,
        WEEK,
        True,
    )
    assert record.scheduled_for == MONDAY
    assert record.scheduled_for.tzinfo == UTC
    assert record.deadline == MONDAY + timedelta(days=2)
    assert record.deadline.tzinfo == UTC
    assert (record.sent_at, record.answered_at, record.reminders_sent) == (None, None, 0)


async def test_naive_datetimes_are_refused(acme_store: SqlStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await acme_store.add_prompts("acme", [due(ANA, at=datetime(2026, 3, 2, 9))])


async def test_claims_leads_first_then_by_schedule_and_only_what_is_due(
    acme_store: SqlStore,
) -> None:
    await acme_store.add_prompts("acme", [
        due(BEN, at=MONDAY - timedelta(minutes=2)),
        due(CAI, at=MONDAY - timedelta(minutes=9)),
        due(ANA, at=MONDAY - timedelta(minutes=1), is_lead=True),
        due(DEV, at=MONDAY + timedelta(minutes=1), is_lead=True),  # not yet due
    ])  # fmt: skip

    first = await claim(acme_store, limit=2)
    rest = await claim(acme_store)

    assert [p.person for p in first] == [ANA, CAI]
    assert [p.person for p in rest] == [BEN]
    assert [p.person for p in await claim(acme_store, now=MONDAY + timedelta(minutes=1))] == [DEV]


async def test_a_claim_holds_until_its_lease_passes(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA)])
    [first] = await claim(acme_store, worker="w1")

    assert await claim(acme_store, now=MONDAY + LEASE - timedelta(seconds=1), worker="w2") == []
    [again] = await claim(acme_store, now=MONDAY + LEASE, worker="w2")
    assert again.id == first.id


async def test_sent_prompts_are_not_claimed_again(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA)])
    [prompt] = await claim(acme_store)

    await acme_store.mark_sent(prompt.id, at=MONDAY + timedelta(seconds=3), message_ref="D1:123")

    assert await claim(acme_store, now=MONDAY + timedelta(days=1)) == []
    stored = await acme_store.get_prompt("acme", prompt.id)
    assert stored is not None
    assert (stored.sent_at, stored.message_ref) == (MONDAY + timedelta(seconds=3), "D1:123")


async def test_release_makes_it_claimable_at_retry_time(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA)])
    [prompt] = await claim(acme_store)
    retry_at = MONDAY + timedelta(seconds=30)

    await acme_store.release(prompt.id, retry_at=retry_at, in_doubt=False)

    assert await claim(acme_store, now=retry_at - timedelta(seconds=1)) == []
    assert [p.id for p in await claim(acme_store, now=retry_at)] == [prompt.id]


async def test_a_send_that_began_is_in_doubt_until_recorded(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN)])
    ana, ben = await claim(acme_store)
    began = MONDAY + timedelta(seconds=1)
    await acme_store.mark_attempt(ana.id, at=began)
    await acme_store.mark_attempt(ben.id, at=began)

    # Ana's answer never came (a timeout): in doubt. Ben's failed for sure: not in doubt.
    await acme_store.release(ana.id, retry_at=MONDAY, in_doubt=True)
    await acme_store.release(ben.id, retry_at=MONDAY, in_doubt=False)

    again = {p.person: p for p in await claim(acme_store, now=MONDAY + timedelta(seconds=2))}
    assert again[ANA].in_doubt
    assert (again[ANA].attempted_at, again[ANA].attempts) == (began, 1)
    assert not again[BEN].in_doubt
    assert again[BEN].attempts == 1
    assert await acme_store.mark_sent(ana.id, at=began, message_ref="D1:1")
    stored = await acme_store.get_prompt("acme", ana.id)
    assert stored is not None
    assert not stored.in_doubt


async def test_recording_a_send_says_when_it_was_answered_meanwhile(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [ben] = await claim(acme_store)
    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 7)), period=WEEK,
        answering=Answering(prompt_id=ben.id), submitted_at=MONDAY, idempotency_key="k",
    )  # fmt: skip

    assert not await acme_store.mark_sent(ben.id, at=MONDAY, message_ref="D1:1")


async def test_claims_are_renewed_by_their_holder_and_given_back(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN), due(CAI)])
    held = await claim(acme_store, worker="w1")
    ids = [p.id for p in held]
    await acme_store.mark_sent(ids[0], at=MONDAY, message_ref="D1:1")

    await acme_store.renew_claims(ids, worker="w2", until=MONDAY + 10 * LEASE)  # not its claims
    assert await claim(acme_store, now=MONDAY + LEASE, worker="w2") != []
    assert await acme_store.release_claims("acme", worker="w2") == 2

    again = await claim(acme_store, worker="w1")
    await acme_store.renew_claims([p.id for p in again], worker="w1", until=MONDAY + 10 * LEASE)
    assert await claim(acme_store, now=MONDAY + 5 * LEASE, worker="w2") == []
    assert await acme_store.release_claims("acme", worker="w1") == 2
    assert await acme_store.release_claims("acme", worker="w1") == 0
    assert len(await claim(acme_store, now=MONDAY, worker="w2")) == 2  # at once, lease or not


async def test_a_prompt_is_found_by_rhythm_person_and_period(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN)])

    found = await acme_store.find_prompt("acme", rhythm="r-weekly", person=BEN, period=WEEK)
    assert found is not None
    assert found.person == BEN
    assert await acme_store.find_prompt("acme", rhythm="r-weekly", person=BEN, period="x") is None


async def test_a_failed_prompt_is_never_claimed_again(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN)])
    [ana, _] = await claim(acme_store)

    await acme_store.mark_failed(ana.id, at=MONDAY, error="user_not_found")

    assert await claim(acme_store, now=MONDAY + timedelta(days=3)) != []  # Ben's, lease over
    assert ana.id not in [p.id for p in await claim(acme_store, now=MONDAY + timedelta(days=9))]
    [failed] = await acme_store.failed_prompts("acme")
    assert (failed.id, failed.failure) == (ana.id, "user_not_found")


async def test_reminders_candidates_and_compare_and_set(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN), due(CAI), due(DEV)])
    ana, ben, cai, _dev = await claim(acme_store)
    for p in (ana, ben, cai):
        await acme_store.mark_sent(p.id, at=MONDAY, message_ref=f"m-{p.person}")
    await acme_store.mark_failed(cai.id, at=MONDAY, error="blocked")
    later = MONDAY + timedelta(hours=5)

    candidates = await acme_store.reminder_candidates("acme", now=later)

    assert sorted(p.person for p in candidates) == [ANA, BEN]  # Dev's was never sent
    assert await acme_store.mark_reminded(ana.id, at=later, count_before=0) is True
    assert await acme_store.mark_reminded(ana.id, at=later, count_before=0) is False  # lost race
    reminded = await acme_store.get_prompt("acme", ana.id)
    assert reminded is not None
    assert (reminded.reminders_sent, reminded.last_reminded_at) == (1, later)
    assert await acme_store.reminder_candidates("acme", now=MONDAY + timedelta(days=2)) == []


async def test_only_prompts_quiet_since_a_moment_are_candidates_when_asked(
    acme_store: SqlStore,
) -> None:
    await acme_store.add_prompts("acme", [due(ANA), due(BEN)])
    ana, ben = await claim(acme_store)
    await acme_store.mark_sent(ana.id, at=MONDAY, message_ref="m-ana")
    await acme_store.mark_sent(ben.id, at=MONDAY + timedelta(hours=3), message_ref="m-ben")
    later = MONDAY + timedelta(hours=5)
    await acme_store.mark_reminded(ana.id, at=later - timedelta(minutes=10), count_before=0)

    quiet = await acme_store.reminder_candidates(
        "acme", now=later, quiet_since=later - timedelta(hours=1)
    )
    assert [p.person for p in quiet] == [BEN]  # Ana was just reminded; Ben sent 2 h ago
    quieter = await acme_store.reminder_candidates("acme", now=later, quiet_since=MONDAY)
    assert quieter == []


async def test_snoozed_prompts_skip_reminders_until_then(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(ANA)])
    [ana] = await claim(acme_store)
    await acme_store.mark_sent(ana.id, at=MONDAY, message_ref="m")
    until = MONDAY + timedelta(hours=6)

    await acme_store.snooze(ana.id, until=until)

    assert await acme_store.reminder_candidates("acme", now=until - timedelta(minutes=1)) == []
    [back] = await acme_store.reminder_candidates("acme", now=until)
    assert back.snoozed_until == until


async def test_answered_prompts_are_neither_reminded_nor_open(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [ben] = await claim(acme_store)
    await acme_store.mark_sent(ben.id, at=MONDAY, message_ref="m")
    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 7)), period=WEEK,
        answering=Answering(prompt_id=ben.id), submitted_at=MONDAY + timedelta(hours=1),
        idempotency_key="k",
    )  # fmt: skip

    assert await acme_store.reminder_candidates("acme", now=MONDAY + timedelta(hours=2)) == []
    assert await acme_store.mark_reminded(ben.id, at=MONDAY, count_before=0) is False
    assert await acme_store.open_prompts("acme", BEN, now=MONDAY + timedelta(hours=2)) == []


async def test_open_prompts_are_the_unanswered_ones_of_open_periods(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [
        due(ANA, period=LAST_WEEK, at=MONDAY - timedelta(days=7)),
        due(ANA),
        due(ANA, rhythm="r-daily", kind=RhythmKind.DAILY, period="2026-03-02",
            at=MONDAY + timedelta(hours=1)),
        due(ANA, rhythm="r-daily", kind=RhythmKind.DAILY, period="2026-03-01",
            at=MONDAY - timedelta(hours=23)),
        due(ANA, rhythm="r-eoc", kind=RhythmKind.END_OF_CYCLE, period="2026-Q1",
            at=MONDAY - timedelta(days=1)),
        due(BEN),
    ])  # fmt: skip

    found = await acme_store.open_prompts("acme", ANA, now=MONDAY + timedelta(hours=2))

    assert [(p.kind, p.period) for p in found] == [
        (RhythmKind.DAILY, "2026-03-02"),
        (RhythmKind.WEEKLY, WEEK),
        (RhythmKind.END_OF_CYCLE, "2026-Q1"),
    ]
    after_the_quarter = datetime(2026, 4, 1, 12, tzinfo=UTC)
    assert await acme_store.open_prompts("acme", ANA, now=after_the_quarter) == []


async def test_prompts_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    await store.add_prompts("a", [due(ANA)])
    assert await store.add_prompts("b", [due(ANA)]) == 1  # same key, other organisation

    [a_prompt] = await store.claim_unsent("a", now=MONDAY, worker="w", limit=9, lease=LEASE)
    await store.mark_sent(a_prompt.id, at=MONDAY, message_ref="m")
    await store.mark_failed(a_prompt.id, at=MONDAY, error="x")

    assert await store.get_prompt("b", a_prompt.id) is None
    assert await store.failed_prompts("b") == []
    assert await store.open_prompts("b", ANA, now=MONDAY) != []
    [b_prompt] = await store.claim_unsent("b", now=MONDAY, worker="w", limit=9, lease=LEASE)
    assert b_prompt.id != a_prompt.id
