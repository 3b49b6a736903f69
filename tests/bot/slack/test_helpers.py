"""The Slack adapter's small pure pieces: the `share` word, where a command was typed, event
de-duplication, token masking and the cap as a rate limit. (The modal's metadata is the core's
form context: tests/rhythm/test_context.py.)"""

from __future__ import annotations

import logging

import pytest

from bot.ratelimit import Limit
from bot.slack.commands import command_channel, split_share
from bot.slack.dedupe import RecentEvents
from bot.slack.limits import messages_limit
from bot.slack.logs import RedactTokens, redact


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("status growth share", ("status growth", True)),
        ("status SHARE", ("status", True)),
        ("share", ("", True)),
        ("status growth", ("status growth", False)),
        ("status shared", ("status shared", False)),
        ("", ("", False)),
    ],
)
def test_a_trailing_share_word_asks_for_a_public_answer(typed: str, expected: tuple[str, bool]):
    assert split_share(typed) == expected


def test_a_command_in_a_channel_names_it_and_one_in_a_dm_names_nothing():
    assert command_channel({"channel_id": "C0OKRS"}) == "slack:C0OKRS"
    assert command_channel({"channel_id": "G0PRIVATE"}) == "slack:G0PRIVATE"
    assert command_channel({"channel_id": "D0DIRECT"}) is None


def test_an_event_id_is_handled_once_within_its_ttl():
    now = [0.0]
    recent = RecentEvents(ttl=60, size=3, clock=lambda: now[0])
    assert recent.first_time("Ev1")
    assert not recent.first_time("Ev1")
    now[0] = 61
    assert recent.first_time("Ev1")  # long forgotten: a new delivery, not a retry
    for n in range(2, 6):
        assert recent.first_time(f"Ev{n}")
    assert recent.first_time("Ev2")  # pushed out by newer ones: memory stays bounded


def test_tokens_are_masked_in_log_records():
    assert redact("token=xoxb-123-456-abcDEF and xapp-1-A1-2-ff") == "token=xoxb-… and xapp-…"
    record = logging.LogRecord(
        "slack", logging.INFO, __file__, 1, "calling with %s", ("xoxp-9-secret",), None
    )
    assert RedactTokens().filter(record)
    assert record.getMessage() == "calling with xoxp-…"


def test_the_workspace_cap_becomes_an_even_rate():
    assert messages_limit(20) == Limit(20, 1.0)
    assert messages_limit(0.5).interval == pytest.approx(2.0)
    with pytest.raises(ValueError, match="positive"):
        messages_limit(0)
