"""Who is due a prompt, and which digests are due, at a given instant.

A pure function of the organisation and `now`: each person's own timezone, working days,
public holidays and leave decide when their prompt fires. Times are built with zoneinfo, so a
local time that falls in a spring-forward gap or a repeated fall-back hour maps to exactly one
UTC instant (the earlier reading, fold=0), and a prompt fires once per period whatever the clock
does, because a period has one scheduled instant per person.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rhythm.cadences import Rhythm, RhythmKind, month_end, month_start, period_of, week_start
from rhythm.okr import Cycle, Organisation, Person


@dataclass(frozen=True, slots=True)
class DuePrompt:
    rhythm: str
    kind: RhythmKind
    person: str
    period: str
    scheduled_for: datetime  # UTC
    deadline: datetime  # UTC: answers after this are late
    is_lead: bool


@dataclass(frozen=True, slots=True)
class DueDigest:
    rhythm: str
    team: str
    period: str
    scheduled_for: datetime  # UTC


def period_days(rhythm: Rhythm, today: date, cycle: Cycle | None) -> tuple[date, date] | None:
    """First nominal firing day and last day of the period of `rhythm` that contains `today`."""
    if rhythm.kind is RhythmKind.DAILY:
        return today, today
    if rhythm.kind is RhythmKind.WEEKLY:
        start = week_start(today)
        return start + timedelta(days=rhythm.weekday), start + timedelta(days=6)
    if rhythm.kind is RhythmKind.MONTHLY:
        first = month_start(today)
        last = month_end(today)
        return min(first.replace(day=min(rhythm.day_of_month, last.day)), last), last
    if cycle is None:
        return None
    nominal = cycle.end - timedelta(days=rhythm.days_before_end)
    if today < nominal:
        return None
    return max(nominal, cycle.start), cycle.end


def firing_day(
    org: Organisation, rhythm: Rhythm, person: Person, today: date, cycle: Cycle | None
) -> date | None:
    """The day in the current period on which `person` is prompted, or None (e.g. on leave)."""
    days = period_days(rhythm, today, cycle)
    if days is None:
        return None
    day, last = days
    while day <= last:
        if (
            day.weekday() in person.working_days
            and not org.is_holiday(person, day)
            and not person.is_off(day)
        ):
            return day
        day += timedelta(days=1)
    return None


def local_instant(day: date, rhythm: Rhythm, zone: ZoneInfo) -> datetime:
    """`rhythm.local_time` on `day` in `zone`, as UTC (fold=0 in gaps and repeated hours)."""
    return datetime.combine(day, rhythm.local_time, tzinfo=zone).astimezone(UTC)


def prompt_for(
    org: Organisation, rhythm: Rhythm, person: Person, now: datetime
) -> DuePrompt | None:
    """The prompt `person` gets from `rhythm` in the period containing `now`, if any.

    A lead's prompt fires `lead_time` early, so for a lead the period is the one containing
    `now + lead_time`: a Monday 00:30 rhythm reaches a lead at 23:30 on Sunday, last ISO week.
    """
    is_lead = org.is_lead(person.email, rhythm.team)
    today = (now + rhythm.lead_time if is_lead else now).astimezone(person.zone).date()
    cycle = org.cycle_on(today)
    needs_krs = rhythm.kind in (RhythmKind.WEEKLY, RhythmKind.END_OF_CYCLE)
    if needs_krs and (cycle is None or not org.key_results_of(person.email, cycle.key)):
        return None  # the full form is for key-result owners
    day = firing_day(org, rhythm, person, today, cycle)
    if day is None:
        return None
    nominal = local_instant(day, rhythm, person.zone)
    return DuePrompt(
        rhythm=rhythm.key,
        kind=rhythm.kind,
        person=person.email,
        period=period_of(rhythm.kind, day, cycle.key if cycle else None),
        scheduled_for=nominal - rhythm.lead_time if is_lead else nominal,
        deadline=nominal + rhythm.deadline,
        is_lead=is_lead,
    )


def _in_window(moment: datetime, since: datetime | None, now: datetime) -> bool:
    return moment <= now and (since is None or moment > since)


def due_prompts(
    org: Organisation, now: datetime, since: datetime | None = None
) -> Iterator[DuePrompt]:
    """Prompts scheduled in (since, now], leads first.

    With `since` None (first tick, or after downtime) every prompt of the current period that is
    already due is returned, so a restart catches up once; prompts of past periods are not
    replayed because only the period containing `now` is considered.
    """
    due: list[DuePrompt] = []
    for person in org.people:
        for kind in RhythmKind:
            rhythm = org.covering_rhythm(person, kind)
            if rhythm is None:
                continue
            prompt = prompt_for(org, rhythm, person, now)
            if prompt and _in_window(prompt.scheduled_for, since, now):
                due.append(prompt)
    due.sort(key=lambda p: (not p.is_lead, p.scheduled_for, p.person))
    return iter(due)


def digest_for(org: Organisation, rhythm: Rhythm, now: datetime) -> DueDigest | None:
    """The digest of `rhythm` for the period containing `now`, posted at the answer deadline."""
    team = org.team.get(rhythm.team)
    if team is None or not rhythm.digest_channels:
        return None
    zone = ZoneInfo(team.timezone)
    today = now.astimezone(zone).date()
    cycle = org.cycle_on(today)
    days = period_days(rhythm, today, cycle)
    if days is None:
        return None
    day = days[0]
    while day.weekday() >= 5 and day < days[1]:  # a team's digest goes out on a weekday
        day += timedelta(days=1)
    if rhythm.kind is RhythmKind.DAILY and day.weekday() >= 5:
        return None  # no daily digest of a weekend
    return DueDigest(
        rhythm=rhythm.key,
        team=rhythm.team,
        period=period_of(rhythm.kind, day, cycle.key if cycle else None),
        scheduled_for=local_instant(day, rhythm, zone) + rhythm.deadline,
    )


def due_digests(
    org: Organisation, now: datetime, since: datetime | None = None
) -> Iterator[DueDigest]:
    """Digests scheduled in (since, now]. A digest is posted at its period's answer deadline,
    which may fall in the next period (Friday check-in, Monday digest), so with a watermark the
    period containing `now - deadline` is considered too; with `since` None only the current
    period is caught up, as for prompts."""
    for rhythm in org.rhythms:
        moments = (now,) if since is None else (now, now - rhythm.deadline)
        periods: set[str] = set()
        for moment in moments:
            digest = digest_for(org, rhythm, moment)
            if (
                digest
                and digest.period not in periods
                and _in_window(digest.scheduled_for, since, now)
            ):
                periods.add(digest.period)
                yield digest
