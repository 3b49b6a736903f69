"""Automatic updates (values other systems push) on both databases: stored once by key with the
key result's new current value in the same transaction, never interleaved with a check-in,
and read back by the digest's facts, the series and a key result's history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from rhythm.cadences import RhythmKind
from rhythm.ports import Answering
from rhythm.records import AutoUpdate, AutoUpdateFact, DigestFacts, KrPoint
from rhythm.status import Status
from storage import digest_facts
from storage.auto_updates import lock_for_push
from storage.checkins import _lock_for_checkin
from storage.store import SqlStore, open_store
from storage.tables import auto_update_t, key_result_t, kr_update_t
from tests.storage.builders import (
    ANA,
    BEN,
    LAST_WEEK,
    MONDAY,
    WEEK,
    acme,
    update,
    weekly,
)  # fmt: skip

H = timedelta(hours=1)
FILE_VALUE = 8.5  # kr-lead's current value in the builders' file
WEEK_WINDOW = (MONDAY - 9 * H, MONDAY - 9 * H + timedelta(weeks=1))  # W10, Monday 00:00 UTC on


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    await store.save_organisation(acme("other"))
    return store


async def push(
    store: SqlStore,
    value: float,
    *,
    kr: str = "kr-lead",
    at: timedelta = timedelta(),
    key: str | None = None,
    source: str = "ci",
    org: str = "acme",
) -> AutoUpdate | None:
    return await store.save_auto_update(
        org, kr, value, source=source, submitted_at=MONDAY + at, idempotency_key=key
    )


async def check_in(
    store: SqlStore, value: float, *, at: timedelta = timedelta(), key: str, period: str = WEEK
) -> None:
    await store.save_checkin(
        "acme", weekly(BEN, update("kr-lead", value)), period=period, answering=Answering(),
        submitted_at=MONDAY + at, idempotency_key=key,
    )  # fmt: skip


async def stored(store: SqlStore) -> list[tuple[str, str, float, float | None, str]]:
    a = auto_update_t.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(a.org, a.key_result, a.value, a.value_before, a.source).order_by(a.id)
        )
        return [(org, kr, value, before, source) for org, kr, value, before, source in rows]


# ---- stored once, with the current value ----------------------------------------------------


async def test_a_push_is_stored_with_where_the_key_result_stood_and_becomes_its_value(
    acme_store: SqlStore,
) -> None:
    saved = await push(acme_store, 7.5, key="run-1")

    assert saved == AutoUpdate(
        saved.id if saved else 0, "kr-lead", 7.5, FILE_VALUE, "ci", MONDAY, "run-1", created=True
    )
    assert saved is not None
    assert saved.submitted_at.tzinfo == UTC
    assert await acme_store.current_values("acme", ["kr-lead"]) == {"kr-lead": 7.5}
    assert (await acme_store.kr_states("acme", BEN))["kr-lead"].value == 7.5  # the form's prefill
    assert await acme_store.current_values("other", ["kr-lead"]) == {"kr-lead": FILE_VALUE}
    again = await push(acme_store, 7.0, at=H)  # no key: another push
    assert again is not None
    assert again.value_before == 7.5
    assert await stored(acme_store) == [
        ("acme", "kr-lead", 7.5, FILE_VALUE, "ci"),
        ("acme", "kr-lead", 7.0, 7.5, "ci"),
    ]


async def test_the_same_idempotency_key_is_stored_once(acme_store: SqlStore) -> None:
    first = await push(acme_store, 7.5, key="run-1")
    await push(acme_store, 6.0, key="run-2", at=H)

    again = await push(acme_store, 7.5, key="run-1", at=2 * H)
    assert first is not None
    assert again is not None
    assert again == AutoUpdate(
        first.id, "kr-lead", 7.5, FILE_VALUE, "ci", MONDAY, "run-1", created=False
    )
    # The stored push comes back whatever the retry says: the core compares.
    other = await push(acme_store, 1.0, kr="kr-nps", key="run-1", source="warehouse")
    assert other == again
    assert await acme_store.current_values("acme", ["kr-lead", "kr-nps"]) == {
        "kr-lead": 6.0,  # the retry changed nothing
        "kr-nps": 12,
    }
    assert len(await stored(acme_store)) == 2
    # Keys are per organisation.
    theirs = await push(acme_store, 5.0, key="run-1", org="other")
    assert theirs is not None
    assert theirs.created


async def test_an_unknown_key_result_stores_nothing(acme_store: SqlStore) -> None:
    assert await push(acme_store, 1.0, kr="kr-gone", key="k") is None
    assert await push(acme_store, 1.0, org="nobody") is None
    assert await stored(acme_store) == []


async def test_a_key_result_with_no_value_yet_is_pushed_from_nothing(acme_store: SqlStore) -> None:
    k = key_result_t.c
    async with acme_store.engine.begin() as conn:
        await conn.execute(
            key_result_t.update()
            .where(k.org == "acme", k.key == "kr-nps")
            .values(current_value=None)
        )
    saved = await push(acme_store, 14, kr="kr-nps")
    assert saved is not None
    assert saved.value_before is None
    assert await acme_store.current_values("acme", ["kr-nps"]) == {"kr-nps": 14}


async def test_an_import_keeps_a_pushed_value(acme_store: SqlStore) -> None:
    await push(acme_store, 7.5)
    saved = await acme_store.save_organisation(acme())
    metric = saved.key_result["kr-lead"].metric
    assert metric is not None
    assert metric.current == 7.5


# ---- never interleaved with a check-in --------------------------------------------------------


async def test_concurrent_pushes_and_check_ins_lose_neither(
    acme_store: SqlStore, database_url: str
) -> None:
    """A CI job pushing while the owner checks in, from two processes: every push and every
    check-in is stored, each push read the value committed just before it (the previous push's
    or a check-in's, never one overwritten meanwhile), and the last commit is the value."""
    pushes = [100.0 + i for i in range(15)]
    check_ins = [float(i) for i in range(1, 16)]

    pushed, checked = asyncio.Event(), asyncio.Event()

    async def pushing(server: SqlStore) -> None:
        for i, value in enumerate(pushes):
            if i == 1:  # SQLite may queue all of one side first: make them overlap
                await checked.wait()
            assert await push(server, value, key=f"p{i}", at=i * H) is not None
            pushed.set()
            await asyncio.sleep(0)

    async def checking_in(server: SqlStore) -> None:
        for i, value in enumerate(check_ins):
            if i == 1:
                await pushed.wait()
            await check_in(server, value, key=f"c{i}", at=i * H)
            checked.set()
            await asyncio.sleep(0)

    async with open_store(database_url) as api, open_store(database_url) as bot:
        await asyncio.gather(pushing(api), checking_in(bot))

    rows = [r for r in await stored(acme_store) if r[0] == "acme"]
    assert [r[2] for r in rows] == pushes
    u = kr_update_t.c
    async with acme_store.engine.connect() as conn:
        checked_in = await conn.execute(select(u.value).where(u.org == "acme").order_by(u.id))
        assert [value for (value,) in checked_in] == check_ins  # each an edit of the last
    # Each push saw the previous push's value or a check-in's: none was lost in between.
    previous: float | None = FILE_VALUE
    for _, _, value, before, _ in rows:
        assert before == previous or before in check_ins
        previous = value
    assert any(r[3] in check_ins for r in rows)  # they did interleave
    [final] = (await acme_store.current_values("acme", ["kr-lead"])).values()
    assert final in (pushes[-1], check_ins[-1])


POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@POSTGRES_ONLY
async def test_a_push_waits_for_a_check_in_under_way_and_reads_its_value(
    acme_store: SqlStore, database_url: str
) -> None:
    async with open_store(database_url) as other, other.engine.connect() as held:
        async with held.begin():
            # Ben's check-in, half-way: its locks held and kr-lead's value written.
            await _lock_for_checkin(held, "acme", BEN, RhythmKind.WEEKLY, WEEK)
            k = key_result_t.c
            await held.execute(
                key_result_t.update()
                .where(k.org == "acme", k.key == "kr-lead")
                .values(current_value=6.5)
            )
            pushing = asyncio.create_task(push(acme_store, 6.0))
            await asyncio.sleep(0.5)
            assert not pushing.done()
            # Another key result is not held up.
            assert await asyncio.wait_for(push(acme_store, 13, kr="kr-nps"), timeout=5)
        saved = await asyncio.wait_for(pushing, timeout=5)
    assert saved is not None
    assert saved.value_before == 6.5
    assert await acme_store.current_values("acme", ["kr-lead"]) == {"kr-lead": 6.0}


@POSTGRES_ONLY
async def test_a_check_in_and_an_import_wait_for_a_push_under_way(
    acme_store: SqlStore, database_url: str
) -> None:
    async with open_store(database_url) as other, other.engine.connect() as held:
        async with held.begin():
            before = await lock_for_push(held, "acme", "kr-lead", postgresql=True)
            assert before == FILE_VALUE
            checking_in = asyncio.create_task(check_in(acme_store, 6.5, key="c"))
            importing = asyncio.create_task(acme_store.save_organisation(acme()))
            await asyncio.sleep(0.5)
            assert not checking_in.done()
            assert not importing.done()
            k = key_result_t.c
            await held.execute(
                key_result_t.update()
                .where(k.org == "acme", k.key == "kr-lead")
                .values(current_value=7.0)
            )
        await asyncio.wait_for(asyncio.gather(checking_in, importing), timeout=5)
    assert await acme_store.current_values("acme", ["kr-lead"]) == {"kr-lead": 6.5}


# ---- what the digest, the series and the history read -----------------------------------------


@pytest.fixture(params=["small lists in SQL", "large lists in Python"])
def in_list_limit(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.param == "large lists in Python":
        monkeypatch.setattr(digest_facts, "IN_LIST_LIMIT", 0)


async def facts_of(
    store: SqlStore, window: tuple[datetime, datetime] | None = WEEK_WINDOW
) -> DigestFacts:
    return await store.digest_facts(
        "acme", kind=RhythmKind.WEEKLY, period=WEEK, previous=LAST_WEEK,
        key_results=["kr-lead", "kr-nps", "kr-uptime"], people=[ANA, BEN], teams=["product"],
        window=window,
    )  # fmt: skip


@pytest.mark.usefixtures("in_list_limit")
async def test_the_digest_facts_hold_the_periods_latest_and_first_push(
    acme_store: SqlStore,
) -> None:
    await push(acme_store, 9.9, at=-2 * H)  # Monday 07:00 UTC: still W10
    await push(acme_store, 50, kr="kr-nps", at=-10 * H)  # Sunday: W09
    await check_in(acme_store, 8.0, at=H, key="c1")
    await push(acme_store, 7.5, at=3 * H, source="warehouse")
    await push(acme_store, 7.0, at=2 * H)  # stored later, but earlier: not the latest
    await push(acme_store, 1.0, at=timedelta(weeks=1))  # W11
    await push(acme_store, 99.8, kr="kr-uptime", at=4 * H)
    await push(acme_store, 3.0, org="other", at=4 * H)
    await push(acme_store, 5.0, kr="kr-launch", at=4 * H)  # not asked for

    facts = await facts_of(acme_store)

    assert facts.automatic == {
        "kr-lead": AutoUpdateFact(
            "warehouse", MONDAY + 3 * H, 7.5, MONDAY - 2 * H, FILE_VALUE, MONDAY + H
        ),
        "kr-uptime": AutoUpdateFact("ci", MONDAY + 4 * H, 99.8, MONDAY + 4 * H, 99.5, None),
    }
    assert facts.current["kr-lead"].value == 8.0  # check-ins stay apart
    assert facts.prompts == ()
    assert facts.spontaneous == {BEN: 1}
    assert (await facts_of(acme_store, None)).automatic == {}


@pytest.mark.usefixtures("in_list_limit")
async def test_the_series_holds_pushed_values_in_order(acme_store: SqlStore) -> None:
    await check_in(acme_store, 8.0, at=H, key="c1")
    await push(acme_store, 7.5, at=H)  # the same instant: after the check-in
    await push(acme_store, 7.0, at=-H)
    await push(acme_store, 6.0, at=timedelta(weeks=2))  # after the window
    await push(acme_store, 3.0, org="other")

    series = await acme_store.kr_series(
        "acme", ["kr-lead", "kr-nps"], since=MONDAY - 2 * H, until=MONDAY + timedelta(weeks=1)
    )

    assert series == {
        "kr-lead": [
            KrPoint("kr-lead", MONDAY - H, 7.0, None),
            KrPoint("kr-lead", MONDAY + H, 8.0, 7, Status.ON_TRACK),
            KrPoint("kr-lead", MONDAY + H, 7.5, None),
        ]
    }


async def test_a_key_results_history_shows_its_pushes(acme_store: SqlStore) -> None:
    await check_in(acme_store, 8.0, at=H, key="c1")
    await push(acme_store, 7.5, at=2 * H)
    await push(acme_store, 7.0, at=3 * H, source="warehouse")
    await push(acme_store, 3.0, org="other", at=4 * H)

    history = await acme_store.checkin_history("acme", key_result="kr-lead", limit=10)
    assert [(e.source, e.kind, e.update.value, e.update.submitted_at) for e in history] == [
        ("warehouse", None, 7.0, MONDAY + 3 * H),
        ("ci", None, 7.5, MONDAY + 2 * H),
        (None, RhythmKind.WEEKLY, 8.0, MONDAY + H),
    ]
    latest = await acme_store.checkin_history("acme", key_result="kr-lead", limit=2)
    assert [e.update.value for e in latest] == [7.0, 7.5]
    mine = await acme_store.checkin_history("acme", person=BEN, limit=10)
    assert [e.update.value for e in mine] == [8.0]  # a person's: check-ins only


async def test_pushes_count_in_the_table(acme_store: SqlStore) -> None:
    """The unique key's NULLs: pushes without an idempotency key never conflict."""
    for i in range(3):
        await push(acme_store, float(i), at=i * H)
    async with acme_store.engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(auto_update_t))
    assert count == 3
