"""Digests built from hand-made `DigestFacts`: the arithmetic, warnings and roll-up leaders read."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from statistics import fmean

import pytest

from rhythm.cadences import RhythmKind
from rhythm.digest import build_digest
from rhythm.digest_model import (
    BlockerLine,
    Digest,
    DigestScope,
    LeaderNote,
    Participation,
    StatusChange,
    SubteamLine,
    WarningKind,
)
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.records import DigestFacts, NoteFact, PromptFact
from rhythm.status import Status
from tests.rhythm.orgs import snap, sprint_org, tree_org, utc

ZOE, ANA, BEN, CHITRA, PIA, SAM = (
    f"{n}@acme.test" for n in ("zoe", "ana", "ben", "chitra", "pia", "sam")
)
ON, RISK, OFF = Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK
CLOCK = FixedClock(utc(2026, 5, 6, 8))  # Wednesday, half an hour after the W19 deadline
NOW = CLOCK.now()
DEADLINE = utc(2026, 5, 6, 7, 30)
WEEK = (date(2026, 5, 4), date(2026, 5, 10))


def scope(
    team: str,
    *,
    today: date = date(2026, 5, 6),
    kind: RhythmKind = RhythmKind.WEEKLY,
    cycle: str = "2026-Q2",
) -> DigestScope:
    return DigestScope(team, kind, "2026-W19", "2026-W18", cycle, today, WEEK)


def digest(
    org: Organisation,
    facts: DigestFacts,
    team: str = "company",
    *,
    today: date = date(2026, 5, 6),
    kind: RhythmKind = RhythmKind.WEEKLY,
    cycle: str = "2026-Q2",
) -> Digest:
    if not facts.values:  # the store's current values: the file's, where nobody reported
        current = {kr.key: kr.metric.current for kr in org.key_results if kr.metric}
        facts = dataclasses.replace(facts, values=current)
    return build_digest(org, scope(team, today=today, kind=kind, cycle=cycle), facts, now=NOW)


def find(d: Digest, team: str) -> Digest:
    """The digest of `team` among `d` and its nested details."""
    if d.team == team:
        return d
    for detail in d.details:
        try:
            return find(detail, team)
        except LookupError:
            pass
    raise LookupError(team)


def answered(who: str, at: datetime | None, failure: str | None = None) -> PromptFact:
    return PromptFact(who, is_lead=False, deadline=DEADLINE, answered_at=at, failure=failure)


# The week of 2026-05-04 in the tree of orgs.tree_org (eng: latency 900 -> 300 ms and signups
# 0 -> 1000; platform: the migration milestone; sales: revenue 0 -> 200):
#   Ana moved latency to 600 ms (50%) but her confidence fell from 8 to 5 and she says at risk;
#   Ben moved signups to 300 (30%), is blocked by the platform migration, confidence 6 -> 7;
#   Pia's migration is not done (0%) with 40% of the quarter gone;
#   Sam has not checked in this week; last week revenue was 100 (50%).
# Prompts: Ana and Pia on time, Ben late, Chitra missing, Sam unreachable; Zoe is on leave
# all week and was not prompted, but checked in anyway (spontaneously).
CURRENT = {
    "latency": snap(ANA, 600, 5, RISK, moved="cached queries"),
    "signups": snap(
        BEN, 300, 7, ON, blockers="waiting for the API", blocked_by_team="platform",
        blocked_by_kr="migrate",
    ),
    "migrate": snap(PIA, 0, 6, RISK),
}  # fmt: skip
PREVIOUS = {
    "latency": snap(ANA, 700, 8, ON, at=utc(2026, 4, 27, 10)),
    "signups": snap(BEN, 200, 6, ON, at=utc(2026, 4, 27, 10)),
    "revenue": snap(SAM, 100, 8, ON, at=utc(2026, 4, 27, 10)),
}
PROMPTS = (
    answered(ANA, utc(2026, 5, 4, 10)),
    answered(BEN, utc(2026, 5, 6, 7, 45)),
    answered(CHITRA, None),
    PromptFact(PIA, is_lead=True, deadline=utc(2026, 5, 6, 9), answered_at=utc(2026, 5, 5, 9)),
    answered(SAM, None, failure="user blocked the bot"),
)
FACTS = DigestFacts(
    current=CURRENT,
    previous=PREVIOUS,
    prompts=PROMPTS,
    spontaneous={ZOE: 1, "someone@else.test": 1},
    streaks={ANA: 5, BEN: 2, CHITRA: 1, PIA: 3, "someone@else.test": 9},
    notes=(
        NoteFact(BEN, utc(2026, 5, 6, 7), {"focus": "tests", "blockers": "CI is down"}),
        NoteFact(ZOE, utc(2026, 5, 5, 7), {"focus": "hiring"}),
        NoteFact(ANA, utc(2026, 5, 6, 6), {"focus": "latency", "reflection": "caching works"}),
        NoteFact(
            PIA,
            utc(2026, 5, 6, 8),
            {"focus": " ", "blockers": "need a database"},
            blocked_by_team="platform",
        ),
    ),
    blocking_others=(
        ("revenue", "sales", snap(SAM, blockers="need the new API", blocked_by_team="platform")),
        ("latency", "eng", snap(ANA, blockers="need traffic data", blocked_by_team="sales")),
        (
            "revenue",
            "sales",
            snap(
                SAM, blockers="need signup numbers", blocked_by_team="eng", blocked_by_kr="signups"
            ),
        ),
    ),
)
ORG = tree_org(leave={ZOE: (date(2026, 5, 1), date(2026, 5, 12))})


@pytest.fixture(scope="module")
def company() -> Digest:
    return digest(ORG, FACTS)


# ---- objectives and key results -----------------------------------------------------------


def test_objective_progress_is_the_mean_of_normalised_key_results(company: Digest) -> None:
    eng = find(company, "eng")
    [objective] = eng.objectives
    latency, signups = objective.key_results
    # latency goes down: 900 -> 300 ms, now 600 is half way
    assert (latency.progress, latency.value, latency.target, latency.unit) == (0.5, 600, 300, "ms")
    assert (signups.progress, signups.value) == (pytest.approx(0.3), 300)
    assert objective.progress == pytest.approx(0.4)
    assert eng.progress == pytest.approx(0.4)
    assert (latency.owner, latency.status, latency.checked_in) == ("Ana", RISK, True)


def test_key_results_without_this_period_fall_back_to_last_period_then_the_metric() -> None:
    d = digest(ORG, DigestFacts(previous={"signups": snap(BEN, 500, 4, OFF)}), "eng")
    latency, signups = d.objectives[0].key_results
    assert (signups.value, signups.progress, signups.confidence, signups.status) == (
        500,
        0.5,
        4,
        OFF,
    )
    assert signups.checked_in is False
    assert signups.confidence_delta is None
    # no update at all: the metric's current value (800 ms is a sixth of the way)
    assert (latency.value, latency.confidence, latency.status) == (800, None, None)
    assert latency.progress == pytest.approx(1 / 6)


@pytest.mark.parametrize(
    ("value", "progress"),
    [(900, 0.0), (1200, 0.0), (750, 0.25), (300, 1.0), (100, 1.0)],
)
def test_a_down_metric_is_clamped_between_start_and_target(value: float, progress: float) -> None:
    d = digest(ORG, DigestFacts(current={"latency": snap(ANA, value)}), "eng")
    assert d.objectives[0].key_results[0].progress == pytest.approx(progress)


def test_confidence_and_its_trend(company: Digest) -> None:
    [objective] = find(company, "eng").objectives
    assert [k.confidence_delta for k in objective.key_results] == [-3, 1]
    assert objective.confidence == 6  # mean of 5 and 7
    assert objective.confidence_trend == -1  # mean of -3 and +1


def test_status_changes_since_last_period(company: Digest) -> None:
    assert company.status_changes == (StatusChange("latency", "P95 latency", "Ana", ON, RISK),)
    assert find(company, "sales").status_changes == ()


# ---- blockers -----------------------------------------------------------------------------


def test_blockers_say_who_is_blocked_by_whom(company: Digest) -> None:
    assert find(company, "eng").blockers == (
        BlockerLine("Ben", "Signups", "waiting for the API", "Migration done (Pia)"),
        BlockerLine("Ben", "daily pulse", "CI is down", ""),
        BlockerLine("Pia", "daily pulse", "need a database", "Platform"),
    )
    assert find(company, "sales").blockers == ()


def test_blocking_others_lists_who_waits_on_this_part_of_the_tree(company: Digest) -> None:
    sam_platform = BlockerLine("Sam", "Revenue", "need the new API", "Platform")
    ana_sales = BlockerLine("Ana", "P95 latency", "need traffic data", "Sales")
    sam_signups = BlockerLine("Sam", "Revenue", "need signup numbers", "Signups (Ben)")
    assert find(company, "platform").blocking_others == (sam_platform,)
    # Engineering's subtree holds the platform: the cause named is kept, not "Engineering"
    assert find(company, "eng").blocking_others == (sam_platform, sam_signups)
    assert find(company, "sales").blocking_others == (ana_sales,)
    # At the top every blocker is inside the tree: they are plain blockers there, not "others"
    assert company.blocking_others == ()


# ---- early warnings -----------------------------------------------------------------------


def test_warnings_over_the_tree(company: Digest) -> None:
    assert company.elapsed_share == pytest.approx(36 / 91)
    expected = [(WarningKind.BEHIND, "migrate"), (WarningKind.CONFIDENCE_DROP, "latency")]
    assert [(w.kind, w.key_result) for w in company.warnings] == expected
    assert [(w.kind, w.key_result) for w in find(company, "eng").warnings] == expected
    assert [w.key_result for w in find(company, "platform").warnings] == ["migrate"]
    assert find(company, "sales").warnings == ()


def sprint_facts(
    cur: tuple[float, int | None, Status | None] | None,
    prev: tuple[float, int | None, Status | None] | None,
) -> DigestFacts:
    return DigestFacts(
        current={"k": snap(ANA, *cur)} if cur else {},
        previous={"k": snap(ANA, *prev)} if prev else {},
    )


@pytest.mark.parametrize(
    ("cur", "prev", "kinds"),
    [
        # half the sprint is gone (elapsed 0.5): behind means below 25%
        ((20, 7, RISK), (15, 7, RISK), [WarningKind.BEHIND]),
        ((25, 7, RISK), (15, 7, RISK), []),
        # confidence drop of 2 or more, not 1, not a rise
        ((60, 5, RISK), (50, 7, ON), [WarningKind.CONFIDENCE_DROP]),
        ((60, 0, OFF), (50, 10, ON), [WarningKind.CONFIDENCE_DROP]),
        ((60, 6, RISK), (50, 7, ON), []),
        ((60, 9, ON), (50, 7, ON), []),
        ((60, None, ON), (50, 7, ON), []),
        # flat while on track
        ((60, 7, ON), (60, 7, ON), [WarningKind.FLAT_ON_TRACK]),
        ((60, 7, RISK), (60, 7, ON), []),  # honest about it
        ((61, 7, ON), (60, 7, ON), []),
        ((100, 9, ON), (100, 9, ON), []),  # done
        # one check-in in two periods is not silence
        (None, (60, 7, ON), []),
        ((60, 7, ON), None, []),
        # most urgent kinds first
        ((20, 3, ON), (20, 8, ON), [WarningKind.BEHIND, WarningKind.CONFIDENCE_DROP,
                                    WarningKind.FLAT_ON_TRACK]),
    ],
)  # fmt: skip
def test_early_warnings(
    cur: tuple[float, int | None, Status | None] | None,
    prev: tuple[float, int | None, Status | None] | None,
    kinds: list[WarningKind],
) -> None:
    d = digest(
        sprint_org(), sprint_facts(cur, prev), "eng", today=date(2026, 5, 10), cycle="sprint"
    )
    assert d.elapsed_share == 0.5
    assert [w.kind for w in d.warnings] == kinds
    assert all(w.key_result == "k" for w in d.warnings)


def test_warning_messages() -> None:
    d = digest(
        sprint_org(),
        sprint_facts((20, 3, ON), (20, 8, ON)),
        "eng",
        today=date(2026, 5, 10),
        cycle="sprint",
    )
    assert [w.message for w in d.warnings] == [
        "Activation is at 20% with 50% of sprint gone",
        "Ana's confidence in Activation fell from 8 to 3",
        "Activation is reported on track but has not moved since 2026-W18",
    ]


@pytest.mark.parametrize(
    ("owner", "leave", "silent"),
    [
        (ANA, None, True),
        (ANA, (date(2026, 5, 1), date(2026, 5, 17)), False),  # on leave all week
        (ANA, (date(2026, 4, 1), date(2026, 5, 3)), True),  # leave ended before the period
        (None, None, False),  # nobody to chase
    ],
)
def test_silent_for_two_periods_unless_on_leave(
    owner: str | None, leave: tuple[date, date] | None, silent: bool
) -> None:
    asked = DigestFacts(asked_before=frozenset({ANA}))  # Ana had last period's prompt
    d = digest(sprint_org(owner=owner, leave=leave), asked, "eng", cycle="sprint")
    found = [(w.kind, w.message) for w in d.warnings]
    expected = [(WarningKind.SILENT, "No check-in on Activation for two periods (Ana)")]
    assert found == (expected if silent else [])


def test_nobody_is_silent_who_was_not_asked_last_period() -> None:
    """The first week after an import: no update last period, but nobody was asked then."""
    d = digest(sprint_org(owner=ANA), DigestFacts(), "eng", cycle="sprint")
    assert d.warnings == ()


def test_a_daily_digest_does_not_call_key_results_silent() -> None:
    """Daily pulses carry no key-result updates, so their periods never hold any."""
    d = digest(sprint_org(), DigestFacts(), "eng", cycle="sprint", kind=RhythmKind.DAILY)
    assert d.warnings == ()


# ---- participation ------------------------------------------------------------------------


def test_participation(company: Digest) -> None:
    assert company.participation == Participation(
        on_time=2,
        late=1,
        spontaneous=1,  # Zoe, on leave and never asked; only people in the tree count
        missing=("Chitra",),
        pending=(),
        on_leave=(),  # Zoe checked in: she is counted with those who did
        unreachable=("Sam",),  # a delivery failure is not missing either
        streaks=(("Ana", 5), ("Pia", 3), ("Ben", 2)),  # at least 2, longest first
    )
    assert (company.participation.checked_in, company.participation.expected) == (4, 6)
    assert company.participation.rate == pytest.approx(4 / 6)


def test_participation_per_subteam(company: Digest) -> None:
    eng, sales = find(company, "eng").participation, find(company, "sales").participation
    assert (eng.expected, eng.checked_in, eng.missing, eng.pending) == (4, 3, ("Chitra",), ())
    assert (eng.on_leave, eng.spontaneous) == ((), 0)
    assert (sales.expected, sales.checked_in, sales.unreachable, sales.rate) == (1, 0, ("Sam",), 0)
    assert find(company, "platform").participation.streaks == (("Pia", 3),)


@pytest.mark.parametrize(
    ("answered_at", "deadline", "counts"),
    [
        (DEADLINE, DEADLINE, (1, 1, 0, (), ())),  # answered at the deadline is on time
        (DEADLINE + timedelta(seconds=1), DEADLINE, (1, 0, 1, (), ())),
        (None, NOW, (0, 0, 0, ("Ben",), ())),  # deadline now: the digest goes out, missing
        (None, NOW - timedelta(seconds=1), (0, 0, 0, ("Ben",), ())),
    ],
)
def test_on_time_late_missing_and_pending_at_the_deadline(
    answered_at: datetime | None,
    deadline: datetime,
    counts: tuple[int, int, int, tuple[str, ...], tuple[str, ...]],
) -> None:
    facts = DigestFacts(prompts=(PromptFact(BEN, False, deadline, answered_at),))
    p = digest(ORG, facts, "eng").participation
    assert (p.checked_in, p.on_time, p.late, p.missing, p.pending) == counts


def test_nobody_prompted_has_no_rate() -> None:
    p = digest(ORG, DigestFacts(), "sales").participation
    assert (p.expected, p.rate, p.missing, p.tally) == (0, None, (), "no check-ins expected")


def test_only_the_five_longest_streaks_are_listed() -> None:
    streaks = {ZOE: 2, ANA: 7, BEN: 3, CHITRA: 3, PIA: 4, SAM: 6}
    p = digest(ORG, DigestFacts(streaks=streaks)).participation
    assert p.streaks == (("Ana", 7), ("Sam", 6), ("Pia", 4), ("Ben", 3), ("Chitra", 3))


# ---- roll-up and leaders ------------------------------------------------------------------


def line_of(d: Digest) -> SubteamLine:
    """What a parent shows for a child: the child's own digest, summed up."""
    confidences = [o.confidence for o in d.objectives if o.confidence is not None]
    return SubteamLine(
        team=d.team,
        name=d.team_name,
        progress=d.progress,
        confidence=fmean(confidences) if confidences else None,
        checked_in=d.participation.checked_in,
        expected=d.participation.expected,
        attention=len(d.attention) + d.attention_more,
    )


def test_a_parent_digest_has_one_detail_per_child_team(company: Digest) -> None:
    assert [d.team for d in company.details] == ["eng", "sales"]
    assert [d.team for d in find(company, "eng").details] == ["platform"]
    assert find(company, "platform").details == ()
    for d in (company, find(company, "eng")):
        assert d.subteams == tuple(line_of(x) for x in d.details)
    # Engineering: latency (confidence drop) and migrate (behind) need attention, and signups
    # (blocked by the migration)
    assert company.subteams == (
        SubteamLine("eng", "Engineering", 0.4, 6.0, checked_in=3, expected=4, attention=3),
        SubteamLine("sales", "Sales", 0.5, 8.0, checked_in=0, expected=1, attention=0),
    )
    assert find(company, "eng").subteams == (
        SubteamLine("platform", "Platform", 0.0, 6.0, checked_in=1, expected=1, attention=1),
    )


def test_details_share_the_period_of_the_parent(company: Digest) -> None:
    for d in (*company.details, find(company, "platform")):
        assert (d.kind, d.period, d.previous_period, d.cycle) == (
            RhythmKind.WEEKLY,
            "2026-W19",
            "2026-W18",
            "2026-Q2",
        )
        assert d.elapsed_share == company.elapsed_share


def test_leads_notes_come_first(company: Digest) -> None:
    # the company's lead is Zoe: her note leads; Ana leads Engineering, not the company
    assert company.leaders == (LeaderNote("Zoe", "company", "hiring"),)
    assert company.notes == (
        LeaderNote("Ana", "eng", "latency · caching works"),
        LeaderNote("Ben", "eng", "tests"),  # blockers are listed with blockers, not as notes
    )
    eng = find(company, "eng")
    # What she said moved latency is told with latency itself (at risk: see the story tests)
    assert eng.leaders == (LeaderNote("Ana", "eng", "latency · caching works"),)
    assert eng.notes == (LeaderNote("Ben", "eng", "tests"),)


def test_the_same_facts_give_the_same_digest(company: Digest) -> None:
    assert digest(ORG, FACTS) == company
    assert digest(ORG, FACTS, "eng") == find(company, "eng")


def test_a_snapshot_from_outside_the_scope_is_ignored() -> None:
    facts = DigestFacts(
        current={"revenue": snap(SAM, 200, 9, ON, blockers="legal")},
        prompts=(answered(SAM, None),),
        notes=(NoteFact(SAM, NOW, {"focus": "closing deals", "blockers": "legal"}),),
    )
    eng = digest(ORG, facts, "eng")
    assert (eng.blockers, eng.notes, eng.leaders, eng.participation.expected) == ((), (), (), 0)
    assert all(k.key != "revenue" for o in eng.objectives for k in o.key_results)
