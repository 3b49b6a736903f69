"""Check-ins: append-only revisions, idempotent saves, and their effects on the tree."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.okr import InitiativeStatus
from rhythm.ports import Answering
from rhythm.records import KrState, SavedCheckIn
from rhythm.status import Decision, Status
from storage import checkins
from storage.store import SqlStore, open_store
from storage.tables import checkin_t, kr_update_t
from tests.storage.builders import ANA, BEN, MONDAY, WEEK, acme, due, update, weekly

LEASE = timedelta(minutes=5)


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


async def kr_update_rows(store: SqlStore) -> list[tuple[object, ...]]:
    u = kr_update_t.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(u.id, u.key_result, u.revision, u.value).order_by(u.id))
        return [tuple(r) for r in rows]


async def test_revisions_count_per_person_kind_and_period(acme_store: SqlStore) -> None:
    def save(
        key: str, draft: CheckInDraft, period: str = WEEK, minutes: int = 0
    ) -> Coroutine[Any, Any, SavedCheckIn]:
        return acme_store.save_checkin(
            "acme", draft, period=period, answering=Answering(),
            submitted_at=MONDAY + timedelta(minutes=minutes), idempotency_key=key,
        )  # fmt: skip

    first = await save("k1", weekly(BEN, update("kr-lead", 8)))
    edit = await save("k2", weekly(BEN, update("kr-lead", 7)), minutes=5)
    other_person = await save("k3", weekly(ANA, update("kr-nps", 20)))
    next_week = await save("k4", weekly(BEN, update("kr-lead", 6)), period="2026-W11")
    daily = await save("k5", CheckInDraft(BEN, RhythmKind.DAILY, notes={"focus": "CI"}))

    assert (first.revision, edit.revision) == (1, 2)
    assert (other_person.revision, next_week.revision, daily.revision) == (1, 1, 1)
    assert all(s.created for s in (first, edit, other_person, next_week, daily))
    assert len({first.id, edit.id, other_person.id, next_week.id, daily.id}) == 5


async def test_the_same_submission_is_stored_once(acme_store: SqlStore) -> None:
    draft = weekly(BEN, update("kr-lead", 8))
    kwargs = {
        "period": WEEK,
        "answering": Answering(),
        "submitted_at": MONDAY,
        "idempotency_key": "same",
    }

    first = await acme_store.save_checkin("acme", draft, **kwargs)  # type: ignore[arg-type]
    second = await acme_store.save_checkin("acme", draft, **kwargs)  # type: ignore[arg-type]

    assert first.created
    assert not second.created
    assert (second.id, second.revision) == (first.id, first.revision)
    assert len(await kr_update_rows(acme_store)) == 1


async def test_edits_append_rows_and_never_rewrite_them(acme_store: SqlStore) -> None:
    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 8), update("kr-launch", 0)), period=WEEK,
        answering=Answering(), submitted_at=MONDAY, idempotency_key="k1",
    )  # fmt: skip
    before = await kr_update_rows(acme_store)

    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 7), update("kr-launch", 1)), period=WEEK,
        answering=Answering(), submitted_at=MONDAY + timedelta(hours=1), idempotency_key="k2",
    )  # fmt: skip

    after = await kr_update_rows(acme_store)
    assert after[: len(before)] == before
    assert [(kr, rev, value) for _, kr, rev, value in after[len(before) :]] == [
        ("kr-lead", 2, 7.0),
        ("kr-launch", 2, 1.0),
    ]


async def test_saving_answers_the_prompt_and_updates_the_tree(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [prompt] = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=1, lease=LEASE)
    answered_at = MONDAY + timedelta(hours=3)
    draft = weekly(
        BEN, update("kr-lead", 6.5), update("kr-launch", None, 3),
        initiatives=(("i-ci", InitiativeStatus.BLOCKED),),
    )  # fmt: skip

    saved = await acme_store.save_checkin(
        "acme", draft, period=WEEK, answering=Answering(prompt_id=prompt.id),
        submitted_at=answered_at, idempotency_key="k1",
    )  # fmt: skip
    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 6)), period=WEEK,
        answering=Answering(prompt_id=prompt.id), submitted_at=answered_at + timedelta(hours=1),
        idempotency_key="k2",
    )  # fmt: skip

    stored = await acme_store.get_prompt("acme", prompt.id)
    assert stored is not None
    assert stored.answered_at == answered_at  # the first answer, not the edit
    assert stored.answered_at.tzinfo == UTC
    org = await acme_store.load_organisation("acme")
    assert org is not None
    assert org.key_result["kr-lead"].metric is not None
    assert org.key_result["kr-lead"].metric.current == 6
    assert org.key_result["kr-launch"] == acme().key_result["kr-launch"]  # no value given
    [ci] = [i for i in org.initiatives if i.key == "i-ci"]
    assert ci.status is InitiativeStatus.BLOCKED
    assert saved.created


async def test_checkins_record_spontaneity_and_notes(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [prompt] = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=1, lease=LEASE)
    await acme_store.mark_sent(prompt.id, at=MONDAY, message_ref="console|1")
    empty = CheckInDraft(BEN, RhythmKind.DAILY, notes={"focus": " ", "blockers": ""})

    async def save(draft: CheckInDraft, key: str, answering: Answering, period: str = WEEK) -> bool:
        saved = await acme_store.save_checkin(
            "acme", draft, period=period, answering=answering, submitted_at=MONDAY,
            idempotency_key=key,
        )  # fmt: skip
        return saved.spontaneous

    assert not await save(weekly(BEN, update("kr-lead", 8)), "a", Answering(prompt_id=prompt.id))
    assert not await save(weekly(BEN, update("kr-lead", 7)), "b", Answering())  # an edit
    assert await save(empty, "c", Answering(), period="2026-03-02")  # nobody asked

    c = checkin_t.c
    async with acme_store.engine.connect() as conn:
        rows = (await conn.execute(select(c.spontaneous, c.notes, c.revision).order_by(c.id))).all()
    assert [tuple(r) for r in rows] == [(False, None, 1), (False, None, 2), (True, None, 1)]


async def test_a_check_in_before_its_prompt_answers_the_period(acme_store: SqlStore) -> None:
    """No tick wrote the prompt yet: the check-in writes it, answered, so none will, and the
    digest counts the person as prompted and checked in."""
    early = MONDAY - timedelta(hours=1)
    saved = await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 8)), period=WEEK,
        answering=Answering(due=due(BEN)), submitted_at=early, idempotency_key="early",
    )  # fmt: skip

    assert saved.spontaneous
    assert saved.prompt is not None
    assert (saved.prompt.sent_at, saved.prompt.answered_at) == (None, None)  # as it was
    stored = await acme_store.find_prompt("acme", rhythm="r-weekly", person=BEN, period=WEEK)
    assert stored is not None
    assert stored.answered_at == early
    assert await acme_store.add_prompts("acme", [due(BEN), due(ANA)]) == 1  # Ana's only
    claimed = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=9, lease=LEASE)
    assert [p.person for p in claimed] == [ANA]


async def test_a_check_in_answers_a_prompt_a_tick_wrote_meanwhile(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    saved = await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 8)), period=WEEK,
        answering=Answering(due=due(BEN)), submitted_at=MONDAY, idempotency_key="k",
    )  # fmt: skip

    assert saved.prompt is not None
    stored = await acme_store.get_prompt("acme", saved.prompt.id)
    assert stored is not None
    assert stored.answered_at == MONDAY
    assert await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=9, lease=LEASE) == []


async def test_answering_clears_leave_and_failures(acme_store: SqlStore) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [prompt] = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=1, lease=LEASE)
    await acme_store.mark_failed(prompt.id, at=MONDAY, error="on leave")

    await acme_store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", 8)), period=WEEK,
        answering=Answering(prompt_id=prompt.id), submitted_at=MONDAY, idempotency_key="k",
    )  # fmt: skip

    stored = await acme_store.get_prompt("acme", prompt.id)
    assert stored is not None
    assert (stored.answered_at, stored.failure) == (MONDAY, None)


async def test_end_of_cycle_answers_are_kept(acme_store: SqlStore) -> None:
    draft = CheckInDraft(
        BEN, RhythmKind.END_OF_CYCLE,
        kr_updates=(KrUpdate("kr-lead", final_score=0.7, decision=Decision.CARRY_OVER),),
        notes={"learnings": "smaller batches"},
    )  # fmt: skip
    saved = await acme_store.save_checkin("acme", draft, period="2026-Q1", answering=Answering(),
                                          submitted_at=MONDAY, idempotency_key="eoc")  # fmt: skip

    u = kr_update_t.c
    async with acme_store.engine.connect() as conn:
        row = (await conn.execute(select(u.final_score, u.decision, u.value))).one()
    assert tuple(row) == (0.7, "carry_over", None)
    assert saved.revision == 1


async def test_kr_states_are_current_values_and_the_latest_confidence(
    acme_store: SqlStore,
) -> None:
    async def save(key: str, draft: CheckInDraft, hours: int, period: str = WEEK) -> None:
        await acme_store.save_checkin("acme", draft, period=period, answering=Answering(),
                                      submitted_at=MONDAY + timedelta(hours=hours),
                                      idempotency_key=key)  # fmt: skip

    await save("1", weekly(BEN, update("kr-lead", 9, 5, next_step="old")), 0, "2026-W09")
    await save("2", weekly(BEN, update("kr-lead", 8, 6, status=Status.AT_RISK, next_step="x")), 1)
    await save("3", weekly(BEN, update("kr-launch", None, None, status=None)), 2)  # nothing
    await save("4", weekly(BEN, update("kr-launch", 1, 9)), 1)
    await save("5", weekly(ANA, update("kr-nps", 30)), 3)  # someone else's

    assert await acme_store.kr_states("acme", BEN) == {
        "kr-lead": KrState(8, 6, Status.AT_RISK, "x"),
        "kr-launch": KrState(1, 9, Status.ON_TRACK, ""),
    }
    await acme_store.set_current_values("acme", {"kr-lead": 4.0})  # pushed from elsewhere
    assert (await acme_store.kr_states("acme", BEN))["kr-lead"] == KrState(
        4, 6, Status.AT_RISK, "x"
    )
    assert await acme_store.kr_states("acme", "nobody@acme.test") == {}


async def test_checkins_belong_to_their_organisation(store: SqlStore) -> None:
    await store.save_organisation(acme("a"))
    await store.save_organisation(acme("b"))
    draft = weekly(BEN, update("kr-lead", 3))

    in_a = await store.save_checkin(
        "a",
        draft,
        period=WEEK,
        answering=Answering(),
        submitted_at=MONDAY,
        idempotency_key="same-key",
    )
    in_b = await store.save_checkin("b", draft, period=WEEK, answering=Answering(),
                                    submitted_at=MONDAY, idempotency_key="same-key")  # fmt: skip

    assert (in_a.created, in_b.created) == (True, True)
    assert in_a.id != in_b.id
    assert in_b.revision == 1
    b = await store.load_organisation("b")
    assert b is not None
    assert b.key_result["kr-lead"].metric is not None
    await store.save_checkin(
        "a",
        weekly(BEN, update("kr-lead", 1)),
        period=WEEK,
        answering=Answering(),
        submitted_at=MONDAY,
        idempotency_key="k2",
    )
    b = await store.load_organisation("b")
    assert b is not None
    assert b.key_result["kr-lead"].metric is not None
    assert b.key_result["kr-lead"].metric.current == 3
    assert (await store.kr_states("b", BEN))["kr-lead"].value == 3  # fmt: skip


async def test_racing_identical_submissions_store_one(
    acme_store: SqlStore, database_url: str
) -> None:
    """Two app instances (own engines, own pools) receive the same submission at once."""
    draft = weekly(BEN, update("kr-lead", 8), update("kr-launch", 1))
    async with open_store(database_url) as other:

        async def submit(store: SqlStore, key: str) -> tuple[int, int, bool]:
            saved = await store.save_checkin(
                "acme",
                draft,
                period=WEEK,
                answering=Answering(),
                submitted_at=MONDAY,
                idempotency_key=key,
            )
            return saved.id, saved.revision, saved.created  # fmt: skip

        results = await asyncio.gather(
            *(submit(s, f"key-{i // 2}") for i in range(20) for s in (acme_store, other))
        )

    by_key: dict[str, set[tuple[int, int]]] = {}
    for i, (checkin_id, revision, _) in enumerate(results):
        by_key.setdefault(f"key-{i // 4}", set()).add((checkin_id, revision))
    assert all(len(v) == 1 for v in by_key.values())  # each key: one id, one revision
    assert sum(created for *_, created in results) == 10
    assert sorted(rev for v in by_key.values() for _, rev in v) == list(range(1, 11))
    c = checkin_t.c
    async with acme_store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(checkin_t))).scalar() == 10
        assert (await conn.execute(select(func.count(func.distinct(c.revision))))).scalar() == 10
    assert len(await kr_update_rows(acme_store)) == 20


async def test_a_duplicate_that_slips_past_the_check_returns_the_stored_one(
    acme_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique constraint is the last line: when the look-up misses a concurrent insert
    (simulated by hiding the stored row from the first look-up), the IntegrityError is turned
    into the stored check-in."""
    draft = weekly(BEN, update("kr-lead", 8))
    stored = await acme_store.save_checkin(
        "acme",
        draft,
        period=WEEK,
        answering=Answering(),
        submitted_at=MONDAY,
        idempotency_key="dup",
    )
    real_find = checkins._find
    calls = 0

    async def find_missing_once(*args: Any) -> SavedCheckIn | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real_find(*args)

    monkeypatch.setattr(checkins, "_find", find_missing_once)
    # A new revision number, so only the idempotency key collides.
    again = await acme_store.save_checkin(
        "acme",
        draft,
        period=WEEK,
        answering=Answering(),
        submitted_at=MONDAY,
        idempotency_key="dup",
    )

    assert calls == 2
    assert (again.id, again.revision, again.created) == (stored.id, stored.revision, False)
    assert len(await kr_update_rows(acme_store)) == 1
