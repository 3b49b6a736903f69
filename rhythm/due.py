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
from rhythm.okr import Cycle, Organisation, Person, Role

NEEDS_KEY_RESULTS = (RhythmKind.WEEKLY, RhythmKind.END_OF_CYCLE)  # the full form: for owners


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
    if rhythm.kind in NEEDS_KEY_RESULTS and (
        cycle is None or not org.key_results_of(person.email, cycle.key)
    ):
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


def due_prompts(org: Organisation, now: datetime) -> Iterator[DuePrompt]:
    """Every prompt of the period containing `now` that is scheduled by `now`, leads first.

    The tick writes those not written yet (the database's unique key is what says which were
    prompted), so a moved rhythm, a person or a key result added mid-period, or a restart
    after downtime never loses a period's prompt; only the current period is considered, so
    old periods are never replayed.

    This is `prompt_for` for every person and kind, computed once per group of people who
    share a timezone, working days, holiday calendar and rhythm (the date maths is the same for
    all of them); only people with leave get it worked out on their own.
    """
    plan = _Plan(org, now)
    due: list[DuePrompt] = []
    kinds = list(RhythmKind)
    for person in org.people:
        teams = tuple(m.team for m in person.memberships)
        for kind in kinds:
            rhythm = plan.covering(person, teams, kind)
            if rhythm is None:
                continue
            slot = plan.slot(rhythm, person)
            if slot is None:
                continue
            scheduled, deadline, period, is_lead = slot
            if scheduled <= now:
                due.append(
                    DuePrompt(rhythm.key, kind, person.email, period, scheduled, deadline, is_lead)
                )
    due.sort(key=lambda p: (not p.is_lead, p.scheduled_for, p.person))
    return iter(due)


# scheduled_for, deadline, period, is_lead
_Slot = tuple[datetime, datetime, str, bool]


class _Plan:
    """Memoised pieces of `prompt_for` for one organisation at one instant."""

    def __init__(self, org: Organisation, now: datetime) -> None:
        self.org, self.now = org, now
        # (email, team) pairs where the person `org.person` finds under that email leads.
        self.leads = {
            (p.email, m.team)
            for p in org.person.values()
            for m in p.memberships
            if m.role == Role.LEAD
        }
        self._covering: dict[tuple[tuple[str, ...], RhythmKind], Rhythm | None] = {}
        self._when: dict[tuple[str, timedelta | None], tuple[date, Cycle | None]] = {}
        self._cycle: dict[date, Cycle | None] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self._owners: dict[str, set[str]] | None = None  # per cycle, who owns key results in it
        self._unsure: set[str] = set()
        self._slots: dict[tuple[int, str, bool, frozenset[int], str | None], _Slot | None] = {}

    def covering(self, person: Person, teams: tuple[str, ...], kind: RhythmKind) -> Rhythm | None:
        """`org.covering_rhythm`, which depends on the person's teams alone."""
        key = (teams, kind)
        if key not in self._covering:
            self._covering[key] = self.org.covering_rhythm(person, kind)
        return self._covering[key]

    def slot(self, rhythm: Rhythm, person: Person) -> _Slot | None:
        """What `prompt_for(org, rhythm, person, now)` returns, as a tuple."""
        is_lead = (person.email, rhythm.team) in self.leads
        when_key = (person.timezone, rhythm.lead_time if is_lead else None)
        when = self._when.get(when_key)
        if when is None:
            when = self._when[when_key] = self._local_day(*when_key)
        today, cycle = when
        if rhythm.kind in NEEDS_KEY_RESULTS and (
            cycle is None or not self._owns_key_results(person.email, cycle.key)
        ):
            return None  # the full form is for key-result owners
        if person.time_off:  # leave is personal: no sharing
            return self._slot(rhythm, person, is_lead, today, cycle)
        key = (id(rhythm), person.timezone, is_lead, person.working_days, person.holiday_calendar)
        if key not in self._slots:
            self._slots[key] = self._slot(rhythm, person, is_lead, today, cycle)
        return self._slots[key]

    def _slot(
        self, rhythm: Rhythm, person: Person, is_lead: bool, today: date, cycle: Cycle | None
    ) -> _Slot | None:
        day = firing_day(self.org, rhythm, person, today, cycle)
        if day is None:
            return None
        nominal = local_instant(day, rhythm, self._zone(person.timezone))
        return (
            nominal - rhythm.lead_time if is_lead else nominal,
            nominal + rhythm.deadline,
            period_of(rhythm.kind, day, cycle.key if cycle else None),
            is_lead,
        )

    def _local_day(self, timezone: str, lead_time: timedelta | None) -> tuple[date, Cycle | None]:
        """The local date at `now` (plus a lead's lead time) and the cycle it falls in."""
        moment = self.now + lead_time if lead_time is not None else self.now
        today = moment.astimezone(self._zone(timezone)).date()
        if today not in self._cycle:
            self._cycle[today] = self.org.cycle_on(today)
        return today, self._cycle[today]

    def _zone(self, name: str) -> ZoneInfo:
        """`Person.zone`, held on to: ZoneInfo's own cache keeps only the last few zones
        alive, and reloading one from disk costs more than everything else here."""
        found = self._zones.get(name)
        if found is None:
            found = self._zones[name] = ZoneInfo(name)
        return found

    def _owns_key_results(self, email: str, cycle: str) -> bool:
        """`bool(org.key_results_of(email, cycle))` from one pass over the key results."""
        if self._owners is None:
            self._owners, self._unsure = {}, set()
            for kr in self.org.key_results:
                if kr.owner:
                    objective = self.org.objective.get(kr.objective)
                    if objective is None:  # let key_results_of say what is wrong
                        self._unsure.add(kr.owner)
                    else:
                        self._owners.setdefault(objective.cycle, set()).add(kr.owner)
        if email in self._unsure:
            return bool(self.org.key_results_of(email, cycle))
        return email in self._owners.get(cycle, ())


def digest_for(org: Organisation, rhythm: Rhythm, now: datetime) -> DueDigest | None:
    """The digest of `rhythm` for the period containing `now`, posted at the answer deadline."""
    team = org.team.get(rhythm.team)
    if team is None:  # channels may be subscribed later: every rhythm has its digest
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


def due_digests(org: Organisation, now: datetime) -> Iterator[DueDigest]:
    """The digests scheduled by `now` of the current period and of the period containing
    `now - deadline`: a digest is posted at its period's answer deadline, which may fall in
    the next period (Friday check-in, Monday digest). The tick writes those not written yet.

    After downtime the current period's digest is still due (late); the previous period's
    only for one deadline's length after its time: old periods are not replayed."""
    for rhythm in org.rhythms:
        current = digest_for(org, rhythm, now)
        if current and current.scheduled_for <= now:
            yield current
        previous = digest_for(org, rhythm, now - rhythm.deadline)
        if (
            previous
            and (current is None or previous.period != current.period)
            and previous.scheduled_for <= now < previous.scheduled_for + rhythm.deadline
        ):
            yield previous
