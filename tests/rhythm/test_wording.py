"""Titles shortened at word boundaries, parts joined without stray separators."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rhythm.wording import ELLIPSIS, joined, shorten

TITLE = "Onboarding completion rate from 40% to 70%"


def test_a_title_that_fits_is_kept_whole():
    assert shorten(TITLE, len(TITLE)) == TITLE
    assert shorten("", 5) == ""


@pytest.mark.parametrize(
    ("limit", "shown"),
    [
        (41, "Onboarding completion rate from 40% to…"),
        (30, "Onboarding completion rate…"),
        (27, "Onboarding completion rate…"),
        (26, "Onboarding completion…"),
    ],
)
def test_a_long_title_is_shortened_at_a_word_boundary(limit: int, shown: str):
    assert shorten(TITLE, limit) == shown


def test_punctuation_left_dangling_by_the_cut_goes_too():
    assert shorten("Grow revenue, retention and margins", 22) == "Grow revenue…"
    assert shorten("Latency · p95 · every region", 12) == "Latency…"


def test_a_single_word_longer_than_half_the_limit_is_cut_inside():
    url = "see https://example.com/a/very/long/path/to/a/page"
    assert shorten(url, 20) == url[:19] + ELLIPSIS


def test_the_limit_must_leave_room():
    with pytest.raises(ValueError, match="limit must be positive"):
        shorten(TITLE, 0)


@given(st.text(alphabet="ab .,", max_size=80), st.integers(min_value=1, max_value=90))
def test_shortened_text_never_passes_the_limit_and_keeps_the_start(text: str, limit: int):
    shown = shorten(text, limit)
    assert len(shown) <= limit
    if shown.endswith(ELLIPSIS) and shown != text:
        kept = shown.removesuffix(ELLIPSIS)
        assert text.startswith(kept)
        # never mid-word: the cut falls before a space, unless the word had no boundary
        rest = text[len(kept) :]
        assert not kept or rest[:1] in " .," or len(kept) == limit - 1


def test_joined_skips_blank_parts():
    assert joined(["52%", "", "target 70%", "  "]) == "52% · target 70%"
    assert joined([]) == ""
    assert joined(["a", "b"], "; ") == "a; b"
