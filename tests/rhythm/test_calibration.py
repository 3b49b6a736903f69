"""Calibration: Brier scores and verdicts worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rhythm.calibration import (
    Calibration,
    Verdict,
    calibrate,
    calibrate_by,
    verdict,
    weekly_confidences,
)
from rhythm.records import KrPoint

MONDAY = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
W = timedelta(weeks=1)


def point(kr: str, at: datetime, confidence: int | None, value: float | None = 1.0) -> KrPoint:
    return KrPoint(kr, at, value, confidence)


# Platform's kr-a: 6 in week 1; 5 then 9 in week 2 (the latest counts); week 3 reports a value
# without a confidence (no sample). Final score 0.35:
#   ((0.6 - 0.35)² + (0.9 - 0.35)²) / 2 = (0.0625 + 0.3025) / 2 = 0.1825
# Product's kr-b: 3 and 5, final 0.8: ((0.3 - 0.8)² + (0.5 - 0.8)²) / 2 = (0.25 + 0.09) / 2 = 0.17
# Ana's kr-c: 7 and 7, final 0.6: (0.1² + 0.1²) / 2 = 0.01
POINTS = {
    "kr-a": [
        point("kr-a", MONDAY, 6),
        point("kr-a", MONDAY + W, 5),
        point("kr-a", MONDAY + W + timedelta(days=2), 9),
        point("kr-a", MONDAY + 2 * W, None),
    ],
    "kr-b": [point("kr-b", MONDAY, 3), point("kr-b", MONDAY + W, 5)],
    "kr-c": [point("kr-c", MONDAY, 7), point("kr-c", MONDAY + W, 7)],
    "kr-d": [point("kr-d", MONDAY, 10)],  # no final score: not counted
    "kr-e": [point("kr-e", MONDAY, None)],  # no confidence ever: not counted
}
FINAL = {"kr-a": 0.35, "kr-b": 0.8, "kr-c": 0.6, "kr-e": 0.5}
TEAMS = {"kr-a": "platform", "kr-b": "product", "kr-c": "product", "kr-d": "infra", "kr-e": "ops"}
NAMES = {"platform": "Platform", "product": "Product", "ana@x": "Ana", "dev@x": "Dev"}


def test_the_latest_confidence_of_each_week_is_its_sample() -> None:
    assert weekly_confidences(POINTS["kr-a"]) == [6, 9]
    # Sunday 23:30 and Monday 00:30 UTC: two weeks in UTC, one Monday in Paris.
    sunday = datetime(2026, 10, 18, 23, 30, tzinfo=UTC)
    late = [point("kr", sunday, 4), point("kr", sunday + timedelta(hours=1), 8)]
    assert weekly_confidences(late) == [4, 8]
    assert weekly_confidences(late, tz=ZoneInfo("Europe/Paris")) == [8]
    assert weekly_confidences([]) == []


def test_a_team_that_expected_more_than_it_delivered_is_over_confident() -> None:
    found = calibrate_by({"kr-a": POINTS["kr-a"]}, TEAMS, FINAL, NAMES)

    assert found == [
        Calibration("platform", "Platform", pytest.approx(0.1825), 7.5, 0.35, 2,
                    Verdict.OVER_CONFIDENT),
    ]  # fmt: skip
    assert found[0].sentence == (
        "Platform was over-confident: average confidence 7.5, final score 0.35 (Brier 0.18)"
    )


def test_teams_are_scored_over_all_their_key_results_and_weeks() -> None:
    platform, product = calibrate_by(POINTS, TEAMS, FINAL, NAMES)

    assert platform.subject == "platform"
    # Product: kr-b (3, 5 against 0.8) and kr-c (7, 7 against 0.6), four samples:
    #   Brier (0.25 + 0.09 + 0.01 + 0.01) / 4 = 0.09; confidence 22 / 4 = 5.5;
    #   final (0.8 + 0.8 + 0.6 + 0.6) / 4 = 0.7; gap 0.55 - 0.7 = -0.15: within the margin.
    assert product.brier == pytest.approx(0.09)
    assert (product.mean_confidence, product.samples) == (5.5, 4)
    assert product.final_score == pytest.approx(0.7)
    assert product.verdict is Verdict.WELL_CALIBRATED
    assert product.sentence == (
        "Product was well calibrated: average confidence 5.5, final score 0.70 (Brier 0.09)"
    )


def test_owners_are_scored_over_the_key_results_they_own() -> None:
    owners = {"kr-a": "dev@x", "kr-b": "ana@x", "kr-c": None, "kr-d": "dev@x", "kr-e": "eve@x"}

    ana, dev = calibrate_by(POINTS, owners, FINAL, NAMES)

    # Ana: kr-b only (kr-c has no owner). Confidence 4 against 0.8: under-confident.
    assert ana == Calibration("ana@x", "Ana", pytest.approx(0.17), 4.0, 0.8, 2,
                              Verdict.UNDER_CONFIDENT)  # fmt: skip
    assert ana.sentence == (
        "Ana was under-confident: average confidence 4.0, final score 0.80 (Brier 0.17)"
    )
    # Dev: kr-a only (kr-d has no final score); Eve: kr-e never had a confidence.
    assert (dev.subject, dev.brier, dev.samples) == ("dev@x", pytest.approx(0.1825), 2)


def test_key_results_weigh_by_their_weekly_samples() -> None:
    # kr-a (6, 9 against 0.35) and kr-f (10 against 1.0), three samples:
    #   Brier (0.0625 + 0.3025 + 0) / 3 = 0.121666...; confidence 25 / 3; final 1.7 / 3.
    points = {"kr-a": POINTS["kr-a"], "kr-f": [point("kr-f", MONDAY, 10)]}
    [found] = calibrate_by(points, {"kr-a": "x", "kr-f": "x"}, {"kr-a": 0.35, "kr-f": 1.0}, {})

    assert found.name == "x"  # no name known: the key
    assert found.brier == pytest.approx(0.365 / 3)
    assert found.mean_confidence == pytest.approx(25 / 3)
    assert found.final_score == pytest.approx(1.7 / 3)
    assert found.verdict is Verdict.OVER_CONFIDENT  # 0.833 - 0.567 = 0.267


@pytest.mark.parametrize(
    ("confidence", "final", "expected"),
    [
        (6.5, 0.5, Verdict.WELL_CALIBRATED),  # exactly the margin above
        (6.6, 0.5, Verdict.OVER_CONFIDENT),
        (3.5, 0.5, Verdict.WELL_CALIBRATED),  # exactly the margin below
        (3.4, 0.5, Verdict.UNDER_CONFIDENT),
        (0.0, 0.0, Verdict.WELL_CALIBRATED),
    ],
)
def test_the_verdict_allows_a_margin_of_fifteen_points(
    confidence: float, final: float, expected: Verdict
) -> None:
    assert verdict(confidence, final) is expected


def test_nothing_to_score_gives_nothing() -> None:
    assert calibrate("x", "X", []) is None
    assert calibrate_by({}, TEAMS, FINAL, NAMES) == []
    assert calibrate_by(POINTS, {}, FINAL, NAMES) == []
