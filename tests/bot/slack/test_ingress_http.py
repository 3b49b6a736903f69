"""POST /slack/events over real HTTP, for what Slack would never send: unsigned or forged
requests are 401 before anything of them is read, signed garbage is 400 (a field error inside a
modal), and no input at all, signed or not, makes the app answer 5xx or log a traceback.

The database is not what these tests are about: they run on SQLite only.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.slack import http
from bot.slack.http import UNREADABLE_INPUT, SlackEndpoint
from bot.slack.inbound import FORM, JSON
from bot.slack.modal import ACTION_ID
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.fuzzing import (
    event_samples,
    interactive_samples,
    mutated_form,
    random_payloads,
)
from tests.bot.slack.signing import command_body, event_body, interactive_body
from tests.bot.slack.world import OWNER, SECRET, TEAM, SlackWorld, eventually, slack_world
from tests.fuzzing import mutated

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# The world (server, database, local Slack) is built once per test, not per example.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Ingress:
    """The running app, what it logged, and real-shaped payloads of each kind to mutate."""

    def __init__(
        self,
        world: SlackWorld,
        caplog: pytest.LogCaptureFixture,
        *,
        command: dict[str, str],
        interactive: list[dict[str, Any]],
        events: list[dict[str, Any]],
    ) -> None:
        self.world = world
        self.caplog = caplog
        self.command = command
        self.interactive = interactive
        self.events = events

    def __repr__(self) -> str:  # hypothesis shows it with each failing example
        return "Ingress(...)"

    @property
    def endpoint(self) -> SlackEndpoint:
        for route in self.world.web_app.router.routes():
            owner = getattr(route.handler, "__self__", None)
            if isinstance(owner, SlackEndpoint):
                return owner
        raise AssertionError("no SlackEndpoint route")

    async def post(
        self, raw: bytes, *, content_type: str | None, headers: Mapping[str, str]
    ) -> int:
        sent = dict(headers)
        if content_type is not None:
            sent["Content-Type"] = content_type
        async with self.world.slack.session.post(
            self.world.slack.url, data=raw, headers=sent, skip_auto_headers=["Content-Type"]
        ) as response:
            await response.read()
            return response.status

    async def signed(self, raw: bytes, content_type: str | None = FORM, **stamp: Any) -> int:
        return await self.post(raw, content_type=content_type, headers=signed(raw, **stamp))

    async def settled(self) -> list[logging.LogRecord]:
        """Once the work after the acknowledgements is done, what was logged (then forgotten)."""
        while running := bolt_listeners():
            await asyncio.gather(*running, return_exceptions=True)
            await self.endpoint.drain()
        await self.endpoint.drain()
        await self.world.gateway.drain()
        records = [r for r in self.caplog.records if r.name != "aiohttp.access"]
        self.caplog.clear()
        return records


def bolt_listeners() -> list[asyncio.Task[object]]:
    """bolt's listeners still at work: once `ack()` is called bolt answers and goes on in a
    task of its own (slack_bolt.listener.asyncio_runner), which nothing else waits for."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and "run_ack_function_asynchronously" in getattr(task.get_coro(), "__qualname__", "")
    ]


def signed(raw: bytes, *, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature of raw bytes (tests/bot/slack/signing.py signs text)."""
    timestamp = str(int(time.time()) if stamp is None else stamp).encode()
    base = b"v0:" + timestamp + b":" + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp.decode(), "X-Slack-Signature": "v0=" + digest}


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    """Records that would put an error or a traceback in the server's log."""
    return [
        f"{r.name}: {r.getMessage()}" for r in records if r.exc_info or r.levelno >= logging.ERROR
    ]


@pytest.fixture
async def ingress(store: SqlStore, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Ingress]:
    async with slack_world(store) as world:
        await world.command("checkin", who=OWNER, channel="D0001ACME")
        [view] = await eventually(world.opened_views)
        user = world.user(OWNER).id
        fake = world.fake
        command = payloads.slash_command(
            "help", user_id=user, team=TEAM.id, response_url=fake.response_url(),
            trigger_id=fake.trigger(),
        )  # fmt: skip
        interactive = interactive_samples(
            user_id=user, team=TEAM.id, trigger_id=fake.trigger(),
            response_url=fake.response_url(), view=view,
        )  # fmt: skip
        events = event_samples(user_id=user, team=TEAM.id)
        caplog.set_level(logging.INFO)
        built = Ingress(world, caplog, command=command, interactive=interactive, events=events)
        await built.settled()
        fake.calls.clear()  # opening the modal above; each test starts from a quiet Slack
        fake.responses.clear()
        yield built


def refused_without_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes any attempt to decode a body fail the test."""

    def decode_body(raw: bytes) -> str:
        raise AssertionError(f"decoded an unverified body: {raw[:40]!r}")

    monkeypatch.setattr(http, "decode_body", decode_body)


# ---- unverifiable: 401, nothing read -----------------------------------------------------

NOT_UTF8 = b"command=/okr&text=\xff\xfe\xfd"
COMMAND = b"command=%2Fokr&user_id=U1&text=help"


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (b"garbage", {}),
        (b"payload={not json", {}),
        (NOT_UTF8, {}),
        (NOT_UTF8, signed(NOT_UTF8, secret="not-the-signing-secret")),
        (COMMAND, signed(COMMAND) | {"X-Slack-Request-Timestamp": "yesterday"}),
        (COMMAND, signed(COMMAND) | {"X-Slack-Request-Timestamp": "1e9"}),
        (COMMAND, signed(COMMAND, stamp=int(time.time()) - 6 * 60)),
        # an hour ahead: the stamp is taken when the tests are collected, minutes earlier
        (COMMAND, signed(COMMAND, stamp=int(time.time()) + 60 * 60)),
        (COMMAND, {"X-Slack-Request-Timestamp": str(int(time.time()))}),
        (COMMAND, signed(COMMAND) | {"X-Slack-Signature": "v0=" + "0" * 64}),
        (COMMAND, signed(COMMAND) | {"X-Slack-Signature": "sha256=abc"}),
        (COMMAND + b"&text=more", signed(COMMAND)),
    ],
    ids=["garbage", "payload-not-json", "not-utf8", "not-utf8-forged", "timestamp-not-number",
         "timestamp-float", "stale", "future", "no-signature", "wrong-signature",
         "other-scheme", "body-changed"],
)  # fmt: skip
async def test_unverifiable_requests_are_401_and_never_read(
    ingress: Ingress, monkeypatch: pytest.MonkeyPatch, raw: bytes, headers: dict[str, str]
):
    refused_without_reading(monkeypatch)
    assert await ingress.post(raw, content_type=FORM, headers=headers) == 401
    [record] = await ingress.settled()  # one line, no traceback
    assert record.levelno == logging.INFO
    assert "refused (401)" in record.getMessage()
    assert not record.exc_info
    assert ingress.world.fake.calls == []


async def test_unsigned_ssl_checks_and_challenges_are_refused_too(ingress: Ingress):
    challenge = b'{"type": "url_verification", "challenge": "3eZbrw1aB"}'
    assert await ingress.post(challenge, content_type=JSON, headers={}) == 401
    assert await ingress.post(b"ssl_check=1&token=x", content_type=FORM, headers={}) == 401


# ---- verified but malformed: 400, one line -----------------------------------------------


def interaction(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def with_change(payload: dict[str, Any], **change: Any) -> dict[str, Any]:
    return payload | change


def malformed_cases(ingress: Ingress) -> list[tuple[bytes, str | None]]:
    click, home, submission, suggestion = ingress.interactive
    home_opened = ingress.events[0]
    first_action = click["actions"][0]
    return [
        (NOT_UTF8, FORM),
        (b"payload={not json", FORM),
        (b"payload=%5B%5D", FORM),
        (b"", FORM),
        (b"token=x&team_id=T1", FORM),
        (b"not json", JSON),
        (b"[" * 50_000, JSON),
        (b"command=/okr", "text/plain"),
        (command_body(ingress.command).encode(), None),
        (command_body(ingress.command | {"event": "x"}).encode(), FORM),
        (command_body({k: v for k, v in ingress.command.items() if k != "user_id"}).encode(),
         FORM),
        (event_body(home_opened | {"event": None}).encode(), JSON),
        (event_body(home_opened | {"event": {"user": "U1"}}).encode(), JSON),
        (event_body(home_opened | {"authorizations": "T1"}).encode(), JSON),
        (interaction(with_change(click, actions=[first_action | {"value": 17}])), FORM),
        (interaction(with_change(click, actions=[])), FORM),
        (interaction(with_change(home, user="U0LUCAS")), FORM),
        (interaction(with_change(home, team=["T0ACME"])), FORM),
        (interaction(with_change(submission, view=None)), FORM),
        (interaction(with_change(suggestion, block_id=None)), FORM),
        (interaction({"type": "shortcut", "callback_id": "x"}), FORM),
        (b"{}", "application/json; K1kP.*"),  # a header the standard library cannot parse
    ]  # fmt: skip


async def test_verified_but_malformed_requests_are_400_with_one_line(ingress: Ingress):
    for raw, content_type in malformed_cases(ingress):
        assert await ingress.signed(raw, content_type) == 400, raw[:80]
        records = await ingress.settled()
        assert [r.levelno for r in records] == [logging.WARNING], raw[:80]
        assert "malformed (400)" in records[0].getMessage()
        assert not records[0].exc_info
    assert ingress.world.fake.calls == []  # nothing ran
    assert ingress.world.fake.responses == []


async def test_a_modal_input_of_an_unexpected_shape_is_a_field_error(ingress: Ingress):
    submission = json.loads(json.dumps(ingress.interactive[2]))
    values = submission["view"]["state"]["values"]
    block_id = next(iter(values))
    values[block_id] = {ACTION_ID: {"type": "number_input", "value": {"nested": True}}}
    raw = interaction(submission)
    async with ingress.world.slack.session.post(
        ingress.world.slack.url, data=raw, headers=signed(raw) | {"Content-Type": FORM}
    ) as response:
        assert response.status == 200
        assert await response.json() == {
            "response_action": "errors",
            "errors": {block_id: UNREADABLE_INPUT},
        }
    [record] = await ingress.settled()
    assert record.levelno == logging.WARNING


# ---- verified and well-formed: as before --------------------------------------------------


async def test_every_real_sample_is_answered_as_before(ingress: Ingress):
    """The payloads the properties below mutate all get through, so the mutations test
    something."""
    bodies = [(command_body(ingress.command), FORM)]
    bodies += [(interactive_body(p), FORM) for p in ingress.interactive]
    bodies += [(event_body(e), JSON) for e in ingress.events]
    for body, content_type in bodies:
        assert await ingress.signed(body.encode(), content_type) == 200, body[:80]
    assert tracebacks(await ingress.settled()) == []
    await eventually(lambda: ingress.world.fake.responses)  # the command's help came back


async def test_ssl_checks_and_rate_limit_notices_are_answered(ingress: Ingress):
    assert await ingress.signed(b"ssl_check=1&token=legacy", FORM) == 200
    notice = {"token": "t", "type": "app_rate_limited", "team_id": TEAM.id,
              "minute_rate_limited": 1518467820, "api_app_id": payloads.APP_ID}  # fmt: skip
    assert await ingress.signed(json.dumps(notice).encode(), JSON) == 200
    records = await ingress.settled()
    assert [r.getMessage() for r in records if r.name == "bot.slack.http"] == [
        f"Slack paused the events of workspace {TEAM.id} for a minute (rate limited)"
    ]


async def test_a_content_type_with_parameters_and_capitals_is_read_as_bolt_reads_it(
    ingress: Ingress,
):
    event = ingress.events[0]
    raw = event_body(event).encode()
    assert await ingress.signed(raw, "Application/JSON; charset=utf-8") == 200
    user = ingress.world.user(OWNER).id
    await eventually(lambda: ingress.world.fake.published.get(user))
    assert tracebacks(await ingress.settled()) == []


# ---- properties --------------------------------------------------------------------------

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
recent_stamps = st.integers(-(10**6), 10**6).map(lambda d: str(int(time.time()) + d))
signatures = st.binary(min_size=32, max_size=32).map(lambda b: "v0=" + b.hex())
content_types = st.sampled_from([FORM, JSON, "text/plain", "multipart/form-data", None])


@PROPERTY
@given(
    raw=st.binary(max_size=400),
    content_type=content_types,
    stamp=st.none() | header_text | recent_stamps,
    signature=st.none() | header_text | signatures,
)
async def test_unsigned_bytes_are_always_refused(
    ingress: Ingress,
    raw: bytes,
    content_type: str | None,
    stamp: str | None,
    signature: str | None,
):
    """Random headers too: a timestamp near now, a signature of the right shape."""
    headers = {}
    if stamp is not None:
        headers["X-Slack-Request-Timestamp"] = stamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    assert await ingress.post(raw, content_type=content_type, headers=headers) == 401
    assert tracebacks(await ingress.settled()) == []


@PROPERTY
@given(raw=st.binary(max_size=400), content_type=content_types)
async def test_signed_bytes_never_fail(ingress: Ingress, raw: bytes, content_type: str | None):
    status = await ingress.signed(raw, content_type)
    event(f"status {status}")
    assert 200 <= status < 500
    assert tracebacks(await ingress.settled()) == []


@PROPERTY
@given(data=st.data(), pick=st.integers(0, 5), forged=st.sampled_from([False, False, True]))
async def test_mutated_real_payloads_never_fail(
    ingress: Ingress, data: st.DataObject, pick: int, forged: bool
):
    samples = [(p, FORM) for p in ingress.interactive] + [(e, JSON) for e in ingress.events]
    payload, content_type = samples[pick]
    changed = data.draw(mutated(payload))
    body = event_body(changed) if content_type == JSON else interactive_body(changed)
    secret = "forged" if forged else SECRET
    status = await ingress.signed(body.encode(), content_type, secret=secret)
    event(f"{'forged' if forged else 'signed'}: status {status}")
    assert status == 401 if forged else 200 <= status < 500
    assert tracebacks(await ingress.settled()) == []


@PROPERTY
@given(data=st.data())
async def test_mutated_commands_never_fail(ingress: Ingress, data: st.DataObject):
    fields = data.draw(mutated_form(ingress.command))
    status = await ingress.signed(urlencode(fields).encode(), FORM)
    event(f"status {status}")
    assert 200 <= status < 500
    assert tracebacks(await ingress.settled()) == []


@PROPERTY
@given(payload=random_payloads, as_json=st.booleans())
async def test_random_payloads_never_fail(ingress: Ingress, payload: dict[str, Any], as_json: bool):
    body = event_body(payload) if as_json else interactive_body(payload)
    status = await ingress.signed(body.encode(), JSON if as_json else FORM)
    event(f"status {status}")
    assert 200 <= status < 500
    assert tracebacks(await ingress.settled()) == []
