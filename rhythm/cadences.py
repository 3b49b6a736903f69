"""Rhythms (a team's cadences) and the periods they fire in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum


class RhythmKind(StrEnum):
    DAILY = "daily"  # short pulse: focus and blockers
    WEEKLY = "weekly"  # the full check-in form
    MONTHLY = "monthly"  # reflection and re-prioritisation
    END_OF_CYCLE = "end_of_cycle"  # final scores, learnings, carry over or drop


DEFAULT_DEADLINE = {
    RhythmKind.DAILY: timedelta(hours=6),
    RhythmKind.WEEKLY: timedelta(days=2),
    RhythmKind.MONTHLY: timedelta(days=3),
    RhythmKind.END_OF_CYCLE: timedelta(days=5),
}


@dataclass(frozen=True, slots=True)
class Rhythm:
    """One cadence of one team: when its people are prompted and where its digest goes.

    `weekday` is the nominal day of a weekly rhythm, `day_of_month` of a monthly one and
    `days_before_end` counts back from the end of the cycle for the strategy refresh. When that
    day is not a working day for a person (weekend, holiday, leave) they are prompted on their
    next working day in the same period, or not at all.
    """

    key: str
    team: str
    kind: RhythmKind
    local_time: time
    weekday: int = 0
    day_of_month: int = 1
    days_before_end: int = 7
    reminder_after: timedelta = timedelta(hours=4)
    max_reminders: int = 2
    deadline_after: timedelta | None = None
    lead_time: timedelta = timedelta(hours=1)
    digest_channels: tuple[str, ...] = ()

    @property
    def deadline(self) -> timedelta:
        return (
            self.deadline_after if self.deadline_after is not None else DEFAULT_DEADLINE[self.kind]
        )


def period_of(kind: RhythmKind, day: date, cycle: str | None = None) -> str:
    """The key of the period of `kind` that contains the local date `day`."""
    if kind is RhythmKind.DAILY:
        return day.isoformat()
    if kind is RhythmKind.WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if kind is RhythmKind.MONTHLY:
        return f"{day.year}-{day.month:02d}"
    if cycle is None:
        raise ValueError("an end-of-cycle period needs the cycle")
    return cycle


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def previous_period(kind: RhythmKind, day: date) -> str:
    """The key of the period before the one containing `day` (not for end-of-cycle)."""
    if kind is RhythmKind.DAILY:
        return period_of(kind, day - timedelta(days=1))
    if kind is RhythmKind.WEEKLY:
        return period_of(kind, day - timedelta(days=7))
    if kind is RhythmKind.MONTHLY:
        return period_of(kind, month_start(day) - timedelta(days=1))
    raise ValueError("end-of-cycle periods have no fixed predecessor")


def period_bounds(
    kind: RhythmKind, day: date, cycle: tuple[date, date] | None = None
) -> tuple[date, date]:
    """First and last local date of the period of `kind` containing `day`."""
    if kind is RhythmKind.DAILY:
        return day, day
    if kind is RhythmKind.WEEKLY:
        return week_start(day), week_start(day) + timedelta(days=6)
    if kind is RhythmKind.MONTHLY:
        return month_start(day), month_end(day)
    return cycle if cycle else (day, day)
