"""Forecasts in the digest: per key result and objective, in "Needs attention", the early
warning when trend and owner disagree, and the chart spec; and the digest's report sections."""

from __future__ import annotations

from datetime import date

from rhythm.cadences import RhythmKind
from rhythm.chart_model import ProgressChart
from rhythm.digest import build_digest
from rhythm.digest_model import Concern, Digest, DigestScope, WarningKind
from rhythm.digest_report import CHART_ACTION, digest_report
from rhythm.records import DigestFacts, KrPoint
from rhythm.sections import Line
from rhythm.status import Status
from tests.rhythm.orgs import SPRINT, kr, metric, objective, organisation, person, snap, utc

ANA = "ana@acme.test"
TODAY = date(2026, 5, 10)
NOW = utc(2026, 5, 10, 12)
ORG = organisation(
    people=[person(ANA, lead=True)],
    cycles=[SPRINT],
    objectives=[objective("o-eng", cycle=SPRINT.key)],
    key_results=[
        kr("slow", ANA, title="Slow one", m=metric(0, 100, 20)),
        kr("none", ANA, title="Never reported", m=metric(0, 100, 0)),
    ],
)


def points(key: str, *values: tuple[int, float, int]) -> list[KrPoint]:
    """(day of May, value, confidence) reported at noon UTC."""
    return [KrPoint(key, utc(2026, 5, d, 12), v, c) for d, v, c in values]


def digest(series: dict[str, list[KrPoint]], *, facts: DigestFacts | None = None) -> Digest:
    scope = DigestScope("eng", RhythmKind.WEEKLY, "2026-W19", "2026-W18", SPRINT.key, TODAY,
                        (date(2026, 5, 4), date(2026, 5, 10)))  # fmt: skip
    found = facts or DigestFacts(values={"slow": 20.0, "none": 0.0})
    return build_digest(ORG, scope, found, now=NOW, series=series)


# The slow key result moves 2 a day from 0 (18 on the 10th) while its owner says 8/10: its
# line reaches 38 by 20 May (score 0.38), far from the target of 100.
SLOW = points("slow", (1, 0, 8), (4, 6, 8), (7, 12, 8), (10, 18, 8))


def test_a_key_result_with_a_steady_series_is_projected_to_the_cycles_end() -> None:
    found = digest({"slow": SLOW})
    [objective_line] = found.objectives
    slow, never = objective_line.key_results
    assert slow.forecast is not None
    assert never.forecast is None
    assert slow.forecast.projected == 38.0  # the straight line, to 20 May
    assert slow.forecast.score == 0.38
    # The objective rolls up: the slow one at its projection, the other as it stands (0).
    assert objective_line.forecast is not None
    assert objective_line.forecast.score == 0.19


def test_trend_and_owner_disagreeing_is_an_early_warning_that_needs_attention() -> None:
    found = digest({"slow": SLOW})
    [warning] = [w for w in found.warnings if w.kind is WarningKind.FORECAST]
    assert warning.key_result == "slow"
    assert (
        warning.message
        == "Slow one is projected at 0.38 by 20 May although Ana's confidence is 8/10"
    )
    [item] = [a for a in found.attention if a.key_result == "slow"]
    assert Concern.FORECAST in {r.concern for r in item.reasons}
    assert "projected 38 (score 0.38) by 20 May" in item.forecast


def test_no_warning_when_the_owner_is_not_confident() -> None:
    doubtful = points("slow", (1, 0, 3), (4, 6, 3), (7, 12, 3), (10, 18, 3))
    found = digest({"slow": doubtful})
    assert [w for w in found.warnings if w.kind is WarningKind.FORECAST] == []


def test_the_digest_carries_a_chart_of_its_objectives_over_the_cycle() -> None:
    chart = digest({"slow": SLOW}).chart
    assert isinstance(chart, ProgressChart)
    assert (chart.start, chart.end, chart.today) == (SPRINT.start, SPRINT.end, TODAY)
    [track] = chart.tracks
    # The mean of both key results on each reported day; the unreported one counts at 0.
    assert [round(v, 3) for _, v in track.history] == [0.0, 0.03, 0.06, 0.09]
    assert track.projected == 0.19


def test_without_a_series_there_is_no_forecast_and_no_chart() -> None:
    found = digest({})
    assert found.chart is None
    assert all(k.forecast is None for o in found.objectives for k in o.key_results)


def test_the_report_shows_the_forecast_and_a_trend_button_on_forecast_key_results() -> None:
    facts = DigestFacts(
        current={"slow": snap(ANA, 18, 8, Status.ON_TRACK, at=utc(2026, 5, 10, 12))},
        values={"slow": 18.0, "none": 0.0},
    )
    report = digest_report(digest({"slow": SLOW}, facts=facts))
    lines = [b for s in report.sections for b in s.blocks if isinstance(b, Line)]
    buttons = [line.action for line in lines if line.action is not None]
    assert [(b.id, b.value) for b in buttons] == [(CHART_ACTION, "slow")]
    texts = "\n".join(line.text for line in lines)
    assert "needs" in texts
    assert "projected 38 (score 0.38) by 20 May" in texts
    assert "projected score 0.19" in texts
    assert report.tag == "digest:weekly"
    assert [s.title for s in report.sections][:1] == ["Needs attention"]
