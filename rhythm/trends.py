"""What the charts show, from the check-in series: a team's objectives over the cycle and one
key result's values, with their projections. Pure: the renderer draws the specs made here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from statistics import fmean
from zoneinfo import ZoneInfo

from rhythm.chart_model import KrChart, ProgressChart, Track
from rhythm.digest_model import ObjectiveLine
from rhythm.forecast import Forecast, daily_values
from rhythm.okr import Cycle, KeyResult, Organisation
from rhythm.records import KrPoint


def cycle_window(cycle: Cycle, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The cycle's first and last day as a [since, until) window of UTC-comparable moments."""
    since = datetime.combine(cycle.start, time(), tz)
    until = datetime.combine(cycle.end, time.max, tz)
    return since, until


def progress_chart(
    org: Organisation,
    objectives: Sequence[ObjectiveLine],
    series: Mapping[str, Sequence[KrPoint]],
    *,
    cycle: Cycle,
    today: date,
    tz: ZoneInfo,
    name: str,
    title: str,
) -> ProgressChart:
    """Each objective's progress on each day one of its key results was reported, against
    the expected pace; a key result not reported yet on a day counts at its first known value
    (its first report, or where it stands now), so a late first check-in is no cliff."""
    tracks = []
    for o in objectives:
        steps = {
            kr.key: [
                (d, _progress(org, kr.key, v)) for d, v in daily_values(series.get(kr.key, ()), tz)
            ]
            for kr in o.key_results
        }
        days = sorted({d for found in steps.values() for d, _ in found})
        history = (
            tuple(
                (d, fmean(_at(steps[kr.key], d, kr.progress) for kr in o.key_results)) for d in days
            )
            if o.key_results
            else ()
        )
        f = o.forecast
        tracks.append(Track(
            o.title, history,
            f.score if f else None, f.score_low if f else None, f.score_high if f else None,
        ))  # fmt: skip
    return ProgressChart(title, name, cycle.start, cycle.end, today, tuple(tracks))


def kr_chart(
    kr: KeyResult,
    points: Sequence[KrPoint],
    forecast: Forecast | None,
    *,
    cycle: Cycle,
    today: date,
    tz: ZoneInfo,
    locale: str,
) -> KrChart | None:
    """One key result's reported values, start, target and projection; None without a metric."""
    metric = kr.metric
    if metric is None:
        return None
    track = Track(
        kr.title, tuple(daily_values(points, tz)),
        forecast.projected if forecast else None,
        forecast.low if forecast else None, forecast.high if forecast else None,
    )  # fmt: skip
    return KrChart(
        title=kr.title, name=f"{_slug(kr.key)}-{today.isoformat()}", start=cycle.start,
        end=cycle.end, today=today, unit=metric.unit, start_value=metric.start,
        target=metric.target, track=track, span=metric.target - metric.start, locale=locale,
    )  # fmt: skip


def chart_name(*parts: str) -> str:
    return "-".join(_slug(p) for p in parts if p)


def _slug(text: str) -> str:
    kept = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in kept.split("-") if p) or "chart"


def _progress(org: Organisation, key: str, value: float) -> float:
    kr = org.key_result.get(key)
    return kr.progress(value) if kr else 0.0


def _at(steps: Sequence[tuple[date, float]], day: date, now: float) -> float:
    """The last step on or before `day`; before the first, the first; with none, `now`."""
    if not steps:
        return now
    found = steps[0][1]
    for d, value in steps:
        if d > day:
            break
        found = value
    return found
