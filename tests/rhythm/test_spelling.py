"""The nearest known name to a mistyped one, or none when nothing is near enough."""

from __future__ import annotations

import pytest

from rhythm.spelling import closest

COMMANDS = ("help", "mine", "status", "tree", "checkin", "digest", "subscribe", "snooze")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("chekin", "checkin"), ("CHECKIN ", "checkin"), ("minez", "mine"), ("statsu", "status")],
)
def test_a_typo_gives_the_name_it_was_meant_to_be(typed: str, meant: str):
    assert closest(typed, COMMANDS) == meant


@pytest.mark.parametrize("typed", ["reminders", "dance", "frobnicate", "", "tz"])
def test_a_word_near_nothing_gives_nothing(typed: str):
    assert closest(typed, COMMANDS) is None


def test_the_name_comes_back_as_it_is_spelt():
    assert closest("growht", ["Acme", "Growth", "growth-eu"]) == "Growth"
    assert closest("x", []) is None
