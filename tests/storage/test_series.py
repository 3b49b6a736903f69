"""kr_series and ritual_attendance on a small handmade history, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.ports import Answering
from rhythm.records import ON_LEAVE, AttendanceCell, KrPoint
from rhythm.status import Status
from storage.series import TEAM_LIST_LIMIT
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, CAI, DEV, MONDAY, WEEK, acme, due, update, weekly

H = timedelta(hours=1)
D = timedelta(days=1)
W = timedelta(weeks=1)
W09, W10 = MONDAY - W, MONDAY  # Mondays 23 Feb and 2 Mar 2026, 09:00 UTC


class History:
    def __init__(self, store: SqlStore, org: str = "acme") -> None:
        self.store, self.org, self.keys = store, org, 0

    async def checkin(
        self,
        draft: CheckInDraft,
        period: str,
        at: datetime,
        *,
        prompt: int | None = None,
    ) -> None:
        self.keys += 1
        await self.store.save_checkin(
            self.org, draft, period=period, answering=Answering(prompt_id=prompt),
            submitted_at=at, idempotency_key=f"k{self.keys}",
        )  # fmt: skip

    async def prompt(
        self,
        person: str,
        period: str,
        at: datetime,
        *,
        kind: RhythmKind = RhythmKind.WEEKLY,
        answered: datetime | None = None,
        leave: bool = False,
        deadline: timedelta = 2 * D,
    ) -> int:
        rhythm = f"r-{kind.value}"
        await self.store.add_prompts(
            self.org,
            [due(person, period=period, rhythm=rhythm, kind=kind, at=at, deadline=deadline)],
        )
        found = await self.store.find_prompt(self.org, rhythm=rhythm, person=person, period=period)
        assert found is not None
        if leave:
            await self.store.mark_failed(found.id, at=at, error=ON_LEAVE)
        if answered is not None:
            await self.checkin(CheckInDraft(person, kind, notes={"focus": "x"}), period, answered,
                               prompt=found.id)  # fmt: skip
        return found.id


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    await store.save_organisation(acme("other"))
    return store


def points(found: dict[str, list[KrPoint]], key: str) -> list[tuple[datetime, float | None]]:
    return [(point.at, point.value) for point in found.get(key, [])]


# ---- kr_series ----------------------------------------------------------------------------


async def test_a_series_is_each_check_ins_latest_revision_oldest_first(
    acme_store: SqlStore,
) -> None:
    h = History(acme_store)
    await h.checkin(weekly(ANA, update("kr-nps", 11, 6)), "2026-W08", W09 - W + H)
    await h.checkin(weekly(ANA, update("kr-nps", 15, 7, status=Status.AT_RISK)), "2026-W09",
                    W09 + H)  # fmt: skip
    # W10: the first answer, then two edits; only the last edit counts.
    await h.checkin(weekly(BEN, update("kr-lead", 8), update("kr-launch", 0)), WEEK, W10 + H)
    await h.checkin(weekly(BEN, update("kr-lead", 7.5)), WEEK, W10 + 2 * H)
    await h.checkin(weekly(BEN, update("kr-lead", 7, 4)), WEEK, W10 + 3 * H)
    await h.checkin(weekly(ANA, update("kr-nps", 20, 8)), WEEK, W10 + H)

    found = await acme_store.kr_series(
        "acme", ["kr-nps", "kr-lead", "kr-launch", "kr-uptime"], since=W09 - 2 * W, until=W10 + W
    )

    assert found["kr-nps"] == [
        KrPoint("kr-nps", W09 - W + H, 11, 6, Status.ON_TRACK),
        KrPoint("kr-nps", W09 + H, 15, 7, Status.AT_RISK),
        KrPoint("kr-nps", W10 + H, 20, 8, Status.ON_TRACK),
    ]
    assert found["kr-lead"] == [KrPoint("kr-lead", W10 + 3 * H, 7, 4, Status.ON_TRACK)]
    # The edits left kr-launch out: the first revision's update is still its latest.
    assert points(found, "kr-launch") == [(W10 + H, 0)]
    assert "kr-uptime" not in found  # nothing reported: absent
    assert all(p.at.tzinfo is UTC for series in found.values() for p in series)


async def test_an_edit_that_empties_an_update_removes_its_point(acme_store: SqlStore) -> None:
    h = History(acme_store)
    await h.checkin(weekly(BEN, update("kr-lead", 8)), "2026-W09", W09 + H)
    await h.checkin(weekly(BEN, update("kr-lead", 7)), WEEK, W10 + H)
    await h.checkin(weekly(BEN, update("kr-lead", None, None, status=None)), WEEK, W10 + 2 * H)
    # Neither a value nor a confidence: not a point at all.
    await h.checkin(weekly(CAI, update("kr-vague", None, None)), WEEK, W10 + H)
    await h.checkin(weekly(DEV, update("kr-uptime", None, 9)), WEEK, W10 + H)

    found = await acme_store.kr_series(
        "acme", ["kr-lead", "kr-vague", "kr-uptime"], since=W09, until=W10 + W
    )

    assert points(found, "kr-lead") == [(W09 + H, 8)]
    assert "kr-vague" not in found
    assert found["kr-uptime"] == [KrPoint("kr-uptime", W10 + H, None, 9, Status.ON_TRACK)]


async def test_each_ritual_and_person_is_a_check_in_of_its_own(acme_store: SqlStore) -> None:
    h = History(acme_store)
    await h.checkin(weekly(BEN, update("kr-lead", 8)), WEEK, W10 + H)
    monthly = CheckInDraft(BEN, RhythmKind.MONTHLY, kr_updates=(KrUpdate("kr-lead", 7.8, 6),))
    await h.checkin(monthly, "2026-03", W10 + 2 * H)
    await h.checkin(weekly(ANA, update("kr-lead", 7.6)), WEEK, W10 + 3 * H)  # not its owner

    found = await acme_store.kr_series("acme", ["kr-lead"], since=W10, until=W10 + W)

    assert points(found, "kr-lead") == [(W10 + H, 8), (W10 + 2 * H, 7.8), (W10 + 3 * H, 7.6)]


async def test_the_window_is_half_open_and_an_edit_counts_from_its_own_time(
    acme_store: SqlStore,
) -> None:
    h = History(acme_store)
    await h.checkin(weekly(ANA, update("kr-nps", 11)), "2026-W08", W09 - H)  # before
    await h.checkin(weekly(ANA, update("kr-nps", 12)), "2026-W09", W09)  # at `since`: in
    await h.checkin(weekly(ANA, update("kr-nps", 20)), WEEK, W10)  # at `until`: out
    # Answered before the window, edited inside it: the edit is the check-in's value.
    await h.checkin(weekly(BEN, update("kr-lead", 9)), "2026-W08", W09 - H)
    await h.checkin(weekly(BEN, update("kr-lead", 8.5)), "2026-W08", W09 + H)
    # Answered inside, edited after the window: as of `until` the answer stands.
    await h.checkin(weekly(DEV, update("kr-uptime", 99.6)), "2026-W09", W10 - H)
    await h.checkin(weekly(DEV, update("kr-uptime", 99.1)), "2026-W09", W10 + H)

    found = await acme_store.kr_series(
        "acme", ["kr-nps", "kr-lead", "kr-uptime"], since=W09, until=W10
    )

    assert points(found, "kr-nps") == [(W09, 12)]
    assert points(found, "kr-lead") == [(W09 + H, 8.5)]
    assert points(found, "kr-uptime") == [(W10 - H, 99.6)]
    assert await acme_store.kr_series("acme", ["kr-nps"], since=W10, until=W10) == {}
    assert await acme_store.kr_series("acme", [], since=W09, until=W10) == {}


async def test_other_organisations_never_leak_into_a_series(acme_store: SqlStore) -> None:
    await History(acme_store, "other").checkin(weekly(ANA, update("kr-nps", 99)), WEEK, W10 + H)
    await History(acme_store).checkin(weekly(ANA, update("kr-nps", 20)), WEEK, W10 + 2 * H)

    found = await acme_store.kr_series("acme", ["kr-nps"], since=W10, until=W10 + W)
    theirs = await acme_store.kr_series("other", ["kr-nps"], since=W10, until=W10 + W)

    assert points(found, "kr-nps") == [(W10 + 2 * H, 20)]
    assert points(theirs, "kr-nps") == [(W10 + H, 99)]


async def test_a_long_list_of_key_results_is_read_in_chunks(acme_store: SqlStore) -> None:
    h = History(acme_store)
    await h.checkin(weekly(ANA, update("kr-nps", 20)), WEEK, W10 + H)
    await h.checkin(weekly(DEV, update("kr-uptime", 99.6)), WEEK, W10 + H)
    keys = [f"kr-{i:04d}" for i in range(1_200)] + ["kr-uptime", "kr-nps", "kr-nps"]

    found = await acme_store.kr_series("acme", keys, since=W10, until=W10 + W)

    assert sorted(found) == ["kr-nps", "kr-uptime"]
    assert points(found, "kr-uptime") == [(W10 + H, 99.6)]


# ---- ritual_attendance --------------------------------------------------------------------
# product: Ana (lead), Ben, Cai; platform: Cai, Dev (Cai counts in both); company: nobody.


async def test_attendance_counts_each_teams_own_members_per_ritual_and_week(
    acme_store: SqlStore,
) -> None:
    h = History(acme_store)
    # Weekly, W09: everybody on time.
    for person in (ANA, BEN, CAI, DEV):
        await h.prompt(person, "2026-W09", W09, answered=W09 + H)
    # Weekly, W10: Ana on time, Ben late, Cai silent, Dev off ("I'm off": not asked).
    await h.prompt(ANA, WEEK, W10, answered=W10 + 2 * D)  # at the deadline: on time
    await h.prompt(BEN, WEEK, W10, answered=W10 + 2 * D + H)
    await h.prompt(CAI, WEEK, W10)
    await h.prompt(DEV, WEEK, W10, leave=True)
    # Daily, Cai: Monday and Sunday of W10 make one week, the Monday after the next.
    daily, pulse = RhythmKind.DAILY, 6 * H
    await h.prompt(CAI, "2026-03-02", W10, kind=daily, deadline=pulse, answered=W10 + H)
    await h.prompt(CAI, "2026-03-08", W10 + 6 * D, kind=daily, deadline=pulse)
    await h.prompt(CAI, "2026-03-09", W10 + W, kind=daily, deadline=pulse, answered=W10 + W + H)

    cells = await acme_store.ritual_attendance(
        "acme", ["platform", "product", "company"], since=W09, until=W10 + 3 * W
    )

    week = RhythmKind.WEEKLY
    assert cells == [
        AttendanceCell("platform", daily, date(2026, 3, 2), 2, 1),
        AttendanceCell("platform", daily, date(2026, 3, 9), 1, 1),
        AttendanceCell("platform", week, date(2026, 2, 23), 2, 2),
        AttendanceCell("platform", week, date(2026, 3, 2), 1, 0),
        AttendanceCell("product", daily, date(2026, 3, 2), 2, 1),
        AttendanceCell("product", daily, date(2026, 3, 9), 1, 1),
        AttendanceCell("product", week, date(2026, 2, 23), 3, 3),
        AttendanceCell("product", week, date(2026, 3, 2), 3, 1),
    ]
    only = await acme_store.ritual_attendance("acme", ["product"], since=W09, until=W10 + 3 * W)
    assert only == [c for c in cells if c.team == "product"]


async def test_attendance_window_is_by_deadline_and_half_open(acme_store: SqlStore) -> None:
    h = History(acme_store)
    await h.prompt(ANA, "2026-W09", W09, answered=W09 + H)  # deadline W09 + 2 days
    await h.prompt(ANA, WEEK, W10, answered=W10 + H)  # deadline W10 + 2 days
    await h.prompt(BEN, WEEK, W10)  # still open at `until` below: not counted yet

    since, until = W09 + 2 * D, W10 + 2 * D
    at_edges = await acme_store.ritual_attendance("acme", ["product"], since=since, until=until)
    later = await acme_store.ritual_attendance("acme", ["product"], since=since, until=until + H)

    assert at_edges == [AttendanceCell("product", RhythmKind.WEEKLY, date(2026, 2, 23), 1, 1)]
    assert later == [
        AttendanceCell("product", RhythmKind.WEEKLY, date(2026, 2, 23), 1, 1),
        AttendanceCell("product", RhythmKind.WEEKLY, date(2026, 3, 2), 2, 1),
    ]
    assert await acme_store.ritual_attendance("acme", ["product"], since=until, until=until) == []
    assert await acme_store.ritual_attendance("acme", [], since=since, until=until) == []


async def test_monthly_rituals_fall_in_the_week_they_started_in_the_teams_timezone(
    acme_store: SqlStore,
) -> None:
    h = History(acme_store)
    # Sunday 1 March, 23:30 UTC: Monday 00:30 in Paris (product), still Sunday in New York
    # (platform).
    start = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    monthly = RhythmKind.MONTHLY
    await h.prompt(CAI, "2026-03", start, kind=monthly, answered=start + H, deadline=3 * D)
    await h.prompt(DEV, "2026-03", start + D, kind=monthly, deadline=3 * D)

    cells = await acme_store.ritual_attendance(
        "acme", ["product", "platform"], since=W09, until=W10 + W
    )

    assert cells == [
        AttendanceCell("platform", monthly, date(2026, 2, 23), 2, 1),
        AttendanceCell("product", monthly, date(2026, 3, 2), 1, 1),
    ]


async def test_attendance_of_other_organisations_never_leaks(acme_store: SqlStore) -> None:
    await History(acme_store, "other").prompt(ANA, WEEK, W10, answered=W10 + H)
    await History(acme_store, "other").prompt(BEN, WEEK, W10)
    await History(acme_store).prompt(ANA, WEEK, W10)

    cells = await acme_store.ritual_attendance("acme", ["product"], since=W09, until=W10 + W)
    theirs = await acme_store.ritual_attendance("other", ["product"], since=W09, until=W10 + W)

    assert cells == [AttendanceCell("product", RhythmKind.WEEKLY, date(2026, 3, 2), 1, 0)]
    assert theirs == [AttendanceCell("product", RhythmKind.WEEKLY, date(2026, 3, 2), 2, 1)]


async def test_a_long_list_of_teams_gives_the_same_answer(acme_store: SqlStore) -> None:
    h = History(acme_store)
    await h.prompt(ANA, WEEK, W10, answered=W10 + H)
    await h.prompt(CAI, WEEK, W10)
    await h.prompt(DEV, WEEK, W10, answered=W10 + H)
    many = [f"team-{i}" for i in range(TEAM_LIST_LIMIT + 10)] + ["platform"]

    cells = await acme_store.ritual_attendance("acme", many, since=W09, until=W10 + W)

    assert cells == [AttendanceCell("platform", RhythmKind.WEEKLY, date(2026, 3, 2), 2, 1)]
