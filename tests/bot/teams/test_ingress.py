"""POST /api/messages for what Teams would never send: with credentials, a request without a
valid token is 401 before its body is read; a body botbuilder cannot handle is 400 with one
log line; and no input at all makes the route answer 5xx or log a traceback.

The route is the real one (`serve_activities`, botbuilder's CloudAdapter) around a bot that
only says "ok", so these tests do not depend on what TeamsBot does. Its replies go to a
connector on the same server that accepts every call.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web
from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ChannelAccount
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from bot.teams import plugin
from bot.teams.adapter import teams_adapter
from bot.teams.ingress import (
    MAX_DEPTH,
    SERVICE_URL,
    MalformedActivity,
    UnsupportedMediaType,
    parse_activity,
)
from bot.teams.plugin import serve_activities
from tests.bot.teams.test_auth import (  # the same keys and tokens as the 401 tests
    APP_ID,
    FORGED,
    Metadata,
    metadata,
    token,
)
from tests.fuzzing import json_values, mutated

__all__ = ["metadata"]  # a fixture, used by name

JSON = "application/json"
SERVICE = "https://smba.trafficmanager.net/emea/"

# The server is built once per test, not per example.
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def message(service_url: str = SERVICE, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1700000000001",
        "timestamp": "2026-01-05T09:30:00.123Z",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": "29:lucas", "name": "Lucas Bernard", "aadObjectId": "aad-lucas"},
        "recipient": {"id": f"28:{APP_ID}", "name": "Drumbeat"},
        "conversation": {"id": "a:lucas", "conversationType": "personal", "tenantId": "t1"},
        "channelData": {"tenant": {"id": "t1"}},
        "entities": [{"type": "clientInfo", "locale": "en-GB"}],
        "text": "mine",
        **fields,
    }


def without(activity: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in activity.items() if k != key}


def encoded(activity: object) -> bytes:
    return json.dumps(activity).encode()


# ---- parse_activity ------------------------------------------------------------------------

ADD_MEMBERS = message(type="conversationUpdate", membersAdded=[{"id": "29:lucas"}])
CARD_ACTION = message(type="invoke", name="adaptiveCard/action")
MALFORMED: dict[str, tuple[dict[str, Any], str]] = {
    # the examples
    "no conversation": (without(message(), "conversation"), "`conversation`"),
    "from is a string": (message(**{"from": "29:lucas"}), "`from`"),
    "garbage timestamp": (message(timestamp="yesterday"), "`timestamp`"),
    "attachments an object": (message(attachments={"contentType": "x"}), "`attachments`"),
    "attachments of strings": (message(attachments=["x"]), "`attachments`"),
    "entities a string": (message(entities="clientInfo"), "`entities`"),
    "entities of numbers": (message(entities=[1, 2]), "`entities`"),
    # the accounts a reply needs
    "conversation a string": (message(conversation="a:lucas"), "`conversation`"),
    "conversation without id": (message(conversation={"name": "x"}), "`conversation`"),
    "conversation id a number": (message(conversation={"id": 5}), "`conversation`"),
    "conversation id empty": (message(conversation={"id": ""}), "`conversation`"),
    "conversation id with a space": (message(conversation={"id": "a: b"}), "conversation.id"),
    "conversation id not ASCII": (message(conversation={"id": "a:\U00015962"}), "conversation.id"),
    "from without id": (message(**{"from": {"name": "Lucas"}}), "`from`"),
    "no recipient": (without(message(), "recipient"), "`recipient`"),
    "recipient id a list": (message(recipient={"id": ["28:x"]}), "`recipient`"),
    # strings, dates, lists of objects
    "type missing": (without(message(), "type"), "`type`"),
    "type a number": (message(type=5), "`type`"),
    "type empty": (message(type=""), "`type`"),
    "text a number": (message(text=5), "`text`"),
    "id an object": (message(id={"x": 1}), "`id`"),
    "localTimestamp a number": (message(localTimestamp=1700000000), "`localTimestamp`"),
    "expiration garbage": (message(expiration="soon"), "`expiration`"),
    "membersAdded a string": (message(membersAdded="29:lucas"), "`membersAdded`"),
    "membersAdded of strings": (message(membersAdded=["29:lucas"]), "`membersAdded`"),
    "member without id": (message(membersAdded=[{"name": "Lucas"}]), "`membersAdded`"),
    "membersRemoved an object": (message(membersRemoved={"id": "x"}), "`membersRemoved`"),
    "reactionsAdded a number": (message(reactionsAdded=3), "`reactionsAdded`"),
    "listenFor an object": (message(listenFor={}), "`listenFor`"),
    "historyDisclosed a list": (message(historyDisclosed=[True]), "`historyDisclosed`"),
    "suggestedActions a list": (message(suggestedActions=[]), "`suggestedActions`"),
    "relatesTo a string": (message(relatesTo="x"), "`relatesTo`"),
    # channel data, invoke values
    "channelData a string": (message(channelData="x"), "`channelData`"),
    "channelData a list": (message(channelData=[{}]), "`channelData`"),
    "channelData tenant a string": (message(channelData={"tenant": "t1"}), "`channelData`"),
    "card action without value": (CARD_ACTION, "adaptiveCard/action"),
    "card action value a string": ({**CARD_ACTION, "value": "x"}, "adaptiveCard/action"),
    "card action without action": ({**CARD_ACTION, "value": {}}, "adaptiveCard/action"),
    "card action a string": ({**CARD_ACTION, "value": {"action": "x"}}, "adaptiveCard/action"),
    "card action a Submit": (
        {**CARD_ACTION, "value": {"action": {"type": "Action.Submit"}}},
        "adaptiveCard/action",
    ),
    "card action value with a self key": (
        {**CARD_ACTION, "value": {"self": 1, "action": {"type": "Action.Execute"}}},
        "adaptiveCard/action",
    ),
    "token exchange": (message(type="invoke", name="signin/tokenExchange"), "signin"),
    "expectReplies": (message(deliveryMode="expectReplies"), "expectReplies"),
    # where replies go
    "no serviceUrl": (without(message(), "serviceUrl"), "`serviceUrl`"),
    "serviceUrl a number": (message(serviceUrl=5), "`serviceUrl`"),
    "serviceUrl no URL": (message(serviceUrl="junk"), "`serviceUrl`"),
    "serviceUrl ftp": (message(serviceUrl="ftp://smba.example/"), "`serviceUrl`"),
    "serviceUrl with braces": (message(serviceUrl="https://a/{x}"), "`serviceUrl`"),
    "serviceUrl with a space": (message(serviceUrl="https://a b/"), "`serviceUrl`"),
    "serviceUrl bad IPv6": (message(serviceUrl="http://[zz]/"), "`serviceUrl`"),
    "serviceUrl bad port": (message(serviceUrl="http://a:99999/"), "`serviceUrl`"),
    "serviceUrl not ASCII": (message(serviceUrl="https://bücher.example/"), "`serviceUrl`"),
}


@pytest.mark.parametrize(("activity", "named"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_activity_is_refused_with_what_is_wrong(activity: dict[str, Any], named: str):
    with pytest.raises(MalformedActivity) as refused:
        parse_activity(encoded(activity), JSON)
    assert named in refused.value.reason
    assert refused.value.status == 400


MALFORMED_BODIES: dict[str, bytes] = {
    "empty": b"",
    "not JSON": b"{not json",
    "not UTF-8": b'{"type": "message", "text": "\xff"}',
    "a UTF-8 BOM": b"\xef\xbb\xbf" + encoded(message()),
    "an array": encoded([message()]),
    "null": b"null",
    "a number": b"5",
    "a string": b'"message"',
    "NaN": encoded(message()).replace(b'"mine"', b"NaN"),
    "Infinity": encoded(message()).replace(b'"mine"', b"-Infinity"),
    "a number beyond float": encoded(message()).replace(b'"mine"', b"1e400"),
    "an integer of 5000 digits": encoded(message()).replace(b'"mine"', b"1" * 5000),
    "nested too deep": encoded(message(value=json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH))),
    "nested beyond json's recursion": b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "a lone surrogate": encoded(message()).replace(b'"mine"', b'"\\ud800"'),
    "a lone surrogate in a key": encoded(message(channelData={"\ud800": 1})),
}


@pytest.mark.parametrize("raw", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_body_that_is_no_json_object_is_refused(raw: bytes):
    with pytest.raises(MalformedActivity) as refused:
        parse_activity(raw, JSON)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/x-www-form-urlencoded",
     "application/json; charset=latin-1", "application/json; charset=utf-16",
     "application/json; charset=no-such-codec"],
)  # fmt: skip
def test_a_body_that_is_not_utf8_json_by_its_content_type_is_415(content_type: str | None):
    with pytest.raises(UnsupportedMediaType) as refused:
        parse_activity(encoded(message()), content_type)
    assert refused.value.status == 415


@pytest.mark.parametrize(
    "content_type",
    [JSON, "application/json; charset=utf-8", "application/json;charset=UTF-8",
     'application/json; charset="utf8"', "application/json; charset", "application/json; v=1"],
)  # fmt: skip
def test_utf8_json_is_read(content_type: str):
    assert parse_activity(encoded(message()), content_type) == message()


VALID: dict[str, dict[str, Any]] = {
    "a message": message(),
    "members added": ADD_MEMBERS,
    "a card action": {**CARD_ACTION, "value": {"action": {"type": "Action.Execute", "verb": "x"}}},
    "a button press": message(value={"action": "snooze", "prompt": 3}),
    "a typing indicator": {
        key: value for key, value in message(type="typing").items() if key != "text"
    },
    "the Playground's service URL": message(service_url="http://localhost:56150/_connector"),
    "an IPv6 service URL": message(service_url="http://[::1]:3978/"),
    "a channel thread": message(conversation={"id": "19:abc@thread.tacv2;messageid=1700"}),
    "an unknown type": message(type="somethingNew"),
    "nulls for optional fields": message(timestamp=None, attachments=None, channelData=None),
}


@pytest.mark.parametrize("activity", VALID.values(), ids=VALID.keys())
def test_what_teams_sends_is_read_as_it_is(activity: dict[str, Any]):
    assert parse_activity(encoded(activity), JSON) == activity


@settings(max_examples=500, deadline=None)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_an_activity_or_malformed(raw: bytes):
    try:
        activity = parse_activity(raw, JSON)
    except MalformedActivity:
        return
    Activity().deserialize(activity)  # what CloudAdapter does next


@settings(max_examples=300, deadline=None)
@given(url=st.from_regex(SERVICE_URL, fullmatch=True))
def test_every_service_url_accepted_makes_a_request_requests_can_send(url: str):
    """The URL of a reply as msrest builds it (the service URL is a format template there)
    and as requests prepares it; nothing is sent."""
    try:
        parse_activity(encoded(message(service_url=url)), JSON)
    except MalformedActivity:
        return  # a port out of range, an IPv6 address that is none
    client = ConnectorClient(MicrosoftAppCredentials.empty(), base_url=url)
    reply = client._client.format_url(
        "/v3/conversations/{conversationId}/activities/{activityId}",
        conversationId="a%3Alucas",
        activityId="1700000000001",
    )
    requests.Request("POST", reply).prepare()


# ---- over HTTP -------------------------------------------------------------------------------


class SaysOk(ActivityHandler):
    """Answers every message and every member added with "ok", every invoke with 200; a
    message "crash" is a bug."""

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        if turn_context.activity.text == "crash":
            raise RuntimeError("a bug in the bot")
        await turn_context.send_activity("ok")

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        await turn_context.send_activity("ok")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        if turn_context.activity.name == "adaptiveCard/action":
            return await super().on_invoke_activity(turn_context)  # botbuilder checks the value
        return InvokeResponse(status=200)

    async def on_adaptive_card_invoke(self, turn_context: TurnContext, invoke_value: Any) -> None:
        # None is answered 200; a response object would meet botbuilder 4.17's CloudAdapter,
        # which serialises it twice and crashes on any of them.
        return None


@dataclass
class Route:
    """The running route: where to post, where replies go, what reached the connector and
    what was logged."""

    url: str
    service_url: str
    session: aiohttp.ClientSession
    caplog: pytest.LogCaptureFixture
    replies: list[dict[str, Any]] = field(default_factory=list)

    async def post(
        self, raw: bytes, *, content_type: str | None = JSON, authorization: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type} if content_type is not None else {}
        if authorization is not None:
            headers["Authorization"] = authorization
        async with self.session.post(
            self.url, data=raw, headers=headers, skip_auto_headers=["Content-Type"]
        ) as response:
            return response.status, await response.read()

    def logged(self) -> list[logging.LogRecord]:
        """What was logged since the last call (then forgotten), the access log aside."""
        records = [r for r in self.caplog.records if r.name != "aiohttp.access"]
        self.caplog.clear()
        return records


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= logging.ERROR
    ]


@asynccontextmanager
async def running(settings: Settings, caplog: pytest.LogCaptureFixture, **adapter: Any) -> Any:
    replies: list[dict[str, Any]] = []

    async def connector(request: web.Request) -> web.Response:
        replies.append(await request.json())
        return web.json_response({"id": str(len(replies))}, status=201)

    app = web.Application()
    serve_activities(app, teams_adapter(settings, **adapter), SaysOk())
    app.router.add_post("/v3/conversations/{tail:.*}", connector)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    caplog.set_level(logging.INFO)
    try:
        async with aiohttp.ClientSession() as session:
            yield Route(f"{base}/api/messages", f"{base}/", session, caplog, replies)
    finally:
        await runner.cleanup()


@pytest.fixture
async def local(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Route]:
    """Local mode: no credentials, no tokens (the Agents Playground's way)."""
    async with running(Settings(teams_local=True), caplog) as route:
        yield route


@pytest.fixture
async def guarded(caplog: pytest.LogCaptureFixture, metadata: Metadata) -> AsyncIterator[Route]:
    """With credentials: Bot Framework tokens signed by test_auth's published key."""
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password="not-a-real-secret")
    async with running(settings, caplog, openid_metadata_url=f"{metadata.url}/openid") as route:
        yield route


async def test_a_valid_message_is_answered_by_the_bot(local: Route):
    status, _ = await local.post(encoded(message(local.service_url)))
    assert status == 201
    assert [reply["text"] for reply in local.replies] == ["ok"]
    assert tracebacks(local.logged()) == []


async def test_what_teams_sends_gets_through(local: Route):
    for name, activity in VALID.items():
        status, _ = await local.post(encoded({**activity, "serviceUrl": local.service_url}))
        assert status in (200, 201), name
    assert tracebacks(local.logged()) == []


async def test_each_malformed_activity_is_400_with_its_reason_and_one_line(local: Route):
    for name, (activity, named) in MALFORMED.items():
        if "serviceUrl" not in named:
            activity = {**activity, "serviceUrl": local.service_url}
        status, body = await local.post(encoded(activity))
        assert status == 400, name
        assert named in json.loads(body)["error"], name
        [record] = local.logged()
        assert record.levelno == logging.WARNING, name
        assert "malformed (400)" in record.getMessage(), name
        assert not record.exc_info, name
    assert local.replies == []


async def test_each_malformed_body_is_400_and_other_media_types_415(local: Route):
    for name, raw in MALFORMED_BODIES.items():
        assert (await local.post(raw))[0] == 400, name
    for content_type in (None, "text/plain", "application/json; charset=nonsense"):
        assert (await local.post(encoded(message()), content_type=content_type))[0] == 415
    records = local.logged()
    assert len(records) == len(MALFORMED_BODIES) + 3
    assert tracebacks(records) == []


async def test_a_bug_in_the_bot_still_reaches_the_error_handler(local: Route):
    await local.post(encoded(message(local.service_url, text="crash")))
    [error] = [r for r in local.logged() if r.levelno >= logging.ERROR]
    assert error.name == plugin.__name__
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], RuntimeError)


# ---- with credentials: the token first ---------------------------------------------------------


def never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse_activity(body: bytes, content_type: str | None) -> dict[str, Any]:
        raise AssertionError(f"parsed an unverified body: {body[:40]!r}")

    monkeypatch.setattr(plugin, "parse_activity", parse_activity)


def unsigned(claims: object, header: object = None) -> str:
    """A JWT with any claims and no valid signature: what anyone can send."""

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header or {'alg': 'RS256', 'kid': 'drumbeat-test-key'})}.{part(claims)}.c2ln"


UNVERIFIABLE = {
    "no token": None,
    "empty": "",
    "garbage": "Bearer not.a.token",
    "not a bearer": "Basic dXNlcjpwYXNz",
    "three parts": "Bearer a b",
    "signed with an unpublished key": f"Bearer {token(FORGED)}",
    "for another app": f"Bearer {token(audience='another-app')}",
    "expired": f"Bearer {token(expires_in=-3600)}",
    "unsigned": f"Bearer {unsigned({'iss': 'https://api.botframework.com', 'aud': APP_ID})}",
    "no issuer": f"Bearer {unsigned({'aud': APP_ID})}",
    "claims a list": f"Bearer {unsigned([1, 2])}",
}


@pytest.mark.parametrize("authorization", UNVERIFIABLE.values(), ids=UNVERIFIABLE.keys())
async def test_without_a_valid_token_it_is_401_before_the_body_is_parsed(
    guarded: Route, monkeypatch: pytest.MonkeyPatch, authorization: str | None
):
    never_parsed(monkeypatch)
    assert (await guarded.post(b"{garbage", authorization=authorization))[0] == 401
    assert (await guarded.post(encoded(message()), authorization=authorization))[0] == 401
    assert tracebacks(guarded.logged()) == []


async def test_with_a_valid_token_a_garbage_body_is_400(guarded: Route):
    status, body = await guarded.post(b"{garbage", authorization=f"Bearer {token()}")
    assert status == 400
    assert json.loads(body) == {"error": "the body is not JSON"}
    status, _ = await guarded.post(
        encoded(without(message(), "conversation")), authorization=f"Bearer {token()}"
    )
    assert status == 400
    assert tracebacks(guarded.logged()) == []


async def test_with_a_valid_token_a_valid_activity_gets_through(guarded: Route):
    """CloudAdapter's full check still runs after ours: the token must name the activity's
    service URL. (A typing activity: the bot answers it with nothing, no Azure AD needed.)"""
    typing = encoded(without(message(type="typing"), "text"))
    assert (await guarded.post(typing, authorization=f"Bearer {token()}"))[0] in (200, 201)
    other_service = f"Bearer {token(service_url='https://evil.example/')}"
    assert (await guarded.post(typing, authorization=other_service))[0] == 401


# ---- properties: any input is 2xx or 4xx ------------------------------------------------------

SAMPLES = [*VALID.values(), *(activity for activity, _ in MALFORMED.values())]

# Activities of a valid shape with any values: the space parse_activity lets through.
texts = st.text(max_size=10)
accounts = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=10)},
    optional={"name": texts, "role": st.sampled_from(["user", "bot", "skill"]) | texts,
              "aadObjectId": texts, "properties": json_values},
)  # fmt: skip
conversations = st.fixed_dictionaries(
    {"id": st.from_regex(r"[\x21-\x7e]{1,12}", fullmatch=True) | st.text(min_size=1)},
    optional={"conversationType": st.sampled_from(["personal", "channel", "groupChat"]),
              "tenantId": texts, "isGroup": st.booleans(), "properties": json_values},
)  # fmt: skip
timestamps = st.datetimes().map(lambda moment: moment.isoformat() + "Z")
KINDS = ["message", "conversationUpdate", "invoke", "event", "typing", "messageReaction",
         "installationUpdate", "endOfConversation", "messageUpdate", "messageDelete", "trace",
         "handoff", "delay", "invokeResponse", "contactRelationUpdate", "suggestion"]  # fmt: skip
card_actions = st.fixed_dictionaries(
    {"action": st.fixed_dictionaries({"type": st.just("Action.Execute")}, optional={
        "verb": texts, "data": json_values})},
)  # fmt: skip


def some(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"type": st.sampled_from(KINDS) | texts, "serviceUrl": st.just(service_url),
         "from": accounts, "recipient": accounts, "conversation": conversations},
        optional={
            "id": texts, "channelId": st.sampled_from(["msteams", "emulator", "webchat"]) | texts,
            "timestamp": timestamps, "localTimestamp": timestamps, "expiration": timestamps,
            "text": texts, "textFormat": texts, "locale": texts, "replyToId": texts,
            "deliveryMode": st.sampled_from(["normal", "notification", "ephemeral"]) | texts,
            "name": st.sampled_from(["adaptiveCard/action", "signin/verifyState"]) | texts,
            "value": json_values | card_actions, "historyDisclosed": st.booleans(),
            "membersAdded": st.lists(accounts, max_size=2),
            "membersRemoved": st.lists(accounts, max_size=2),
            "reactionsAdded": st.lists(some(type=texts), max_size=2),
            "attachments": st.lists(some(contentType=texts, content=json_values), max_size=2),
            "entities": st.lists(st.dictionaries(texts, json_values, max_size=3), max_size=2),
            "channelData": some(tenant=some(id=texts), eventType=texts, team=some(id=texts),
                                other=json_values),
            "listenFor": st.lists(texts, max_size=2),
            "suggestedActions": some(actions=st.lists(some(type=texts, value=json_values),
                                                      max_size=2)),
            "relatesTo": some(activityId=texts, user=accounts, conversation=conversations),
            "textHighlights": st.lists(some(text=texts, occurrence=st.integers()), max_size=2),
        },
    )  # fmt: skip


# What an HTTP client can put in a header: visible ASCII and spaces.
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
# Parameters too, as aiohttp parses them to pick the charset botbuilder's body is decoded in.
content_types = st.none() | header_values | st.sampled_from(
    [JSON, "application/json; charset=utf-8", "text/plain", "application/json; charset=x"]
) | st.builds(f"{JSON}; {{}}".format, header_values) | st.builds(
    f"{JSON}; charset={{}}".format, header_values | st.sampled_from(["utf-8", "UTF8", '"utf-8"'])
)  # fmt: skip


async def answered_without_failing(route: Route, raw: bytes, **post: Any) -> int:
    status, _ = await route.post(raw, **post)
    event(f"answered {status}")  # --hypothesis-show-statistics: how many got through
    assert status < 500
    assert tracebacks(route.logged()) == []
    return status


@PROPERTY
@given(raw=st.binary(max_size=300), content_type=st.just(JSON) | content_types)
async def test_any_bytes_are_answered_2xx_or_4xx(local: Route, raw: bytes, content_type: Any):
    await answered_without_failing(local, raw, content_type=content_type)


@PROPERTY
@given(value=json_values)
async def test_any_json_is_answered_2xx_or_4xx(local: Route, value: Any):
    await answered_without_failing(local, encoded(value))


@settings(PROPERTY, max_examples=250)
@given(data=st.data(), pick=st.integers(0, len(SAMPLES) - 1))
async def test_mutated_activities_are_answered_2xx_or_4xx(
    local: Route, data: st.DataObject, pick: int
):
    sample = {**SAMPLES[pick], "serviceUrl": local.service_url}
    await answered_without_failing(local, encoded(data.draw(mutated(sample))))


@settings(PROPERTY, max_examples=250)
@given(data=st.data())
async def test_activities_of_any_valid_shape_are_answered_2xx_or_4xx(
    local: Route, data: st.DataObject
):
    await answered_without_failing(local, encoded(data.draw(activities(local.service_url))))


@PROPERTY
@given(
    authorization=header_values
    | st.builds(lambda claims: f"Bearer {unsigned(claims)}", json_values)
    | st.builds(lambda claims: f"Bearer {unsigned(claims)}", st.dictionaries(
        st.sampled_from(["iss", "aud", "ver", "appid", "azp", "serviceurl", "exp"]),
        json_values | st.just("https://api.botframework.com") | st.just(APP_ID))),
    raw=st.binary(max_size=100),
)  # fmt: skip
async def test_unverifiable_requests_are_always_401(guarded: Route, authorization: str, raw: bytes):
    status, _ = await guarded.post(raw, authorization=authorization)
    assert status == 401
    assert tracebacks(guarded.logged()) == []
