"""The sample organisation is loaded into the quarter it is run in, never a cycle long over."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.okrfile import load_organisation
from bot.sample import SAMPLE, sample_organisation

AS_WRITTEN = load_organisation(SAMPLE)
HUGO = "hugo.petit@acme.example"


def test_in_the_file_s_own_quarter_nothing_moves():
    moved, shift = sample_organisation(date(2026, 12, 2))
    assert (shift.months, shift.weeks) == (0, 0)
    assert moved == AS_WRITTEN


@pytest.mark.parametrize(
    ("today", "key", "start", "end"),
    [
        (date(2027, 2, 10), "2027-Q1", date(2027, 1, 1), date(2027, 3, 31)),
        (date(2027, 8, 31), "2027-Q3", date(2027, 7, 1), date(2027, 9, 30)),
        (date(2026, 4, 1), "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
    ],
)
def test_the_cycle_is_the_quarter_of_the_day_it_is_loaded(today, key, start, end):
    moved, _ = sample_organisation(today)

    cycle = moved.current_cycle(today)
    assert (cycle.key, cycle.start, cycle.end) == (key, start, end)
    assert 0 < cycle.elapsed_share(today) < 1
    assert {o.cycle for o in moved.objectives} == {key}
    assert len(moved.key_results_of(HUGO, key)) == len(AS_WRITTEN.key_results_of(HUGO, "2026-Q4"))


@pytest.mark.parametrize("today", [date(2027, 2, 10), date(2027, 8, 31), date(2026, 4, 1)])
def test_leave_and_holidays_keep_their_weekdays(today):
    moved, shift = sample_organisation(today)

    [leave] = moved.person[HUGO].time_off
    [written] = AS_WRITTEN.person[HUGO].time_off
    assert (leave.start.weekday(), leave.end.weekday()) == (0, 4)  # Monday to Friday
    assert leave.start - written.start == timedelta(weeks=shift.weeks)
    thanksgiving = min(moved.holidays["us"])
    assert thanksgiving.weekday() == 3
    assert moved.cycle_on(leave.start) is not None


@pytest.mark.parametrize("today", [date(2027, 2, 10), date(2027, 5, 20), date(2027, 8, 31)])
def test_the_file_s_last_fortnight_still_holds_the_first_of_a_month(today):
    """The demo runs the fortnight from the file's Monday 23 November: wherever it is moved,
    the first of a month (the monthly review) comes within its first eight days."""
    moved, shift = sample_organisation(today)
    monday = date(2026, 11, 23) + timedelta(weeks=shift.weeks)

    assert monday.weekday() == 0
    fortnight = [monday + timedelta(days=n) for n in range(14)]
    assert any(day.day == 1 and 2 <= (day - monday).days <= 8 for day in fortnight)
    assert moved.cycle_on(monday) is not None
