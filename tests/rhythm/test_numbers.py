"""How numbers read everywhere a person sees one: grouped, with their unit, no more decimals
than the key result makes meaningful, in the organisation's locale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhythm.forms import parse_number
from rhythm.present import fmt_change, fmt_number, fmt_range, fmt_standing, fmt_value


@pytest.mark.parametrize(
    ("value", "unit", "span", "shown"),
    [
        (52, "%", 30, "52%"),
        (99.91, "%", 0.15, "99.91%"),  # a narrow range keeps the digits that tell it apart
        (8.934, "M€", 2, "8.9 M€"),  # not 8.934M€
        (1.883, "incidents", -5, "1.9 incidents"),  # not 1.883
        (3200, "€", 1300, "3,200 €"),
        (4050, "", None, "4,050"),
        (1234.5, "", None, "1,235"),  # half up, as a person rounds
        (2.675, "", None, "2.68"),  # from the decimal typed, not the binary float
        (0.4567, "", None, "0.457"),
        (-3.25, "h", None, "-3.25 h"),
        (-0.0004, "", None, "0"),  # never "-0"
        (1e12, "", None, "1,000,000,000,000"),
        (310, "k€", 900, "310 k€"),
        (12.0, "ms", None, "12 ms"),  # a whole number has no decimals
    ],
)
def test_a_value_reads_with_its_unit_and_a_sensible_precision(
    value: float, unit: str, span: float | None, shown: str
) -> None:
    assert fmt_value(value, unit, span=span) == shown


def test_no_value_is_a_dash() -> None:
    assert fmt_value(None, "%") == "–"


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("en", "1,234,567.89 €"),
        ("de_DE", "1.234.567,89 €"),
        ("fr", "1\u202f234\u202f567,89 €"),
        ("en_IN", "12,34,567.89 €"),
    ],
)
def test_thousands_and_decimals_follow_the_locale(locale: str, shown: str) -> None:
    assert fmt_value(1234567.891, "€", span=1, locale=locale) == shown


def test_a_change_a_range_and_a_standing_carry_the_unit_on_both_ends() -> None:
    assert fmt_change(52, 58, "%", span=30) == "52% → 58%"
    assert fmt_change(4050, 4500) == "4,050 → 4,500"
    assert fmt_range(3200, 4500, "") == "from 3,200 to 4,500"
    assert fmt_range(6, 1, "h") == "from 6 h to 1 h"
    assert fmt_standing(3.5, 6, 1, "h") == "3.5 h → target 1 h"  # a decreasing key result


def test_a_change_from_nothing_says_so() -> None:
    assert fmt_change(None, 12, "ms") == "– → 12 ms"


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_what_is_shown_reads_back_as_a_number_close_to_the_value(value: float) -> None:
    shown = fmt_number(value)
    read = parse_number(shown)
    assert read is not None
    assert abs(read - value) <= max(0.0006, abs(value) * 0.006)


@pytest.mark.parametrize("value", [1e28, -3.5e40, 1.7976931348623157e308, float("inf")])
def test_any_float_is_written_without_a_crash(value: float) -> None:
    assert fmt_number(value)
