"""Blockers: kept by check-ins in their own transaction, moved by buttons with compare-and-set,
every change an event told about once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.messages import Notice
from rhythm.ports import Answering
from rhythm.records import (
    LIVE_BLOCKER_STATES,
    BlockerEventKind,
    BlockerRecord,
    BlockerState,
    Outgoing,
    SavedCheckIn,
)
from storage.store import SqlStore
from storage.tables import blocker_event_t, blocker_t
from tests.storage.builders import BEN, CAI, DEV, MONDAY, WEEK, acme, update, weekly


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


def blocked(
    kr: str, text: str = "", *, team: str | None = None, by_kr: str | None = None
) -> KrUpdate:
    """An update of `kr` with a blocker: its text, and the team or key result it names."""
    return dataclasses.replace(
        update(kr, 7), blockers=text, blocked_by_team=team, blocked_by_kr=by_kr
    )


async def check_in(
    store: SqlStore,
    key: str,
    *updates: KrUpdate,
    person: str = BEN,
    hours: int = 0,
    period: str = WEEK,
) -> SavedCheckIn:
    return await store.save_checkin(
        "acme", weekly(person, *updates), period=period, answering=Answering(),
        submitted_at=MONDAY + timedelta(hours=hours), idempotency_key=key,
    )  # fmt: skip


async def only_blocker(store: SqlStore, kr: str = "kr-lead") -> BlockerRecord:
    [found] = await store.blockers("acme", key_results=[kr], resolved_since=MONDAY)
    return found


async def events(store: SqlStore) -> list[tuple[int, str, object, object, bool]]:
    """Every event, told or not: (blocker id, kind, by, from team, auto)."""
    e = blocker_event_t.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(e.blocker_id, e.kind, e.by, e.from_team, e.auto).order_by(e.id)
        )
        return [tuple(r) for r in rows]


async def count_blockers(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(blocker_t))).scalar_one())


# ---- kept by check-ins --------------------------------------------------------------------


async def test_an_update_naming_a_team_raises_a_blocker(acme_store: SqlStore) -> None:
    saved = await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))

    blocker = await only_blocker(acme_store)
    assert (blocker.raised_by, blocker.key_result, blocker.text) == (BEN, "kr-lead", "CI is down")
    assert (blocker.waiting_on_team, blocker.waiting_on_kr) == ("platform", None)
    assert blocker.state is BlockerState.OPEN
    assert blocker.live
    assert blocker.raised_at == blocker.changed_at == MONDAY
    assert blocker.checkin_id == saved.id
    assert (blocker.acknowledged_by, blocker.resolved_at, blocker.resolved_by) == (None,) * 3
    assert await acme_store.blocker("acme", blocker.id) == blocker
    assert await acme_store.blocker("other", blocker.id) is None

    [event] = await acme_store.unannounced_events("acme", limit=10)
    assert (event.kind, event.at, event.by, event.from_team, event.auto) == (
        BlockerEventKind.RAISED, MONDAY, None, None, False,
    )  # fmt: skip
    assert event.blocker == blocker


async def test_a_key_result_can_be_named_instead_of_a_team(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", by_kr="kr-uptime"))

    blocker = await only_blocker(acme_store)
    assert (blocker.waiting_on_team, blocker.waiting_on_kr, blocker.text) == (
        None, "kr-uptime", "",
    )  # fmt: skip


async def test_restating_the_same_team_updates_the_text_only(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    first = await only_blocker(acme_store)
    again = await check_in(
        acme_store, "k2", blocked("kr-lead", "CI still down", team="platform"), hours=24,
        period="2026-W11",
    )  # fmt: skip

    blocker = await only_blocker(acme_store)
    assert blocker.id == first.id
    assert (blocker.text, blocker.checkin_id) == ("CI still down", again.id)
    assert (blocker.raised_at, blocker.changed_at) == (MONDAY, MONDAY + timedelta(hours=24))
    assert [kind for _, kind, *_ in await events(acme_store)] == ["raised"]


async def test_restating_against_another_team_raises_it_again(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    first = await only_blocker(acme_store)
    acked = await acme_store.change_blocker(
        "acme", first.id, expect=[BlockerState.OPEN], to=BlockerState.ACKNOWLEDGED, by=DEV,
        at=MONDAY + timedelta(hours=1),
    )  # fmt: skip
    assert acked is not None
    assert acked.acknowledged_by == DEV

    await check_in(acme_store, "k2", blocked("kr-lead", "Need a DBA", by_kr="kr-uptime"), hours=2)

    blocker = await only_blocker(acme_store)
    assert blocker.id == first.id
    assert (blocker.state, blocker.acknowledged_by) == (BlockerState.OPEN, None)
    assert (blocker.waiting_on_team, blocker.waiting_on_kr) == (None, "kr-uptime")
    assert (blocker.text, blocker.raised_at) == ("Need a DBA", MONDAY)
    assert [kind for _, kind, *_ in await events(acme_store)] == [
        "raised", "acknowledged", "raised",
    ]  # fmt: skip


async def test_an_update_with_no_blocker_resolves_it(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    await check_in(acme_store, "k2", update("kr-lead", 6), update("kr-launch", 0), hours=3)

    blocker = await only_blocker(acme_store)
    assert blocker.state is BlockerState.RESOLVED
    assert not blocker.live
    assert (blocker.resolved_at, blocker.resolved_by) == (MONDAY + timedelta(hours=3), BEN)
    assert await acme_store.blockers("acme", key_results=["kr-lead"]) == []
    assert await events(acme_store) == [
        (blocker.id, "raised", None, None, False),
        (blocker.id, "resolved", None, None, True),
    ]
    [_, resolved] = await acme_store.unannounced_events("acme", limit=10)
    assert (resolved.kind, resolved.by, resolved.auto) == (BlockerEventKind.RESOLVED, None, True)

    # Resolved, it no longer stands in the way of a new one on the same key result.
    await check_in(acme_store, "k3", blocked("kr-lead", "Again", team="platform"), hours=4)
    [live] = await acme_store.blockers("acme", key_results=["kr-lead"])
    assert live.id != blocker.id
    assert live.text == "Again"


async def test_a_monthly_review_asks_no_blockers_and_resolves_none(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    monthly = CheckInDraft(BEN, RhythmKind.MONTHLY, kr_updates=(update("kr-lead", None),),
                           notes={"reflection": "A slow month"})  # fmt: skip
    await acme_store.save_checkin(
        "acme", monthly, period="2026-11", answering=Answering(),
        submitted_at=MONDAY + timedelta(hours=2), idempotency_key="m1",
    )  # fmt: skip
    assert (await only_blocker(acme_store)).live


async def test_blocker_text_naming_nobody_leaves_it_live(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    before = await only_blocker(acme_store)

    await check_in(acme_store, "k2", blocked("kr-lead", "CI is flaky"), hours=1)
    # Nor does an update that names nobody raise anything.
    await check_in(acme_store, "k3", blocked("kr-launch", "Waiting for design"), hours=2)

    assert await only_blocker(acme_store) == before
    assert await count_blockers(acme_store) == 1
    assert len(await events(acme_store)) == 1


async def test_each_reporter_and_key_result_has_its_own(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI", team="platform"),
                   blocked("kr-launch", "Store review", team="company"))  # fmt: skip
    await check_in(acme_store, "k2", blocked("kr-lead", "Me too", team="platform"), person=CAI)
    # Ben resolving his does not touch Cai's.
    await check_in(acme_store, "k3", update("kr-lead", 6), hours=1)

    live = await acme_store.blockers("acme", key_results=["kr-lead", "kr-launch"])
    assert [(b.raised_by, b.key_result) for b in live] == [(BEN, "kr-launch"), (CAI, "kr-lead")]


async def test_an_idempotent_resave_changes_nothing(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    await check_in(acme_store, "k2", update("kr-lead", 6), hours=1)
    resolved = await only_blocker(acme_store)

    again = await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))

    assert not again.created
    assert await only_blocker(acme_store) == resolved
    assert await count_blockers(acme_store) == 1
    assert len(await events(acme_store)) == 2


async def test_a_daily_blocked_by_raises_no_blocker(acme_store: SqlStore) -> None:
    draft = CheckInDraft(BEN, RhythmKind.DAILY, notes={"blocked": "CI"},
                         blocked_by_team="platform")  # fmt: skip
    await acme_store.save_checkin(
        "acme", draft, period="2026-03-02", answering=Answering(), submitted_at=MONDAY,
        idempotency_key="d1",
    )  # fmt: skip

    assert await count_blockers(acme_store) == 0


# ---- moved by buttons ---------------------------------------------------------------------


async def test_change_blocker_is_a_compare_and_set(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    blocker = await only_blocker(acme_store)
    at = MONDAY + timedelta(hours=1)

    def press(
        to: BlockerState, by: str, expect: tuple[BlockerState, ...] = (BlockerState.OPEN,),
        team: str | None = None, hours: int = 1,
    ) -> Coroutine[Any, Any, BlockerRecord | None]:  # fmt: skip
        return acme_store.change_blocker(
            "acme", blocker.id, expect=expect, to=to, by=by, at=MONDAY + timedelta(hours=hours),
            waiting_on_team=team,
        )  # fmt: skip

    acked = await press(BlockerState.ACKNOWLEDGED, DEV)
    assert acked is not None
    assert (acked.state, acked.acknowledged_by, acked.changed_at) == (
        BlockerState.ACKNOWLEDGED, DEV, at,
    )  # fmt: skip
    assert await press(BlockerState.ACKNOWLEDGED, DEV) is None  # pressed again: nothing

    rerouted = await press(BlockerState.REROUTED, DEV, LIVE_BLOCKER_STATES, team="company", hours=2)
    assert rerouted is not None
    assert (rerouted.state, rerouted.waiting_on_team, rerouted.waiting_on_kr) == (
        BlockerState.REROUTED, "company", None,
    )  # fmt: skip
    assert rerouted.acknowledged_by is None

    resolved = await press(BlockerState.RESOLVED, CAI, LIVE_BLOCKER_STATES, hours=3)
    assert resolved is not None
    assert (resolved.state, resolved.resolved_at, resolved.resolved_by) == (
        BlockerState.RESOLVED, MONDAY + timedelta(hours=3), CAI,
    )  # fmt: skip
    assert await press(BlockerState.RESOLVED, BEN, LIVE_BLOCKER_STATES) is None
    assert await acme_store.blocker("acme", blocker.id) == resolved

    assert await events(acme_store) == [
        (blocker.id, "raised", None, None, False),
        (blocker.id, "acknowledged", DEV, None, False),
        (blocker.id, "rerouted", DEV, "platform", False),
        (blocker.id, "resolved", CAI, None, False),
    ]
    found = await acme_store.unannounced_events("acme", limit=10)
    assert [(e.kind, e.at, e.by) for e in found][1:] == [
        (BlockerEventKind.ACKNOWLEDGED, at, DEV),
        (BlockerEventKind.REROUTED, MONDAY + timedelta(hours=2), DEV),
        (BlockerEventKind.RESOLVED, MONDAY + timedelta(hours=3), CAI),
    ]
    assert all(e.blocker == resolved for e in found)  # each with the blocker as it is now


async def test_two_presses_at_once_change_it_once(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    blocker = await only_blocker(acme_store)

    results = await asyncio.gather(*(
        acme_store.change_blocker(
            "acme", blocker.id, expect=[BlockerState.OPEN], to=BlockerState.ACKNOWLEDGED,
            by=by, at=MONDAY,
        )
        for by in (DEV, CAI, DEV, CAI)
    ))  # fmt: skip

    assert sum(r is not None for r in results) == 1
    assert len(await events(acme_store)) == 2


async def test_an_unknown_blocker_or_organisation_changes_nothing(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI is down", team="platform"))
    blocker = await only_blocker(acme_store)
    for org, blocker_id in (("acme", blocker.id + 100), ("other", blocker.id)):
        assert await acme_store.change_blocker(
            org, blocker_id, expect=[BlockerState.OPEN], to=BlockerState.RESOLVED, by=DEV,
            at=MONDAY,
        ) is None  # fmt: skip
    with pytest.raises(ValueError, match="team"):
        await acme_store.change_blocker(
            "acme", blocker.id, expect=[BlockerState.OPEN], to=BlockerState.REROUTED, by=DEV,
            at=MONDAY,
        )  # fmt: skip
    assert await only_blocker(acme_store) == blocker


# ---- listed -------------------------------------------------------------------------------


async def test_blockers_are_listed_by_key_result_or_team(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI", team="platform"))
    await check_in(acme_store, "k2", blocked("kr-nps", "Survey tool", team="company"),
                   person="ana@acme.test", hours=1)  # fmt: skip
    await check_in(acme_store, "k3", blocked("kr-vague", "Ops", by_kr="kr-uptime"), person=CAI,
                   hours=2)  # fmt: skip
    await check_in(acme_store, "k4", blocked("kr-launch", "Store", team="platform"), hours=3)
    # Ben's kr-lead blocker resolved at +4h.
    await check_in(acme_store, "k5", update("kr-lead", 6), hours=4)

    def keys(found: list[BlockerRecord]) -> list[str]:
        return [b.key_result for b in found]

    assert keys(await acme_store.blockers("acme", key_results=["kr-nps", "kr-vague"])) == [
        "kr-nps", "kr-vague",
    ]  # fmt: skip
    assert keys(await acme_store.blockers("acme", waiting_on=["platform"])) == ["kr-launch"]
    both = await acme_store.blockers("acme", key_results=["kr-nps"], waiting_on=["platform"])
    assert keys(both) == ["kr-nps", "kr-launch"]
    # Resolved ones only with resolved_since, and only those resolved since then.
    since = MONDAY + timedelta(hours=4)
    recent = await acme_store.blockers("acme", waiting_on=["platform"], resolved_since=since)
    assert keys(recent) == ["kr-lead", "kr-launch"]
    later = since + timedelta(seconds=1)
    recent = await acme_store.blockers("acme", waiting_on=["platform"], resolved_since=later)
    assert keys(recent) == ["kr-launch"]
    # Nothing asked, nothing found; another organisation sees none of them.
    assert await acme_store.blockers("acme", resolved_since=MONDAY) == []
    assert await acme_store.blockers("acme", key_results=[], waiting_on=[]) == []
    assert await acme_store.blockers("other", waiting_on=["platform"]) == []


# ---- told once ----------------------------------------------------------------------------


async def test_enqueue_marks_the_events_it_announces(acme_store: SqlStore) -> None:
    await check_in(acme_store, "k1", blocked("kr-lead", "CI", team="platform"),
                   blocked("kr-launch", "Store", team="company"))  # fmt: skip
    first, second = await acme_store.unannounced_events("acme", limit=10)
    assert [e.id for e in await acme_store.unannounced_events("acme", limit=1)] == [first.id]
    assert await acme_store.unannounced_events("other", limit=10) == []

    told = [Outgoing(f"blocker:{first.id}:{DEV}", DEV, Notice("CI is down"))]
    assert await acme_store.enqueue("acme", told, announced=[first.id], at=MONDAY) == 1

    assert [e.id for e in await acme_store.unannounced_events("acme", limit=10)] == [second.id]
    # Told again (a replica that read the same events): nothing new is written.
    assert await acme_store.enqueue("acme", told, announced=[first.id, second.id], at=MONDAY) == 0
    assert await acme_store.unannounced_events("acme", limit=10) == []


async def test_one_live_blocker_per_reporter_and_key_result(acme_store: SqlStore) -> None:
    """The partial unique index itself refuses a second live one; resolved ones are free."""
    saved = await check_in(acme_store, "k1", blocked("kr-lead", "CI", team="platform"))
    row = {"org": "acme", "raised_by": BEN, "key_result": "kr-lead", "text": "", "state": "open",
           "raised_at": MONDAY, "changed_at": MONDAY, "checkin_id": saved.id}  # fmt: skip
    async with acme_store.engine.begin() as conn:
        await conn.execute(insert(blocker_t), [{**row, "state": "resolved"}] * 2)
    with pytest.raises(IntegrityError):
        async with acme_store.engine.begin() as conn:
            await conn.execute(insert(blocker_t), [{**row, "state": "acknowledged"}])
