"""Cadence date maths: period keys, period boundaries and local times across DST changes."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from rhythm.cadences import (
    Rhythm,
    RhythmKind,
    month_end,
    month_start,
    period_of,
    previous_period,
    week_start,
)
from rhythm.due import local_instant, period_days
from rhythm.okr import Cycle
from tests.rhythm.orgs import KOLKATA, NEW_YORK, PARIS, Q2, rhythm, utc

WEEKLY, DAILY, MONTHLY, EOC = (
    RhythmKind.WEEKLY,
    RhythmKind.DAILY,
    RhythmKind.MONTHLY,
    RhythmKind.END_OF_CYCLE,
)


@pytest.mark.parametrize(
    ("kind", "day", "key"),
    [
        (DAILY, date(2026, 3, 8), "2026-03-08"),
        (WEEKLY, date(2026, 5, 4), "2026-W19"),
        (WEEKLY, date(2026, 5, 10), "2026-W19"),  # Sunday still belongs to Monday's week
        (WEEKLY, date(2026, 5, 11), "2026-W20"),
        # ISO weeks across the year boundary: 2026 has 53 ISO weeks.
        (WEEKLY, date(2026, 12, 28), "2026-W53"),
        (WEEKLY, date(2026, 12, 31), "2026-W53"),
        (WEEKLY, date(2027, 1, 1), "2026-W53"),
        (WEEKLY, date(2027, 1, 3), "2026-W53"),
        (WEEKLY, date(2027, 1, 4), "2027-W01"),
        # ... and the other way round: 2024-12-30 is in 2025-W01.
        (WEEKLY, date(2024, 12, 30), "2025-W01"),
        (MONTHLY, date(2026, 2, 28), "2026-02"),
        (MONTHLY, date(2027, 1, 1), "2027-01"),
        (EOC, date(2026, 6, 30), "2026-Q2"),
    ],
)
def test_period_keys(kind: RhythmKind, day: date, key: str) -> None:
    assert period_of(kind, day, "2026-Q2") == key


def test_end_of_cycle_period_needs_the_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        period_of(EOC, date(2026, 6, 30))


@pytest.mark.parametrize(
    ("kind", "day", "key"),
    [
        (DAILY, date(2026, 3, 1), "2026-02-28"),
        (DAILY, date(2027, 1, 1), "2026-12-31"),
        (WEEKLY, date(2027, 1, 4), "2026-W53"),
        (WEEKLY, date(2027, 1, 10), "2026-W53"),
        (WEEKLY, date(2027, 1, 1), "2026-W52"),
        (WEEKLY, date(2026, 1, 1), "2025-W52"),  # 2025 has 52 weeks
        (MONTHLY, date(2027, 1, 31), "2026-12"),
        (MONTHLY, date(2026, 3, 31), "2026-02"),  # not "2026-03" minus 30 days
    ],
)
def test_previous_period(kind: RhythmKind, day: date, key: str) -> None:
    assert previous_period(kind, day) == key


def test_end_of_cycle_has_no_previous_period() -> None:
    with pytest.raises(ValueError, match="end-of-cycle"):
        previous_period(EOC, date(2026, 6, 30))


@pytest.mark.parametrize(
    ("day", "monday", "first", "last"),
    [
        (date(2026, 2, 15), date(2026, 2, 9), date(2026, 2, 1), date(2026, 2, 28)),
        (date(2028, 2, 29), date(2028, 2, 28), date(2028, 2, 1), date(2028, 2, 29)),
        (date(2026, 12, 31), date(2026, 12, 28), date(2026, 12, 1), date(2026, 12, 31)),
        (date(2026, 5, 4), date(2026, 5, 4), date(2026, 5, 1), date(2026, 5, 31)),
    ],
)
def test_week_and_month_bounds(day: date, monday: date, first: date, last: date) -> None:
    assert (week_start(day), month_start(day), month_end(day)) == (monday, first, last)


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        (DAILY, timedelta(hours=6)),
        (WEEKLY, timedelta(days=2)),
        (MONTHLY, timedelta(days=3)),
        (EOC, timedelta(days=5)),
    ],
)
def test_deadline_defaults_per_kind_and_can_be_overridden(
    kind: RhythmKind, default: timedelta
) -> None:
    assert Rhythm("r", "eng", kind, time(9)).deadline == default
    assert Rhythm("r", "eng", kind, time(9), deadline_after=timedelta(0)).deadline == timedelta(0)


# ---- period boundaries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "today", "days"),
    [
        (rhythm(DAILY), date(2026, 5, 6), (date(2026, 5, 6), date(2026, 5, 6))),
        (rhythm(weekday=0), date(2026, 5, 7), (date(2026, 5, 4), date(2026, 5, 10))),
        (rhythm(weekday=3), date(2026, 5, 4), (date(2026, 5, 7), date(2026, 5, 10))),
        (rhythm(MONTHLY, day_of_month=15), date(2026, 5, 2),
         (date(2026, 5, 15), date(2026, 5, 31))),
        # day 31 in a 28-day month is the last day
        (rhythm(MONTHLY, day_of_month=31), date(2026, 2, 3),
         (date(2026, 2, 28), date(2026, 2, 28))),
        (rhythm(EOC, days_before_end=7), date(2026, 6, 25), (date(2026, 6, 23), date(2026, 6, 30))),
        (rhythm(EOC, days_before_end=7), date(2026, 6, 22), None),  # refresh not open yet
        (rhythm(EOC, days_before_end=200), date(2026, 4, 2), (Q2.start, Q2.end)),
    ],
)  # fmt: skip
def test_period_days(r: Rhythm, today: date, days: tuple[date, date] | None) -> None:
    assert period_days(r, today, Q2) == days


def test_end_of_cycle_period_days_need_a_cycle() -> None:
    assert period_days(rhythm(EOC), date(2026, 9, 20), None) is None


def test_cycle_elapsed_share_is_clamped() -> None:
    cycle = Cycle("c", date(2026, 1, 1), date(2026, 1, 10))
    assert cycle.elapsed_share(date(2025, 12, 1)) == 0.0
    assert cycle.elapsed_share(date(2026, 1, 1)) == pytest.approx(0.1)
    assert cycle.elapsed_share(date(2026, 1, 5)) == pytest.approx(0.5)
    assert cycle.elapsed_share(date(2026, 2, 1)) == 1.0


# ---- local times as UTC instants -----------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "at", "instant"),
    [
        (PARIS, date(2026, 5, 4), time(9, 30), utc(2026, 5, 4, 7, 30)),  # CEST, UTC+2
        (PARIS, date(2026, 1, 5), time(9, 30), utc(2026, 1, 5, 8, 30)),  # CET, UTC+1
        (NEW_YORK, date(2026, 5, 4), time(9, 30), utc(2026, 5, 4, 13, 30)),  # EDT, UTC-4
        (NEW_YORK, date(2026, 1, 5), time(9, 30), utc(2026, 1, 5, 14, 30)),  # EST, UTC-5
        (KOLKATA, date(2026, 5, 4), time(9, 30), utc(2026, 5, 4, 4, 0)),  # IST, UTC+5:30
        (KOLKATA, date(2026, 5, 4), time(3, 0), utc(2026, 5, 3, 21, 30)),  # the day before in UTC
        # New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist. One instant,
        # read with the offset before the change (EST), i.e. 03:30 EDT.
        (NEW_YORK, date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 30)),
        # New York falls back at 02:00 on 2026-11-01: 01:30 happens twice; the first (EDT) counts.
        (NEW_YORK, date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),
        # Paris springs forward at 02:00 on 2026-03-29 and falls back at 03:00 on 2026-10-25.
        (PARIS, date(2026, 3, 29), time(2, 30), utc(2026, 3, 29, 1, 30)),
        (PARIS, date(2026, 3, 29), time(9, 30), utc(2026, 3, 29, 7, 30)),
        (PARIS, date(2026, 3, 28), time(9, 30), utc(2026, 3, 28, 8, 30)),
        (PARIS, date(2026, 10, 25), time(2, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_local_instant(zone: str, day: date, at: time, instant: object) -> None:
    assert local_instant(day, rhythm(at=at), ZoneInfo(zone)) == instant
