"""Small hand-built organisations for the pure core tests.

Everything is built in code from the dataclasses: no files, no clock. The dates are chosen so
the maths is easy to check by hand:

* cycle 2026-Q2 runs 2026-04-01 to 2026-06-30 (91 days); 2026-05-04 is a Monday;
* New York springs forward on 2026-03-08 and falls back on 2026-11-01, Paris springs forward on
  2026-03-29; Kolkata never changes (UTC+05:30).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.forms import build_form
from rhythm.messages import Form
from rhythm.okr import (
    Cycle,
    DateRange,
    Direction,
    Initiative,
    InitiativeStatus,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
)
from rhythm.records import KrState, Snapshot
from rhythm.status import Status

PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
KOLKATA = "Asia/Kolkata"

ALL_WEEK = frozenset(range(7))
SUNDAY_TO_THURSDAY = frozenset({6, 0, 1, 2, 3})

Q1 = Cycle("2026-Q1", date(2026, 1, 1), date(2026, 3, 31))
Q2 = Cycle("2026-Q2", date(2026, 4, 1), date(2026, 6, 30))
Q4 = Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
CYCLES = (Q1, Q2, Q4)

MONDAY = date(2026, 5, 4)  # a Monday in 2026-Q2, ISO week 2026-W19


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in `zone`, as an aware datetime (fold=0)."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def minutes(
    start: datetime, end: datetime, step: timedelta = timedelta(minutes=1)
) -> list[datetime]:
    """Every tick from `start` (inclusive) to `end` (exclusive), as a scheduler would see them."""
    out, moment = [], start
    while moment < end:
        out.append(moment)
        moment += step
    return out


def person(
    email: str,
    *,
    tz: str = "UTC",
    team: str = "eng",
    lead: bool = False,
    name: str | None = None,
    working_days: frozenset[int] = frozenset(range(5)),
    holiday_calendar: str | None = None,
    leave: Iterable[tuple[date, date]] = (),
    teams: Iterable[str] = (),
) -> Person:
    role = Role.LEAD if lead else Role.MEMBER
    memberships = (Membership(team, role), *(Membership(t) for t in teams))
    return Person(
        email=email,
        name=name or email.split("@")[0].capitalize(),
        timezone=tz,
        working_days=working_days,
        holiday_calendar=holiday_calendar,
        time_off=tuple(DateRange(a, b) for a, b in leave),
        memberships=memberships,
    )


def rhythm(
    kind: RhythmKind = RhythmKind.WEEKLY,
    *,
    team: str = "eng",
    at: time = time(9, 30),
    key: str | None = None,
    channels: tuple[str, ...] = ("#okr",),
    **options: object,
) -> Rhythm:
    return Rhythm(
        key=key or f"{team}-{kind.value}",
        team=team,
        kind=kind,
        local_time=at,
        digest_channels=channels,
        **options,  # type: ignore[arg-type]
    )


def metric(
    start: float = 0,
    target: float = 100,
    current: float | None = None,
    *,
    unit: str = "",
    down: bool = False,
    milestone: bool = False,
) -> Metric:
    return Metric(
        start=start,
        target=target,
        current=start if current is None else current,
        unit=unit,
        direction=Direction.DOWN if down else Direction.UP,
        milestone=milestone,
    )


def kr(
    key: str,
    owner: str | None,
    objective: str = "o-eng",
    *,
    title: str | None = None,
    m: Metric | None = None,
) -> KeyResult:
    return KeyResult(key, objective, title or key.upper(), owner, m or metric())


def objective(
    key: str, team: str | None = "eng", *, cycle: str = Q2.key, parent: str | None = None
) -> Objective:
    return Objective(key, key.upper(), cycle, owner_team=team, parent=parent)


def organisation(
    *,
    people: Iterable[Person] = (),
    rhythms: Iterable[Rhythm] = (),
    teams: Iterable[Team] | None = None,
    objectives: Iterable[Objective] | None = None,
    key_results: Iterable[KeyResult] = (),
    initiatives: Iterable[Initiative] = (),
    cycles: Iterable[Cycle] = CYCLES,
    holidays: Mapping[str, frozenset[date]] | None = None,
) -> Organisation:
    return Organisation(
        key="acme",
        name="Acme",
        teams=tuple(teams) if teams is not None else (Team("eng", "Engineering", None, PARIS),),
        people=tuple(people),
        cycles=tuple(cycles),
        objectives=tuple(objectives) if objectives is not None else (objective("o-eng"),),
        key_results=tuple(key_results),
        initiatives=tuple(initiatives),
        rhythms=tuple(rhythms),
        holidays=dict(holidays or {}),
    )


def owners_org(
    people: Iterable[Person],
    *rhythms: Rhythm,
    holidays: Mapping[str, frozenset[date]] | None = None,
    cycles: Iterable[Cycle] = CYCLES,
    teams: Iterable[Team] | None = None,
) -> Organisation:
    """Every person owns one key result in each cycle; weekly on Monday 09:30 unless rhythms
    are given. One team "eng" (Paris) unless teams are given."""
    people, cycles = tuple(people), tuple(cycles)
    objectives = [objective(f"o-{c.key}", cycle=c.key) for c in cycles]
    krs = [
        kr(f"kr-{p.email.split('@')[0]}-{c.key}", p.email, f"o-{c.key}")
        for p in people
        for c in cycles
    ]
    return organisation(
        people=people,
        rhythms=rhythms or (rhythm(),),
        objectives=objectives,
        key_results=krs,
        cycles=cycles,
        holidays=holidays,
        teams=teams,
    )


def three_timezones(*, lead: bool = False, **rhythm_options: object) -> Organisation:
    """Ana in Paris (the lead when `lead`), Ben in New York, Chitra in Kolkata, each owning a key
    result in every cycle; one weekly rhythm, Monday 09:30 local unless told otherwise."""
    return owners_org(
        (
            person("ana@acme.test", tz=PARIS, lead=lead),
            person("ben@acme.test", tz=NEW_YORK),
            person("chitra@acme.test", tz=KOLKATA),
        ),
        rhythm(**rhythm_options),
    )


# ---- a small team tree for digests ---------------------------------------------------------
#
#   company (Acme)            lead: Zoe
#   ├── eng (Engineering)     lead: Ana; Ben, Chitra
#   │   └── platform          lead: Pia
#   └── sales (Sales)         lead: Sam

TREE_TEAMS = (
    Team("company", "Acme", None, PARIS),
    Team("eng", "Engineering", "company", PARIS),
    Team("platform", "Platform", "eng", PARIS),
    Team("sales", "Sales", "company", PARIS),
)


def tree_org(*, leave: Mapping[str, tuple[date, date]] | None = None) -> Organisation:
    """The team tree above with objectives and key results in 2026-Q2.

    eng's objective "o-eng" has a latency key result that goes down (900 -> 300 ms) and a
    signups key result that goes up (0 -> 1000); platform owns "o-plat" with a milestone;
    sales owns "o-sales" with revenue; the company objective has no key results of its own.
    """
    leave = leave or {}

    def who(email: str, team: str, lead: bool = False) -> Person:
        dates = leave.get(email)
        return person(email, team=team, lead=lead, tz=PARIS, leave=[dates] if dates else ())

    return organisation(
        teams=TREE_TEAMS,
        people=(
            who("zoe@acme.test", "company", lead=True),
            who("ana@acme.test", "eng", lead=True),
            who("ben@acme.test", "eng"),
            who("chitra@acme.test", "eng"),
            who("pia@acme.test", "platform", lead=True),
            who("sam@acme.test", "sales", lead=True),
        ),
        objectives=(
            objective("o-company", "company"),
            objective("o-eng", "eng", parent="o-company"),
            objective("o-plat", "platform", parent="o-eng"),
            objective("o-sales", "sales", parent="o-company"),
        ),
        key_results=(
            kr(
                "latency",
                "ana@acme.test",
                "o-eng",
                title="P95 latency",
                m=metric(900, 300, 800, unit="ms", down=True),
            ),
            kr("signups", "ben@acme.test", "o-eng", title="Signups", m=metric(0, 1000, 100)),
            kr(
                "migrate",
                "pia@acme.test",
                "o-plat",
                title="Migration done",
                m=metric(0, 1, 0, milestone=True),
            ),
            kr(
                "revenue",
                "sam@acme.test",
                "o-sales",
                title="Revenue",
                m=metric(0, 200, 100, unit="k€"),
            ),
        ),
        rhythms=(rhythm(team="company"),),
    )


def snap(
    person: str,
    value: float | None = None,
    confidence: int | None = None,
    status: Status | None = None,
    *,
    at: datetime | None = None,
    **more: object,
) -> Snapshot:
    return Snapshot(
        person=person,
        submitted_at=at or utc(2026, 5, 4, 10),
        value=value,
        confidence=confidence,
        status=status,
        **more,  # type: ignore[arg-type]
    )


# ---- an organisation for the check-in form -------------------------------------------------
#
# Ana (eng) owns "nps" (20 -> 50, now 30) with two initiatives and "launch" (a milestone).
# Ben (eng) owns "latency" (900 -> 300 ms, now 800) and "temp" (-10 -> 10, may go negative).
# Sam (sales) owns "revenue" with the initiative "ads". Dan owns nothing.


def form_org() -> Organisation:
    return organisation(
        teams=(
            Team("eng", "Engineering", None, PARIS),
            Team("sales", "Sales", None, PARIS),
        ),
        people=(
            person("ana@acme.test", tz=PARIS),
            person("ben@acme.test", tz=PARIS),
            person("sam@acme.test", tz=PARIS, team="sales"),
            person("dan@acme.test", tz=PARIS),
        ),
        objectives=(objective("o-eng", "eng"), objective("o-sales", "sales")),
        key_results=(
            kr("nps", "ana@acme.test", title="NPS", m=metric(20, 50, 30)),
            kr("launch", "ana@acme.test", title="Launch", m=metric(0, 1, 0, milestone=True)),
            kr("latency", "ben@acme.test", title="Latency", m=metric(900, 300, 800, down=True)),
            kr("temp", "ben@acme.test", title="Margin", m=metric(-10, 10, -4, unit="%")),
            kr("revenue", "sam@acme.test", "o-sales", title="Revenue", m=metric(0, 200)),
        ),
        initiatives=(
            Initiative("survey", "nps", "Run the survey", status=InitiativeStatus.IN_PROGRESS),
            Initiative("interviews", "nps", "Interview churned users"),
            Initiative("ads", "revenue", "Ads campaign"),
        ),
        rhythms=(rhythm(), rhythm(RhythmKind.DAILY)),
    )


# ---- one key result in a 20-day cycle, for early warnings ----------------------------------

SPRINT = Cycle("sprint", date(2026, 5, 1), date(2026, 5, 20))  # half gone on 2026-05-10


def sprint_org(
    *, owner: str | None = "ana@acme.test", leave: tuple[date, date] | None = None
) -> Organisation:
    """Ana owns "k" (0 -> 100, now 60) in the cycle "sprint"."""
    return organisation(
        people=[person("ana@acme.test", tz=PARIS, leave=[leave] if leave else ())],
        cycles=[SPRINT],
        objectives=[objective("o-eng", cycle=SPRINT.key)],
        key_results=[kr("k", owner, title="Activation", m=metric(0, 100, 60))],
    )


def file_states(org: Organisation, person: str) -> dict[str, KrState]:
    """Where a person's key results stand when nobody reported since the OKR file was
    imported: what the store hands the form builder then."""
    return {kr.key: KrState(kr.metric.current if kr.metric else None)
            for kr in org.key_results_of(person)}  # fmt: skip


def fresh_form(
    org: Organisation, person: str, kind: RhythmKind, *, cycle: str, context: str = "c"
) -> Form:
    """`build_form` right after the import: the file's values and initiative statuses."""
    return build_form(
        org, person, kind, cycle=cycle, context=context, states=file_states(org, person),
        initiatives={i.key: i.status for i in org.initiatives},
    )  # fmt: skip
