"""Small pieces of presentation every adapter shares: numbers, bars, arrows, status marks."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, localcontext

from babel import Locale
from babel.numbers import NumberPattern

from rhythm.okr import Metric
from rhythm.status import Status

DEFAULT_LOCALE = "en"
ATTACHED_UNITS = frozenset({"%", "‰", "°"})  # written against the number: 52%, not 52 %
MOST_PLACES = 3


def places_for(span: float | None, value: float) -> int:
    """Decimals worth showing: enough to tell a twentieth of the key result's start-to-target
    distance apart when it is known (8 → 10 M€ shows 8.9, 99.8 → 99.95% shows 99.91), else
    about three significant digits (1.88, 0.457, 1,235)."""
    scale = abs(span) / 20 if span else abs(value)
    if not scale or not math.isfinite(scale):
        return 0
    wanted = -math.floor(math.log10(scale)) + (0 if span else 2)
    return max(0, min(MOST_PLACES, wanted))


def fmt_number(value: float, *, span: float | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """`value` as people read it in `locale`: grouped thousands, no more decimals than
    `places_for` finds meaningful, none at all for a whole number."""
    if not math.isfinite(value):
        return str(value)  # "inf", "nan": nothing a person should see, but no crash
    places = places_for(span, value)
    # Half up, from the shortest decimal that reads back as `value`: 2.675 shows as 2.68 and
    # 1,234.5 as 1,235, as a person rounds (binary floats and Babel's half-even would not).
    # Room for every digit of the largest float (about 1.8e308), so quantizing never fails.
    with localcontext(prec=400):
        rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        shown: str = _pattern(locale, places).apply(rounded or Decimal(0), Locale.parse(locale))
    return shown


@functools.cache
def _pattern(locale: str, places: int) -> NumberPattern:
    """The locale's own number pattern (its grouping: 1,234,567 or 12,34,567) with at most
    `places` decimals."""
    pattern: NumberPattern = copy.copy(Locale.parse(locale).decimal_formats[None])
    pattern.frac_prec = (0, places)
    return pattern


def fmt_value(
    value: float | None,
    unit: str = "",
    *,
    span: float | None = None,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """One value with its unit: "52%", "3.5 h", "4,050 k€", "–" when there is none."""
    if value is None:
        return "–"
    text = fmt_number(value, span=span, locale=locale)
    if not unit:
        return text
    return f"{text}{unit}" if unit in ATTACHED_UNITS else f"{text} {unit}"


def fmt_metric(metric: Metric, value: float | None, locale: str = DEFAULT_LOCALE) -> str:
    """A key result's value with its unit, as precise as its range makes meaningful."""
    return fmt_value(value, metric.unit, span=metric.target - metric.start, locale=locale)


def fmt_change(
    before: float | None,
    after: float | None,
    unit: str = "",
    *,
    span: float | None = None,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """A move from one value to another, each with its unit: "52% → 58%", "4,050 → 4,500"."""
    shown = (fmt_value(v, unit, span=span, locale=locale) for v in (before, after))
    return " → ".join(shown)


def fmt_range(start: float, target: float, unit: str = "", *, locale: str = DEFAULT_LOCALE) -> str:
    """A key result's whole course: "from 3,200 to 4,500 €", "from 6 h to 1 h"."""
    span = target - start
    first, last = (fmt_value(v, unit, span=span, locale=locale) for v in (start, target))
    return f"from {first} to {last}"


def fmt_standing(
    value: float | None,
    start: float,
    target: float,
    unit: str = "",
    *,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """Where a key result stands against its target: "3.5 h → target 1 h"."""
    span = target - start
    now, goal = (fmt_value(v, unit, span=span, locale=locale) for v in (value, target))
    return f"{now} → target {goal}"


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
