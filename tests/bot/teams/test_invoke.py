"""Pressing a card's button over HTTP, as Teams does it for an Action.Execute: an
`adaptiveCard/action` invoke POSTed to /api/messages, answered by the real app (botbuilder's
CloudAdapter, the bot, the core, the database of both backends) with the card to show in the
HTTP response, and nothing sent to the Bot Framework connector (tests/peers/teams_connector.py)
for it: no Teams rate limit stands between the press and its answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.schema import ChannelAccount, ConversationReference
from sqlalchemy import func, select

from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.server import serving
from bot.settings import Settings
from bot.teams.adapter import teams_adapter
from bot.teams.gateway import TeamsGateway, reference_dict, tenant_address
from bot.teams.plugin import attach_teams
from rhythm.ports import FixedClock
from rhythm.records import Conversation
from rhythm.service import Drumbeat
from storage.store import SqlStore
from storage.tables import checkin_t
from tests.bot.teams.cardrules import card_problems
from tests.bot.teams.test_bot import filled, inputs, submit_data, texts
from tests.bot.teams.test_playground import free_port
from tests.peers.teams_connector import TeamsConnector

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LUCAS = "lucas.bernard@acme.example"
TENANT = "tenant-acme"
BOT = ChannelAccount(id="28:drumbeat-bot", name="Drumbeat")
CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"


@dataclass
class Bot:
    url: str
    store: SqlStore
    connector: TeamsConnector
    gateway: TeamsGateway
    drumbeat: Drumbeat

    def activity(self, **fields: Any) -> dict[str, Any]:
        """An activity from Lucas in his 1:1 chat with the bot, as Teams sends it."""
        return {
            "channelId": "msteams", "serviceUrl": self.connector.url,
            "from": {"id": "29:lucas", "name": "Lucas Bernard", "aadObjectId": "aad-lucas"},
            "recipient": {"id": BOT.id}, "channelData": {"tenant": {"id": TENANT}},
            "conversation": {"id": "a:lucas", "conversationType": "personal", "tenantId": TENANT},
            **fields,
        }  # fmt: skip

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http, http.post(self.url, json=activity) as answer:
            body = await answer.json() if answer.content_type == "application/json" else None
            return answer.status, body

    async def press(self, card_id: str, data: dict[str, Any], verb: str) -> dict[str, Any]:
        """An Action.Execute on the card `card_id`: the invoke's HTTP answer (200)."""
        calls = len(self.connector.calls)
        status, body = await self.post(self.activity(
            type="invoke", id=f"invoke-{time.monotonic_ns()}", name="adaptiveCard/action",
            replyToId=card_id,
            value={"action": {"type": "Action.Execute", "verb": verb, "data": data},
                   "trigger": "manual"},
        ))  # fmt: skip
        assert status == 200
        assert isinstance(body, dict)
        assert self.connector.calls[calls:] == []  # nothing sent to Teams for it
        return body

    async def checkins(self) -> int:
        async with self.store.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(checkin_t))).scalar_one()


@pytest.fixture
async def bot(store: SqlStore) -> AsyncIterator[Bot]:
    await store.save_organisation(load_organisation(ACME))
    await store.link_workspace("teams", TENANT, "acme")
    async with TeamsConnector(tolerance=0.1).running() as connector:
        connector.add_conversation("a:lucas", user="29:lucas", tenant=TENANT)
        tenant = ConversationReference(bot=BOT, channel_id="msteams", service_url=connector.url)
        stored = reference_dict(tenant)
        stored["conversation"] = {"tenantId": TENANT}
        await store.save_conversation(Conversation("teams", tenant_address(TENANT), stored, "acme"))
        settings = Settings(teams_local=True)
        gateway = TeamsGateway(adapter=teams_adapter(settings), store=store, backoff=0.05)
        drumbeat = Drumbeat(
            store=store, chat=ChatRouter(gateways={"teams": gateway}, fallback="teams"),
            clock=FixedClock(MONDAY),
        )  # fmt: skip
        # Lucas's Teams account is linked (as when he installed the app).
        await drumbeat.people.identify("acme", "teams", "aad-lucas", email=LUCAS)
        app = web.Application()
        attach_teams(app, settings=settings, drumbeat=drumbeat, gateway=gateway)
        port = free_port()
        async with serving(app, "127.0.0.1", port):
            yield Bot(f"http://127.0.0.1:{port}/api/messages", store, connector, gateway, drumbeat)


async def form_card(bot: Bot) -> tuple[str, dict[str, Any]]:
    """Lucas types checkin: the form card the bot sends him, and its activity id."""
    status, _ = await bot.post(bot.activity(type="message", id="in-1", text="checkin"))
    assert status < 300
    [reply] = bot.connector.delivered("reply")
    [attachment] = reply.activity["attachments"]
    assert reply.activity_id is not None
    return reply.activity_id, attachment["content"]


async def test_a_submitted_form_is_answered_with_its_done_card_in_the_http_response(bot: Bot):
    card_id, form = await form_card(bot)

    refused = await bot.press(card_id, filled(form, value="ten"), "checkin:submit")
    assert (refused["statusCode"], refused["type"]) == (200, CARD)
    assert card_problems(refused["value"]) == []
    assert "not a number" in texts(refused["value"])
    assert submit_data(refused["value"])["drumbeat"] == "submit"  # the form, to fix
    assert await bot.checkins() == 0

    done = await bot.press(card_id, filled(form), "checkin:submit")
    assert (done["statusCode"], done["type"]) == (200, CARD)
    assert card_problems(done["value"]) == []
    assert "Checked in" in texts(done["value"])
    assert inputs(done["value"]) == {}
    assert await bot.checkins() == 1


async def test_the_answer_does_not_wait_for_teams_rate_limits(bot: Bot):
    """Teams told the bot to hold off this tenant for half a minute (the fan-out used its
    budget): a message would wait, the press's answer does not."""
    card_id, form = await form_card(bot)
    bot.gateway._throttle(TENANT).pause(30.0)

    started = time.monotonic()
    done = await bot.press(card_id, filled(form), "checkin:submit")

    assert "Checked in" in texts(done["value"])
    assert time.monotonic() - started < 5.0


async def test_a_button_that_is_not_ours_is_answered_with_a_message(bot: Bot):
    answer = await bot.press("card-1", {"choice": "a"}, "vote")

    assert (answer["statusCode"], answer["type"]) == (200, MESSAGE)
    assert "not one I know" in answer["value"]


async def test_a_refusal_is_answered_with_its_sentence_and_nothing_is_stored(bot: Bot):
    """A form whose context was tampered with (another period): the core refuses it, and the
    invoke's answer says why, as a message beside the card."""
    card_id, form = await form_card(bot)
    data = filled(form)
    data["context"] = data["context"].replace("2026-W48", "2026-W01")

    answer = await bot.press(card_id, data, "checkin:submit")

    assert (answer["statusCode"], answer["type"]) == (200, MESSAGE)
    assert "check-in for 2026-W01 is closed" in answer["value"]
    assert await bot.checkins() == 0


async def test_a_bug_is_answered_with_universal_actions_error_and_an_apology(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
):
    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("kr:onboarding-completion:value")

    card_id, form = await form_card(bot)
    monkeypatch.setattr(bot.drumbeat.checkins, "submit", broken)

    answer = await bot.press(card_id, filled(form), "checkin:submit")

    assert (answer["statusCode"], answer["type"]) == (500, "application/vnd.microsoft.error")
    assert "Sorry, something went wrong on my side" in answer["value"]["message"]
    assert "kr:" not in str(answer)


async def test_an_old_card_s_action_submit_still_replaces_the_card_through_the_connector(
    bot: Bot,
):
    """Cards sent before the buttons were Action.Execute (and older clients' fallback) come
    back as a message with a value: the card is replaced with an update, as it used to be."""
    card_id, form = await form_card(bot)

    status, _ = await bot.post(bot.activity(
        type="message", id="in-2", replyToId=card_id, value=filled(form),
    ))  # fmt: skip

    assert status < 300
    [update] = bot.connector.delivered("update")
    assert update.activity_id == card_id
    assert "Checked in" in texts(update.activity["attachments"][0]["content"])
    assert await bot.checkins() == 1
