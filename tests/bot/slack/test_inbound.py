"""The request parsers (bot/slack/inbound.py) and the signature check (bot/slack/http.py),
without a server: real-shaped payloads parse into their types, each malformed shape Slack
could never send (or an attacker with the secret could) is a MalformedPayload, and whatever
parses is something bolt can read without failing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.http import acknowledged_at_once, signature_problem
from bot.slack.inbound import (
    FORM,
    JSON,
    AppRateLimited,
    BlockAction,
    BlockSuggestion,
    EventCallback,
    Inbound,
    MalformedPayload,
    SlashCommand,
    SslCheck,
    UrlVerification,
    ViewSubmission,
    decode_body,
    parse,
    parse_body,
)
from bot.slack.modal import ACTION_ID
from tests.bot.slack import payloads
from tests.bot.slack.fuzzing import (
    event_samples,
    interactive_samples,
    mutated_form,
    random_payloads,
    sample_view,
)
from tests.bot.slack.signing import command_body, event_body, interactive_body
from tests.fuzzing import json_values, mutated

USER = "U0LUCAS"
TEAM = "T0ACME"
TRIGGER = "1234.5678.abcdef"
RESPONSE_URL = "https://hooks.slack.com/commands/T0ACME/1/abc"
SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"


def command_fields(text: str = "status") -> dict[str, str]:
    return payloads.slash_command(
        text, user_id=USER, team=TEAM, response_url=RESPONSE_URL, trigger_id=TRIGGER
    )


def click(action: dict[str, Any]) -> dict[str, Any]:
    return payloads.message_action(
        action, user_id=USER, team=TEAM, trigger_id=TRIGGER, response_url=RESPONSE_URL,
        channel="D0001ACME", message_ts="1700000000.000100",
    )  # fmt: skip


def submission(answers: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    return payloads.view_submission(
        sample_view(), answers or {}, user_id=USER, team=TEAM, trigger_id=TRIGGER
    )


def home_opened() -> dict[str, Any]:
    return payloads.event_callback(payloads.app_home_opened(USER), team=TEAM, event_id="Ev01")


def malformed(content_type: str, body: str) -> MalformedPayload:
    with pytest.raises(MalformedPayload) as raised:
        parse(content_type, body)
    return raised.value


def malformed_event(event: dict[str, Any]) -> str:
    return malformed(JSON, event_body(event)).reason


def malformed_interaction(payload: dict[str, Any]) -> MalformedPayload:
    return malformed(FORM, interactive_body(payload))


# ---- real payloads -----------------------------------------------------------------------


def test_a_slash_command():
    parsed = parse(FORM, command_body(command_fields("status acme share")))
    assert parsed == SlashCommand(
        team_id=TEAM, enterprise_id=None, user_id=USER, command="/okr", text="status acme share",
        channel_id="C0GENERAL", trigger_id=TRIGGER, response_url=RESPONSE_URL,
    )  # fmt: skip


def test_a_bare_command_has_empty_text():
    fields = command_fields("")
    parsed = parse(FORM, command_body(fields))
    assert isinstance(parsed, SlashCommand)
    assert parsed.text == ""


def test_a_button_in_a_message():
    parsed = parse(FORM, interactive_body(click(payloads.button("checkin:snooze", "17"))))
    assert parsed == BlockAction(
        team_id=TEAM, enterprise_id=None, user_id=USER, action_id="checkin:snooze",
        block_id="prompt_actions", value="17", trigger_id=TRIGGER, response_url=RESPONSE_URL,
        container_type="message", message_ts="1700000000.000100", channel_id="D0001ACME",
        view_id=None,
    )  # fmt: skip


def test_a_button_in_the_app_home_has_no_response_url():
    payload = payloads.home_action(
        payloads.button("home:tree", None), user_id=USER, team=TEAM, trigger_id=TRIGGER
    )
    parsed = parse(FORM, interactive_body(payload))
    assert isinstance(parsed, BlockAction)
    assert (parsed.value, parsed.response_url, parsed.view_id) == (None, None, "VHOME")
    assert parsed.container_type == "view"


def test_a_select_menu_reports_its_option():
    option = {"text": {"type": "plain_text", "text": "x"}, "value": "x"}
    select: dict[str, Any] = {"action_id": "pick", "block_id": "b", "type": "static_select"}
    select["selected_option"] = option
    parsed = parse(FORM, interactive_body(click(select)))
    assert isinstance(parsed, BlockAction)
    assert parsed.value == "x"


def suggestion(typed: str = "plat") -> dict[str, Any]:
    return payloads.block_suggestion(
        sample_view(), "kr1:blocked_by", typed, user_id=USER, team=TEAM
    )


def test_what_is_typed_in_an_external_select():
    parsed = parse(FORM, interactive_body(suggestion("Plat ")))
    assert isinstance(parsed, BlockSuggestion)
    assert (parsed.team_id, parsed.user_id, parsed.action_id) == (TEAM, USER, ACTION_ID)
    assert (parsed.block_id, parsed.value) == ("kr1:blocked_by", "Plat ")
    assert parsed.view_id is not None
    assert not acknowledged_at_once(parsed)  # the options are the acknowledgement's body


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"block_id": None}, "`block_id` is not a non-empty string"),
        ({"action_id": ""}, "`action_id` is not a non-empty string"),
        ({"value": 3}, "`value` is a number, not a string"),
        ({"user": "U0LUCAS"}, "`user` is not an object"),
    ],
)
def test_suggestion_requests_no_listener_can_read(change: dict[str, Any], reason: str):
    assert reason in malformed_interaction(suggestion() | change).reason


def test_a_view_submission_reads_every_input():
    parsed = parse(FORM, interactive_body(submission({"kr1:value": "42"})))
    assert isinstance(parsed, ViewSubmission)
    assert parsed.callback_id == "checkin"
    assert parsed.private_metadata == sample_view()["private_metadata"]
    assert parsed.input_block_ids == ("kr1:value", "kr1:status", "kr1:note")
    assert parsed.values == {
        "kr1:value": {ACTION_ID: "42"},
        "kr1:status": {ACTION_ID: None},  # nothing chosen: Slack sends selected_option null
        "kr1:note": {ACTION_ID: "fine"},  # the initial value
    }


def test_every_kind_of_input_element():
    payload = submission()
    payload["view"]["state"]["values"] = {
        "b": {
            "number": {"type": "number_input", "value": 12.5},
            "many": {"type": "multi_static_select",
                     "selected_options": [{"value": "a"}, {"value": "b"}]},
            "date": {"type": "datepicker", "selected_date": "2026-11-23"},
            "when": {"type": "datetimepicker", "selected_date_time": 1795000000},
            "people": {"type": "multi_users_select", "selected_users": ["U1", "U2"]},
            "empty": {"type": "plain_text_input", "value": None},
            "rich": {"type": "rich_text_input", "rich_text_value": {"type": "rich_text"}},
        }
    }  # fmt: skip
    parsed = parse(FORM, interactive_body(payload))
    assert isinstance(parsed, ViewSubmission)
    assert parsed.values["b"] == {
        "number": "12.5", "many": ("a", "b"), "date": "2026-11-23", "when": "1795000000",
        "people": ("U1", "U2"), "empty": None, "rich": None,
    }  # fmt: skip


def test_an_org_wide_install_has_no_team_but_the_users():
    payload = click(payloads.button("checkin:open", None))
    payload |= {"team": None, "enterprise": {"id": "E0ORG", "name": "Org"}}
    parsed = parse(FORM, interactive_body(payload))
    assert isinstance(parsed, BlockAction)
    assert (parsed.team_id, parsed.enterprise_id) == (TEAM, "E0ORG")  # from user.team_id


def test_a_modal_opened_across_workspaces_belongs_to_the_installing_one():
    payload = submission()
    payload["view"]["app_installed_team_id"] = "T0HOME"
    assert parse_body(payload).team_id == "T0HOME"  # type: ignore[union-attr]


def test_app_home_opened():
    assert parse(JSON, event_body(home_opened())) == EventCallback(
        team_id=TEAM, enterprise_id=None, event_id="Ev01", event_type="app_home_opened",
        event_time=home_opened()["event_time"], user_id=USER, channel_id="D0LUCAS", tab="home",
    )  # fmt: skip


def test_tokens_revoked_lists_whose_tokens():
    event = {"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["UBOT"]}}
    parsed = parse_body(payloads.event_callback(event, team=TEAM))
    assert isinstance(parsed, EventCallback)
    assert (parsed.revoked_token_users, parsed.revoked_bot_users) == (("U1",), ("UBOT",))


def test_an_event_we_do_not_listen_to_is_still_an_event():
    parsed = parse_body(payloads.event_callback({"type": "team_rename", "name": "x"}, team=TEAM))
    assert isinstance(parsed, EventCallback)
    assert parsed.event_type == "team_rename"
    assert parsed.user_id is None


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (JSON, '{"type": "url_verification", "challenge": "3eZb", "token": "t"}',
         UrlVerification(challenge="3eZb")),
        (FORM, "ssl_check=1&token=legacy", SslCheck()),
        (JSON, '{"type": "app_rate_limited", "team_id": "T0ACME", "minute_rate_limited": 15}',
         AppRateLimited(team_id="T0ACME", minute_rate_limited=15)),
    ],
    ids=["url_verification", "ssl_check", "app_rate_limited"],
)  # fmt: skip
def test_slacks_own_checks(content_type: str, body: str, expected: Inbound):
    assert parse(content_type, body) == expected


def test_the_listeners_can_parse_bolts_body_the_same_way():
    """parse_body on bolt's `body` dict gives what parse gave on the raw request."""
    view = sample_view()
    requests = [(FORM, command_body(command_fields()))]
    requests += [
        (FORM, interactive_body(p))
        for p in interactive_samples(
            user_id=USER, team=TEAM, trigger_id=TRIGGER, response_url=RESPONSE_URL, view=view
        )
    ]
    requests += [(JSON, event_body(e)) for e in event_samples(user_id=USER, team=TEAM)]
    for content_type, body in requests:
        bolt = AsyncBoltRequest(body=body, headers={"content-type": content_type})
        assert parse_body(bolt.body) == parse(content_type, body)


def test_what_is_acknowledged_before_bolt_runs():
    """Commands, clicks and events are answered at once; what answers with a body (a modal's
    errors or next page, Slack's challenge) or with nothing to run goes through bolt first."""
    at_once = [command_body(command_fields()), interactive_body(click(payloads.button("x", "1")))]
    through_bolt = [interactive_body(submission()), "ssl_check=1&token=x"]
    assert [acknowledged_at_once(parse(FORM, body)) for body in at_once] == [True, True]
    assert [acknowledged_at_once(parse(FORM, body)) for body in through_bolt] == [False, False]
    assert acknowledged_at_once(parse(JSON, event_body(home_opened())))
    challenge = '{"type": "url_verification", "challenge": "c"}'
    assert not acknowledged_at_once(parse(JSON, challenge))


# ---- malformed bodies --------------------------------------------------------------------


def test_invalid_utf8_is_refused_without_guessing():
    with pytest.raises(MalformedPayload, match="not UTF-8"):
        decode_body(b"command=/okr&text=\xff\xfe")
    assert decode_body("text=café".encode()) == "text=café"


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        (FORM, "payload={not json", "the form's payload is not JSON"),
        (FORM, "payload=%5B1%2C2%5D", "the form's payload is an array"),
        (FORM, "", "an empty form"),
        (FORM, "token=x&team_id=T1", "unsupported payload type None"),
        (FORM, '{"type": "event_callback"}', "starts with '{'"),
        (JSON, "not json", "the JSON body is not JSON"),
        (JSON, "[]", "the JSON body is an array"),
        (JSON, "null", "the JSON body is null"),
        (JSON, "[" * 100_000, "nested too deeply"),
        ("text/plain", "command=/okr", "unsupported content type"),
        ("application/octet-stream", "", "unsupported content type"),
    ],
)
def test_bodies_that_are_not_a_payload(content_type: str, body: str, reason: str):
    assert reason in malformed(content_type, body).reason


def test_a_reason_never_repeats_much_of_the_request():
    reason = malformed(JSON, json.dumps({"type": "x" * 10_000})).reason
    assert len(reason) < 100


# ---- malformed payloads from the issue --------------------------------------------------


def test_an_event_that_is_null():
    event = home_opened() | {"event": None}
    assert "event is not an object" in malformed_event(event)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"user": "U1"}, "`type` is not a non-empty string"),
        ({"type": 5}, "`type` is not a non-empty string"),
        ({"type": "app_home_opened", "tab": "home"}, "app_home_opened: `user`"),
        ({"type": "app_home_opened", "user": {"id": "U1"}}, "app_home_opened: `user`"),
        ({"type": "app_home_opened", "user": "U1", "tab": 1}, "`tab` is a number"),
        ({"type": "message", "user": ["U1"]}, "event.user is an array"),
        ({"type": "tokens_revoked", "tokens": None}, "`tokens` is not an object"),
        ({"type": "tokens_revoked", "tokens": {"bot": "UBOT"}}, "tokens.bot is not a list"),
        ({"type": "message", "message": {"user": 5}}, "event.message.user is a number"),
    ],
)
def test_events_of_a_shape_no_listener_can_read(event: dict[str, Any], reason: str):
    assert reason in malformed_event(payloads.event_callback(event, team=TEAM))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"event_id": None}, "`event_id` is not a non-empty string"),
        ({"event_time": "soon"}, "event_time is not an integer"),
        ({"authorizations": {"team_id": "T1"}}, "authorizations is not a list"),
        ({"authorizations": ["T1"]}, "authorizations[0] is not an object"),
        ({"team_id": 12}, "`team_id` is a number"),
    ],
)
def test_event_envelopes_bolt_would_fail_on(change: dict[str, Any], reason: str):
    assert reason in malformed_event(home_opened() | change)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ({"action_id": "checkin:open", "value": 17}, "actions[0]: `value` is a number"),
        ({"action_id": "checkin:open", "value": ["17"]}, "actions[0]: `value` is an array"),
        ({"action_id": "checkin:open", "value": {"id": 1}}, "actions[0]: `value` is an object"),
        ({"action_id": 5, "value": "17"}, "`action_id` is not a non-empty string"),
        ({"value": "17"}, "`action_id` is not a non-empty string"),
        ({"action_id": "pick", "selected_option": "x"}, "selected_option is not an object"),
        ({"action_id": "pick", "selected_option": {"value": 3}}, "selected_option: `value`"),
        ("checkin:open", "actions[0] is not an object"),
    ],
)
def test_buttons_with_values_of_the_wrong_type(action: Any, reason: str):
    assert reason in malformed_interaction(click(action)).reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"actions": []}, "`actions` is not a non-empty list"),
        ({"actions": None}, "`actions` is not a non-empty list"),
        ({"user": "U0LUCAS"}, "`user` is not an object"),
        ({"user": {"id": None}}, "user: `id`"),
        ({"trigger_id": None}, "`trigger_id`"),
        ({"response_url": "javascript:alert(1)"}, "not an http(s) URL"),
        ({"container": "message"}, "`container` is not an object"),
        ({"team": 5}, "payload.team is a number"),
        ({"channel": ["D1"]}, "payload.channel is an array"),
        ({"enterprise": {"id": 1}}, "payload.enterprise: `id`"),
        ({"event": None}, "payload.event is not an object"),
        ({"response_urls": "x"}, "response_urls is not a list"),
    ],
)
def test_block_actions_of_a_shape_no_listener_can_read(change: dict[str, Any], reason: str):
    payload = click(payloads.button("checkin:open", "1")) | change
    assert reason in malformed_interaction(payload).reason


def state_of(values: Any) -> dict[str, Any]:
    payload = submission()
    payload["view"]["state"] = {"values": values}
    return payload


@pytest.mark.parametrize(
    ("payload", "reason", "field"),
    [
        (state_of([]), "view.state has no `values` object", "kr1:value"),
        (state_of(None), "view.state has no `values` object", "kr1:value"),
        (state_of({"kr1:status": []}), "values['kr1:status'] is not an object", "kr1:status"),
        (state_of({"kr1:note": {ACTION_ID: "fine"}}), "is not an object", "kr1:note"),
        (state_of({"elsewhere": {ACTION_ID: 1}}), "is not an object", "kr1:value"),
        (state_of({"kr1:value": {ACTION_ID: {"value": True}}}), "value is a boolean", "kr1:value"),
        (state_of({"kr1:value": {ACTION_ID: {"value": {"n": 1}}}}), "value is an object",
         "kr1:value"),
        (state_of({"kr1:status": {ACTION_ID: {"selected_option": "at_risk"}}}),
         "selected_option is not an object", "kr1:status"),
        (state_of({"kr1:status": {ACTION_ID: {"selected_options": {"value": "a"}}}}),
         "selected_options is not a list", "kr1:status"),
        (state_of({"kr1:status": {ACTION_ID: {"selected_users": [1]}}}),
         "not a list of strings", "kr1:status"),
    ],
)  # fmt: skip
def test_a_modal_state_of_an_unexpected_shape(payload: dict[str, Any], reason: str, field: str):
    """An input Slack reported in a shape we cannot read: shown on that input (or the first)."""
    problem = malformed_interaction(payload)
    assert reason in problem.reason
    assert problem.field == field


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"view": None}, "`view` is not an object"),
        ({"view": "checkin"}, "`view` is not an object"),
        ({"user": None}, "`user` is not an object"),
        ({"response_urls": [{"response_url": 5}]}, "response_urls[0]: `response_url`"),
        ({"response_urls": None}, "response_urls is not a list"),
    ],
)
def test_view_submissions_without_a_view_or_a_user(change: dict[str, Any], reason: str):
    problem = malformed_interaction(submission() | change)
    assert reason in problem.reason
    assert problem.field is None  # no modal to show it in: 400


@pytest.mark.parametrize(
    ("view_change", "reason"),
    [
        ({"callback_id": None}, "`callback_id` is not a string"),
        ({"type": None}, "view: `type` is not a non-empty string"),
        ({"type": "workflow_step"}, "a 'workflow_step' view, not a modal"),
        ({"private_metadata": 3}, "`private_metadata` is a number"),
        ({"blocks": {"type": "input"}}, "view.blocks is not a list"),
        ({"blocks": [{"type": "input"}]}, "view.blocks[0]: `block_id`"),
        ({"blocks": ["input"]}, "view.blocks[0] is not an object"),
    ],
)
def test_views_of_a_shape_no_listener_can_read(view_change: dict[str, Any], reason: str):
    payload = submission()
    payload["view"] |= view_change
    assert reason in malformed_interaction(payload).reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"user_id": ""}, "`user_id` is not a non-empty string"),
        ({"trigger_id": ""}, "`trigger_id`"),
        ({"response_url": "not a url"}, "not an http(s) URL"),
        ({"response_url": "http://[::1"}, "not a URL"),
        ({"event": "app_home_opened"}, "payload.event is not an object"),
        ({"authorizations": "T1"}, "authorizations is not a list"),
        ({"response_urls": "x"}, "response_urls is not a list"),
    ],
)
def test_commands_of_a_shape_no_listener_can_read(fields: dict[str, str], reason: str):
    assert reason in malformed(FORM, command_body(command_fields() | fields)).reason


def test_a_command_without_a_response_url():
    fields = command_fields()
    del fields["response_url"]
    assert "no `response_url`" in malformed(FORM, command_body(fields)).reason


@pytest.mark.parametrize("kind", ["shortcut", "view_closed", "dialog_suggestion", "", None, 7])
def test_payload_types_the_app_does_not_handle(kind: Any):
    assert "unsupported payload type" in malformed_interaction({"type": kind}).reason


def test_url_verification_needs_its_challenge():
    assert "`challenge`" in malformed(JSON, '{"type": "url_verification"}').reason


def test_ids_nested_deeper_than_slack_nests_them():
    message: dict[str, Any] = {"type": "message"}
    event = message
    for _ in range(10):
        event = {"type": "message", "message": event}
    assert "nested too deeply" in malformed_event(payloads.event_callback(event, team=TEAM))


# ---- the signature -----------------------------------------------------------------------

NOW = 1_800_000_000


def signed(raw: bytes, *, stamp: str = str(NOW), secret: bytes = SECRET) -> dict[str, str]:
    digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest}


def test_a_signed_body_is_verified_even_when_it_is_not_utf8():
    raw = b"\xff\xfe not text"
    assert signature_problem(SECRET, signed(raw), raw, now=NOW) is None


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({}, "no X-Slack-Request-Timestamp"),
        ({"X-Slack-Request-Timestamp": "abc"}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": ""}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": f" {NOW}"}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": "1_800_000_000"}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": "١٨٠٠٠٠٠٠٠٠"}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": "9" * 40}, "not a number of seconds"),
        ({"X-Slack-Request-Timestamp": str(NOW - 301)}, "more than five minutes"),
        ({"X-Slack-Request-Timestamp": str(NOW + 301)}, "more than five minutes"),
        ({"X-Slack-Request-Timestamp": str(NOW)}, "no X-Slack-Signature"),
    ],
    ids=["none", "letters", "empty", "space", "underscores", "arabic-digits", "huge", "stale",
         "future", "no-signature"],
)  # fmt: skip
def test_unverifiable_timestamps_and_missing_signatures(headers: dict[str, str], problem: str):
    outcome = signature_problem(SECRET, headers, b"command=/okr", now=NOW)
    assert outcome is not None
    assert problem in outcome


@pytest.mark.parametrize(
    "signature",
    ["", "v0=", "v1=" + "0" * 64, "v0=" + "0" * 64, "v0=é" + "0" * 62, "v0=zz"],
)
def test_signatures_that_do_not_match(signature: str):
    raw = b"command=/okr"
    headers = signed(raw) | {"X-Slack-Signature": signature}
    assert signature_problem(SECRET, headers, raw, now=NOW) == "the signature does not match"


def test_a_signature_covers_the_timestamp_and_every_byte():
    raw = b"command=/okr&text=help"
    headers = signed(raw)
    assert signature_problem(SECRET, headers, raw + b" ", now=NOW) is not None
    later = headers | {"X-Slack-Request-Timestamp": str(NOW + 1)}
    assert signature_problem(SECRET, later, raw, now=NOW) is not None
    assert signature_problem(b"another secret", headers, raw, now=NOW) is not None
    assert signature_problem(SECRET, headers, raw, now=NOW + 300) is None  # five minutes is fine


# ---- properties --------------------------------------------------------------------------


def bolt_can_read(content_type: str, body: str) -> None:
    """What bolt does with a request before any listener: parse it, build its context (ids,
    response URL) and look at the event's bot_id (IgnoringSelfEvents)."""
    request = AsyncBoltRequest(body=body, headers={"content-type": content_type})
    assert isinstance(request.body, dict)
    request.body.get("event", {}).get("bot_id")


def parses_or_refuses(content_type: str, body: str) -> Inbound | None:
    """Either a payload that bolt can read, or a MalformedPayload; never another error."""
    try:
        parsed = parse(content_type, body)
    except MalformedPayload:
        return None  # refusing is an answer: 400
    bolt_can_read(content_type, body)
    return parsed


def every_sample() -> list[tuple[str, dict[str, Any]]]:
    view = sample_view()
    interactive = interactive_samples(
        user_id=USER, team=TEAM, trigger_id=TRIGGER, response_url=RESPONSE_URL, view=view
    )
    return [(FORM, p) for p in interactive] + [
        (JSON, e) for e in event_samples(user_id=USER, team=TEAM)
    ]


def encoded(content_type: str, payload: dict[str, Any]) -> str:
    return event_body(payload) if content_type == JSON else interactive_body(payload)


@settings(max_examples=300)
@given(content_type=st.sampled_from([JSON, FORM, "text/plain"]), body=st.text())
def test_any_text_parses_or_is_refused(content_type: str, body: str):
    parses_or_refuses(content_type, body)


@settings(max_examples=300)
@given(raw=st.binary())
def test_any_bytes_decode_or_are_refused(raw: bytes):
    try:
        text = decode_body(raw)
    except MalformedPayload:
        return
    parses_or_refuses(FORM, text)


@settings(max_examples=500)
@given(data=st.data(), sample=st.sampled_from(every_sample()))
def test_mutated_real_payloads_parse_or_are_refused(
    data: st.DataObject, sample: tuple[str, dict[str, Any]]
):
    content_type, payload = sample
    parses_or_refuses(content_type, encoded(content_type, data.draw(mutated(payload))))


@settings(max_examples=300)
@given(fields=mutated_form(command_fields()))
def test_mutated_commands_parse_or_are_refused(fields: dict[str, str]):
    parses_or_refuses(FORM, urlencode(fields))


@settings(max_examples=300)
@given(payload=random_payloads, as_json=st.booleans())
def test_random_payloads_parse_or_are_refused(payload: dict[str, Any], as_json: bool):
    content_type = JSON if as_json else FORM
    parses_or_refuses(content_type, encoded(content_type, payload))


@settings(max_examples=200)
@given(value=json_values)
def test_any_json_document_parses_or_is_refused(value: Any):
    parses_or_refuses(JSON, json.dumps(value))
    parses_or_refuses(FORM, urlencode({"payload": json.dumps(value)}))


def test_parsing_is_fast_enough_for_a_burst():
    body = interactive_body(submission({"kr1:value": "42"}))
    started = time.perf_counter()
    for _ in range(1000):
        parse(FORM, body)
    assert time.perf_counter() - started < 1.0  # well under a millisecond each
