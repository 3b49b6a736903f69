"""History: past updates of a key result or a person (each check-in's latest revision), a
stored check-in as its draft, and the prompts that went unanswered."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.okr import InitiativeStatus
from rhythm.ports import Answering
from rhythm.records import ON_LEAVE, HistoryEntry, SavedCheckIn, Snapshot
from rhythm.status import Decision, Status
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


async def save(
    store: SqlStore,
    key: str,
    draft: CheckInDraft,
    *,
    period: str = WEEK,
    hours: int = 0,
    answering: Answering | None = None,
) -> SavedCheckIn:
    return await store.save_checkin(
        "acme", draft, period=period, answering=answering or Answering(),
        submitted_at=MONDAY + timedelta(hours=hours), idempotency_key=key,
    )  # fmt: skip


def rows(entries: list[HistoryEntry]) -> list[tuple[str, str, int, float | None]]:
    return [(e.key_result, e.period, e.revision, e.update.value) for e in entries]


async def test_a_key_results_history_is_newest_first_latest_revision(
    acme_store: SqlStore,
) -> None:
    await save(acme_store, "w9", weekly(BEN, update("kr-lead", 8)), period=LAST_WEEK, hours=-168)
    first = await save(acme_store, "w10", weekly(BEN, update("kr-lead", 7), update("kr-launch", 0)))
    edit = await save(acme_store, "w10-edit", weekly(BEN, update("kr-lead", 6.5)), hours=2)
    await save(acme_store, "cai", weekly(CAI, update("kr-lead", 6.8, 5)), hours=1)
    await save(acme_store, "w11", weekly(BEN, update("kr-lead", 6)), period="2026-W11", hours=168)

    history = await acme_store.checkin_history("acme", key_result="kr-lead", limit=10)

    assert rows(history) == [
        ("kr-lead", "2026-W11", 1, 6.0),
        ("kr-lead", WEEK, 2, 6.5),  # the edit, not the revision it replaced
        ("kr-lead", WEEK, 1, 6.8),  # Cai's check-in of the same week is another check-in
        ("kr-lead", LAST_WEEK, 1, 8.0),
    ]
    assert history[1].checkin_id == edit.id != first.id
    assert history[1].kind is RhythmKind.WEEKLY
    assert history[1].update == Snapshot(
        BEN, MONDAY + timedelta(hours=2), 6.5, 7, Status.ON_TRACK, value_before=8.0
    )
    assert rows(await acme_store.checkin_history("acme", key_result="kr-lead", limit=2)) == [
        ("kr-lead", "2026-W11", 1, 6.0), ("kr-lead", WEEK, 2, 6.5),
    ]  # fmt: skip
    # The edit left kr-launch out: the check-in's latest revision has no update of it.
    assert await acme_store.checkin_history("acme", key_result="kr-launch", limit=10) == []
    assert await acme_store.checkin_history("other", key_result="kr-lead", limit=10) == []
    assert await acme_store.checkin_history("acme", key_result="kr-lead", limit=0) == []


async def test_a_persons_history_covers_their_key_results(acme_store: SqlStore) -> None:
    blocked = dataclasses.replace(
        update("kr-launch", 0, 3), moved="Store listing", blockers="Review",
        blocked_by_team="platform", next_step="Ship",
    )  # fmt: skip
    await save(acme_store, "b1", weekly(BEN, update("kr-lead", 7), blocked))
    await save(acme_store, "b2", weekly(BEN, update("kr-lead", 6)), period="2026-W11", hours=168)
    await save(acme_store, "a1", weekly(ANA, update("kr-nps", 20)), hours=1)

    history = await acme_store.checkin_history("acme", person=BEN, limit=10)

    assert [(e.key_result, e.period) for e in history] == [
        ("kr-lead", "2026-W11"), ("kr-launch", WEEK), ("kr-lead", WEEK),
    ]  # fmt: skip
    launch = history[1].update
    assert (launch.moved, launch.blockers, launch.blocked_by_team, launch.next_step) == (
        "Store listing", "Review", "platform", "Ship",
    )  # fmt: skip
    both = await acme_store.checkin_history("acme", person=BEN, key_result="kr-lead", limit=10)
    assert [e.period for e in both] == ["2026-W11", WEEK]
    with pytest.raises(ValueError, match="key result or of a person"):
        await acme_store.checkin_history("acme", limit=10)


async def test_a_stored_checkin_comes_back_as_its_latest_draft(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [prompt] = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=1, lease=LEASE)
    first = await save(
        acme_store, "k1", weekly(BEN, update("kr-lead", 8)), answering=Answering(prompt.id)
    )
    edited = CheckInDraft(
        BEN,
        RhythmKind.WEEKLY,
        kr_updates=(
            KrUpdate("kr-lead", 7.5, 6, Status.AT_RISK, "CI faster", "Flaky tests",
                     "platform", None, "Fix tests"),
            KrUpdate("kr-launch", None, None, None, blockers="Design", blocked_by_kr="kr-uptime"),
        ),
        initiatives=(("i-ci", InitiativeStatus.BLOCKED), ("i-survey", InitiativeStatus.DONE)),
        notes={"highlight": "Shipped the beta"},
    )  # fmt: skip
    second = await save(acme_store, "k2", edited, hours=1)  # saved without its prompt

    for asked in (first.id, second.id):  # either revision leads to the latest
        stored = await acme_store.stored_checkin("acme", asked)
        assert stored is not None
        assert stored.draft == edited
        assert (stored.id, stored.revision, stored.person, stored.kind, stored.period) == (
            second.id, 2, BEN, RhythmKind.WEEKLY, WEEK,
        )  # fmt: skip
        assert (stored.prompt_id, stored.submitted_at) == (prompt.id, MONDAY + timedelta(hours=1))
    assert await acme_store.stored_checkin("acme", second.id + 100) is None
    assert await acme_store.stored_checkin("other", second.id) is None


async def test_daily_and_end_of_cycle_drafts_round_trip(acme_store: SqlStore) -> None:
    daily = CheckInDraft(BEN, RhythmKind.DAILY, notes={"focus": "CI", "blocked": "DBA"},
                         blocked_by_team="platform", blocked_by_kr="kr-uptime")  # fmt: skip
    eoc = CheckInDraft(DEV, RhythmKind.END_OF_CYCLE, kr_updates=(
        KrUpdate("kr-uptime", confidence=None, final_score=0.7, decision=Decision.CARRY_OVER),
    ))  # fmt: skip
    empty = CheckInDraft(CAI, RhythmKind.DAILY)
    for key, draft, period in (("d", daily, "2026-03-02"), ("e", eoc, "2026-Q1"),
                               ("x", empty, "2026-03-02")):  # fmt: skip
        saved = await save(acme_store, key, draft, period=period)
        stored = await acme_store.stored_checkin("acme", saved.id)
        assert stored is not None
        assert stored.draft == draft
        assert stored.prompt_id is None


async def test_missed_prompts_are_sent_unanswered_and_due_in_the_window(
    acme_store: SqlStore,
) -> None:
    days = timedelta(days=1)
    people = [ANA, BEN, CAI, DEV, "eve@acme.test", "fay@acme.test"]
    await acme_store.add_prompts("acme", [due(p, deadline=(i + 1) * days)
                                          for i, p in enumerate(people)])  # fmt: skip
    claimed = {
        p.person: p
        for p in await acme_store.claim_unsent(
            "acme", now=MONDAY, worker="w", limit=10, lease=LEASE
        )
    }
    for person in (ANA, BEN, CAI, DEV, "eve@acme.test"):  # fay's never went out
        await acme_store.mark_sent(claimed[person].id, at=MONDAY, message_ref=f"ts-{person}")
    await save(acme_store, "ben", weekly(BEN, update("kr-lead", 7)),
               answering=Answering(claimed[BEN].id))  # fmt: skip
    await acme_store.mark_failed(claimed[CAI].id, at=MONDAY, error=ON_LEAVE)
    await acme_store.mark_failed(claimed["eve@acme.test"].id, at=MONDAY, error="blocked")

    # Deadlines: ana +1d, ben +2d, cai +3d, dev +4d, eve +5d, fay +6d.
    missed = await acme_store.missed_prompts(
        "acme", deadline_from=MONDAY + days, deadline_until=MONDAY + 6 * days
    )
    assert [p.person for p in missed] == [ANA, DEV]
    assert missed[0] == await acme_store.get_prompt("acme", claimed[ANA].id)
    later = await acme_store.missed_prompts(
        "acme", deadline_from=MONDAY + 2 * days, deadline_until=MONDAY + 4 * days
    )
    assert later == []  # the end is excluded
    assert await acme_store.missed_prompts(
        "other", deadline_from=MONDAY, deadline_until=MONDAY + 9 * days
    ) == []  # fmt: skip
