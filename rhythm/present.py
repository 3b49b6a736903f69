"""Small pieces of presentation every adapter shares: numbers, bars, arrows, status marks."""

from __future__ import annotations

from collections.abc import Mapping

from rhythm.status import Status


def fmt_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return f"{text}{unit}"


def progress_bar(share: float, width: int = 10) -> str:
    """A text progress bar, e.g. ▓▓▓▓░░░░░░ for 0.4."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "▓" * filled + "░" * (width - filled)


def trend_arrow(delta: float | None) -> str:
    if delta is None:
        return "·"
    if delta >= 0.5:
        return "↑"
    if delta <= -0.5:
        return "↓"
    return "→"


STATUS_EMOJI: Mapping[Status | None, str] = {
    Status.ON_TRACK: "🟢",
    Status.AT_RISK: "🟡",
    Status.OFF_TRACK: "🔴",
    None: "⚪",
}
