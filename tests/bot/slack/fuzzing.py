"""Hypothesis strategies for what comes over the network from Slack: real-shaped payloads
(tests/bot/slack/payloads.py) with fields dropped or retyped, random JSON, random forms.

A mutation changes one field's kind (a string becomes a number, an object null...) or drops it;
it never puts another string where a string was, so a mutated payload never names a URL, a
user or a button value that a real one could not (what those values mean is the listeners'
business, not the request parser's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from bot.slack.modal import ACTION_ID
from tests.bot.slack import payloads
from tests.fuzzing import json_values

# Fields bolt reads from every payload, and the one that makes a form an interaction.
ENVELOPE_KEYS = ["event", "team", "user", "channel", "enterprise", "authorizations",
                 "response_urls", "response_url", "payload", "ssl_check"]  # fmt: skip


# What people type or name; the other fields of a command (ids, the trigger, the response
# URL) are Slack's own and are only dropped or emptied.
TYPED_BY_PEOPLE = ("text", "command", "channel_name", "user_name", "team_domain")


@st.composite
def mutated_form(draw: st.DrawFn, fields: Mapping[str, str]) -> dict[str, str]:
    """A slash command's form with fields dropped, emptied, rewritten or added."""
    result = dict(fields)
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from(["drop", "empty", "text", "add"]))
        if change == "add" or not result:
            key = draw(st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=6))
            result[key] = draw(st.text(max_size=12))
            continue
        key = draw(st.sampled_from(sorted(result)))
        if change == "drop":
            del result[key]
        elif change == "empty":
            result[key] = ""
        elif key in TYPED_BY_PEOPLE:
            result[key] = draw(st.text(max_size=12))
    return result


known_types = st.sampled_from(
    ["block_actions", "view_submission", "event_callback", "url_verification",
     "app_rate_limited", "shortcut", "view_closed", "block_suggestion"]
)  # fmt: skip
payload_keys = st.sampled_from(
    [*ENVELOPE_KEYS, "actions", "view", "trigger_id", "event_id", "challenge", "command"]
)
random_payloads = st.builds(
    lambda fields, kind: {**fields, "type": kind} if kind else fields,
    st.dictionaries(payload_keys | st.text(max_size=6), json_values, max_size=8),
    st.none() | known_types,
)


# ---- real-shaped samples ---------------------------------------------------------------


def sample_view() -> dict[str, Any]:
    """A modal as the app sends it to views.open: a text, a number and a select input."""

    def block(block_id: str, element: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": block_id},
            "element": {"action_id": ACTION_ID, **element},
        }

    options = [
        {"text": {"type": "plain_text", "text": name}, "value": name}
        for name in ("on_track", "at_risk", "off_track")
    ]
    return {
        "type": "modal",
        "callback_id": "checkin",
        "private_metadata": '{"o":"acme","c":"weekly|1","p":0}',
        "title": {"type": "plain_text", "text": "Check-in"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "How is it going?"}},
            block("kr1:value", {"type": "number_input", "is_decimal_allowed": True}),
            block("kr1:status", {"type": "static_select", "options": options}),
            block("kr1:note", {"type": "plain_text_input", "initial_value": "fine"}),
        ],
    }


def interactive_samples(
    *, user_id: str, team: str, trigger_id: str, response_url: str, view: dict[str, Any]
) -> list[dict[str, Any]]:
    """block_actions from a prompt and from the App Home, a valid view_submission of `view`,
    and a block_suggestion from its first input."""
    answers = payloads.valid_answers(view)
    first = next(b["block_id"] for b in view["blocks"] if b["type"] == "input")
    return [
        payloads.message_action(
            payloads.button("checkin:snooze", "1"), user_id=user_id, team=team,
            trigger_id=trigger_id, response_url=response_url, channel="D0001ACME",
            message_ts="1700000000.000100",
        ),
        payloads.home_action(
            payloads.button("home:tree", None, block_id="home_actions"), user_id=user_id,
            team=team, trigger_id=trigger_id,
        ),
        payloads.view_submission(view, answers, user_id=user_id, team=team,
                                 trigger_id=trigger_id),
        payloads.block_suggestion(view, first, "plat", user_id=user_id, team=team),
    ]  # fmt: skip


def event_samples(*, user_id: str, team: str) -> list[dict[str, Any]]:
    """Events API bodies: App Home opened, tokens revoked, URL verification."""
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTDRUM"]},
               "event_ts": "1700000000.000200"}  # fmt: skip
    return [
        payloads.event_callback(payloads.app_home_opened(user_id), team=team),
        payloads.event_callback(revoked, team=team),
        {
            "token": payloads.VERIFICATION_TOKEN,
            "challenge": "3eZbrw1aB",
            "type": "url_verification",
        },
    ]
