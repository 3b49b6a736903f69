"""Where each key result is heading by its cycle's end, from the values its owner reported.

A metric's forecast is a robust straight line through its reported values against the days
they were reported (Theil–Sen: the median of the pairwise slopes), read off at the cycle's last
day, with a band for how far the reports leave it unsure. A milestone has no trend to draw: its
owner's confidence is the forecast. Objectives roll their key results up the way the digest
rolls progress up. The method, its assumptions and its limits are in docs/forecasts.md.

Pure: the same points, days and timezone always give the same forecast.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from math import fsum
from statistics import NormalDist, median
from typing import Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal, get_minus_sign_symbol, get_plus_sign_symbol

from rhythm.okr import Direction, KeyResult, Metric
from rhythm.present import DEFAULT_LOCALE, fmt_number, fmt_value
from rhythm.records import KrPoint

# The early warning: the trend says "probably not" while the owner says "probably".
WARNING_SCORE = 0.4
WARNING_CONFIDENCE = 7
LIKELY = 0.7  # a milestone this probable reads "likely done" (the warning's 7/10)
BAND_SHARE = 0.8  # the band holds the middle 80%: a range a leader can plan around
_Z = NormalDist().inv_cdf(0.5 + BAND_SHARE / 2)
# Student's t for the same 80% at 1..30 degrees of freedom: with few points the residual
# spread is itself a guess, so the band widens beyond the normal's 1.28.
_T = (3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372,
      1.363, 1.356, 1.350, 1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325,
      1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.310)  # fmt: skip
_MAD_TO_SIGMA = 1.4826  # a normal spread's standard deviation per median absolute deviation
DAYS_PER_WEEK = 7


class Method(StrEnum):
    TREND = "trend"  # a metric: the line through its reported values
    CONFIDENCE = "confidence"  # a milestone: its owner's confidence alone


@dataclass(frozen=True, slots=True)
class Forecast:
    """One key result's projection to its cycle's last day. Values (`projected`, `low`,
    `high`, paces, `latest`) are in the key result's own units; scores are progress from
    start to target, 0..1, as `Metric.progress` counts it. A milestone's `projected` and
    scores are the probability that it is done."""

    key_result: str
    method: Method
    by: date  # the cycle's last day
    projected: float
    low: float
    high: float
    score: float
    score_low: float
    score_high: float
    per_week: float | None  # the trend's slope per week (None for a milestone)
    needed_per_week: float | None  # from the latest value to the target by `by`; 0 when met
    latest: float | None  # the latest reported value
    confidence: int | None  # the owner's latest confidence, 0..10: beside the number, not in it
    points: int  # reported days it rests on

    @property
    def disagrees(self) -> bool:
        """The early warning: the trend projects a poor score although its owner is confident."""
        return (
            self.confidence is not None
            and self.confidence >= WARNING_CONFIDENCE
            and self.score < WARNING_SCORE
        )

    def words(self, *, unit: str, span: float | None, locale: str, today: date) -> str:
        """One line for a person: "needs +3.2/week, averaging +1.1/week → projected 45%
        (score 0.45) by 31 Dec"; for a milestone "confidence 8/10 → likely done by 31 Dec
        (0.80)". `span` (target minus start) sets the precision as everywhere else; the
        year is named only when `by` is not in `today`'s."""
        return _words(self, unit, span, locale, today)

    def _words(self, unit: str, span: float | None, locale: str, today: date) -> str:
        when = fmt_day(self.by, locale, today)
        if self.method is Method.CONFIDENCE:
            return self._milestone_words(when, locale)
        projected = fmt_value(self.projected, unit, span=span, locale=locale)
        return (
            f"{self._pace_words(span, locale)} → projected {projected} "
            f"(score {fmt_score(self.score, locale)}) by {when}"
        )

    def _pace_words(self, span: float | None, locale: str) -> str:
        averaging = f"averaging {_fmt_pace(self.per_week or 0.0, span, locale)}/week"
        needed = self.needed_per_week
        if needed is None or needed == 0:
            return f"target reached, {averaging}"
        needs = f"needs {_fmt_pace(needed, span, locale)}/week"
        # Needed pace has the target's sign: on pace when the trend goes at least as far.
        on_pace = math.copysign(1.0, needed) * (self.per_week or 0.0) >= abs(needed)
        return f"{averaging}, {needs}" if on_pace else f"{needs}, {averaging}"

    def _milestone_words(self, when: str, locale: str) -> str:
        probability = fmt_score(self.projected, locale)
        if self.latest is not None and self.latest >= 1:
            return f"done already ({probability})"
        if self.projected >= LIKELY:
            outlook = "likely done"
        elif self.projected >= WARNING_SCORE:
            outlook = "may be done"
        else:
            outlook = "unlikely to be done"
        return f"confidence {self.confidence}/10 → {outlook} by {when} ({probability})"


def forecast_key_result(
    kr: KeyResult,
    points: Sequence[KrPoint],
    *,
    today: date,
    end: date,
    tz: ZoneInfo | str,
    start: date | None = None,
) -> Forecast | None:
    """Where `kr` is heading by `end` (its cycle's last day), from its reported `points`
    (UTC moments) read as days in `tz`, the team's timezone; points outside `start`..`end`
    do not count. None without a metric, for a metric with fewer than two reported days, and
    for a milestone neither done nor given a confidence."""
    metric = kr.metric
    if metric is None:
        return None
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    # Each point's day in the team's timezone, once: twenty thousand series per digest.
    dated = [(p, p.at.astimezone(zone).date()) for p in points if p.key_result == kr.key]
    mine = [(p, day) for p, day in dated if day <= end and (start is None or day >= start)]
    if metric.milestone:
        return _milestone(kr.key, [p for p, _ in mine], len({d for _, d in mine}), end)
    days = _by_day(mine)
    if len(days) < 2:
        return None
    confidence = _latest_confidence([p for p, _ in mine])
    return _trend(kr.key, metric, days, confidence, today=today, end=end)


def daily_values(points: Sequence[KrPoint], tz: ZoneInfo) -> list[tuple[date, float]]:
    """One value per day in `tz`, oldest first: a day's latest report stands for it (a
    correction made the same day replaces the slip it corrects)."""
    return _by_day([(p, p.at.astimezone(tz).date()) for p in points])


def _by_day(dated: Sequence[tuple[KrPoint, date]]) -> list[tuple[date, float]]:
    by_day: dict[date, float] = {}
    for p, day in sorted(dated, key=lambda pair: pair[0].at):
        if p.value is not None and math.isfinite(p.value):
            by_day[day] = p.value
    return sorted(by_day.items())


def _latest_confidence(points: Sequence[KrPoint]) -> int | None:
    given = [p for p in points if p.confidence is not None]
    return max(given, key=lambda p: p.at).confidence if given else None


def _milestone(key: str, points: Sequence[KrPoint], reported: int, end: date) -> Forecast | None:
    """Done already is certain; otherwise the owner's confidence, read as a probability, is
    all there is to go on: a 0/1 series has no slope worth fitting."""
    values = [p for p in points if p.value is not None]
    latest = max(values, key=lambda p: p.at).value if values else None
    confidence = _latest_confidence(points)
    if latest is not None and latest >= 1:
        chance = 1.0
    elif confidence is not None:
        chance = min(1.0, max(0.0, confidence / 10))
    else:
        return None
    return Forecast(
        key, Method.CONFIDENCE, end, chance, chance, chance, chance, chance, chance,
        None, None, latest, confidence, reported,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Line:
    """A robust line on days counted back from the forecast day (that day is x = 0, so the
    intercept is the projection) and how unsure it is there."""

    slope: float  # per day
    projected: float
    down: float  # how far below `projected` the band reaches, >= 0
    up: float


def _trend(
    key: str,
    metric: Metric,
    days: Sequence[tuple[date, float]],
    confidence: int | None,
    *,
    today: date,
    end: date,
) -> Forecast:
    xs = [float((day - end).days) for day, _ in days]
    ys = [value for _, value in days]
    line = _fit(xs, ys)
    low, high = line.projected - line.down, line.projected + line.up
    scores = sorted((metric.progress(low), metric.progress(high)))  # a falling metric swaps them
    last_day, latest = days[-1]
    return Forecast(
        key_result=key,
        method=Method.TREND,
        by=end,
        projected=line.projected,
        low=low,
        high=high,
        score=metric.progress(line.projected),
        score_low=scores[0],
        score_high=scores[1],
        per_week=line.slope * DAYS_PER_WEEK,
        needed_per_week=_needed_per_week(metric, latest, max(today, last_day), end),
        latest=latest,
        confidence=confidence,
        points=len(days),
    )


def _needed_per_week(metric: Metric, latest: float, since: date, end: date) -> float:
    """The pace that takes `latest` to the target by `end`, over the days left after
    `since` (at least one: on the last day a late move still counts); 0 once it is met."""
    toward = _toward(metric)
    if (metric.target - latest) * toward <= 0:
        return 0.0
    weeks = max(1, (end - since).days) / DAYS_PER_WEEK
    return (metric.target - latest) / weeks


def _toward(metric: Metric) -> float:
    """+1 when the target lies above the start, -1 below (the stated direction when equal)."""
    span = metric.target - metric.start
    if span:
        return math.copysign(1.0, span)
    return -1.0 if metric.direction is Direction.DOWN else 1.0


def _fit(xs: Sequence[float], ys: Sequence[float]) -> _Line:
    """Theil–Sen through (xs, ys), with xs distinct and the projection at x = 0: the slope
    is the median of all pairwise slopes and the intercept the median of y − slope·x. One
    mistyped value touches only its own n − 1 of the n(n − 1)/2 slopes: it can shift the
    median a few ranks, never by the size of the typo, as a least-squares line would."""
    n = len(xs)
    slopes = sorted((ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(n) for j in range(i + 1, n))
    slope = median(slopes)
    projected = median([y - slope * x for x, y in zip(xs, ys, strict=True)])
    down, up = _band(xs, ys, slopes, slope, projected)
    return _Line(slope, projected, down, up)


def _band(
    xs: Sequence[float], ys: Sequence[float], slopes: Sequence[float], slope: float, at: float
) -> tuple[float, float]:
    """How far below and above the projection the band reaches. Two parts, independent, so
    added in quadrature: the slope's own uncertainty (Sen's interval over the pairwise
    slopes, never less than |slope| / (n − 1), because two or three reports cannot show
    their own spread), carried from the middle of the reports out to the forecast day; and
    the scatter of the reports around the line (MAD, scaled by Student's t for the few
    points it is measured on)."""
    n = len(xs)
    lower, upper = _sen_interval(slopes, n)
    floor = abs(slope) / (n - 1)
    reach = -median(xs)  # days from the reports' middle, which the line pivots on, to x = 0
    slope_down = max(slope - lower, floor) * reach
    slope_up = max(upper - slope, floor) * reach
    residuals = [abs(y - (at + slope * x)) for x, y in zip(xs, ys, strict=True)]
    scatter = _t(n - 2) * _MAD_TO_SIGMA * median(residuals)
    return math.hypot(slope_down, scatter), math.hypot(slope_up, scatter)


def _sen_interval(slopes: Sequence[float], n: int) -> tuple[float, float]:
    """Sen's confidence interval for the slope: ranks from Kendall's S variance (the days
    are distinct, so no ties to correct for), clamped to the slopes there are."""
    count = len(slopes)
    reach = _Z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lower = max(0, round((count - reach) / 2) - 1)
    upper = min(count - 1, round((count + reach) / 2))
    return slopes[lower], slopes[upper]


def _t(freedom: int) -> float:
    if freedom < 1:
        return _Z  # two points lie on their line: no scatter to scale
    return _T[freedom - 1] if freedom <= len(_T) else _Z


# ---- objectives ---------------------------------------------------------------------------


class Standing(Protocol):
    """A key result as the digest has it (`rhythm.digest_model.KrLine`): its progress now,
    its forecast when it has one, and how its numbers are written."""

    @property
    def progress(self) -> float: ...

    @property
    def forecast(self) -> Forecast | None: ...

    @property
    def locale(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ObjectiveForecast:
    """An objective's projected score: the mean of its key results' projected scores, as its
    progress is the mean of theirs."""

    objective: str
    score: float
    score_low: float
    score_high: float
    key_results: int  # how many it averages
    by: date
    forecasted: int = 0  # how many of them have a forecast; the rest count as they stand
    locale: str = DEFAULT_LOCALE

    def words(self, *, today: date | None = None) -> str:
        return objective_words(self, today=today)


def forecast_objective(
    objective: str,
    key_results: Sequence[Forecast | Standing],
    *,
    by: date | None = None,
    locale: str | None = None,
) -> ObjectiveForecast | None:
    """The objective's score by `by`, rolled up like its progress: the plain mean over all
    its key results, each at its projected score and band, or, without a forecast, at its
    progress now (no move assumed, and no band). None when none has a forecast: that would
    only repeat its progress. `by` defaults to the latest forecast's day; `locale` to the
    first key result's."""
    forecasts = [_forecast_of(k) for k in key_results]
    made = [f for f in forecasts if f is not None]
    if not made:
        return None
    rows = [
        (f.score, f.score_low, f.score_high) if f is not None else (p, p, p)
        for f, p in zip(forecasts, (_progress_of(k) for k in key_results), strict=True)
    ]
    count = len(rows)
    return ObjectiveForecast(
        objective=objective,
        score=fsum(r[0] for r in rows) / count,
        score_low=fsum(r[1] for r in rows) / count,
        score_high=fsum(r[2] for r in rows) / count,
        key_results=count,
        by=by or max(f.by for f in made),
        forecasted=len(made),
        locale=locale or _locale_of(key_results),
    )


def objective_words(forecast: ObjectiveForecast, *, today: date | None = None) -> str:
    """ "projected score 0.52 (0.40–0.61) by 31 Dec"; without the band once it shows as one
    number. The year is named when `today` is given and `by` falls in another."""
    locale = forecast.locale
    score = fmt_score(forecast.score, locale)
    low, high = (fmt_score(s, locale) for s in (forecast.score_low, forecast.score_high))
    band = "" if low == high else f" ({low}–{high})"
    when = fmt_day(forecast.by, locale, today or forecast.by)
    return f"projected score {score}{band} by {when}"


def _forecast_of(item: Forecast | Standing) -> Forecast | None:
    return item if isinstance(item, Forecast) else item.forecast


def _progress_of(item: Forecast | Standing) -> float:
    return item.score if isinstance(item, Forecast) else item.progress


def _locale_of(items: Sequence[Forecast | Standing]) -> str:
    return next((i.locale for i in items if not isinstance(i, Forecast)), DEFAULT_LOCALE)


# ---- words --------------------------------------------------------------------------------


# An organisation-wide digest words twenty thousand forecasts, many of them the same day and
# pace: Babel's formatting, done once per distinct forecast and day.
@functools.lru_cache(maxsize=1 << 16)
def _words(forecast: Forecast, unit: str, span: float | None, locale: str, today: date) -> str:
    return forecast._words(unit, span, locale, today)


@functools.lru_cache(maxsize=1024)
def fmt_day(day: date, locale: str, today: date) -> str:
    pattern = "d MMM" if day.year == today.year else "d MMM y"
    return str(format_date(day, pattern, locale=locale))


def fmt_score(score: float, locale: str) -> str:
    """A score as OKRs write it, two decimals ("0.45"), rounded half up as a person would."""
    rounded = Decimal(repr(float(score))).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return str(format_decimal(rounded, "0.00", locale=locale))


def _fmt_pace(per_week: float, span: float | None, locale: str) -> str:
    """A signed pace, one decimal finer than the key result's values: a week moves a
    fraction of the span, and "+3/week" against "+3.4/week" is the difference that matters."""
    finer = span / 10 if span else None
    shown = fmt_number(abs(per_week), span=finer, locale=locale)
    if shown == fmt_number(0.0, span=finer, locale=locale):
        return shown  # no "+0" or "-0"
    sign = get_plus_sign_symbol(locale) if per_week > 0 else get_minus_sign_symbol(locale)
    return f"{sign}{shown}"
