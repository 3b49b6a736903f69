"""The organisation of the fan-out benches: owners in Paris, teams of 100 under one company,
one key result each, one weekly check-in on Monday at 10:00 and no leads (who would be
prompted an hour early), so one tick at 10:01 prompts everyone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from datetime import time as clock_time

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.okr import Cycle, KeyResult, Membership, Metric, Objective, Organisation, Person, Team

TICK = datetime(2026, 11, 23, 9, 1, tzinfo=UTC)  # Monday 10:01 in Paris: everyone is due
TEAM_SIZE = 100


def owners_org(count: int, account: Callable[[Person, int], Person]) -> Organisation:
    """`account(person, n)` gives the n-th owner their chat account (a Slack or Teams id)."""
    teams = [Team("company", "Bench Corp", None, "Europe/Paris")]
    people, objectives, key_results = [], [], []
    for n in range(count):
        team = f"team-{n // TEAM_SIZE:03d}"
        if n % TEAM_SIZE == 0:
            teams.append(Team(team, f"Team {n // TEAM_SIZE + 1}", "company", "Europe/Paris"))
            objectives.append(Objective(f"o-{team}", f"Goal of {team}", "2026-Q4", owner_team=team))
        email = f"owner{n:05d}@bench.example"
        owner = Person(email, f"Owner {n}", "Europe/Paris", memberships=(Membership(team),))
        people.append(account(owner, n))
        metric = Metric(0, 100, 40, unit="%")
        key_results.append(KeyResult(f"kr-{n:05d}", f"o-{team}", f"Key result {n}", email, metric))
    return Organisation(
        key="bench",
        name="Bench Corp",
        teams=tuple(teams),
        people=tuple(people),
        cycles=(Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),),
        objectives=tuple(objectives),
        key_results=tuple(key_results),
        rhythms=(Rhythm("weekly", "company", RhythmKind.WEEKLY, clock_time(10, 0)),),
    )


def with_slack_id(person: Person, n: int) -> Person:
    return replace(person, slack_user_id=f"U{n:07d}")


def with_teams_id(person: Person, n: int) -> Person:
    return replace(person, teams_user_id=f"00000000-0000-4000-8000-{n:012d}")
