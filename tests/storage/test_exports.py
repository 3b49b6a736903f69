"""Check-ins page by page (`checkins_page`): what the HTTP API lists and exports stream.

Filters, keyset paging with no check-in lost or repeated, latest revisions or every one, and
what one page costs: the same few statements whatever the history, on indexes."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.okr import InitiativeStatus
from rhythm.ports import Answering, StoredCheckIn
from rhythm.status import Decision, Status
from storage.store import SqlStore, open_store
from tests.databases import sqlite_url
from tests.storage.builders import ANA, BEN, CAI, DEV, MONDAY, WEEK, acme, due, update, weekly

LEASE = timedelta(minutes=5)
OWNED = {ANA: ["kr-nps"], BEN: ["kr-lead", "kr-launch"], CAI: ["kr-vague"], DEV: ["kr-uptime"]}


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    await store.save_organisation(acme("globex", name="Globex"))
    return store


async def save(
    store: SqlStore,
    key: str,
    draft: CheckInDraft,
    *,
    period: str = WEEK,
    at: datetime = MONDAY,
    answering: Answering | None = None,
    org: str = "acme",
) -> int:
    saved = await store.save_checkin(
        org, draft, period=period, answering=answering or Answering(), submitted_at=at,
        idempotency_key=key,
    )  # fmt: skip
    return saved.id


async def every_page(store: SqlStore, *, limit: int, **filters: Any) -> list[StoredCheckIn]:
    """All the pages of a listing, each asked after the last id of the one before."""
    found: list[StoredCheckIn] = []
    after = 0
    while True:
        page = await store.checkins_page("acme", after=after, limit=limit, **filters)
        assert len(page) <= limit
        found += page
        if len(page) < limit:
            return found
        after = page[-1].id


# ---- one page ---------------------------------------------------------------------------


async def test_a_page_holds_each_checkins_latest_revision_with_its_answers(
    acme_store: SqlStore,
) -> None:
    await acme_store.add_prompts("acme", [due(BEN)])
    [prompt] = await acme_store.claim_unsent("acme", now=MONDAY, worker="w", limit=1, lease=LEASE)
    await acme_store.mark_sent(prompt.id, at=MONDAY, message_ref="ts")
    first = await save(acme_store, "b1", weekly(BEN, update("kr-lead", 8)),
                       answering=Answering(prompt.id))  # fmt: skip
    edited = CheckInDraft(
        BEN, RhythmKind.WEEKLY,
        kr_updates=(
            KrUpdate("kr-lead", 7.5, 6, Status.AT_RISK, "CI faster", "Flaky tests",
                     "platform", None, "Fix tests"),
            KrUpdate("kr-launch", None, None, None, blockers="Design", blocked_by_kr="kr-uptime"),
        ),
        initiatives=(("i-ci", InitiativeStatus.BLOCKED), ("i-survey", InitiativeStatus.DONE)),
        notes={"highlight": "Shipped the beta"},
    )  # fmt: skip
    edit = await save(acme_store, "b2", edited, at=MONDAY + timedelta(hours=1))  # no prompt
    cai = await save(acme_store, "c1", weekly(CAI, update("kr-vague", None, 5)),
                     at=MONDAY + timedelta(minutes=30))  # fmt: skip
    daily = CheckInDraft(DEV, RhythmKind.DAILY, notes={"focus": "CI"},
                         blocked_by_team="product", blocked_by_kr="kr-nps")  # fmt: skip
    dev = await save(acme_store, "d1", daily, period="2026-03-02")
    eoc = CheckInDraft(DEV, RhythmKind.END_OF_CYCLE, kr_updates=(
        KrUpdate("kr-uptime", confidence=None, final_score=0.7, decision=Decision.CARRY_OVER),
    ))  # fmt: skip
    end = await save(acme_store, "d2", eoc, period="2026-Q1")
    await save(acme_store, "g1", weekly(BEN, update("kr-lead", 1)), org="globex")

    page = await acme_store.checkins_page("acme")

    assert [c.id for c in page] == [edit, cai, dev, end]  # by id; the replaced revision is not
    ben = page[0]
    assert ben == StoredCheckIn(
        id=edit, person=BEN, kind=RhythmKind.WEEKLY, period=WEEK,
        prompt_id=prompt.id,  # the first revision answered it: the edit still does
        revision=2, submitted_at=MONDAY + timedelta(hours=1), draft=edited, spontaneous=False,
    )  # fmt: skip
    assert ben == await acme_store.stored_checkin("acme", first)  # what an Edit prefills
    assert page[1].spontaneous  # nobody had asked Cai
    assert page[1].draft == weekly(CAI, update("kr-vague", None, 5))
    assert (page[2].draft, page[2].prompt_id, page[2].period) == (daily, None, "2026-03-02")
    assert (page[3].draft, page[3].kind) == (eoc, RhythmKind.END_OF_CYCLE)
    assert page[0].submitted_at.utcoffset() == timedelta(0)


async def test_with_revisions_every_revision_comes_with_its_own_answers(
    acme_store: SqlStore,
) -> None:
    first = await save(acme_store, "b1", weekly(BEN, update("kr-lead", 8), update("kr-launch", 0)))
    second = await save(acme_store, "b2", weekly(BEN, update("kr-lead", 7)),
                        at=MONDAY + timedelta(hours=1))  # fmt: skip
    third = await save(acme_store, "b3", weekly(BEN, update("kr-lead", 6), notes={"a": "b"}),
                       at=MONDAY + timedelta(hours=2))  # fmt: skip

    page = await acme_store.checkins_page("acme", revisions=True)

    assert [(c.id, c.revision) for c in page] == [(first, 1), (second, 2), (third, 3)]
    assert [[u.value for u in c.draft.kr_updates] for c in page] == [[8, 0], [7], [6]]
    assert page[2].draft.notes == {"a": "b"}
    assert all(c.spontaneous for c in page)  # the check-in was; each revision says so
    assert [c.id for c in await acme_store.checkins_page("acme")] == [third]


# ---- filters ----------------------------------------------------------------------------


async def test_filters_by_time_people_and_key_results(acme_store: SqlStore) -> None:
    hour = timedelta(hours=1)
    ana = await save(acme_store, "a", weekly(ANA, update("kr-nps", 20)))
    ben = await save(acme_store, "b", weekly(BEN, update("kr-lead", 7), update("kr-launch", 0)),
                     at=MONDAY + hour)  # fmt: skip
    cai = await save(acme_store, "c", weekly(CAI, update("kr-lead", 6.9)), at=MONDAY + 2 * hour)
    # Ben's edit leaves kr-launch out: his check-in no longer updates it.
    ben_edit = await save(acme_store, "b2", weekly(BEN, update("kr-lead", 6.5)),
                          at=MONDAY + 3 * hour)  # fmt: skip

    async def ids(**filters: Any) -> list[int]:
        return [c.id for c in await acme_store.checkins_page("acme", **filters)]

    assert await ids(since=MONDAY + hour) == [cai, ben_edit]  # the since is included
    assert await ids(until=MONDAY + 2 * hour) == [ana]  # the until is not; Ben's is his edit
    assert await ids(since=MONDAY + hour, until=MONDAY + 2 * hour, revisions=True) == [ben]
    assert await ids(people=[BEN, DEV]) == [ben_edit]
    assert await ids(people=[BEN], revisions=True) == [ben, ben_edit]
    assert await ids(key_results=["kr-lead"]) == [cai, ben_edit]
    assert await ids(key_results=["kr-launch"]) == []
    assert await ids(key_results=["kr-launch"], revisions=True) == [ben]
    assert await ids(key_results=["kr-nps", "kr-launch"], revisions=True) == [ana, ben]
    assert await ids(people=[CAI], key_results=["kr-lead"], since=MONDAY + hour) == [cai]
    assert await ids(key_results=["kr-lead"], until=MONDAY + 3 * hour) == [cai]
    # None is no filter, an empty list matches nothing.
    assert await ids(people=[]) == await ids(key_results=[]) == []
    assert await ids(limit=0) == []
    assert await ids(after=cai) == [ben_edit]
    assert await acme_store.checkins_page("globex") == []


async def test_long_lists_of_people_and_key_results_filter_as_short_ones(
    acme_store: SqlStore,
) -> None:
    ana = await save(acme_store, "a", weekly(ANA, update("kr-nps", 20)))
    await save(acme_store, "b", weekly(BEN, update("kr-lead", 7)))
    cai = await save(acme_store, "c", weekly(CAI, update("kr-vague", None, 5), update("kr-nps", 2)))
    dev = await save(acme_store, "d", weekly(DEV, update("kr-uptime", 99.6)))
    nobody = [f"p{n:04}@acme.test" for n in range(700)]
    no_key = [f"kr-{n:04}" for n in range(700)]

    async def ids(**filters: Any) -> list[int]:
        return [c.id for c in await every_page(acme_store, limit=2, **filters)]

    assert await ids(people=[*nobody, DEV, ANA, CAI]) == [ana, cai, dev]
    assert await ids(key_results=[*no_key, "kr-uptime", "kr-nps"]) == [ana, cai, dev]
    assert await ids(people=[*nobody, CAI, DEV], key_results=[*no_key, "kr-nps"]) == [cai]


# ---- paging -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    id: int
    person: str
    period: str
    revision: int
    at: datetime
    key_results: tuple[str, ...]


async def history(store: SqlStore) -> list[Saved]:
    """Six weeks of the four people's weekly check-ins, some edited once or twice (an edit
    may drop a key result), saved in an order that is not the periods' order."""
    saved: list[Saved] = []
    for week in (3, 0, 5, 1, 4, 2):
        period = f"2026-W{10 + week:02}"
        for n, person in enumerate((ANA, BEN, CAI, DEV)):
            at = MONDAY + timedelta(weeks=week, hours=n)
            edits = (week + n) % 3  # 0, 1 or 2 edits
            for revision in range(1, edits + 2):
                keys = OWNED[person] if revision == 1 else OWNED[person][:1]
                draft = weekly(person, *(update(k, week + revision) for k in keys))
                moment = at + timedelta(minutes=revision)
                key = f"{person}:{period}:{revision}"
                checkin = await save(store, key, draft, period=period, at=moment)
                saved.append(Saved(checkin, person, period, revision, moment, tuple(keys)))
    return saved


def expected(saved: list[Saved], *, revisions: bool, **filters: Any) -> list[int]:
    latest = {(s.person, s.period): s.revision for s in saved}
    since, until = filters.get("since"), filters.get("until")
    people, keys = filters.get("people"), filters.get("key_results")
    return sorted(
        s.id
        for s in saved
        if (revisions or s.revision == latest[s.person, s.period])
        and (since is None or s.at >= since)
        and (until is None or s.at < until)
        and (people is None or s.person in people)
        and (keys is None or set(keys) & set(s.key_results))
    )


FILTERS: list[dict[str, Any]] = [
    {},
    {"since": MONDAY + timedelta(weeks=2), "until": MONDAY + timedelta(weeks=4, hours=2)},
    {"people": [BEN, DEV]},
    {"key_results": ["kr-launch", "kr-uptime"]},
    {"people": [BEN], "key_results": ["kr-launch"], "since": MONDAY + timedelta(weeks=1)},
]


@pytest.mark.parametrize("revisions", [False, True], ids=["latest", "revisions"])
async def test_paging_loses_and_repeats_nothing(acme_store: SqlStore, revisions: bool) -> None:
    saved = await history(acme_store)
    by_id = {s.id: s for s in saved}
    for filters in FILTERS:
        wanted = expected(saved, revisions=revisions, **filters)
        assert wanted, filters  # every filter finds something to page through
        for limit in (1, 4, 7, len(wanted), 100):
            found = await every_page(acme_store, limit=limit, revisions=revisions, **filters)
            assert [c.id for c in found] == wanted, (filters, limit)
        for c in found:
            s = by_id[c.id]
            assert (c.person, c.period, c.revision, c.submitted_at) == (
                s.person, s.period, s.revision, s.at,
            )  # fmt: skip
            assert tuple(u.key_result for u in c.draft.kr_updates) == s.key_results


async def test_a_checkin_stored_between_two_pages_comes_on_a_later_page(
    acme_store: SqlStore,
) -> None:
    """Keyset paging: rows that arrive meanwhile have higher ids, so they come later and
    nothing already listed shifts (an offset would repeat or skip rows)."""
    first = [await save(acme_store, f"a{n}", weekly(ANA, update("kr-nps", n)),
                        period=f"2026-W{10 + n}") for n in range(3)]  # fmt: skip
    page = await acme_store.checkins_page("acme", limit=2)
    edit = await save(acme_store, "edit", weekly(ANA, update("kr-nps", 9)), period="2026-W10",
                      at=MONDAY + timedelta(hours=1))  # fmt: skip
    rest = await acme_store.checkins_page("acme", after=page[-1].id, limit=2)
    # The first page listed W10's first revision; its edit comes later, W11 is not repeated.
    assert [c.id for c in page] == first[:2]
    assert [c.id for c in rest] == [first[2], edit]


# ---- what a page costs ------------------------------------------------------------------


@contextmanager
def statements(store: SqlStore) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements the store runs meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_a_page_is_three_statements_whatever_the_history(acme_store: SqlStore) -> None:
    counts = []
    for weeks in (range(6), range(6, 60)):  # 12 check-ins, then 120
        for week in weeks:
            for person in (ANA, BEN):
                draft = weekly(person, *(update(k, week) for k in OWNED[person]))
                at = MONDAY + timedelta(weeks=week)
                await save(acme_store, f"{week}:{person}", draft, period=f"W{week}", at=at)
        with statements(acme_store) as seen:
            page = await acme_store.checkins_page("acme", limit=10, since=MONDAY)
        assert len(page) == 10
        counts.append(len(seen))
    assert counts == [3, 3]  # check-ins, their key results, their initiatives


@pytest.fixture
async def sqlite_store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStore]:
    path = tmp_path / "plans.sqlite"
    shutil.copyfile(sqlite_template, path)
    async with open_store(sqlite_url(path)) as opened:
        await opened.save_organisation(acme())
        yield opened


@pytest.mark.parametrize(
    "filters",
    [{}, {"since": MONDAY}, {"people": [BEN]}, {"key_results": ["kr-lead"]},
     {"revisions": True}],
    ids=["all", "since", "people", "key-results", "revisions"],
)  # fmt: skip
async def test_sqlite_reads_a_page_on_indexes(sqlite_store: SqlStore, filters: Any) -> None:
    """SQLite has no statistics to plan with: each statement of a page must search an index
    (or the primary key), never scan a table, and sort nothing but one person's rows."""
    draft = dataclasses.replace(
        weekly(BEN, update("kr-lead", 7)), initiatives=(("i-ci", InitiativeStatus.DONE),)
    )
    await save(sqlite_store, "b", draft)
    with statements(sqlite_store) as seen:
        assert len(await sqlite_store.checkins_page("acme", **filters)) == 1
    assert len(seen) == 3
    async with sqlite_store.engine.connect() as conn:
        for sql, params in seen:
            plan = [row[3] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}",
                                                                 params)]  # fmt: skip
            assert not any(step.startswith("SCAN") for step in plan), (sql, plan)
            if "people" not in filters:
                assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)
