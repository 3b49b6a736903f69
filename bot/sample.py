"""The sample organisation, `examples/acme.yaml`, moved to the quarter a newcomer runs it in.

The file is written for one quarter (2026-Q4), so that it reads as a real OKR file and its
tests and the README's commands have fixed dates. `drumbeat local` and `drumbeat demo` load it
through `sample_organisation(today)` instead: its cycle becomes the calendar quarter holding
today, and every other date (holidays, leave) moves by whole weeks, so that weekdays stay
what the file says (Thanksgiving a Thursday, a week of leave Monday to Friday) and the demo's
fortnight still holds a monthly review. `drumbeat okrs import examples/acme.yaml` imports
the file as written.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from bot.okrfile import load_organisation
from bot.resources import resource
from rhythm.okr import Cycle, DateRange, Organisation, Person

SAMPLE = resource("examples", "acme.yaml")
QUARTER_KEY = re.compile(r"\d{4}-Q[1-4]")


def _months_after(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


@dataclass(frozen=True, slots=True)
class Shift:
    """How far the sample moves: its cycles by whole months, every other date by whole weeks."""

    months: int
    weeks: int

    def day(self, day: date) -> date:
        return day + timedelta(weeks=self.weeks)

    def cycle(self, cycle: Cycle) -> Cycle:
        start = _months_after(cycle.start, self.months)
        end = _months_after(cycle.end, self.months + 1) - timedelta(days=1)
        key = cycle.key
        if QUARTER_KEY.fullmatch(key):
            key = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return Cycle(key, start, end)


def shift_for(org: Organisation, today: date) -> Shift:
    """The shift that makes `org`'s latest cycle the calendar quarter holding `today`.

    Weeks are counted to the first day of the cycle's last month (when the monthly review of
    the file's fortnight falls), rounded up: dates just before it in the file (the demo's
    first Monday, eight days before) stay as close to it as the file has them, or closer."""
    latest = max(org.cycles, key=lambda c: c.start)
    start = latest.start.replace(day=1)
    target = _quarter_start(today)
    months = (target.year - start.year) * 12 + target.month - start.month
    anchor = latest.end.replace(day=1)
    days = (_months_after(anchor, months) - anchor).days
    return Shift(months, math.ceil(days / 7))


def _on_leave(person: Person, shift: Shift) -> Person:
    leave = (DateRange(shift.day(r.start), shift.day(r.end)) for r in person.time_off)
    return replace(person, time_off=tuple(leave))


def shifted(org: Organisation, shift: Shift) -> Organisation:
    cycles = {c.key: shift.cycle(c) for c in org.cycles}
    return replace(
        org,
        cycles=tuple(cycles.values()),
        objectives=tuple(
            replace(o, cycle=cycles[o.cycle].key) if o.cycle in cycles else o
            for o in org.objectives
        ),
        people=tuple(_on_leave(p, shift) for p in org.people),
        holidays={name: frozenset(map(shift.day, days)) for name, days in org.holidays.items()},
    )


def sample_organisation(today: date, path: Path = SAMPLE) -> tuple[Organisation, Shift]:
    """The sample, moved so that `today` falls in its cycle, and how far it was moved."""
    org = load_organisation(path)
    shift = shift_for(org, today)
    return shifted(org, shift), shift
