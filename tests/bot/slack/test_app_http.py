"""The Slack app over real HTTP: signed slash commands, block_actions, view submissions and
events sent to POST /slack/events, as Slack sends them; answers read back from the local Slack
API (response URLs, views.open, views.publish)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.app import runtime
from bot.okrfile import load_organisation
from bot.server import create_app
from bot.slack.gateway import SlackGateway
from bot.slack.plugin import SocketMode
from rhythm.context import FormContext
from rhythm.ports import FixedClock
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.blockkit import block_problems, view_problems
from tests.bot.slack.signing import SignedPoster
from tests.bot.slack.world import (
    ACME,
    CHANNEL,
    LEAD,
    OWNER,
    PROMPT_TIME,
    SECRET,
    TEAM,
    SlackWorld,
    eventually,
    slack_settings,
    slack_users,
    slack_world,
)
from tests.peers.slack_api import FakeSlack, FakeUser


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as built:
        yield built


def responses(world: SlackWorld) -> list[dict[str, Any]]:
    return [body for _, body in world.fake.responses]


def text_of(body: dict[str, Any]) -> str:
    return str(body.get("text", "")) + str(body.get("blocks", ""))


async def test_a_command_is_acknowledged_then_answered_privately(world: SlackWorld):
    started = time.monotonic()
    response = await world.command("help", who=OWNER)
    assert response.status == 200
    assert time.monotonic() - started < 1.0
    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "ephemeral"
    assert "Commands:" in text_of(reply)
    assert "/okr mine" in text_of(reply)
    assert block_problems(reply["blocks"]) == []


async def test_an_unknown_subcommand_gets_the_help(world: SlackWorld):
    await world.command("dance", who=OWNER)
    [reply] = await eventually(lambda: responses(world))
    assert "I don't know “dance”" in text_of(reply)
    assert "Commands:" in text_of(reply)


async def test_a_trailing_share_posts_the_answer_in_the_channel(world: SlackWorld):
    await world.command("status acme share", who=OWNER)
    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "in_channel"
    assert "Acme" in text_of(reply)


async def test_the_acknowledgement_does_not_wait_for_the_work(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch
):
    release = asyncio.Event()
    slow_digest = world.drumbeat.digests.digest

    async def digest(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await slow_digest(*args, **kwargs)

    monkeypatch.setattr(world.drumbeat.digests, "digest", digest)
    response = await world.command("status", who=OWNER)
    assert response.status == 200  # acknowledged while the digest is still blocked
    assert responses(world) == []
    release.set()
    [reply] = await eventually(lambda: responses(world))
    assert "Growth" in text_of(reply)


async def test_a_mention_means_that_person(world: SlackWorld):
    claire = world.user(LEAD)
    await world.command(f"status <@{claire.id}|claire>", who=OWNER)
    [reply] = await eventually(lambda: responses(world))
    assert "Claire Martin" in text_of(reply)


@pytest.mark.parametrize(
    "forgery",
    [
        {"secret": "not-the-signing-secret"},
        {"timestamp": int(time.time()) - 6 * 60},
        {"headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
    ],
    ids=["wrong-secret", "six-minutes-old", "bad-signature"],
)
async def test_forged_or_stale_requests_are_refused_and_nothing_runs(
    world: SlackWorld, forgery: dict[str, Any]
):
    fields = payloads.slash_command(
        "help", user_id=world.user(OWNER).id, team=TEAM.id,
        response_url=world.fake.response_url(), trigger_id=world.fake.trigger(),
    )  # fmt: skip
    response = await world.slack.command(fields, **forgery)
    assert response.status == 401
    await asyncio.sleep(0.2)  # had anything started, it would have answered by now
    assert responses(world) == []
    assert world.fake.calls == []


async def test_forged_clicks_and_events_are_refused_too(world: SlackWorld):
    user = world.user(OWNER)
    click = payloads.home_action(
        payloads.button("home:tree", None), user_id=user.id, team=TEAM.id,
        trigger_id=world.fake.trigger(),
    )  # fmt: skip
    event = payloads.event_callback(payloads.app_home_opened(user.id), team=TEAM.id)
    assert (await world.slack.interactive(click, secret="forged")).status == 401
    assert (await world.slack.event(event, secret="forged")).status == 401
    await asyncio.sleep(0.2)
    assert world.fake.calls == []


async def test_url_verification_answers_slacks_challenge(world: SlackWorld):
    challenge = {
        "token": payloads.VERIFICATION_TOKEN,
        "challenge": "3eZbrw1aB",
        "type": "url_verification",
    }
    response = await world.slack.event(challenge)
    assert response.status == 200
    assert await response.json() == {"challenge": "3eZbrw1aB"}


async def test_checkin_opens_the_modal_with_the_commands_trigger(world: SlackWorld):
    await world.command("checkin", who=OWNER, channel="D0001ACME")
    [view] = await eventually(world.opened_views)
    assert view["callback_id"] == "checkin"
    assert view_problems(view) == []
    [call] = world.fake.calls_to("views.open", ok=True)
    assert call.params["trigger_id"]
    assert responses(world) == []


async def test_the_prompt_button_opens_the_modal_of_that_prompt(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    prompt = prompt_id(world, OWNER)
    started = time.monotonic()
    response = await world.click("checkin:open", str(prompt), who=OWNER)
    assert response.status == 200
    [view] = await eventually(world.opened_views)
    assert time.monotonic() - started < 3.0  # Slack's trigger window
    assert FormContext.parse(view["private_metadata"]).prompt == int(prompt)


async def test_snooze_answers_privately(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    await world.click("checkin:snooze", str(prompt_id(world, OWNER)), who=OWNER)
    [reply] = await eventually(lambda: responses(world))
    assert "Snoozed" in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False


async def test_off_this_week_replaces_the_prompt(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    await world.click("checkin:off", str(prompt_id(world, OWNER)), who=OWNER)
    [reply] = await eventually(lambda: responses(world))
    assert reply["replace_original"] is True
    assert "time off" in text_of(reply)


async def test_someone_else_cannot_use_a_prompts_button(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    await world.click("checkin:snooze", str(prompt_id(world, LEAD)), who=LEAD)  # Claire's own
    await eventually(lambda: responses(world))
    world.fake.responses.clear()
    user = world.user(OWNER)
    payload = payloads.message_action(
        payloads.button("checkin:open", str(prompt_id(world, LEAD))), user_id=user.id,
        team=TEAM.id, trigger_id=world.fake.trigger(), response_url=world.fake.response_url(),
        channel="D0001ACME", message_ts="1.000001",
    )  # fmt: skip
    await world.slack.interactive(payload)
    [reply] = await eventually(lambda: responses(world))
    assert "not yours" in text_of(reply)
    assert world.opened_views() == []


async def test_opening_the_home_tab_publishes_it_once_per_event(world: SlackWorld):
    user = world.user(OWNER)
    event = payloads.event_callback(payloads.app_home_opened(user.id), team=TEAM.id)
    assert (await world.slack.event(event)).status == 200
    view = await eventually(lambda: world.fake.published.get(user.id))
    assert view_problems(view) == []
    assert "Lucas Bernard" in str(view["blocks"])
    for retry in (1, 2, 3):  # Slack retries when it thinks we missed it
        assert (await world.slack.event(event, retry=retry)).status == 200
    await asyncio.sleep(0.2)
    assert len(world.fake.calls_to("views.publish")) == 1


async def test_a_stranger_opening_the_home_tab_is_told_what_to_do(world: SlackWorld):
    stranger = world.fake.add_user(FakeUser("U0STRANGER", "who@else.example", team=TEAM.id))
    event = payloads.event_callback(payloads.app_home_opened(stranger.id), team=TEAM.id)
    await world.slack.event(event)
    view = await eventually(lambda: world.fake.published.get(stranger.id))
    assert "not in Acme" in str(view["blocks"])


async def test_the_home_buttons_open_the_form_and_the_tree(world: SlackWorld):
    user = world.user(OWNER)
    for action in ("checkin:open", "home:tree"):
        payload = payloads.home_action(
            payloads.button(action, None, block_id="home_actions"),
            user_id=user.id, team=TEAM.id, trigger_id=world.fake.trigger(),
        )  # fmt: skip
        await world.slack.interactive(payload)
    views = await eventually(lambda: len(world.opened_views()) == 2 and world.opened_views())
    assert {v.get("callback_id", "") for v in views} == {"checkin", ""}
    tree = next(v for v in views if not v.get("callback_id"))
    assert "OKR tree" in str(tree["blocks"])


async def test_an_invalid_submission_comes_back_with_errors_on_its_fields(world: SlackWorld):
    await world.command("checkin", who=OWNER, channel="D0001ACME")
    [view] = await eventually(world.opened_views)
    blocked = next(
        b["block_id"] for b in view["blocks"] if b.get("block_id", "").endswith(":blocked_by")
    )
    answers = payloads.valid_answers(view) | {blocked: "the moon team"}
    response = await world.submit(view, answers, who=OWNER)
    answer = await response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [blocked]
    assert "the moon team" in answer["errors"][blocked]
    assert all(s.confidence is None for s in (await world.store.kr_states("acme", OWNER)).values())


def prompt_id(world: SlackWorld, email: str) -> int:
    """The prompt id on the "Check in" button of the person's latest DM."""
    [*_, post] = world.fake.dms_to(world.user(email).id)
    for block in post.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "checkin:open":
                return int(element["value"])
    raise AssertionError(f"no Check in button in {post.blocks}")


class RecordingSocketMode:
    def __init__(self, bolt: Any, app_token: str) -> None:
        self.app_token = app_token
        self.events: list[str] = []

    async def connect_async(self) -> None:
        self.events.append("connect")

    async def close_async(self) -> None:
        self.events.append("close")


async def test_with_an_app_token_socket_mode_runs_while_the_app_runs(store: SqlStore):
    made: list[RecordingSocketMode] = []

    def factory(bolt: Any, token: str) -> SocketMode:
        made.append(RecordingSocketMode(bolt, token))
        return made[-1]

    async with slack_world(store, socket_mode=factory, slack_app_token="xapp-1-A0001-fake"):
        assert [(m.app_token, m.events) for m in made] == [("xapp-1-A0001-fake", ["connect"])]
    assert made[0].events == ["connect", "close"]


async def test_socket_mode_carries_commands_over_the_websocket(store: SqlStore):
    """bolt's Socket Mode handler against the local API: apps.connections.open, the websocket
    hello, a slash command envelope, its acknowledgement, the reply on the response URL."""
    async with slack_world(store, slack_app_token="xapp-1-A0001-fake") as world:
        await world.fake.connected()
        fields = payloads.slash_command(
            "help", user_id=world.user(OWNER).id, team=TEAM.id,
            response_url=world.fake.response_url(), trigger_id=world.fake.trigger(),
            channel_id=CHANNEL,
        )  # fmt: skip
        ack = await world.fake.envelope("slash_commands", fields)
        assert ack["envelope_id"].startswith("env-")
        [reply] = await eventually(lambda: responses(world))
        assert "Commands:" in text_of(reply)
        assert SECRET not in str(world.fake.calls)


async def test_the_composition_root_serves_slack(database_url: str):
    """`drumbeat serve`'s own wiring (bot.app.runtime, bot.server.create_app) with Slack set."""
    org = load_organisation(ACME)
    async with FakeSlack(teams=[TEAM], users=slack_users(org), channels=[CHANNEL]) as fake:
        settings = slack_settings(fake, database_url=database_url)
        async with runtime(settings, clock=FixedClock(PROMPT_TIME)) as rt:
            await rt.store.save_organisation(org)
            assert isinstance(rt.chat.gateways["slack"], SlackGateway)
            app = create_app(rt, tick=False)
            async with TestServer(app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
                slack = SignedPoster(
                    session=http, url=str(server.make_url("/slack/events")), secret=SECRET
                )
                owner = next(u for u in slack_users(org) if u.email == OWNER)
                fields = payloads.slash_command(
                    "mine", user_id=owner.id, team=TEAM.id,
                    response_url=fake.response_url(), trigger_id=fake.trigger(),
                )  # fmt: skip
                assert (await slack.command(fields)).status == 200
                [(_, reply)] = await eventually(lambda: fake.responses)
    assert "Lucas Bernard" in text_of(reply)


# ---- bugs: logged with their traceback, the person gets an apology ---------------------------


def broken(*_: Any, **__: Any) -> Any:
    raise KeyError("kr:onboarding-completion:value")


async def test_a_bug_behind_a_command_is_logged_and_the_person_gets_an_apology(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(world.drumbeat.digests, "digest", broken)

    assert (await world.command("status", who=OWNER)).status == 200

    [reply] = await eventually(lambda: responses(world))
    assert "Sorry, something went wrong on my side" in text_of(reply)
    assert "kr:" not in text_of(reply)
    assert reply["response_type"] == "ephemeral"
    [logged] = [r for r in caplog.records if r.exc_info]
    assert logged.exc_info is not None
    assert logged.exc_info[0] is KeyError


async def test_a_bug_behind_a_modal_shows_an_apology_on_the_form(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    await world.tick(PROMPT_TIME)
    await world.click("checkin:open", str(prompt_id(world, OWNER)), who=OWNER)
    [view] = await eventually(world.opened_views)
    monkeypatch.setattr(world.drumbeat.checkins, "submit", broken)

    answer = await world.submit(view, payloads.valid_answers(view), who=OWNER)

    assert answer.status == 200
    shown = await answer.json()
    assert shown["response_action"] == "errors"
    [message] = shown["errors"].values()
    assert message.startswith("Sorry, something went wrong on my side")
    assert "kr:" not in message
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


async def test_starting_with_the_token_in_the_environment_warns_of_nothing(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """As an operator starts it: SLACK_BOT_TOKEN in the environment (bolt reads it too)."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-0001-from-the-environment")
    with caplog.at_level(logging.WARNING):
        async with slack_world(store):
            pass
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
