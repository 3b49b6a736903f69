"""A deterministic big organisation for the benchmarks: 10,000 people in 40 timezones.

    company  (1 team)
    └── 20 divisions
        └── 25 teams of 20 people each (500 teams)

Every team has one lead; each division is led by the lead of its first team and the company
by the lead of the first division. Everybody owns two key results of the current cycle
(20,000 in all) under their first team's objectives, which align to the division's and those
to the company's. The company has a weekly check-in (Monday 09:30 local, leads an hour early),
a monthly review and the end-of-cycle refresh; the 100 teams of the first four divisions also
run a daily pulse at 11:00. People are spread evenly over 40 real IANA timezones (250 each),
ten of them on Central European Time, so Monday 08:30 UTC in winter is a tick with about
2,500 weekly prompts due at once.

Everything comes from `random.Random(SEED)`: the same code always builds the same tree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from rhythm.cadences import Rhythm, RhythmKind
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

SEED = 20261121
ORG = "bench"

# Ten zones on Central European Time first (UTC+1 in winter), then thirty others, including
# half-hour and 45-minute offsets and southern-hemisphere DST.
CET_ZONES = (
    "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam",
    "Europe/Brussels", "Europe/Vienna", "Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen",
)  # fmt: skip
OTHER_ZONES = (
    "Europe/London", "Europe/Lisbon", "Europe/Dublin", "Europe/Helsinki", "Europe/Athens",
    "Europe/Istanbul", "Africa/Cairo", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Singapore",
    "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Australia/Adelaide",
    "Pacific/Auckland", "America/New_York", "America/Toronto", "America/Chicago",
    "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Sao_Paulo",
    "America/Mexico_City", "America/Bogota",
)  # fmt: skip
TIMEZONES = CET_ZONES + OTHER_ZONES

DIVISIONS = 20
TEAMS_PER_DIVISION = 25
TEAM_SIZE = 20
KRS_PER_PERSON = 2
OBJECTIVES_PER_TEAM = 4
DAILY_DIVISIONS = 4  # their teams run a daily pulse too

CYCLES = (
    Cycle("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),
    Cycle("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    Cycle("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
    Cycle("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
)
CURRENT_CYCLE = CYCLES[-1]

# The benchmark's "now": Wednesday of ISO week 2026-W47, the last week of the loaded history.
# The Monday 09:30 prompts' two-day deadlines have passed in the east and not yet in the west.
NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)
FIRST_WEEK = date(2025, 11, 24)  # Monday of 2025-W48: 52 weeks of history up to 2026-W47
WEEKS = 52

# Scheduler moments of the following week (2026-W48, nothing loaded there yet): Monday 08:30
# UTC, when the Central European zones' weekly prompts fire; the minute after, when nothing
# new is due; and a Tuesday afternoon, when most of the week's prompts are due.
BUSY_TICK = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
QUIET_TICK = datetime(2026, 11, 23, 8, 31, tzinfo=UTC)
MIDWEEK = datetime(2026, 11, 24, 13, 7, tzinfo=UTC)

HOLIDAY_CALENDARS = {
    "fr": (date(2025, 12, 25), date(2026, 1, 1), date(2026, 5, 1), date(2026, 7, 14),
           date(2026, 11, 11)),
    "de": (date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 10, 3)),
    "uk": (date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 8, 31)),
    "us": (date(2025, 11, 27), date(2025, 12, 25), date(2026, 1, 1), date(2026, 7, 3),
           date(2026, 9, 7), date(2026, 11, 26)),
    "in": (date(2026, 1, 26), date(2026, 8, 15), date(2026, 10, 2)),
    "jp": (date(2026, 1, 1), date(2026, 1, 12), date(2026, 5, 4), date(2026, 11, 3),
           date(2026, 11, 23)),
}  # fmt: skip
CALENDAR_OF_ZONE = {
    "Europe/Paris": "fr", "Europe/Berlin": "de", "Europe/Vienna": "de", "Europe/London": "uk",
    "Europe/Dublin": "uk", "America/New_York": "us", "America/Chicago": "us",
    "America/Denver": "us", "America/Los_Angeles": "us", "America/Phoenix": "us",
    "Asia/Kolkata": "in", "Asia/Tokyo": "jp",
}  # fmt: skip

FIRST_NAMES = (
    "Ana", "Ben", "Chitra", "Dev", "Elif", "Femi", "Gus", "Hana", "Ines", "Jon", "Kofi", "Lea",
    "Mei", "Nils", "Olga", "Pia", "Quentin", "Rui", "Sara", "Tomas", "Uma", "Vik", "Wen", "Yara",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Bauer", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kim", "Lopez", "Müller", "Novak", "Okafor", "Petit", "Rossi", "Sato", "Tanaka",
    "Weber",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Plan:
    """The organisation plus what the history loader needs to know about its people."""

    org: Organisation
    reliability: dict[str, float]  # per person: the chance they answer a weekly prompt


def division_key(d: int) -> str:
    return f"div-{d:02d}"


def team_key(d: int, t: int) -> str:
    return f"team-{d:02d}-{t:02d}"


def build() -> Plan:
    rng = random.Random(SEED)
    teams = [Team("company", "Bench Corp", None, "Europe/Paris")]
    people: list[Person] = []
    objectives: list[Objective] = []
    key_results: list[KeyResult] = []
    initiatives: list[Initiative] = []
    rhythms = [
        Rhythm("r-weekly", "company", RhythmKind.WEEKLY, time(9, 30),
               digest_channels=("#okr-company",)),
        Rhythm("r-monthly", "company", RhythmKind.MONTHLY, time(10, 0), day_of_month=1,
               digest_channels=("#okr-company",)),
        Rhythm("r-refresh", "company", RhythmKind.END_OF_CYCLE, time(15, 0), days_before_end=7,
               digest_channels=("#okr-company",)),
    ]  # fmt: skip
    reliability: dict[str, float] = {}

    company_objectives = [f"o-company-{i}" for i in range(5)]
    objectives.extend(
        Objective(key, f"Company goal {i + 1}", CURRENT_CYCLE.key, owner_team="company")
        for i, key in enumerate(company_objectives)
    )
    index = 0
    for d in range(DIVISIONS):
        division = division_key(d)
        zone = TIMEZONES[(d * 7) % len(TIMEZONES)]
        teams.append(Team(division, f"Division {d + 1}", "company", zone))
        division_objectives = [f"o-{division}-{i}" for i in range(5)]
        objectives.extend(
            Objective(key, f"Division {d + 1} goal {i + 1}", CURRENT_CYCLE.key,
                      owner_team=division, parent=company_objectives[i])
            for i, key in enumerate(division_objectives)
        )  # fmt: skip
        for t in range(TEAMS_PER_DIVISION):
            team = team_key(d, t)
            teams.append(Team(team, f"Team {d + 1}.{t + 1}", division, zone))
            team_objectives = [f"o-{team}-{i}" for i in range(OBJECTIVES_PER_TEAM)]
            objectives.extend(
                Objective(key, f"Team {d + 1}.{t + 1} goal {i + 1}", CURRENT_CYCLE.key,
                          owner_team=team, parent=rng.choice(division_objectives))
                for i, key in enumerate(team_objectives)
            )  # fmt: skip
            if d < DAILY_DIVISIONS:
                rhythms.append(
                    Rhythm(f"r-daily-{team}", team, RhythmKind.DAILY, time(11, 0),
                           lead_time=timedelta(minutes=15), digest_channels=(f"#{team}",))
                )  # fmt: skip
            for m in range(TEAM_SIZE):
                person = _person(rng, index, d, t, m)
                people.append(person)
                reliability[person.email] = rng.choice((0.97,) * 7 + (0.8,) * 2 + (0.5,))
                home = person.memberships[0].team
                if home == "company":
                    pool = company_objectives
                elif home == division:
                    pool = division_objectives
                else:
                    pool = team_objectives
                for k in range(KRS_PER_PERSON):
                    kr = _key_result(rng, f"kr-{index:05d}-{k}", rng.choice(pool), person.email)
                    key_results.append(kr)
                    if rng.random() < 0.25:
                        initiatives.append(Initiative(
                            f"i-{index:05d}-{k}", kr.key, f"Initiative for {kr.title}",
                            person.email, rng.choice(list(InitiativeStatus)),
                        ))  # fmt: skip
                index += 1

    org = Organisation(
        key=ORG,
        name="Bench Corp",
        teams=tuple(teams),
        people=tuple(people),
        cycles=CYCLES,
        objectives=tuple(objectives),
        key_results=tuple(key_results),
        initiatives=tuple(initiatives),
        rhythms=tuple(rhythms),
        holidays={name: frozenset(days) for name, days in HOLIDAY_CALENDARS.items()},
    )
    return Plan(org, reliability)


def _person(rng: random.Random, index: int, d: int, t: int, m: int) -> Person:
    team = team_key(d, t)
    zone = TIMEZONES[index % len(TIMEZONES)]  # 250 people per zone, every team spread out
    memberships = [Membership(team, Role.LEAD if m == 0 else Role.MEMBER)]
    if m == 0 and t == 0:  # the division's head, and the company's
        memberships.insert(0, Membership(division_key(d), Role.LEAD))
        if d == 0:
            memberships.insert(0, Membership("company", Role.LEAD))
    if m == 19 and t % 5 == 0:  # a few people also help out in a neighbouring team
        memberships.append(Membership(team_key(d, (t + 1) % TEAMS_PER_DIVISION)))
    leave: tuple[DateRange, ...] = ()
    if rng.random() < 0.05:
        start = FIRST_WEEK + timedelta(days=rng.randrange(WEEKS * 7))
        leave = (DateRange(start, start + timedelta(days=rng.choice((2, 4, 9, 13)))),)
    working_days = frozenset({6, 0, 1, 2, 3}) if rng.random() < 0.03 else frozenset(range(5))
    first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[(index // 7) % len(LAST_NAMES)]
    return Person(
        email=f"p{index:05d}@bench.example",
        name=f"{first} {last} {index}",
        timezone=zone,
        working_days=working_days,
        holiday_calendar=CALENDAR_OF_ZONE.get(zone),
        time_off=leave,
        memberships=tuple(memberships),
        slack_user_id=f"U{index:07d}" if index % 2 == 0 else None,
        teams_user_id=f"aad-{index:05d}" if index % 2 == 1 else None,
    )


def _key_result(rng: random.Random, key: str, objective: str, owner: str) -> KeyResult:
    roll = rng.random()
    if roll < 0.05:
        metric = None
    elif roll < 0.10:
        metric = Metric(0, 1, 0, milestone=True)
    elif roll < 0.20:
        start = float(rng.randrange(20, 100))
        metric = Metric(start, start / 2, start, "d", Direction.DOWN)
    else:
        start = float(rng.randrange(0, 50))
        metric = Metric(start, start + rng.randrange(10, 200), start, rng.choice(("", "%", "k€")))
    return KeyResult(key, objective, f"Key result {key[3:]}", owner, metric)
