"""The Slack adapter's small pure pieces: the `share` word, where a command was typed, the
modal's metadata, event de-duplication, token masking and the cap as a rate limit."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from bot.ratelimit import Limit
from bot.slack.commands import command_channel, split_share
from bot.slack.dedupe import RecentEvents
from bot.slack.http import needs_no_answer
from bot.slack.limits import messages_limit
from bot.slack.logs import RedactTokens, redact
from bot.slack.metadata import ModalState


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


def test_what_is_acknowledged_before_bolt_runs():
    form = "application/x-www-form-urlencoded"
    assert needs_no_answer(form, urlencode({"command": "/okr", "text": "status"}))
    click = {"type": "block_actions", "actions": [{"action_id": "checkin:open"}]}
    assert needs_no_answer(form, urlencode({"payload": json.dumps(click)}))
    event = {"type": "event_callback", "event": {"type": "app_home_opened"}}
    assert needs_no_answer("application/json", json.dumps(event))
    submission = {"type": "view_submission", "view": {}}
    assert not needs_no_answer(form, urlencode({"payload": json.dumps(submission)}))
    assert not needs_no_answer("application/json", json.dumps({"type": "url_verification"}))
    assert not needs_no_answer(form, "ssl_check=1&token=x")
    assert not needs_no_answer("application/json", "not json")
    assert not needs_no_answer(form, "payload=not+json")


def test_a_command_in_a_channel_names_it_and_one_in_a_dm_names_nothing():
    assert command_channel({"channel_id": "C0OKRS"}) == "slack:C0OKRS"
    assert command_channel({"channel_id": "G0PRIVATE"}) == "slack:G0PRIVATE"
    assert command_channel({"channel_id": "D0DIRECT"}) is None


def test_modal_metadata_round_trips_and_rejects_what_the_app_did_not_write():
    state = ModalState("acme", "weekly|2026-W48|42", 2)
    assert ModalState.parse(state.dump()) == state
    assert state.at(0) == ModalState("acme", "weekly|2026-W48|42", 0)
    assert len(ModalState("o" * 200, "c" * 400, 9).dump()) < 3000
    for garbage in ("", "{}", "not json", '{"o": "acme", "c": "x", "p": -1}', "[1, 2]"):
        with pytest.raises(ValueError, match=r"metadata|page"):
            ModalState.parse(garbage)


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
