"""End-of-cycle forecasts: a robust line through the reported values, read off at the cycle's
last day, with an honest band; milestones from their owner's confidence; objectives rolled up
like their progress. Series with known answers, and two properties."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhythm.forecast import (
    Forecast,
    Method,
    ObjectiveForecast,
    forecast_key_result,
    forecast_objective,
    objective_words,
)
from rhythm.okr import Direction, KeyResult, Metric
from rhythm.records import KrPoint

START = date(2026, 10, 1)  # a Thursday; the cycle is Q4 2026
END = date(2026, 12, 31)
WEEK = 7


def key_result(
    start: float = 0, target: float = 100, unit: str = "%", *, milestone: bool = False
) -> KeyResult:
    direction = Direction.DOWN if target < start else Direction.UP
    metric = Metric(start, target, start, unit, direction, milestone)
    return KeyResult("kr", "obj", "Active teams", "ada@example.com", metric)


def at(day: int, hour: int = 12) -> datetime:
    """Noon UTC `day` days into the cycle."""
    return datetime.combine(START + timedelta(days=day), time(hour), UTC)


def series(
    values: Sequence[float | None], *, every: int = WEEK, confidence: int | None = 8
) -> list[KrPoint]:
    return [KrPoint("kr", at(i * every), v, confidence) for i, v in enumerate(values)]


def today_after(points: Sequence[KrPoint]) -> date:
    return max(p.at for p in points).date()


def forecast(kr: KeyResult, points: Sequence[KrPoint], *, tz: str = "UTC") -> Forecast:
    found = forecast_key_result(kr, points, today=today_after(points), end=END, tz=tz)
    assert found is not None
    return found


def days_left(points: Sequence[KrPoint]) -> int:
    return (END - today_after(points)).days


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


# ---- metrics -----------------------------------------------------------------------------


def test_a_steady_series_projects_to_exactly_its_straight_line() -> None:
    points = series([20, 22, 24, 26, 28, 30])  # +2 a week, five weeks in
    f = forecast(key_result(), points)
    assert f.method is Method.TREND
    assert f.by == END
    assert f.per_week == pytest.approx(2.0, rel=1e-12)
    assert f.projected == pytest.approx(30 + 2 * days_left(points) / WEEK, rel=1e-12)  # 46
    assert f.score == pytest.approx(f.projected / 100)
    assert (f.latest, f.confidence, f.points) == (30, 8, 6)


def test_a_flat_series_projects_where_it_stands() -> None:
    f = forecast(key_result(), series([40, 40, 40, 40]))
    assert (f.projected, f.per_week, f.low, f.high) == (40, 0, 40, 40)
    assert f.score == pytest.approx(0.4)


def test_one_mistyped_value_barely_moves_the_projection() -> None:
    clean = [20.0, 21.5, 23.4, 24.6, 26.5, 28.2, 29.6, 31.7, 33.1]
    typo = [*clean[:6], 296, *clean[7:]]  # 296 typed for 29.6
    kr = key_result()
    honest, slipped = forecast(kr, series(clean)), forecast(kr, series(typo))
    assert abs(slipped.projected - honest.projected) < 0.5  # half a point of the 0..100 span
    assert slipped.low <= honest.projected <= slipped.high
    # A least-squares line would go from +1.65 to +10.53 a week and project past 150%.
    xs = [i * WEEK for i in range(len(clean))]
    assert least_squares_slope(xs, typo) * WEEK > 10
    assert slipped.per_week == pytest.approx(honest.per_week, abs=0.02)


def test_a_falling_metric_scores_its_progress_toward_a_lower_target() -> None:
    kr = key_result(10, 2, "incidents")  # incidents a month, 10 → 2
    points = series([10, 9.5, 9, 8.5, 8])  # −0.5 a week, four weeks in
    f = forecast(kr, points)
    assert f.per_week == pytest.approx(-0.5)
    assert f.projected == pytest.approx(8 - 0.5 * days_left(points) / WEEK)  # 3.5
    assert f.score == pytest.approx((10 - f.projected) / 8)
    assert f.score_low <= f.score <= f.score_high  # the band's high value is its low score
    assert f.needed_per_week is not None
    assert f.needed_per_week < 0


def test_two_reported_days_are_enough_but_leave_a_wide_band() -> None:
    f = forecast(key_result(), series([20, 22]))
    assert f.projected == pytest.approx(22 + 2 * (days_left(series([20, 22]))) / WEEK)
    # Two points cannot show their own spread: the slope is taken as unsure by all of itself.
    assert f.high - f.low > 20
    assert f.low < f.projected < f.high


@pytest.mark.parametrize(
    "points",
    [
        [],
        series([20]),
        series([20, None, None]),  # later check-ins gave a confidence only
        [KrPoint("kr", at(3, 9), 20, 8), KrPoint("kr", at(3, 17), 24, 8)],  # one day
    ],
    ids=["none", "one", "one value", "one day"],
)
def test_fewer_than_two_reported_days_give_no_forecast(points: list[KrPoint]) -> None:
    assert forecast_key_result(key_result(), points, today=START, end=END, tz="UTC") is None


def test_a_key_result_without_a_metric_has_no_forecast() -> None:
    kr = KeyResult("kr", "obj", "Be loved", None, None)
    assert forecast_key_result(kr, series([1, 2, 3]), today=START, end=END, tz="UTC") is None


def test_the_latest_report_of_a_day_counts_in_the_teams_timezone() -> None:
    points = [
        KrPoint("kr", at(0), 20, 8),
        KrPoint("kr", at(7, 9), 99, 8),  # a slip, corrected the same afternoon
        KrPoint("kr", at(7, 15), 22, 6),
        # 23:30 UTC is already the next day in Berlin: a day of its own there.
        KrPoint("kr", at(13, 23) + timedelta(minutes=30), 24, 7),
    ]
    kr = key_result()
    in_utc = forecast(kr, list(reversed(points)))  # the order they come in does not matter
    assert (in_utc.points, in_utc.latest, in_utc.confidence) == (3, 24, 7)
    # Days 0, 7 and 13: the median of 2/7, 4/13 and 2/6 a day.
    assert in_utc.per_week == pytest.approx(4 / 13 * WEEK)
    in_berlin = forecast(kr, points, tz="Europe/Berlin")  # days 0, 7 and 14: +2 a week
    assert in_berlin.points == 3
    assert in_berlin.per_week == pytest.approx(2)


def test_points_outside_the_cycle_and_of_other_key_results_do_not_count() -> None:
    points = [
        KrPoint("kr", at(-3), 90, 8),  # the cycle before
        *series([20, 22, 24]),
        KrPoint("other", at(20), 70, 2),
        KrPoint("kr", datetime.combine(END + timedelta(days=1), time(12), UTC), 5, 1),
    ]
    f = forecast_key_result(
        key_result(), points, today=at(14).date(), end=END, tz="UTC", start=START
    )
    assert f is not None
    assert (f.points, f.latest, f.confidence) == (3, 24, 8)
    assert f.per_week == pytest.approx(2)


def test_a_target_already_met_needs_nothing_more() -> None:
    f = forecast(key_result(0, 50), series([40, 46, 52]))
    assert f.needed_per_week == 0
    assert f.needed_per_week == 0
    assert (f.score, f.score_high) == (1.0, 1.0)
    assert f.words(unit="%", span=50, locale="en", today=START) == (
        "target reached, averaging +6/week → projected 118% (score 1.00) by 31 Dec"
    )


def test_the_needed_pace_runs_from_the_latest_value_over_the_days_left() -> None:
    points = series([20, 22, 24, 26, 28, 30])
    f = forecast_key_result(key_result(), points, today=date(2026, 11, 19), end=END, tz="UTC")
    assert f is not None
    assert f.needed_per_week == pytest.approx((100 - 30) / (42 / WEEK))  # six weeks left


@given(
    values=st.lists(
        st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=2, max_size=14
    )
)
def test_the_band_holds_the_projection_and_is_never_negative(values: list[float]) -> None:
    f = forecast(key_result(), series(values))
    assert f.low <= f.projected <= f.high
    assert 0 <= f.score_low <= f.score <= f.score_high <= 1


def test_the_band_narrows_as_reports_accumulate() -> None:
    noisy = [20.0, 23.1, 23.9, 26.6, 27.8, 30.9, 31.7, 34.4, 35.8, 38.6, 39.5, 42.2]
    widths = [
        (f.high - f.low) for n in (4, 8, 12) for f in [forecast(key_result(), series(noisy[:n]))]
    ]
    assert widths[0] > widths[1] > widths[2] > 0


# ---- milestones --------------------------------------------------------------------------


def test_a_milestone_is_as_likely_as_its_owner_is_confident() -> None:
    kr = key_result(0, 1, "", milestone=True)
    points = [KrPoint("kr", at(0), 0, 5), KrPoint("kr", at(7), 0, 8)]
    f = forecast(kr, points)
    assert f.method is Method.CONFIDENCE
    assert (f.projected, f.score, f.low, f.high) == (0.8, 0.8, 0.8, 0.8)
    assert (f.per_week, f.needed_per_week, f.confidence) == (None, None, 8)
    assert f.words(unit="", span=1, locale="en", today=START) == (
        "confidence 8/10 → likely done by 31 Dec (0.80)"
    )


def test_a_milestone_done_is_certain_and_one_without_confidence_unknown() -> None:
    kr = key_result(0, 1, "", milestone=True)
    done = forecast(kr, [KrPoint("kr", at(5), 1, None)])
    assert (done.score, done.latest) == (1.0, 1)
    assert done.words(unit="", span=1, locale="en", today=START) == "done already (1.00)"
    silent = [KrPoint("kr", at(5), 0, None)]
    assert forecast_key_result(kr, silent, today=START, end=END, tz="UTC") is None


@pytest.mark.parametrize(
    ("confidence", "shown"),
    [(5, "confidence 5/10 → may be done by 31 Dec (0.50)"),
     (2, "confidence 2/10 → unlikely to be done by 31 Dec (0.20)")],
)  # fmt: skip
def test_a_doubtful_milestone_says_so(confidence: int, shown: str) -> None:
    kr = key_result(0, 1, "", milestone=True)
    f = forecast(kr, [KrPoint("kr", at(5), 0, confidence)])
    assert f.words(unit="", span=1, locale="en", today=START) == shown


# ---- the early warning -------------------------------------------------------------------


def made(score: float, confidence: int | None) -> Forecast:
    return Forecast(
        "kr", Method.TREND, END, score * 100, score * 90, score * 110, score, score * 0.9,
        min(1.0, score * 1.1), 1.0, 3.0, 30.0, confidence, 6,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("score", "confidence", "disagrees"),
    [(0.3, 8, True), (0.39, 7, True), (0.4, 9, False), (0.3, 6, False), (0.1, None, False)],
)
def test_the_trend_disagrees_with_a_confident_owner(
    score: float, confidence: int | None, disagrees: bool
) -> None:
    assert made(score, confidence).disagrees is disagrees


def test_a_falling_trend_against_a_confident_owner_is_a_warning() -> None:
    f = forecast(key_result(), series([30, 30, 31, 31, 32], confidence=9))
    assert f.score < 0.4
    assert f.disagrees


# ---- words -------------------------------------------------------------------------------


def words(f: Forecast, *, span: float = 100, locale: str = "en", today: date = START) -> str:
    return f.words(unit="%", span=span, locale=locale, today=today)


def pace(per_week: float, needed: float, projected: float, score: float) -> Forecast:
    return Forecast(
        "kr", Method.TREND, END, projected, projected - 5, projected + 5, score, score - 0.05,
        score + 0.05, per_week, needed, 30.0, 7, 6,
    )  # fmt: skip


def test_behind_pace_leads_with_what_it_needs() -> None:
    assert words(pace(1.1, 3.2, 45, 0.45)) == (
        "needs +3.2/week, averaging +1.1/week → projected 45% (score 0.45) by 31 Dec"
    )


def test_on_pace_leads_with_what_it_does() -> None:
    assert words(pace(2.1, 1.5, 78, 0.86)) == (
        "averaging +2.1/week, needs +1.5/week → projected 78% (score 0.86) by 31 Dec"
    )


def test_a_falling_pace_has_its_minus_sign_and_a_still_pace_none() -> None:
    assert words(pace(-0.54, -0.8, 4.1, 0.7), span=-8) == (
        "needs -0.8/week, averaging -0.54/week → projected 4.1% (score 0.70) by 31 Dec"
    )
    assert words(pace(0.0, 2.0, 30, 0.3)).startswith("needs +2/week, averaging 0/week")


def test_words_follow_the_locale_and_name_another_years_day() -> None:
    assert words(pace(1.1, 3.2, 45, 0.455), locale="de_DE", today=date(2027, 1, 2)) == (
        "needs +3,2/week, averaging +1,1/week → projected 45% (score 0,46) by 31 Dez. 2026"
    )


def test_a_forecast_from_a_series_reads_as_one_line() -> None:
    f = forecast(key_result(), series([20, 22, 24, 26, 28, 30]))
    assert words(f, span=100) == (
        "needs +8.8/week, averaging +2/week → projected 46% (score 0.46) by 31 Dec"
    )


# ---- objectives --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """What the digest hands over per key result (its `KrLine` has these and more)."""

    progress: float
    forecast: Forecast | None = None
    locale: str = "en"


def test_an_objective_averages_its_key_results_projected_scores() -> None:
    lines = [Line(0.3, made(0.5, 7)), Line(0.2, made(0.3, 8)), Line(0.6)]  # the last: no forecast
    o = forecast_objective("obj", lines, by=END)
    assert o is not None
    assert (o.objective, o.key_results, o.forecasted, o.by) == ("obj", 3, 2, END)
    assert o.score == pytest.approx((0.5 + 0.3 + 0.6) / 3)
    assert o.score_low == pytest.approx((0.45 + 0.27 + 0.6) / 3)
    assert o.score_high == pytest.approx((0.55 + 0.33 + 0.6) / 3)
    assert o.words() == "projected score 0.47 (0.44–0.49) by 31 Dec"


def test_an_objective_of_forecasts_alone_and_of_none() -> None:
    o = forecast_objective("obj", [made(0.5, 7), made(0.7, 7)])
    assert o is not None
    assert (o.by, o.locale) == (END, "en")
    assert o.score == pytest.approx(0.6)
    assert forecast_objective("obj", [Line(0.4), Line(0.5)], by=END) is None
    assert forecast_objective("obj", [], by=END) is None


def test_objective_words_drop_a_band_too_narrow_to_show() -> None:
    o = ObjectiveForecast("obj", 0.52, 0.518, 0.521, 2, END, 2, "fr")
    assert objective_words(o) == "projected score 0,52 by 31 déc."
    assert objective_words(o, today=date(2027, 1, 4)) == "projected score 0,52 by 31 déc. 2026"


# ---- properties --------------------------------------------------------------------------

line_days = st.lists(st.integers(0, 91), min_size=2, max_size=15, unique=True).map(sorted)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
slopes = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


def on_days(days: Sequence[int], values: Sequence[float]) -> list[KrPoint]:
    return [KrPoint("kr", at(d), v, 7) for d, v in zip(days, values, strict=True)]


@given(days=line_days, first=finite, per_day=slopes)
def test_any_exact_line_projects_to_its_value_at_the_cycles_end(
    days: list[int], first: float, per_day: float
) -> None:
    values = [first + per_day * d for d in days]
    f = forecast(key_result(), on_days(days, values))
    expected = first + per_day * (END - START).days
    scale = max(1.0, abs(expected), *(abs(v) for v in values))
    assert math.isclose(f.projected, expected, rel_tol=1e-9, abs_tol=1e-9 * scale)


@given(
    days=st.lists(st.integers(0, 91), min_size=8, max_size=15, unique=True),
    first=st.floats(-1e3, 1e3),
    per_day=st.floats(-10, 10),
    offset=st.floats(-1e4, 1e4).filter(lambda o: abs(o) > 1),
)
def test_one_outlier_moves_the_slope_less_than_least_squares_would(
    days: list[int], first: float, per_day: float, offset: float
) -> None:
    """Seven or more points on a line, then one more off it (the last drawn day)."""
    *clean_days, odd_day = days
    clean_days.sort()
    values = [first + per_day * d for d in clean_days]
    odd = first + per_day * odd_day + offset
    kr = key_result()
    before = forecast(kr, on_days(clean_days, values)).per_week or 0.0
    after = forecast(kr, on_days([*clean_days, odd_day], [*values, odd])).per_week or 0.0
    xs, ys = [*clean_days, odd_day], [*values, odd]
    squares_moved = abs(least_squares_slope(xs, ys) - least_squares_slope(clean_days, values))
    tolerance = 1e-9 * max(1.0, *(abs(v) for v in ys))
    assert abs(after - before) / WEEK <= squares_moved + tolerance


# ---- the worked example in docs/forecasts.md ---------------------------------------------


def test_the_worked_example_in_the_docs() -> None:
    kr = KeyResult(
        "teams-on-rhythm", "o", "Teams using the weekly check-in", None, Metric(12, 60, 12, "teams")
    )

    def report(month: int, day: int, hour: int, minute: int, value: float) -> KrPoint:
        return KrPoint(kr.key, datetime(2026, month, day, hour, minute, tzinfo=UTC), value, 8)

    points = [
        report(10, 1, 9, 0, 12), report(10, 8, 9, 0, 15),
        report(10, 15, 8, 10, 71), report(10, 15, 14, 0, 17),  # a slip, corrected that day
        report(10, 22, 9, 0, 20), report(10, 29, 9, 0, 210),  # 210 typed for 21, left in
        report(11, 5, 9, 0, 24), report(11, 11, 23, 30, 25),  # 00:30 on 12 Nov in Berlin
    ]  # fmt: skip
    today = date(2026, 11, 13)
    f = forecast_key_result(kr, points, today=today, end=END, tz="Europe/Berlin")
    assert f is not None
    assert f.points == 7
    assert f.per_week == pytest.approx(7 / 3)
    assert f.projected == pytest.approx(42 + 2 / 3)
    assert (round(f.low, 2), round(f.high, 2)) == (38.71, 49.37)
    assert (round(f.score_low, 3), round(f.score, 3), round(f.score_high, 3)) == (
        0.556,
        0.639,
        0.779,
    )
    assert f.needed_per_week == pytest.approx(35 / (48 / WEEK))
    assert f.words(unit="teams", span=48, locale="en", today=today) == (
        "needs +5.1/week, averaging +2.3/week → projected 43 teams (score 0.64) by 31 Dec"
    )
    sso = KeyResult("sso", "o", "SSO live", None, Metric(0, 1, 0, "", milestone=True))
    asked = [KrPoint("sso", datetime(2026, 11, 10, 9, tzinfo=UTC), 0, 6)]
    g = forecast_key_result(sso, asked, today=today, end=END, tz="Europe/Berlin")
    assert g is not None
    assert g.words(unit="", span=1, locale="en", today=today) == (
        "confidence 6/10 → may be done by 31 Dec (0.60)"
    )
    o = forecast_objective("o", [Line(0.27, f), Line(0, g), Line(0.25)], by=END)
    assert o is not None
    assert o.words() == "projected score 0.50 (0.47–0.54) by 31 Dec"
