"""Who is due a prompt and which digests are due: date maths for a given `now`, never a clock.

A scheduler tick is simulated the way the tick works: `due_prompts(org, now)` in a loop over
datetimes, keeping the (rhythm, person, period) not written yet, so "exactly once" is checked
the way production ticks see it.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.due import DueDigest, DuePrompt, due_digests, due_prompts, prompt_for
from rhythm.okr import Organisation, Team
from tests.rhythm.orgs import (
    ALL_WEEK,
    KOLKATA,
    NEW_YORK,
    PARIS,
    SUNDAY_TO_THURSDAY,
    TREE_TEAMS,
    kr,
    local,
    minutes,
    objective,
    organisation,
    owners_org,
    person,
    rhythm,
    three_timezones,
    utc,
)

ANA, BEN, CHITRA = "ana@acme.test", "ben@acme.test", "chitra@acme.test"
MINUTE = timedelta(minutes=1)
WEEKLY, DAILY, MONTHLY, EOC = (
    RhythmKind.WEEKLY,
    RhythmKind.DAILY,
    RhythmKind.MONTHLY,
    RhythmKind.END_OF_CYCLE,
)
THURSDAY_NOON = utc(2026, 5, 7, 12)  # same ISO week (2026-W19) as Monday 2026-05-04


def tick(
    org: Organisation, start: datetime, end: datetime, step: timedelta = MINUTE
) -> list[DuePrompt]:
    """Every prompt a scheduler ticking every `step` from `start` to `end` would write: those
    due and still answerable whose (rhythm, person, period) was not written before (the
    scheduler was already running at `start - step`)."""
    found: list[DuePrompt] = []
    written = {(p.rhythm, p.person, p.period) for p in due_prompts(org, start - step)}
    for now in minutes(start, end, step):
        for p in due_prompts(org, now):
            if p.deadline > now and (p.rhythm, p.person, p.period) not in written:
                written.add((p.rhythm, p.person, p.period))
                found.append(p)
    return found


def tick_digests(
    org: Organisation, start: datetime, end: datetime, step: timedelta
) -> list[DueDigest]:
    found: list[DueDigest] = []
    written = {(d.rhythm, d.period) for d in due_digests(org, start - step)}
    for now in minutes(start, end, step):
        for d in due_digests(org, now):
            if (d.rhythm, d.period) not in written:
                written.add((d.rhythm, d.period))
                found.append(d)
    return found


def due_between(org: Organisation, now: datetime, since: datetime) -> list[DuePrompt]:
    """What became due in (since, now]: the prompts a tick at `now` writes after one at
    `since`."""
    return [p for p in due_prompts(org, now) if p.scheduled_for > since]


def digests_between(org: Organisation, now: datetime, since: datetime) -> list[DueDigest]:
    return [d for d in due_digests(org, now) if d.scheduled_for > since]


def assert_once_per_period(prompts: list[DuePrompt]) -> None:
    counts = Counter((p.rhythm, p.person, p.period) for p in prompts)
    assert [k for k, n in counts.items() if n > 1] == []


def when(prompts: list[DuePrompt], who: str | None = None) -> list[datetime]:
    return [p.scheduled_for for p in prompts if who is None or p.person == who]


# ---- three timezones, one weekly rhythm at 09:30 local on Monday ---------------------------

MONDAY_0930 = {
    CHITRA: utc(2026, 5, 4, 4, 0),  # Kolkata UTC+05:30
    ANA: utc(2026, 5, 4, 7, 30),  # Paris CEST UTC+2
    BEN: utc(2026, 5, 4, 13, 30),  # New York EDT UTC-4
}


@pytest.mark.parametrize("who", [ANA, BEN, CHITRA])
def test_each_person_is_due_at_their_own_local_time(who: str) -> None:
    org = three_timezones()
    instant = MONDAY_0930[who]

    assert list(due_between(org, instant, instant - MINUTE)) == [
        DuePrompt(
            rhythm="eng-weekly",
            kind=WEEKLY,
            person=who,
            period="2026-W19",
            scheduled_for=instant,
            deadline=instant + timedelta(days=2),
            is_lead=False,
        )
    ]
    assert list(due_between(org, instant - MINUTE, instant - 2 * MINUTE)) == []


def test_a_day_of_ticks_prompts_everyone_once_at_their_local_time() -> None:
    prompts = tick(three_timezones(), utc(2026, 5, 3, 12), utc(2026, 5, 5, 12))
    assert [(p.person, p.scheduled_for) for p in prompts] == list(MONDAY_0930.items())
    assert {p.period for p in prompts} == {"2026-W19"}


def test_the_window_is_since_exclusive_now_inclusive() -> None:
    org = three_timezones()
    at = MONDAY_0930[ANA]
    assert [p.person for p in due_between(org, at, at - MINUTE)] == [ANA]
    assert list(due_between(org, at + MINUTE, at)) == []
    # one long window covering the whole Monday returns all three, earliest first
    everyone = list(due_between(org, utc(2026, 5, 4, 23), utc(2026, 5, 4, 0)))
    assert [p.person for p in everyone] == [CHITRA, ANA, BEN]


def test_the_current_week_is_caught_up_once_and_last_week_not_replayed() -> None:
    org = three_timezones()

    caught_up = list(due_prompts(org, THURSDAY_NOON))
    assert [(p.person, p.period, p.scheduled_for) for p in caught_up] == [
        (who, "2026-W19", at) for who, at in MONDAY_0930.items()
    ]
    # the following tick finds the same prompts, already written: nothing more
    assert list(due_prompts(org, THURSDAY_NOON + MINUTE)) == caught_up
    # early on Monday in Paris, last week's prompt is not replayed and this week's is not due
    assert [p.person for p in due_prompts(org, local(PARIS, 2026, 5, 4, 9, 29))] == [CHITRA]


# ---- leads first -------------------------------------------------------------------------


@pytest.mark.parametrize("lead_time", [timedelta(hours=1), timedelta(minutes=30)])
def test_leads_are_prompted_lead_time_earlier_and_listed_first(lead_time: timedelta) -> None:
    org = three_timezones(lead=True, lead_time=lead_time)
    nominal = MONDAY_0930[ANA]

    prompts = list(due_prompts(org, THURSDAY_NOON))
    assert [(p.person, p.is_lead) for p in prompts] == [(ANA, True), (CHITRA, False), (BEN, False)]
    ana = prompts[0]
    assert ana.scheduled_for == nominal - lead_time
    assert ana.deadline == nominal + timedelta(days=2)  # the deadline does not move
    assert [
        p.person for p in due_between(org, nominal - lead_time, nominal - lead_time - MINUTE)
    ] == [ANA]
    assert (
        list(due_between(org, nominal - lead_time - MINUTE, nominal - lead_time - 2 * MINUTE)) == []
    )


def test_a_lead_whose_early_prompt_falls_on_the_previous_day_still_gets_it_once() -> None:
    # 00:30 on Monday minus an hour is 23:30 on Sunday, which is still in last ISO week.
    org = owners_org([person(ANA, tz=PARIS, lead=True)], rhythm(at=time(0, 30)))
    prompts = tick(org, local(PARIS, 2026, 5, 3, 20), local(PARIS, 2026, 5, 4, 3))
    assert [(p.period, p.scheduled_for) for p in prompts] == [
        ("2026-W19", local(PARIS, 2026, 5, 3, 23, 30))
    ]
    # ...and a whole week of ticks still gives exactly one
    week = tick(org, local(PARIS, 2026, 5, 3), local(PARIS, 2026, 5, 10, 12), timedelta(minutes=5))
    assert [p.period for p in week] == ["2026-W19"]


# ---- leave, holidays, working days -------------------------------------------------------


def test_a_person_on_leave_all_week_gets_no_prompt() -> None:
    org = owners_org(
        [
            person(ANA, tz=PARIS, leave=[(date(2026, 5, 2), date(2026, 5, 10))]),
            person(BEN, tz=NEW_YORK),
        ]
    )
    week = tick(org, utc(2026, 5, 3), utc(2026, 5, 11, 5), timedelta(minutes=10))
    assert [p.person for p in week] == [BEN]
    assert [p.person for p in due_prompts(org, utc(2026, 5, 10, 20))] == [BEN]


def test_a_person_on_leave_on_monday_only_is_prompted_on_tuesday() -> None:
    org = owners_org([person(ANA, tz=PARIS, leave=[(date(2026, 5, 4), date(2026, 5, 4))])])
    week = tick(org, utc(2026, 5, 3), utc(2026, 5, 11), timedelta(minutes=10))
    assert [(p.period, p.scheduled_for) for p in week] == [
        ("2026-W19", local(PARIS, 2026, 5, 5, 9, 30))
    ]


@pytest.mark.parametrize(
    ("calendar", "holidays", "prompted_on"),
    [
        ("fr", {"fr": frozenset({date(2026, 5, 4)})}, date(2026, 5, 5)),
        ("fr", {"fr": frozenset({date(2026, 5, 4), date(2026, 5, 5)})}, date(2026, 5, 6)),
        ("fr", {"in": frozenset({date(2026, 5, 4)})}, date(2026, 5, 4)),  # someone else's
        (None, {"fr": frozenset({date(2026, 5, 4)})}, date(2026, 5, 4)),  # no calendar
    ],
)
def test_a_public_holiday_moves_the_weekly_prompt_to_the_next_working_day(
    calendar: str | None, holidays: dict[str, frozenset[date]], prompted_on: date
) -> None:
    org = owners_org([person(ANA, tz=PARIS, holiday_calendar=calendar)], holidays=holidays)
    [prompt] = due_prompts(org, utc(2026, 5, 10, 12))
    assert prompt.scheduled_for == local(PARIS, *prompted_on.timetuple()[:3], 9, 30)
    assert prompt.period == "2026-W19"


def test_a_friday_holiday_does_not_spill_the_prompt_into_next_week() -> None:
    org = owners_org(
        [person(ANA, tz=PARIS, holiday_calendar="fr")],
        rhythm(weekday=4),
        holidays={"fr": frozenset({date(2026, 5, 8)})},
    )
    week = tick(org, utc(2026, 5, 4), utc(2026, 5, 19), timedelta(minutes=15))
    assert [(p.period, p.scheduled_for) for p in week] == [
        ("2026-W20", local(PARIS, 2026, 5, 15, 9, 30))
    ]


@pytest.mark.parametrize(
    ("working_days", "days"),
    [
        (SUNDAY_TO_THURSDAY, [3, 4, 5, 6, 7]),  # Sunday 3 May to Thursday 7 May
        (frozenset(range(5)), [4, 5, 6, 7, 8]),
        (ALL_WEEK, [2, 3, 4, 5, 6, 7, 8]),
    ],
)
def test_the_daily_pulse_fires_only_on_working_days(
    working_days: frozenset[int], days: list[int]
) -> None:
    # Hana owns no key result: the daily pulse is for everyone.
    hana = person("hana@acme.test", tz=KOLKATA, working_days=working_days)
    org = organisation(people=[hana], rhythms=[rhythm(DAILY, at=time(9))])
    week = tick(org, local(KOLKATA, 2026, 5, 2), local(KOLKATA, 2026, 5, 9), timedelta(minutes=10))
    assert [(p.period, p.scheduled_for) for p in week] == [
        (f"2026-05-{d:02d}", utc(2026, 5, d, 3, 30)) for d in days
    ]


def test_weekly_prompts_only_for_key_result_owners_in_the_current_cycle() -> None:
    org = organisation(
        people=[person(ANA), person(BEN), person(CHITRA)],
        rhythms=[rhythm(WEEKLY), rhythm(DAILY), rhythm(MONTHLY)],
        objectives=[objective("o-q1", cycle="2026-Q1"), objective("o-q2", cycle="2026-Q2")],
        key_results=[kr("a", ANA, "o-q2"), kr("b", BEN, "o-q1")],  # Chitra owns nothing
    )
    kinds = sorted((p.person, p.kind.value) for p in due_prompts(org, THURSDAY_NOON))
    assert kinds == [
        (ANA, "daily"), (ANA, "monthly"), (ANA, "weekly"),
        (BEN, "daily"), (BEN, "monthly"),
        (CHITRA, "daily"), (CHITRA, "monthly"),
    ]  # fmt: skip


def test_no_weekly_prompt_outside_any_cycle() -> None:
    org = owners_org([person(ANA)])
    assert list(due_prompts(org, utc(2026, 8, 6, 12))) == []  # no cycle in Q3


# ---- which rhythm covers whom ------------------------------------------------------------


def test_the_nearest_rhythm_up_the_team_tree_covers_a_person() -> None:
    org = owners_org(
        [
            person("zoe@acme.test", team="company"),
            person(ANA, team="eng"),
            person("pia@acme.test", team="platform"),
            # first team decides: Sam's first team is sales, covered by the company rhythm
            person("sam@acme.test", team="sales", teams=["platform"]),
        ],
        rhythm(team="company"),
        rhythm(team="platform", weekday=2, at=time(14)),
        teams=TREE_TEAMS,
    )
    covered = {p.person: (p.rhythm, p.scheduled_for) for p in due_prompts(org, THURSDAY_NOON)}
    assert covered == {
        "zoe@acme.test": ("company-weekly", utc(2026, 5, 4, 9, 30)),
        ANA: ("company-weekly", utc(2026, 5, 4, 9, 30)),
        "pia@acme.test": ("platform-weekly", utc(2026, 5, 6, 14)),
        "sam@acme.test": ("company-weekly", utc(2026, 5, 4, 9, 30)),
    }


def test_a_person_in_two_teams_with_rhythms_is_prompted_once() -> None:
    org = owners_org(
        [person(ANA, team="sales", teams=["eng"])],
        rhythm(team="eng", weekday=1),
        rhythm(team="sales", weekday=3),
        teams=[Team("eng", "Engineering"), Team("sales", "Sales")],
    )
    [prompt] = due_prompts(org, utc(2026, 5, 10, 12))
    assert (prompt.rhythm, prompt.scheduled_for) == ("sales-weekly", utc(2026, 5, 7, 9, 30))


# ---- monthly and end of cycle ------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_of_month", "now", "expected"),
    [
        (15, utc(2026, 5, 20), ("2026-05", local(PARIS, 2026, 5, 15, 9, 30))),
        # 1 August 2026 is a Saturday: Monday the 3rd
        (1, utc(2026, 8, 20), ("2026-08", local(PARIS, 2026, 8, 3, 9, 30))),
        # 31 in a 30-day month is the 30th (Tuesday 30 June)
        (31, utc(2026, 6, 30, 20), ("2026-06", local(PARIS, 2026, 6, 30, 9, 30))),
        # 31 January 2026 is a Saturday and the period ends that day: no review that month
        (31, utc(2026, 1, 31, 20), None),
        (20, utc(2026, 5, 19, 20), None),  # not yet
    ],
)
def test_monthly_review_day(
    day_of_month: int, now: datetime, expected: tuple[str, datetime] | None
) -> None:
    org = organisation(
        people=[person(ANA, tz=PARIS)], rhythms=[rhythm(MONTHLY, day_of_month=day_of_month)]
    )
    found = [(p.period, p.scheduled_for) for p in due_prompts(org, now)]
    assert found == ([expected] if expected else [])


def test_monthly_review_fires_once_in_a_month_of_ticks() -> None:
    org = organisation(people=[person(ANA, tz=PARIS)], rhythms=[rhythm(MONTHLY)])
    month = tick(org, utc(2026, 7, 25), utc(2026, 9, 2), timedelta(minutes=30))
    assert [(p.period, p.scheduled_for) for p in month] == [
        ("2026-08", local(PARIS, 2026, 8, 3, 9, 30)),
        ("2026-09", local(PARIS, 2026, 9, 1, 9, 30)),
    ]


@pytest.mark.parametrize(
    ("days_before_end", "fires_on"),
    [
        (7, date(2026, 6, 23)),  # Tuesday
        (9, date(2026, 6, 22)),  # Sunday 21 -> Monday 22
        (0, date(2026, 6, 30)),
    ],
)
def test_end_of_cycle_refresh(days_before_end: int, fires_on: date) -> None:
    org = owners_org(
        [
            person(ANA, tz=PARIS),
            person(BEN, tz=PARIS, leave=[(date(2026, 6, 15), date(2026, 7, 3))]),
        ],
        rhythm(EOC, days_before_end=days_before_end),
    )
    prompts = tick(org, utc(2026, 6, 15), utc(2026, 7, 2), timedelta(minutes=30))
    assert [(p.person, p.period, p.scheduled_for) for p in prompts] == [
        (ANA, "2026-Q2", local(PARIS, *fires_on.timetuple()[:3], 9, 30))
    ]
    assert prompts[0].deadline == prompts[0].scheduled_for + timedelta(days=5)


# ---- daylight saving time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "at", "start", "expected"),
    [
        # New York springs forward 2026-03-08 02:00 -> 03:00: 02:30 does not exist that night.
        (NEW_YORK, time(2, 30), utc(2026, 3, 7, 12),
         [utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)]),
        # New York falls back 2026-11-01 02:00 -> 01:00: 01:30 happens twice.
        (NEW_YORK, time(1, 30), utc(2026, 10, 31, 12),
         [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]),
        # Paris springs forward 2026-03-29 02:00 -> 03:00.
        (PARIS, time(2, 30), utc(2026, 3, 28, 12),
         [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]),
        # Paris falls back 2026-10-25 03:00 -> 02:00: 02:30 happens twice.
        (PARIS, time(2, 30), utc(2026, 10, 24, 12),
         [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]),
    ],
)  # fmt: skip
def test_daily_prompt_across_a_dst_night_fires_exactly_once_per_day(
    zone: str, at: time, start: datetime, expected: list[datetime]
) -> None:
    org = organisation(
        people=[person(ANA, tz=zone, working_days=ALL_WEEK)], rhythms=[rhythm(DAILY, at=at)]
    )
    prompts = tick(org, start, start + timedelta(days=2))  # every minute for two days
    assert when(prompts) == expected
    assert_once_per_period(prompts)


def test_a_lead_prompt_across_the_spring_forward_gap_fires_once() -> None:
    org = organisation(
        people=[person(ANA, tz=NEW_YORK, working_days=ALL_WEEK, lead=True)],
        rhythms=[rhythm(DAILY, at=time(2, 30))],
    )
    prompts = tick(org, utc(2026, 3, 8), utc(2026, 3, 8, 12))
    assert [(p.period, p.scheduled_for, p.deadline) for p in prompts] == [
        ("2026-03-08", utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 13, 30))
    ]


def test_weekly_prompt_the_monday_after_paris_springs_forward() -> None:
    org = three_timezones()
    prompts = tick(org, utc(2026, 3, 28), utc(2026, 3, 31))
    assert [(p.person, p.period, p.scheduled_for) for p in prompts] == [
        (CHITRA, "2026-W14", utc(2026, 3, 30, 4)),
        (ANA, "2026-W14", utc(2026, 3, 30, 7, 30)),  # CEST now: 09:30 is 07:30 UTC
        (BEN, "2026-W14", utc(2026, 3, 30, 13, 30)),
    ]


def test_a_weekly_rhythm_on_the_dst_sunday_itself() -> None:
    # 01:30 on Sunday 2026-11-01 in New York happens twice; the prompt fires once.
    org = owners_org(
        [person(BEN, tz=NEW_YORK, working_days=ALL_WEEK)], rhythm(weekday=6, at=time(1, 30))
    )
    prompts = tick(org, utc(2026, 10, 31), utc(2026, 11, 2))
    assert [(p.period, p.scheduled_for) for p in prompts] == [("2026-W44", utc(2026, 11, 1, 5, 30))]


# ---- digests -----------------------------------------------------------------------------


def test_the_weekly_digest_is_due_at_the_answer_deadline() -> None:
    org = three_timezones()  # team eng in Paris, digest to #okr
    deadline = local(PARIS, 2026, 5, 6, 9, 30)  # Monday 09:30 + 2 days
    expected = DueDigest("eng-weekly", "eng", "2026-W19", deadline)

    assert list(digests_between(org, deadline, deadline - MINUTE)) == [expected]
    assert list(digests_between(org, deadline - MINUTE, deadline - 2 * MINUTE)) == []
    assert list(digests_between(org, deadline + MINUTE, deadline)) == []
    assert list(due_digests(org, THURSDAY_NOON)) == [expected]  # caught up once
    assert list(due_digests(org, utc(2026, 5, 5, 12))) == []  # not last week's again
    week = tick_digests(org, utc(2026, 5, 4), utc(2026, 5, 18), timedelta(minutes=10))
    assert [(d.period, d.scheduled_for) for d in week] == [
        ("2026-W19", deadline),
        ("2026-W20", local(PARIS, 2026, 5, 13, 9, 30)),
    ]


def test_a_rhythm_without_channels_still_has_its_digest_for_subscribed_channels() -> None:
    org = owners_org([person(ANA)], rhythm(channels=()))
    assert [d.rhythm for d in due_digests(org, THURSDAY_NOON)] == ["eng-weekly"]


@pytest.mark.parametrize(
    ("r", "now", "period", "scheduled"),
    [
        (rhythm(DAILY), utc(2026, 5, 6, 20), "2026-05-06", local(PARIS, 2026, 5, 6, 15, 30)),
        (rhythm(MONTHLY), utc(2026, 8, 20), "2026-08", local(PARIS, 2026, 8, 6, 9, 30)),
        (rhythm(EOC), utc(2026, 6, 30), "2026-Q2", local(PARIS, 2026, 6, 28, 9, 30)),
    ],
)
def test_digest_of_each_kind_at_its_deadline(
    r: Rhythm, now: datetime, period: str, scheduled: datetime
) -> None:
    org = owners_org([person(ANA)], r)
    assert [(d.period, d.scheduled_for) for d in due_digests(org, now)] == [(period, scheduled)]
    assert [d.period for d in digests_between(org, scheduled, scheduled - MINUTE)] == [period]


@pytest.mark.parametrize(
    ("r", "start", "days", "period", "scheduled"),
    [
        # weekly on Friday 16:00, answers until Monday 16:00: the digest is in the next week
        (rhythm(weekday=4, at=time(16), deadline_after=timedelta(days=3)),
         utc(2026, 5, 7), 7, "2026-W19", local(PARIS, 2026, 5, 11, 16)),
        # monthly on the 28th (Thursday) + 3 days is still in May; on the 29th it is June
        (rhythm(MONTHLY, day_of_month=28), utc(2026, 5, 25), 14, "2026-05",
         local(PARIS, 2026, 5, 31, 9, 30)),
        (rhythm(MONTHLY, day_of_month=29), utc(2026, 5, 25), 14, "2026-05",
         local(PARIS, 2026, 6, 1, 9, 30)),
        # strategy refresh two days before the end (Sunday 28 -> Monday 29 June) plus 5 days
        (rhythm(EOC, days_before_end=2), utc(2026, 6, 20), 20, "2026-Q2",
         local(PARIS, 2026, 7, 4, 9, 30)),
    ],
)  # fmt: skip
def test_a_digest_whose_deadline_falls_in_the_next_period_is_still_due_once(
    r: Rhythm, start: datetime, days: int, period: str, scheduled: datetime
) -> None:
    org = owners_org([person(ANA)], r)
    digests = tick_digests(org, start, start + timedelta(days=days), timedelta(minutes=15))
    assert [(d.period, d.scheduled_for) for d in digests] == [(period, scheduled)]


# ---- the shared computation matches prompt_for, person by person -----------------------------


MONDAY, DAY = date(2026, 5, 4), timedelta(days=1)


def _mixed_org() -> Organisation:
    """People who share everything but leave, or differ in one thing each, under every kind
    of rhythm, so `due_prompts`' per-group sharing has something to get wrong."""
    teams = (Team("company", "Co", None, PARIS), Team("eng", "Eng", "company", NEW_YORK),
             Team("ops", "Ops", "company", KOLKATA))  # fmt: skip
    people = [
        person(ANA, tz=PARIS, team="company", lead=True),
        person(BEN, tz=PARIS, team="eng"),
        person("bo@acme.test", tz=PARIS, team="eng"),
        person(CHITRA, tz=KOLKATA, team="ops", lead=True, holiday_calendar="in"),
        person("dev@acme.test", tz=KOLKATA, team="ops", working_days=SUNDAY_TO_THURSDAY),
        person("eve@acme.test", tz=NEW_YORK, team="eng", lead=True, teams=("ops",)),
        person("fay@acme.test", tz=NEW_YORK, team="eng", leave=[(MONDAY, MONDAY + 2 * DAY)]),
        person("gil@acme.test", tz=NEW_YORK, team="eng", working_days=ALL_WEEK),
        person("hal@acme.test", tz="UTC", team="ops"),  # owns nothing: no weekly prompt
    ]  # fmt: skip
    org = owners_org(
        people[:-1],
        rhythm(WEEKLY, team="company", at=time(9, 30), lead_time=timedelta(hours=2)),
        rhythm(DAILY, team="eng", at=time(10, 0)),
        rhythm(MONTHLY, team="company", at=time(11, 0), day_of_month=4),
        rhythm(EOC, team="ops", at=time(15, 0), days_before_end=60),
        holidays={"in": frozenset({date(2026, 5, 5)})},
        teams=teams,
    )
    return Organisation(
        key=org.key, name=org.name, teams=org.teams, people=(*org.people, people[-1]),
        cycles=org.cycles, objectives=org.objectives, key_results=org.key_results,
        rhythms=org.rhythms, holidays=org.holidays,
    )  # fmt: skip


@pytest.mark.parametrize("hours", range(0, 24 * 9, 5))
def test_due_prompts_is_prompt_for_for_everyone(hours: int) -> None:
    org = _mixed_org()
    now = utc(2026, 5, 1) + timedelta(hours=hours, minutes=7 * hours % 60)
    expected = [
        p
        for one in org.people
        for kind in RhythmKind
        if (r := org.covering_rhythm(one, kind))
        and (p := prompt_for(org, r, one, now))
        and p.scheduled_for <= now
    ]
    expected.sort(key=lambda p: (not p.is_lead, p.scheduled_for, p.person))
    assert list(due_prompts(org, now)) == expected
