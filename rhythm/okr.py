"""The OKR tree: teams, people, cycles, objectives, key results and initiatives.

Everything here is an immutable value identified by a string key that is unique within one
organisation (people by their lower-cased email). The storage layer maps keys to rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from enum import StrEnum
from functools import cached_property
from zoneinfo import ZoneInfo

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.errors import NoCycle

MONDAY_TO_FRIDAY = frozenset(range(5))


class Role(StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class InitiativeStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    DONE = "done"
    DROPPED = "dropped"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive range of local dates, e.g. a person's leave."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Team:
    key: str
    name: str
    parent: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Membership:
    team: str
    role: Role = Role.MEMBER


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    name: str
    timezone: str = "UTC"
    working_days: frozenset[int] = MONDAY_TO_FRIDAY  # 0 = Monday, as date.weekday()
    holiday_calendar: str | None = None
    time_off: tuple[DateRange, ...] = ()
    memberships: tuple[Membership, ...] = ()
    slack_user_id: str | None = None
    teams_user_id: str | None = None  # Azure AD object id
    quiet_start: time = time(19, 0)
    quiet_end: time = time(8, 0)

    @property
    def key(self) -> str:
        return self.email

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances per key

    def is_off(self, day: date) -> bool:
        return any(day in leave for leave in self.time_off)

    def is_quiet(self, moment: datetime) -> bool:
        """Whether `moment` falls in this person's quiet hours or on a day they do not work."""
        local = moment.astimezone(self.zone)
        if local.weekday() not in self.working_days:
            return True
        now = local.time()
        if self.quiet_start > self.quiet_end:  # the usual case: quiet overnight
            return now >= self.quiet_start or now < self.quiet_end
        return self.quiet_start <= now < self.quiet_end


@dataclass(frozen=True, slots=True)
class Cycle:
    key: str  # e.g. 2026-Q4
    start: date
    end: date  # inclusive

    def elapsed_share(self, day: date) -> float:
        """How much of the cycle has passed on `day`, from 0.0 to 1.0."""
        total = (self.end - self.start).days + 1
        done = (day - self.start).days + 1
        return min(1.0, max(0.0, done / total))

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class Objective:
    key: str
    title: str
    cycle: str
    owner_team: str | None = None
    owner_person: str | None = None
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    """A key result's measure. `current` is the value the OKR file gives (and, in an export,
    the latest one): the value that counts while Drumbeat runs is read from the database on
    every use (`rhythm.records.KrState`), never from a tree held in memory."""

    start: float
    target: float
    current: float
    unit: str = ""
    direction: Direction = Direction.UP
    milestone: bool = False  # a 0/1 key result: done or not

    def progress(self, value: float | None) -> float:
        """Progress of `value` from start to target, normalised to 0..1 (0 when unknown)."""
        if value is None:
            return 0.0
        if self.milestone:
            return 1.0 if value >= 1 else 0.0
        span = self.target - self.start
        if span == 0:
            return 1.0
        moved = value - self.start
        return min(1.0, max(0.0, moved / span))


@dataclass(frozen=True, slots=True)
class KeyResult:
    key: str
    objective: str
    title: str
    owner: str | None  # email
    metric: Metric | None

    def progress(self, value: float | None) -> float:
        return self.metric.progress(value) if self.metric else 0.0


@dataclass(frozen=True, slots=True)
class Initiative:
    key: str
    key_result: str
    title: str
    owner: str | None = None
    status: InitiativeStatus = InitiativeStatus.NOT_STARTED


@dataclass(frozen=True)
class Organisation:
    """One organisation's whole OKR tree with the indexes every use case needs."""

    key: str
    name: str
    teams: tuple[Team, ...] = ()
    people: tuple[Person, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    objectives: tuple[Objective, ...] = ()
    key_results: tuple[KeyResult, ...] = ()
    initiatives: tuple[Initiative, ...] = ()
    rhythms: tuple[Rhythm, ...] = ()
    holidays: Mapping[str, frozenset[date]] = field(default_factory=dict)
    admins: tuple[str, ...] = ()  # emails; see `admin_people`
    locale: str = "en"  # how its numbers are written (Babel's name: "en", "de_DE", "fr")
    # At most this many reminders and leads' nudges reach one person in a week, all rhythms
    # together; the rest are dropped.
    nudges_per_week: int = 3

    @cached_property
    def team(self) -> Mapping[str, Team]:
        return {t.key: t for t in self.teams}

    @cached_property
    def person(self) -> Mapping[str, Person]:
        return {p.email: p for p in self.people}

    @cached_property
    def objective(self) -> Mapping[str, Objective]:
        return {o.key: o for o in self.objectives}

    @cached_property
    def key_result(self) -> Mapping[str, KeyResult]:
        return {k.key: k for k in self.key_results}

    @cached_property
    def cycle(self) -> Mapping[str, Cycle]:
        return {c.key: c for c in self.cycles}

    @cached_property
    def _children(self) -> Mapping[str | None, tuple[str, ...]]:
        children: dict[str | None, list[str]] = {}
        for team in self.teams:
            children.setdefault(team.parent, []).append(team.key)
        return {k: tuple(v) for k, v in children.items()}

    def child_teams(self, team: str | None) -> tuple[str, ...]:
        return self._children.get(team, ())

    def root_teams(self) -> tuple[str, ...]:
        return self.child_teams(None)

    def subtree(self, team: str) -> list[str]:
        """`team` and all teams below it, parents before children."""
        out, stack = [], [team]
        while stack:
            key = stack.pop()
            out.append(key)
            stack.extend(reversed(self.child_teams(key)))
        return out

    def ancestors(self, team: str) -> Iterator[str]:
        """`team` then its parent, up to the root."""
        seen: set[str] = set()
        current: str | None = team
        while current is not None and current not in seen:
            seen.add(current)
            yield current
            current = self.team[current].parent if current in self.team else None

    @cached_property
    def _members(self) -> Mapping[str, tuple[Person, ...]]:
        members: dict[str, list[Person]] = {}
        for person in self.people:
            for m in person.memberships:
                members.setdefault(m.team, []).append(person)
        return {k: tuple(v) for k, v in members.items()}

    def members(self, team: str) -> tuple[Person, ...]:
        return self._members.get(team, ())

    def is_lead(self, person: str, team: str) -> bool:
        p = self.person.get(person)
        return p is not None and Membership(team, Role.LEAD) in p.memberships

    def leads(self, team: str) -> tuple[Person, ...]:
        return tuple(p for p in self.members(team) if self.is_lead(p.email, team))

    @cached_property
    def admin_people(self) -> tuple[Person, ...]:
        """Who hears about delivery problems and may subscribe any channel: the listed
        admins, else the leads of the top-level teams."""
        if self.admins:
            return tuple(self.person[a] for a in self.admins if a in self.person)
        leads = {p.email: p for team in self.root_teams() for p in self.leads(team)}
        return tuple(leads.values())

    def is_admin(self, person: str) -> bool:
        return any(p.email == person for p in self.admin_people)

    def leads_or_admin(self, person: str, team: str) -> bool:
        """Whether `person` leads `team` or a team above it, or is an admin."""
        return self.is_admin(person) or any(self.is_lead(person, t) for t in self.ancestors(team))

    @cached_property
    def _by_chat_id(self) -> Mapping[tuple[str, str], str]:
        ids: dict[tuple[str, str], str] = {}
        for p in self.people:
            if p.slack_user_id:
                ids["slack", p.slack_user_id] = p.email
            if p.teams_user_id:
                ids["teams", p.teams_user_id.lower()] = p.email
        return ids

    def person_by_chat_id(self, platform: str, user_id: str) -> str | None:
        """The email of the person with this Slack user id or Teams (AAD) object id."""
        key = user_id.lower() if platform == "teams" else user_id
        return self._by_chat_id.get((platform, key))

    @cached_property
    def _krs_by_owner(self) -> Mapping[str, tuple[KeyResult, ...]]:
        owned: dict[str, list[KeyResult]] = {}
        for kr in self.key_results:
            if kr.owner:
                owned.setdefault(kr.owner, []).append(kr)
        return {k: tuple(v) for k, v in owned.items()}

    def key_results_of(self, person: str, cycle: str | None = None) -> tuple[KeyResult, ...]:
        owned = self._krs_by_owner.get(person, ())
        if cycle is None:
            return owned
        return tuple(kr for kr in owned if self.objective[kr.objective].cycle == cycle)

    @cached_property
    def _krs_by_objective(self) -> Mapping[str, tuple[KeyResult, ...]]:
        by_obj: dict[str, list[KeyResult]] = {}
        for kr in self.key_results:
            by_obj.setdefault(kr.objective, []).append(kr)
        return {k: tuple(v) for k, v in by_obj.items()}

    def key_results_in(self, objective: str) -> tuple[KeyResult, ...]:
        return self._krs_by_objective.get(objective, ())

    @cached_property
    def _initiatives_by_kr(self) -> Mapping[str, tuple[Initiative, ...]]:
        by_kr: dict[str, list[Initiative]] = {}
        for ini in self.initiatives:
            by_kr.setdefault(ini.key_result, []).append(ini)
        return {k: tuple(v) for k, v in by_kr.items()}

    def initiatives_of(self, key_result: str) -> tuple[Initiative, ...]:
        return self._initiatives_by_kr.get(key_result, ())

    def objective_team(self, objective: Objective) -> str | None:
        """The team an objective belongs to: its owner team, or its owner person's first team."""
        if objective.owner_team:
            return objective.owner_team
        person = self.person.get(objective.owner_person or "")
        return person.memberships[0].team if person and person.memberships else None

    def objectives_of_teams(self, teams: Iterable[str], cycle: str) -> tuple[Objective, ...]:
        wanted = set(teams)
        return tuple(
            o for o in self.objectives if o.cycle == cycle and self.objective_team(o) in wanted
        )

    def child_objectives(self, objective: str | None) -> tuple[Objective, ...]:
        return tuple(o for o in self.objectives if o.parent == objective)

    def cycle_on(self, day: date) -> Cycle | None:
        """The cycle that contains `day` (the latest-starting one when cycles overlap)."""
        matching = [c for c in self.cycles if day in c]
        return max(matching, key=lambda c: c.start) if matching else None

    def current_cycle(self, day: date) -> Cycle:
        """The cycle containing `day`, or the latest one between cycles (NoCycle if none)."""
        cycle = self.cycle_on(day) or (self.cycles[-1] if self.cycles else None)
        if cycle is None:
            raise NoCycle(self.name)
        return cycle

    def is_holiday(self, person: Person, day: date) -> bool:
        if person.holiday_calendar is None:
            return False
        return day in self.holidays.get(person.holiday_calendar, frozenset())

    def team_of(self, person: str) -> str | None:
        p = self.person.get(person)
        return p.memberships[0].team if p and p.memberships else None

    def find_team(self, text: str) -> Team | None:
        """A team by key or by name, case-insensitively."""
        wanted = text.strip().lower()
        for team in self.teams:
            if wanted in (team.key.lower(), team.name.lower()):
                return team
        return None

    @cached_property
    def _rhythm_index(self) -> Mapping[tuple[str, RhythmKind], Rhythm]:
        return {(r.team, r.kind): r for r in self.rhythms}

    def rhythms_of(self, team: str) -> tuple[Rhythm, ...]:
        return tuple(r for r in self.rhythms if r.team == team)

    def team_rhythm(self, team: str, kind: RhythmKind) -> Rhythm | None:
        """The rhythm of `kind` nearest up the tree from `team` (its own, if it has one)."""
        return next(
            (r for t in self.ancestors(team) if (r := self._rhythm_index.get((t, kind)))), None
        )

    def covering_rhythm(self, person: Person, kind: RhythmKind) -> Rhythm | None:
        """The rhythm of `kind` that prompts `person`: the nearest one up the tree from their
        first team that has one, so each person answers each kind once per period."""
        by_team = self._rhythm_index
        for membership in person.memberships:
            for team in self.ancestors(membership.team):
                found = by_team.get((team, kind))
                if found:
                    return found
        return None


def carry_progress(
    new: Organisation,
    values: Mapping[str, float | None],
    statuses: Mapping[str, InitiativeStatus],
) -> Organisation:
    """`new` with the current `values` of its key results and `statuses` of its initiatives
    wherever those are known: re-importing an edited file must not undo what people reported
    in their check-ins since the file was written."""
    key_results = tuple(
        replace(kr, metric=replace(kr.metric, current=value))
        if kr.metric and (value := values.get(kr.key)) is not None
        else kr
        for kr in new.key_results
    )
    initiatives = tuple(
        replace(i, status=statuses[i.key]) if i.key in statuses else i for i in new.initiatives
    )
    return replace(new, key_results=key_results, initiatives=initiatives)
