"""What a chart shows, as plain data: the core builds these, `rhythm.charts` draws them.

Nothing here imports matplotlib, so the digest and the commands describe their charts without
paying for the drawing library; only the renderer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rhythm.present import DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Track:
    """One line over a cycle: what was reported, then where the trend leads by the cycle's
    end, with its uncertainty band. For a progress chart values are shares (0.45 for 45%); for
    a key result's chart they are its own values."""

    label: str
    history: tuple[tuple[date, float], ...]  # oldest first
    projected: float | None = None  # at the cycle's end
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class ProgressChart:
    """A team's objectives over the cycle against the expected pace: a straight line from 0 at
    the cycle's start to 100% at its end."""

    title: str
    name: str  # a file name without extension: "growth-2026-W48"
    start: date
    end: date
    today: date
    tracks: tuple[Track, ...]  # one per objective


@dataclass(frozen=True, slots=True)
class KrChart:
    """One key result's values, its start and target, and the projection."""

    title: str
    name: str
    start: date
    end: date
    today: date
    unit: str
    start_value: float
    target: float
    track: Track
    span: float | None = None  # target minus start: how precisely values are worth showing
    locale: str = DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class HeatmapChart:
    """Rhythm health: per row (a team's ritual, "Platform · weekly") and week, the share of
    prompts answered on time; None where nobody was asked."""

    title: str
    name: str
    rows: tuple[str, ...]
    weeks: tuple[date, ...]  # Mondays
    shares: tuple[tuple[float | None, ...], ...]  # one tuple per row, one value per week


ChartSpec = ProgressChart | KrChart | HeatmapChart

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float, ...] | list[float]) -> str:
    """ "▁▃▅█": the values' shape in one line of text, for where no image can be shown."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BARS[len(_BARS) // 2] * len(values)
    scale = (len(_BARS) - 1) / (high - low)
    return "".join(_BARS[round((v - low) * scale)] for v in values)
