"""End to end against the real Microsoft 365 Agents Playground (npm, started by the fixture):
the bot serves POST /api/messages in local mode on SQLite, the Playground plays Teams. The
test speaks to the Playground the way its web page does (its HTTP routes) and reads what the
bot sent from the Playground's websocket stream.

The first run installs the pinned Playground with npm into .tmp/playground (gitignored).
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rich.console import Console
from sqlalchemy import func, select

from bot.app import Runtime, runtime
from bot.okrfile import load_organisation
from bot.server import create_app, serving
from bot.settings import Settings
from bot.teams.playground import (
    CACHE,
    TENANT,
    Playground,
    PlaygroundUser,
    ensure_installed,
    playground_config,
    playground_users,
)
from rhythm.context import FormContext
from rhythm.ports import FixedClock
from rhythm.prompting import OPEN
from storage.tables import checkin_t
from tests.bot.teams.cardrules import card_problems
from tests.bot.teams.test_bot import filled, inputs, submit_data, texts

pytestmark = pytest.mark.slow

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
SUNDAY = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
CLAIRE_PROMPTED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 Paris: leads an hour early
DIGEST_DUE = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Monday 10:00 Paris + 2 days
WAIT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def playground_cli() -> Path:
    return await ensure_installed(CACHE)


@dataclass
class Session:
    """One person at the Playground's page: what they type and press, what they see."""

    http: aiohttp.ClientSession
    url: str
    config: dict[str, Any]
    runtime: Runtime
    clock: FixedClock
    users: list[PlaygroundUser]
    events: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def chat(self) -> str:
        return str(self.config["personalChat"]["id"])

    @property
    def team(self) -> str:
        return str(self.config["teams"][0]["id"])

    @property
    def group_chat(self) -> str:
        return str(self.config["groupChats"][0]["id"])

    @property
    def bot(self) -> dict[str, str]:
        return dict(self.config["bot"])

    async def say(self, text: str) -> None:
        await self._post(
            f"/_conversation/v1/conversations/{self.chat}/messages",
            {"from": {"id": "user-id-0"}, "text": text, "textFormat": "plain"},
        )

    async def say_in_channel(self, text: str) -> None:
        await self.mention(self.team, text)

    async def say_in_group_chat(self, text: str) -> None:
        await self.mention(self.group_chat, text)

    async def mention(self, conversation: str, text: str) -> None:
        """`text` to the bot, mentioned by name, in a channel or group chat."""
        mention = f"<at>{self.bot['name']}</at>"
        await self._post(
            f"/_conversation/v1/conversations/{conversation}/messages",
            {
                "from": {"id": "user-id-0"}, "text": f"{mention} {text}", "textFormat": "plain",
                "mentions": [{"mentioned": {"id": self.bot["id"]}, "text": mention}],
            },
        )  # fmt: skip

    async def press(self, message_id: str, button: dict[str, Any], data: dict[str, Any]) -> Any:
        """An Action.Execute `button` on the card of `message_id` in the personal chat, with
        the card's inputs merged into its data: what the Playground's page sends (its
        invoke route, with the action as its Adaptive Card renderer reports it); the
        Playground's answer, which is the bot's (the card that replaces the pressed one)."""
        assert button["type"] == "Action.Execute"
        async with self.http.post(
            self.url + "/_conversation/v1/invoke",
            json={
                "name": "adaptiveCard/action", "from": {"id": "user-id-0"},
                "conversation": {"id": self.chat}, "replyToId": message_id,
                "value": {"action": {"type": "Action.Execute", "title": button["title"],
                                     "verb": button["verb"], "data": data}},
            },
        ) as response:  # fmt: skip
            assert response.status == 200, await response.text()
            return await response.json()

    async def submit(self, message_id: str, value: dict[str, Any]) -> None:
        """An Action.Submit on the card of `message_id` in the personal chat (the buttons
        of cards sent before they were Action.Execute, and older clients' fallback)."""
        await self._post(
            "/_conversation/v1/submit",
            {
                "conversation": {"id": self.chat}, "from": {"id": "user-id-0"},
                "replyToId": message_id, "value": value,
            },
        )  # fmt: skip

    async def nothing_more(self, action: str, where: str, seconds: float = 1.0) -> None:
        """No `action` in `where` arrives for a while (the bot sent nothing there)."""
        await asyncio.sleep(seconds)
        arrived = [e for e in self.events
                   if e["action"] == action and e["actionConversationId"] == where]  # fmt: skip
        assert arrived == [], arrived

    async def install(self, conversation: str | None = None) -> None:
        """The app installed for the current user (or added to `conversation`): Teams'
        conversationUpdate."""
        template = await self._get(
            f"/_internal/v1/customActivities/template?conversationId={conversation or self.chat}"
        )
        template.update(
            type="conversationUpdate",
            membersAdded=[{"id": self.bot["id"], "name": self.bot["name"]}],
            channelData={"tenant": {"id": TENANT}},
        )
        await self._post("/_internal/v1/customActivities", template)

    async def seen(
        self,
        action: str,
        where: str,
        test: Callable[[dict[str, Any]], bool] = lambda m: True,
        *,
        threads: bool = False,
    ) -> dict[str, Any]:
        """The first message the bot sent (or updated) in `where` (or in one of its threads)
        that passes `test`."""
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            for event in self.events:
                conversation = event["actionConversationId"]
                if threads:
                    conversation = conversation.split(";")[0]
                if event["action"] == action and conversation == where and test(event["message"]):
                    self.events.remove(event)
                    message: dict[str, Any] = event["message"]
                    return message
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no {action} in {where} within {WAIT} s: {self.events}")
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), left)
            except TimeoutError:
                continue

    async def checkins(self) -> int:
        async with self.runtime.store.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(checkin_t))).scalar_one()

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        async with self.http.post(self.url + path, json=body) as response:
            assert response.status == 200, await response.text()

    async def _get(self, path: str) -> dict[str, Any]:
        async with self.http.get(self.url + path) as response:
            assert response.status == 200, await response.text()
            found: dict[str, Any] = await response.json()
            return found


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    assert card_problems(content) == []
    return content


def with_text(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: any(text in texts(a["content"]) for a in m.get("attachments", []))


@pytest.fixture
async def teams(playground_cli: Path, tmp_path: Path) -> AsyncIterator[Session]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
                        teams_local=True)  # fmt: skip
    clock = FixedClock(SUNDAY)
    quiet = Console(file=io.StringIO())
    bot_port, playground_port = free_port(), free_port()
    async with runtime(settings, console=quiet, clock=clock) as rt:
        org = load_organisation(ACME)
        await rt.store.save_organisation(org)
        await rt.store.link_workspace("teams", TENANT, org.key)
        users = playground_users(org)
        playground = Playground(
            cli=playground_cli, workdir=tmp_path / "playground", port=playground_port,
            bot_endpoint=f"http://127.0.0.1:{bot_port}/api/messages",
            config=playground_config(users, team_name=org.name),
        )  # fmt: skip
        app = create_app(rt, tick=False)
        async with serving(app, "127.0.0.1", bot_port), playground, aiohttp.ClientSession() as http:
            async with http.get(f"{playground.url}/_internal/v1/config") as response:
                config = (await response.json())["config"]
            session = Session(http, playground.url, config, rt, clock, users)
            stream = f"{playground.url}/_ws_conversation/v1/conversations/stream"
            async with http.ws_connect(stream) as ws:
                reader = asyncio.create_task(_read(ws, session))
                try:
                    yield session
                finally:
                    reader.cancel()


async def _read(ws: aiohttp.ClientWebSocketResponse, session: Session) -> None:
    async for frame in ws:
        if frame.type == aiohttp.WSMsgType.TEXT:
            session.events.append(frame.json())
            session.arrived.set()


async def test_the_playground_users_are_people_of_the_organisation(teams: Session):
    me = teams.config["currentUser"]
    assert me["email"] == teams.users[0].person.email == "claire.martin@acme.example"
    assert [u["id"] for u in teams.config["users"]] == [f"user-id-{n}" for n in range(1, 6)]
    org = await teams.runtime.drumbeat.organisation("acme")
    assert all(u["email"] in org.person for u in teams.config["users"])


def card_answer(answer: Any) -> dict[str, Any]:
    """The card of an invoke's answer (which the Playground shows in the pressed card's
    place), checked against Teams' rules."""
    assert answer["type"] == "application/vnd.microsoft.card.adaptive", answer
    card: dict[str, Any] = answer["value"]
    assert card_problems(card) == []
    return card


def form_button(card: dict[str, Any]) -> dict[str, Any]:
    [button] = card["actions"]
    assert button["data"] == submit_data(card)
    return dict(button)


async def test_checkin_gets_the_card_an_invalid_value_is_refused_a_valid_one_stored(
    teams: Session,
):
    await teams.say("checkin")
    sent = await teams.seen("createMessage", teams.chat, lambda m: bool(m.get("attachments")))
    form = card_of(sent)
    assert [i for i in inputs(form) if i.endswith(":value")]

    refused = card_answer(
        await teams.press(sent["messageId"], form_button(form), filled(form, value="-5000"))
    )
    assert "⚠" in texts(refused)
    assert [i for i in inputs(refused) if i.endswith(":value")]  # the form again, to fix
    assert await teams.checkins() == 0

    done = card_answer(await teams.press(sent["messageId"], form_button(refused), filled(refused)))
    assert "Checked in" in texts(done)
    assert inputs(done) == {}
    assert await teams.checkins() == 1
    # Replaced in the invoke's answer: the bot updated no message through the connector.
    await teams.nothing_more("updateMessage", teams.chat)


async def test_an_old_card_s_action_submit_still_checks_in(teams: Session):
    """A card sent before the buttons were Action.Execute: its Action.Submit comes as a
    message, and the card is replaced through the Playground's connector."""
    await teams.say("checkin")
    sent = await teams.seen("createMessage", teams.chat, lambda m: bool(m.get("attachments")))
    form = card_of(sent)

    await teams.submit(sent["messageId"], filled(form))

    done = await teams.seen("updateMessage", teams.chat, with_text("Checked in"))
    assert done["messageId"] == sent["messageId"]
    assert await teams.checkins() == 1


async def test_a_scheduler_tick_delivers_the_prompt_into_the_users_conversation(
    teams: Session,
):
    await teams.install()
    welcome = await teams.seen("createMessage", teams.chat, with_text("Drumbeat"))
    assert "checkin" in texts(card_of(welcome))

    teams.clock.set(CLAIRE_PROMPTED)
    report = await teams.runtime.drumbeat.tick(CLAIRE_PROMPTED)
    assert report.sent >= 1

    prompt = await teams.seen("createMessage", teams.chat, with_text("Weekly check-in"))
    card = card_of(prompt)
    [button] = [a for a in card["actions"] if a["data"].get("action") == OPEN]
    form = card_answer(await teams.press(prompt["messageId"], button, button["data"]))
    context = FormContext.parse(submit_data(form)["context"])
    assert context.prompt == int(button["data"]["value"])

    done = card_answer(await teams.press(prompt["messageId"], form_button(form), filled(form)))
    assert "Checked in" in texts(done)
    # The prompt's message is also edited to say so (the core's own update, in the
    # background), so every device shows it.
    edited = await teams.seen("updateMessage", teams.chat, with_text("Checked in"))
    assert edited["messageId"] == prompt["messageId"]


async def test_a_digest_arrives_in_the_team_channel_after_subscribe_there(teams: Session):
    await teams.say("help")  # Claire talks to the bot once: Teams links her by email
    await teams.seen("createMessage", teams.chat)
    await teams.say_in_channel("subscribe acme")
    reply = await teams.seen("createMessage", teams.team, threads=True)  # in the thread
    assert "now receives" in texts(card_of(reply))
    [subscription] = await teams.runtime.store.subscriptions("acme", "acme")
    assert subscription.channel == f"teams:{teams.team}"

    for moment in (CLAIRE_PROMPTED, DIGEST_DUE - timedelta(minutes=1), DIGEST_DUE):
        teams.clock.set(moment)
        await teams.runtime.drumbeat.tick(moment)

    post = await teams.seen("createMessage", teams.team, with_text("2026-W48"))
    assert "Acme" in texts(card_of(post))


async def test_the_bot_added_to_a_group_chat_welcomes_it_and_answers_there(teams: Session):
    await teams.install(teams.group_chat)
    welcome = await teams.seen("createMessage", teams.group_chat)
    await teams.say_in_group_chat("help")
    helped = await teams.seen("createMessage", teams.group_chat, with_text("checkin"))

    said = [texts(card_of(m)) if m.get("attachments") else m.get("text", "")
            for m in (welcome, helped)]  # fmt: skip
    assert not any("went wrong" in text for text in said), said


async def test_status_answers(teams: Session):
    await teams.say("status")

    reply = await teams.seen("createMessage", teams.chat, lambda m: bool(m.get("attachments")))
    card = card_of(reply)
    assert "Acme" in texts(card)
    assert "Projected" in texts(card)  # each objective over its facts, with its forecast
