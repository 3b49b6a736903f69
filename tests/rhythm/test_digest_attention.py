"""The "Needs attention" list that opens a digest: which key results, in which order, with
which reasons, and how few."""

from __future__ import annotations

from datetime import date

import pytest

from rhythm.cadences import RhythmKind
from rhythm.digest import ATTENTION_LIMIT, build_digest
from rhythm.digest_model import Concern, Digest, DigestScope
from rhythm.okr import Organisation
from rhythm.records import DigestFacts, Snapshot
from rhythm.status import Status
from tests.rhythm.orgs import SPRINT, kr, metric, objective, organisation, person, snap, utc
from tests.rhythm.test_digest import ORG, digest, find

ANA, BEN = "ana@acme.test", "ben@acme.test"
ON, RISK, OFF = Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK
TODAY = date(2026, 5, 10)  # half the sprint is gone
NOW = utc(2026, 5, 10, 12)


def sprint_team(*progress_now: float) -> Organisation:
    """Ana owns k0, k2, ... and Ben k1, k3, ... (0 -> 100, at the values given), in that
    order, in the sprint of team eng."""
    krs = [
        kr(f"k{i}", (ANA, BEN)[i % 2], title=f"KR {i}", m=metric(0, 100, value))
        for i, value in enumerate(progress_now)
    ]
    return organisation(
        people=[person(ANA, lead=True), person(BEN)],
        cycles=[SPRINT],
        objectives=[objective("o-eng", cycle=SPRINT.key)],
        key_results=krs,
    )


def digest_of(org: Organisation, facts: DigestFacts) -> Digest:
    scope = DigestScope("eng", RhythmKind.WEEKLY, "2026-W19", "2026-W18", SPRINT.key, TODAY,
                        (date(2026, 5, 4), date(2026, 5, 10)))  # fmt: skip
    values = {k.key: k.metric.current for k in org.key_results if k.metric}
    return build_digest(org, scope, DigestFacts(**{**_fields(facts), "values": values}), now=NOW)


def _fields(facts: DigestFacts) -> dict[str, object]:
    return {name: getattr(facts, name) for name in DigestFacts.__dataclass_fields__}


def both(
    owner: str, now: tuple[float, int, Status], before: tuple[float, int, Status], **more: object
) -> tuple[Snapshot, Snapshot]:
    return snap(owner, *now, **more), snap(owner, *before, at=utc(2026, 4, 27, 10))


def updates(**per_kr: tuple[Snapshot, Snapshot]) -> DigestFacts:
    return DigestFacts(
        current={k: cur for k, (cur, _) in per_kr.items()},
        previous={k: prev for k, (_, prev) in per_kr.items()},
    )


def test_a_key_result_is_listed_once_with_every_reason_most_pressing_first():
    org = sprint_team(10)
    k0 = both(ANA, (10, 3, OFF), (10, 8, ON), blockers="no API", blocked_by_team="eng")
    d = digest_of(org, updates(k0=k0))
    [item] = d.attention
    assert (item.key_result, item.title, item.owner, item.status) == ("k0", "KR 0", "Ana", OFF)
    assert [r.concern for r in item.reasons] == [
        Concern.BLOCKED,
        Concern.OFF_TRACK,
        Concern.BEHIND,
        Concern.CONFIDENCE_DROP,
    ]
    assert item.why == (
        "blocked by Engineering; reported off track; 10% done with 50% of sprint gone; "
        "confidence 8 → 3"
    )
    assert d.attention_more == 0


@pytest.mark.parametrize(
    ("now", "before", "more", "why"),
    [
        ((20, 7, RISK), (15, 7, RISK), {}, "20% done with 50% of sprint gone"),
        ((60, 5, RISK), (50, 7, ON), {}, "confidence 7 → 5"),
        ((60, 7, ON), (60, 7, ON), {}, "“on track” but flat since 2026-W18"),
        ((60, 7, OFF), (50, 7, ON), {}, "reported off track"),
        ((60, 7, RISK), (50, 7, ON), {"blockers": "legal"}, "blocked"),
    ],
)
def test_each_reason_in_a_few_words(
    now: tuple[float, int, Status],
    before: tuple[float, int, Status],
    more: dict[str, str],
    why: str,
):
    d = digest_of(sprint_team(60), updates(k0=both(ANA, now, before, **more)))
    assert [a.why for a in d.attention] == [why]


def test_silence_for_two_periods_is_a_reason():
    d = digest_of(sprint_team(60), DigestFacts(asked_before=frozenset({ANA})))
    assert [(a.owner, a.why) for a in d.attention] == [("Ana", "no check-in for two periods")]
    assert digest_of(sprint_team(60), DigestFacts()).attention == ()  # never asked: not silent


def test_on_track_and_moving_needs_no_attention():
    d = digest_of(sprint_team(60), updates(k0=both(ANA, (70, 8, ON), (60, 8, ON))))
    assert (d.attention, d.attention_more) == ((), 0)


def test_the_heaviest_reasons_come_first_then_the_furthest_behind_then_tree_order():
    org = sprint_team(40, 15, 45, 10, 20, 20)
    d = digest_of(org, updates(
        k0=both(ANA, (40, 7, RISK), (40, 7, RISK), blockers="waiting"),  # blocked: 3
        k1=both(BEN, (15, 7, RISK), (15, 7, RISK)),  # 35 points behind: 2
        k2=both(ANA, (45, 4, RISK), (45, 7, RISK)),  # confidence drop: 2, 5 points behind
        k3=both(BEN, (10, 3, RISK), (10, 8, RISK)),  # 40 points behind and a drop: 4
        k4=both(ANA, (20, 7, RISK), (20, 7, RISK)),  # 30 points behind: 2
        k5=both(BEN, (20, 7, RISK), (20, 7, RISK)),  # the same as k4, later in the tree
    ))  # fmt: skip
    assert [a.key_result for a in d.attention] == ["k3", "k0", "k1", "k4", "k5"]
    assert d.attention_more == 1  # k2, the least pressing


def test_only_a_handful_are_listed_and_the_rest_counted():
    count = ATTENTION_LIMIT + 3
    org = sprint_team(*range(count))  # all behind, none checked in: silent too
    d = digest_of(org, DigestFacts())
    assert len(d.attention) == ATTENTION_LIMIT == 5
    assert d.attention_more == 3
    # the furthest behind first: lower values trail more
    assert [a.key_result for a in d.attention] == [f"k{i}" for i in range(ATTENTION_LIMIT)]


def test_early_warnings_below_skip_the_key_results_listed_on_top():
    count = ATTENTION_LIMIT + 2
    d = digest_of(sprint_team(*range(count)), DigestFacts())
    shown = {a.key_result for a in d.attention}
    assert {w.key_result for w in d.warnings} == {f"k{i}" for i in range(count)}
    assert {w.key_result for w in d.other_warnings} == {"k5", "k6"}
    assert not shown & {w.key_result for w in d.other_warnings}


def test_a_parent_digest_ranks_the_risks_of_its_whole_tree():
    facts = DigestFacts(current={"latency": snap(ANA, 600, 5, RISK)},
                        previous={"latency": snap(ANA, 700, 8, ON)})  # fmt: skip
    company = digest(ORG, facts)
    eng, platform = find(company, "eng"), find(company, "platform")
    keys = [a.key_result for a in company.attention]
    assert set(keys) >= {"latency", "migrate"}
    assert {a.key_result for a in eng.attention} <= set(keys)
    assert [a.key_result for a in platform.attention] == ["migrate"]
    for sub in company.subteams:
        detail = find(company, sub.team)
        assert sub.attention == len(detail.attention) + detail.attention_more
