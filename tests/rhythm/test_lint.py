"""The alignment lint: one clean organisation, then one defect at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, time
from typing import Any

import pytest

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.lint import Finding, Severity, activity_wording, lint, parent_loops
from rhythm.okr import (
    Cycle,
    Direction,
    Initiative,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
)

ANA = "ana@acme.example"
BEN = "ben@acme.example"


def clean_org() -> Organisation:
    """Company -> engineering, a company objective and an engineering one aligned to it."""
    return Organisation(
        key="acme",
        name="Acme",
        teams=(Team("acme", "Acme"), Team("eng", "Engineering", parent="acme")),
        people=(
            Person(ANA, "Ana", memberships=(Membership("acme", Role.LEAD),)),
            Person(BEN, "Ben", memberships=(Membership("eng", Role.LEAD),)),
        ),
        cycles=(Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),),
        objectives=(
            Objective("reliable", "Be the tool teams count on", "2026-Q4", owner_team="acme"),
            Objective("fast", "Feel instant", "2026-Q4", owner_team="eng", parent="reliable"),
        ),
        key_results=(
            KeyResult(
                "uptime", "reliable", "Uptime from 99.8% to 99.95%", ANA, Metric(99.8, 99.95, 99.9)
            ),
            KeyResult(
                "latency",
                "fast",
                "p95 latency from 900 to 300 ms",
                BEN,
                Metric(900, 300, 700, "ms", Direction.DOWN),
            ),
        ),
        initiatives=(Initiative("cache", "latency", "Cache at the edge", BEN),),
        rhythms=(Rhythm("acme-weekly", "acme", RhythmKind.WEEKLY, time(10)),),
    )


def codes(org: Organisation) -> set[str]:
    return {f.code for f in lint(org)}


def with_kr(org: Organisation, key: str, **changes: Any) -> Organisation:
    krs = tuple(replace(kr, **changes) if kr.key == key else kr for kr in org.key_results)
    return replace(org, key_results=krs)


def with_objective(org: Organisation, key: str, **changes: Any) -> Organisation:
    objectives = tuple(replace(o, **changes) if o.key == key else o for o in org.objectives)
    return replace(org, objectives=objectives)


def with_team(org: Organisation, key: str, **changes: Any) -> Organisation:
    teams = tuple(replace(t, **changes) if t.key == key else t for t in org.teams)
    return replace(org, teams=teams)


def test_a_clean_organisation_has_no_findings() -> None:
    assert lint(clean_org()) == []


Mutation = Callable[[Organisation], Organisation]

CASES: list[tuple[str, Mutation, str, str]] = [
    # (what, mutation, expected code, expected subject)
    ("team objective not aligned", lambda o: with_objective(o, "fast", parent=None),
     "orphan-objective", "fast"),
    ("parent objective unknown", lambda o: with_objective(o, "fast", parent="speed"),
     "unknown-parent-objective", "fast"),
    ("key result without owner", lambda o: with_kr(o, "latency", owner=None),
     "kr-without-owner", "latency"),
    ("key result without metric", lambda o: with_kr(o, "latency", metric=None),
     "kr-without-metric", "latency"),
    ("key result owner unknown", lambda o: with_kr(o, "latency", owner="zoe@acme.example"),
     "unknown-owner", "latency"),
    ("objective owner unknown",
     lambda o: with_objective(o, "fast", owner_person="zoe@acme.example"),
     "unknown-owner", "fast"),
    ("initiative owner unknown",
     lambda o: replace(o, initiatives=(Initiative("cache", "latency", "Cache", "zoe@x.org"),)),
     "unknown-owner", "cache"),
    ("initiative of unknown key result",
     lambda o: replace(o, initiatives=(Initiative("cache", "latenc", "Cache", BEN),)),
     "unknown-key-result", "cache"),
    ("activity-worded milestone",
     lambda o: with_kr(o, "latency", title="Launch the edge cache",
                       metric=Metric(0, 1, 0, milestone=True)),
     "activity-key-result", "latency"),
    ("objective without key results",
     lambda o: replace(o, objectives=(*o.objectives, Objective(
         "quiet", "Calm on-call", "2026-Q4", owner_team="eng", parent="reliable"))),
     "objective-without-key-results", "quiet"),
    ("key result of unknown objective",
     lambda o: replace(o, key_results=(*o.key_results, KeyResult(
         "errors", "fastt", "Error rate from 2% to 0.5%", BEN,
         Metric(2, 0.5, 1, direction=Direction.DOWN)))),
     "unknown-objective", "errors"),
    ("objective owned by unknown team", lambda o: with_objective(o, "fast", owner_team="platform"),
     "unknown-team", "fast"),
    ("objective of unknown cycle", lambda o: with_objective(o, "fast", cycle="2026-Q5"),
     "unknown-cycle", "fast"),
    ("objective of another cycle than its parent",
     lambda o: replace(with_objective(o, "fast", cycle="2027-Q1"), cycles=(
         *o.cycles, Cycle("2027-Q1", date(2027, 1, 1), date(2027, 3, 31)))),
     "parent-in-other-cycle", "fast"),
    ("objective nobody owns", lambda o: with_objective(o, "reliable", owner_team=None),
     "objective-without-owner", "reliable"),
    ("cycle ending before it starts",
     lambda o: replace(o, cycles=(Cycle("2026-Q4", date(2026, 12, 31), date(2026, 10, 1)),)),
     "invalid-cycle", "2026-Q4"),
    ("team parent unknown", lambda o: with_team(o, "eng", parent="acmee"),
     "unknown-parent-team", "eng"),
    ("team without lead",
     lambda o: replace(o, people=(o.people[0], replace(o.people[1], memberships=(
         Membership("eng"),)))),
     "team-without-lead", "eng"),
    ("member of unknown team",
     lambda o: replace(o, people=(o.people[0], replace(o.people[1], memberships=(
         Membership("eng", Role.LEAD), Membership("design"))))),
     "unknown-team", BEN),
    ("rhythm of unknown team",
     lambda o: replace(o, rhythms=(Rhythm("x", "design", RhythmKind.DAILY, time(9)),)),
     "unknown-team", "x"),
    ("duplicate key",
     lambda o: replace(o, key_results=(*o.key_results, o.key_results[0])),
     "duplicate-key", "uptime"),
    ("metric whose start is its target",
     lambda o: with_kr(o, "latency", metric=Metric(300, 300, 300, "ms")),
     "metric-without-change", "latency"),
    ("direction against start and target",
     lambda o: with_kr(o, "latency", metric=Metric(900, 300, 700, "ms", Direction.UP)),
     "metric-direction", "latency"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "code", "subject"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_defect_is_one_finding(mutate: Mutation, code: str, subject: str) -> None:
    findings = lint(mutate(clean_org()))
    assert [(f.code, f.subject) for f in findings] == [(code, subject)], findings


def test_key_result_without_metric_is_also_activity_when_worded_so() -> None:
    org = with_kr(clean_org(), "latency", title="Ship the edge cache", metric=None)
    assert codes(org) == {"kr-without-metric", "activity-key-result"}


def test_team_loop_is_reported_once_with_its_chain() -> None:
    org = replace(
        clean_org(),
        teams=(*clean_org().teams, Team("a", "A", parent="b"), Team("b", "B", parent="a")),
    )
    loops = [f for f in lint(org) if f.code == "team-loop"]
    assert len(loops) == 1
    assert loops[0].severity is Severity.ERROR
    assert loops[0].message == "teams form a loop: a → b → a"


def test_objective_loop_is_an_error() -> None:
    org = with_objective(clean_org(), "reliable", parent="fast")
    assert codes(org) == {"objective-loop"}


def test_errors_come_before_warnings() -> None:
    org = with_kr(clean_org(), "latency", owner=None)
    org = with_objective(org, "fast", cycle="2026-Q5")
    severities = [f.severity for f in lint(org)]
    assert severities == sorted(severities, key=lambda s: s is not Severity.ERROR)
    assert severities[0] is Severity.ERROR


def test_finding_reads_as_one_line() -> None:
    finding = Finding(Severity.WARNING, "fast", "orphan-objective", "not aligned")
    assert str(finding) == "warning: fast: not aligned [orphan-objective]"


def test_parent_loops_finds_each_loop_once() -> None:
    relation: dict[str, str | None] = {"a": "b", "b": "c", "c": "a", "d": "a", "e": "e", "f": None}
    assert sorted(sorted(loop) for loop in parent_loops(relation)) == [["a", "b", "c"], ["e"]]


@pytest.mark.parametrize(
    ("title", "activity"),
    [
        ("Launch the partner portal", "launch"),
        ("Relaunch the blog", "relaunch"),
        ("Re-launch the blog", "relaunch"),
        ("Successfully complete the SSO migration", "complete"),
        ("Hold weekly demos with customers", "hold"),
        ("Write 12 blog posts", "write"),
        ("Mobile: roll out dark mode", "roll out"),
        ("Set up single sign-on", "set up"),
        ("Offline mode shipped to all users", "shipped"),
        ("Quarterly business reviews held", "held"),
        ("Completion of the data migration", "completion"),
        # outcomes, or words that only look like the verbs
        ("Launchpad sign-ups from 100 to 300", None),
        ("Onboarding completion rate from 40% to 70%", None),
        ("Completion rate of checkout from 40% to 70%", None),
        ("Release frequency from 2 to 10 a month", None),
        ("Build time from 20 to 5 minutes", None),
        ("Run rate from 1.2 to 2.0 M€", None),
        ("Set targets adopted by 80% of teams", None),
        ("Net promoter score from 31 to 45", None),
        ("Shipping costs per order from 9 to 6 €", None),
    ],
)
def test_activity_wording_is_found_on_whole_words(title: str, activity: str | None) -> None:
    assert activity_wording(title) == activity


@pytest.mark.parametrize(
    ("title", "metric", "flagged"),
    [
        ("Launch in 3 new markets", Metric(0, 3, 1), False),
        ("Launch in new markets", Metric(0, 3, 1), True),  # the title has no number
        ("Launch in 3 new markets", Metric(0, 1, 0, milestone=True), True),
        ("Ship the Android app", None, True),
        ("Android rating from 3.9 to 4.5", None, False),  # no metric, but worded as an outcome
    ],
)
def test_activity_needs_a_measurable_outcome_to_pass(
    title: str, metric: Metric | None, flagged: bool
) -> None:
    org = with_kr(clean_org(), "latency", title=title, metric=metric)
    assert ("activity-key-result" in codes(org)) is flagged
