"""Blockers that reach whoever they wait on, a lead's list of who is missing with a Nudge per
person, Edit on a check-in's confirmation, and `settings`, `history` and `blockers`, on Teams.

Two harnesses. botbuilder's TestAdapter (test_bot's: activities shaped as Teams sends them,
the real core and database on both backends, what the core sends recorded) presses every
button both ways Teams sends it (an Action.Execute's invoke, an Action.Submit's message). The
real app over HTTP (CloudAdapter, the TeamsGateway, a local Bot Framework connector) carries a
blocker's whole round trip: the cards people get there are the ones that went over the wire.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import ChannelAccount, ConversationReference
from sqlalchemy import select

from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.server import serving
from bot.settings import Settings
from bot.teams.adapter import teams_adapter
from bot.teams.bot import Member, TeamsBot
from bot.teams.cards import card_for, done_card
from bot.teams.cards.messages import MAX_ACTIONS
from bot.teams.gateway import TeamsGateway, reference_dict, tenant_address
from bot.teams.plugin import attach_teams
from rhythm.blocker_news import ACKNOWLEDGE, NOT_US, RESOLVE
from rhythm.forms import REROUTE_FIELD
from rhythm.markup import plain
from rhythm.messages import Action, Message, Notice
from rhythm.nudges import NUDGE
from rhythm.people import Admission
from rhythm.ports import FixedClock
from rhythm.preferences import MISSING_LIST
from rhythm.prompting import EDIT, OFF, OPEN, SNOOZE
from rhythm.records import BlockerState, Conversation
from rhythm.service import Drumbeat
from storage.store import SqlStore
from storage.tables import checkin_t
from tests.bot.teams.cardrules import card_problems
from tests.bot.teams.test_bot import (
    ACME,
    BOT_ID,
    EXECUTE,
    LUCAS,
    MONDAY,
    SOFIA,
    STRANGER,
    SUBMIT,
    Directory,
    RecordingChat,
    Teams,
    button,
    checked_button,
    filled,
    inputs,
    personal,
    submit_data,
    texts,
)
from tests.bot.teams.test_playground import free_port
from tests.peers.teams_connector import TeamsConnector

ANANYA = Member("29:ananya", "aad-ananya", "ananya.iyer@acme.example", "Ananya Iyer")  # platform
LEA = Member("29:lea", "aad-lea", "lea.fontaine@acme.example", "Léa Fontaine")  # mobile's lead
CAMILLE = Member("29:camille", "aad-camille", "camille.laurent@acme.example", "Camille Laurent")
BLOCKED = {"blockers": "Waiting on the SSO fix", "blocked_by": "team:platform"}
NO_BLOCKER = {"blockers": "", "blocked_by": ""}
BOTH_WAYS = pytest.mark.parametrize("via", [EXECUTE, SUBMIT])
CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"


@pytest.fixture
async def teams(store: SqlStore) -> Teams:
    await store.save_organisation(load_organisation(ACME))
    clock = FixedClock(MONDAY)
    chat = RecordingChat()
    drumbeat = Drumbeat(
        store=store, chat=ChatRouter(gateways={"teams": chat}, fallback="teams"), clock=clock
    )
    bot = TeamsBot(
        drumbeat=drumbeat, conversations=store, admission=Admission(join_only_organisation=True),
        members=Directory(LUCAS, SOFIA, ANANYA, LEA, CAMILLE, STRANGER),
    )  # fmt: skip
    return Teams(TestAdapter(bot.on_turn), drumbeat, store, chat, clock)


# ---- helpers ----------------------------------------------------------------------------------


async def check_in(teams: Teams, member: Member = LUCAS, **answers: str) -> dict[str, Any]:
    """`member` types checkin and submits the form card (in the message "form-1"): the card
    that replaces it."""
    await teams.say(personal(member, text="checkin"))
    [form] = teams.replies()
    seen = await teams.press(member, "form-1", filled(form, **{**NO_BLOCKER, **answers}),
                             via=EXECUTE)  # fmt: skip
    assert seen.card is not None
    assert "Checked in" in texts(seen.card)
    return seen.card


async def delivered(teams: Teams) -> None:
    """The news of every change written and sent, the background deliveries finished."""
    await teams.drumbeat.blockers.announce("acme")
    await teams.drumbeat.courier.deliver("acme")
    await teams.drumbeat.courier.settle()


def notices(teams: Teams, member: Member, title: str) -> list[Notice]:
    """The notices the core sent `member` (as direct messages) whose title starts so."""
    return [
        s.message for s in teams.chat.sent
        if s.person == member.email.lower() and isinstance(s.message, Notice)
        and plain(s.message.title).startswith(title)
    ]  # fmt: skip


def drawn(message: Message) -> dict[str, Any]:
    """`message` as the one card the gateway sends for it, checked against Teams' rules."""
    [card] = card_for(message)
    assert card_problems(card) == []
    return card


def titles(card: dict[str, Any]) -> list[str]:
    return [a["title"] for a in card.get("actions", [])]


async def blocked_by_platform(teams: Teams) -> dict[str, Any]:
    """Lucas checks in blocked by Platform; the news goes out: the card Ananya (Platform's
    lead) gets."""
    await check_in(teams, LUCAS, **BLOCKED)
    await delivered(teams)
    [asked] = notices(teams, ANANYA, "🚧 Lucas Bernard is waiting on Platform")
    return drawn(asked)


# ---- blockers ---------------------------------------------------------------------------------


@BOTH_WAYS
async def test_a_blocker_reaches_the_lead_with_three_buttons_and_on_it_tells_the_reporter(
    teams: Teams, via: str
):
    asked = await blocked_by_platform(teams)
    assert titles(asked) == ["On it", "Not us", "Resolved"]
    assert "“Waiting on the SSO fix”" in texts(asked)
    [told] = notices(teams, LUCAS, "📣 Your blocker on")
    assert "Ananya Iyer" in texts(drawn(told))

    seen = await teams.press(ANANYA, "ask-1", button(asked, ACKNOWLEDGE), via=via)

    assert seen.card is not None  # her card, its buttons done with
    assert "You're on it: I told Lucas Bernard" in texts(seen.card)
    assert "actions" not in seen.card
    await teams.drumbeat.courier.settle()
    [heard] = notices(teams, LUCAS, "👍 Ananya Iyer is on it")
    assert "Platform" in texts(drawn(heard))

    again = await teams.press(ANANYA, "ask-1", button(asked, ACKNOWLEDGE), via=via)
    assert again.card is not None
    assert "Ananya Iyer is on it already" in texts(again.card)


async def test_only_whoever_it_waits_on_may_answer_it(teams: Teams):
    asked = await blocked_by_platform(teams)

    seen = await teams.press(SOFIA, "ask-1", button(asked, ACKNOWLEDGE), via=EXECUTE)

    assert seen.said is not None
    assert "Only Platform (its leads) or an admin can answer this." in seen.said


@pytest.mark.parametrize("answer", ["team:mobile", "Mobile"])  # chosen, or typed
async def test_not_us_opens_the_reroute_form_and_sends_it_on(teams: Teams, answer: str):
    asked = await blocked_by_platform(teams)

    form = (await teams.press(ANANYA, "ask-1", button(asked, NOT_US), via=EXECUTE)).card

    assert form is not None
    assert "Not us" in texts(form)
    picker = inputs(form)[REROUTE_FIELD]
    assert picker["type"] == "Input.ChoiceSet"
    assert picker["style"] == "filtered"  # typing narrows it down
    assert {"title": "Mobile · Teams", "value": "team:mobile"} in picker["choices"]
    assert form["actions"][0]["title"] == "Send on"

    unknown = await teams.press(
        ANANYA, "ask-1", {**submit_data(form), REROUTE_FIELD: "Marketing"}, via=EXECUTE
    )
    assert unknown.card is not None  # the form again, with the field's error
    assert REROUTE_FIELD in inputs(unknown.card)
    assert "Marketing" in texts(unknown.card)
    assert "⚠" in texts(unknown.card)
    assert notices(teams, LEA, "🚧") == []

    done = await teams.press(
        ANANYA, "ask-1", {**submit_data(unknown.card), REROUTE_FIELD: answer}, via=EXECUTE
    )
    assert done.card is not None
    assert "Sent on to Mobile; Lucas Bernard is told" in texts(done.card)
    assert inputs(done.card) == {}
    await delivered(teams)
    [sent_on] = notices(teams, LEA, "🚧 Lucas Bernard is waiting on Mobile")
    lea_card = drawn(sent_on)
    assert titles(lea_card) == ["On it", "Not us", "Resolved"]
    assert "Sent on by Ananya Iyer" in texts(lea_card)
    [heard] = notices(teams, LUCAS, "↪️ Your blocker now waits on Mobile")
    assert "not Platform's" in texts(drawn(heard))


@BOTH_WAYS
async def test_resolved_replaces_the_card_and_tells_the_reporter(teams: Teams, via: str):
    asked = await blocked_by_platform(teams)

    seen = await teams.press(ANANYA, "ask-1", button(asked, RESOLVE), via=via)

    assert seen.card is not None
    assert "Marked resolved" in texts(seen.card)
    await teams.drumbeat.courier.settle()
    assert notices(teams, LUCAS, "✅ Ananya Iyer resolved your blocker")
    blocker = await teams.store.blocker("acme", int(button(asked, RESOLVE)["value"]))
    assert blocker is not None
    assert blocker.state is BlockerState.RESOLVED


# ---- settings, history, blockers --------------------------------------------------------------


@BOTH_WAYS
async def test_settings_is_a_card_whose_off_is_saved_with_a_done_card(teams: Teams, via: str):
    await teams.say(personal(SOFIA, text="settings"))
    [form] = teams.replies()
    choice = inputs(form)[MISSING_LIST]
    assert choice["type"] == "Input.ChoiceSet"
    assert choice["value"] == "on"
    assert {c["value"] for c in choice["choices"]} == {"on", "off"}

    empty = await teams.press(SOFIA, "settings-1", {**submit_data(form), MISSING_LIST: ""},
                              via=via)  # fmt: skip
    assert empty.card is not None
    assert "Please choose one." in texts(empty.card)

    done = await teams.press(SOFIA, "settings-1", {**submit_data(form), MISSING_LIST: "off"},
                             via=via)  # fmt: skip
    assert done.card is not None
    assert "Settings saved" in texts(done.card)
    assert inputs(done.card) == {}
    assert "actions" not in done.card
    saved = await teams.store.person_settings("acme", [SOFIA.email.lower()])
    assert saved[SOFIA.email.lower()].missing_list is False


async def test_history_and_blockers_answer_with_cards(teams: Teams):
    await check_in(teams, LUCAS, moved="Shipped the tour", **BLOCKED)

    await teams.say(personal(SOFIA, text="history onboarding-completion"))
    [history] = teams.replies()
    # Seven columns: each check-in is its date over a FactSet of the others.
    assert "Mon 23 Nov · 2026-W48" in texts(history)
    shown = "\n".join(
        f"{fact['title']}: {fact['value']}"
        for element in history["body"] if element["type"] == "FactSet"
        for fact in element["facts"]
    )  # fmt: skip
    assert "Who: Lucas Bernard" in shown
    assert "What moved: Shipped the tour" in shown
    assert "Blockers: Waiting on the SSO fix (waiting on Platform)" in shown

    await teams.say(personal(SOFIA, text="history @lucas.bernard@acme.example"))
    [by_person] = teams.replies()
    assert "Onboarding completion rate" in texts(by_person)

    await teams.say(personal(SOFIA, text="blockers"))
    [growth] = teams.replies()
    assert "Blockers · Growth" in texts(growth)
    assert "1 blocker open" in texts(growth)
    assert "waiting on Platform" in texts(growth)

    await teams.say(personal(ANANYA, text="blockers platform"))
    [platform] = teams.replies()
    assert "Waiting on Platform" in texts(platform)
    assert "Lucas Bernard" in texts(platform)


# ---- a lead's list, nudges --------------------------------------------------------------------


@BOTH_WAYS
async def test_nudge_from_a_leads_list_reminds_the_person_once(teams: Teams, via: str):
    for member in (LUCAS, CAMILLE, SOFIA):  # linked: Teams introduced them to the bot
        await teams.say(personal(member, text="help"))
    teams.replies()
    await teams.drumbeat.tick(MONDAY)
    [prompt] = await teams.drumbeat.people.open_prompts("acme", LUCAS.email)
    after = prompt.deadline + timedelta(minutes=1)
    teams.clock.set(after)
    written = await teams.drumbeat.nudges.missing_lists(
        await teams.drumbeat.organisation("acme"), after
    )
    assert written >= 1
    await teams.drumbeat.courier.deliver("acme")

    [listed] = notices(teams, SOFIA, "📋")
    card = drawn(listed)
    assert "Nudge Lucas" in titles(card)
    nudge = button_titled(card, "Nudge Lucas")
    assert nudge == {"drumbeat": "action", "action": NUDGE, "value": str(prompt.id)}

    sent = await teams.press(SOFIA, "list-1", nudge, via=via)

    assert sent.card is None  # the list stays, with the other buttons
    assert sent.said == "👋 Sent: I reminded Lucas Bernard for you."
    await teams.drumbeat.courier.settle()
    [reminded] = notices(teams, LUCAS, "👋 Sofia Rossi asked me to remind you")
    reminder = drawn(reminded)
    for action in (OPEN, SNOOZE, OFF):  # the prompt's own buttons
        assert button(reminder, action)["value"] == str(prompt.id)
    form = (await teams.press(LUCAS, "nudge-1", button(reminder, OPEN), via=via)).card
    assert form is not None
    assert [i for i in inputs(form) if i.endswith(":value")]

    again = await teams.press(SOFIA, "list-1", nudge, via=via)
    assert again.said is not None
    assert "already nudged" in again.said
    assert len(notices(teams, LUCAS, "👋")) == 1


def button_titled(card: dict[str, Any], title: str) -> dict[str, Any]:
    [action] = [a for a in card["actions"] if a["title"] == title]
    data: dict[str, Any] = checked_button(action)["data"]
    assert action["verb"] == data["action"]
    return data


def test_a_notice_with_more_buttons_than_teams_shows_gets_rows_of_them():
    """Teams shows a card's first six buttons and hides the rest: a lead's list of ten
    people to nudge puts its buttons in rows of six, every one of them shown."""
    actions = tuple(Action(NUDGE, f"Nudge {n}", str(n)) for n in range(1, 11))
    card = drawn(Notice("📋 10 of your people have not checked in", ("…",), actions))

    assert "actions" not in card
    rows = [e for e in card["body"] if e["type"] == "ActionSet"]
    assert [len(r["actions"]) for r in rows] == [MAX_ACTIONS, 10 - MAX_ACTIONS]
    shown = [checked_button(a)["title"] for r in rows for a in r["actions"]]
    assert shown == [f"Nudge {n}" for n in range(1, 11)]
    assert card["version"] == "1.5"  # Universal Actions


# ---- Edit -------------------------------------------------------------------------------------


async def revisions(teams: Teams) -> list[int]:
    async with teams.store.engine.connect() as conn:
        found = await conn.execute(select(checkin_t.c.revision).order_by(checkin_t.c.revision))
        return list(found.scalars())


@BOTH_WAYS
async def test_edit_on_the_confirmation_opens_the_form_prefilled_and_stores_revision_2(
    teams: Teams, via: str
):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()
    done = await teams.press(LUCAS, "card-1", filled(form, value="55", **NO_BLOCKER), via=via)
    assert done.card is not None
    edit = button(done.card, EDIT)

    again = await teams.press(LUCAS, "card-1", edit, via=via)  # in the same message

    assert again.card is not None
    [value] = [e for i, e in inputs(again.card).items() if i.endswith(":value")]
    assert value["value"] == 55
    [moved] = [e for i, e in inputs(again.card).items() if i.endswith(":moved")]
    assert moved["value"] == "Shipped the new onboarding <b>flow</b>"  # as typed, unread
    teams.clock.set(MONDAY + timedelta(hours=1))
    revised = await teams.press(LUCAS, "card-1", filled(again.card, value="60"), via=via)
    assert revised.card is not None
    assert "revision 2" in texts(revised.card)
    assert "60% (was 55%)" in texts(revised.card)
    assert await revisions(teams) == [1, 2]

    twice = await teams.press(LUCAS, "card-1", filled(again.card, value="60"), via=via)
    assert twice.card is not None  # a double click on the edited form: stored once
    assert await revisions(teams) == [1, 2]

    await teams.say(personal(LUCAS, text="digest growth"))
    digest = "\n".join(texts(card) for card in teams.replies())
    assert "60%" in digest
    assert "55%" not in digest.split("Onboarding completion rate")[1].split("\n")[0]


async def test_someone_elses_edit_button_is_refused(teams: Teams):
    done = await check_in(teams, LUCAS)

    seen = await teams.press(SOFIA, "card-1", button(done, EDIT), via=EXECUTE)

    assert seen.said is not None
    assert "not yours" in seen.said


def test_the_confirmation_keeps_its_edit_button_when_it_replaces_a_card():
    notice = Notice("✅ Checked in at 10:00 (Europe/Paris)", ("Weekly check-in · 2026-W48",),
                    (Action(EDIT, "Edit", "7"),))  # fmt: skip
    card = done_card(notice)
    assert card_problems(card) == []
    assert button(card, EDIT) == {"drumbeat": "action", "action": EDIT, "value": "7"}


# ---- over the wire: the real app, the gateway, a Bot Framework connector ---------------------

TENANT = "tenant-acme"


@dataclass
class Wire:
    url: str
    store: SqlStore
    connector: TeamsConnector
    drumbeat: Drumbeat

    def activity(self, member: Member, conversation: str, **fields: Any) -> dict[str, Any]:
        return {
            "channelId": "msteams", "serviceUrl": self.connector.url,
            "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id},
            "recipient": {"id": BOT_ID}, "channelData": {"tenant": {"id": TENANT}},
            "conversation": {"id": conversation, "conversationType": "personal",
                             "tenantId": TENANT},
            **fields,
        }  # fmt: skip

    async def post(self, activity: dict[str, Any]) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http, http.post(self.url, json=activity) as answer:
            body = await answer.json() if answer.content_type == "application/json" else None
            return answer.status, body

    async def press(
        self, member: Member, at: tuple[str, str], data: dict[str, Any], verb: str
    ) -> dict[str, Any]:
        """An Action.Execute by `member` on the card `at` (conversation, activity id): the
        card of the invoke's HTTP answer."""
        conversation, card_id = at
        status, body = await self.post(self.activity(
            member, conversation, type="invoke", id=f"invoke-{time.monotonic_ns()}",
            name="adaptiveCard/action", replyToId=card_id,
            value={"action": {"type": "Action.Execute", "verb": verb, "data": data},
                   "trigger": "manual"},
        ))  # fmt: skip
        assert status == 200
        assert (body["statusCode"], body["type"]) == (200, CARD), body
        card: dict[str, Any] = body["value"]
        assert card_problems(card) == []
        return card

    async def sent(self, title: str) -> tuple[tuple[str, str], dict[str, Any]]:
        """The one card sent (not replied) through the connector whose text has `title`,
        once the deliveries under way are done: where it is, and the card."""
        await self.drumbeat.courier.settle()
        found = [
            ((call.conversation, call.activity_id or ""), content)
            for call in self.connector.delivered("send")
            for content in [call.activity["attachments"][0]["content"]]
            if title in texts(content)
        ]
        [(where, card)] = found
        assert card_problems(card) == []
        return where, card


@pytest.fixture
async def wire(store: SqlStore) -> AsyncIterator[Wire]:
    await store.save_organisation(load_organisation(ACME))
    await store.link_workspace("teams", TENANT, "acme")
    async with TeamsConnector(tolerance=0.1).running() as connector:
        connector.add_conversation("a:lucas", user="29:lucas", tenant=TENANT)
        bot = ChannelAccount(id=BOT_ID, name="Drumbeat")
        tenant = ConversationReference(bot=bot, channel_id="msteams", service_url=connector.url)
        stored = reference_dict(tenant)
        stored["conversation"] = {"tenantId": TENANT}
        await store.save_conversation(Conversation("teams", tenant_address(TENANT), stored, "acme"))
        settings = Settings(teams_local=True)
        gateway = TeamsGateway(adapter=teams_adapter(settings), store=store, backoff=0.05)
        drumbeat = Drumbeat(
            store=store, chat=ChatRouter(gateways={"teams": gateway}, fallback="teams"),
            clock=FixedClock(MONDAY),
        )  # fmt: skip
        # Linked as when their teams installed the app: Lucas has talked to the bot, the
        # leads never did (the gateway opens their 1:1 chats).
        for member in (LUCAS, ANANYA, LEA):
            await drumbeat.people.identify(
                "acme", "teams", member.aad_object_id or "", email=member.email
            )
        app = web.Application()
        attach_teams(app, settings=settings, drumbeat=drumbeat, gateway=gateway)
        port = free_port()
        async with serving(app, "127.0.0.1", port):
            yield Wire(f"http://127.0.0.1:{port}/api/messages", store, connector, drumbeat)
            await drumbeat.courier.settle()
            await gateway.drain()


async def test_a_blockers_round_trip_through_the_gateway(wire: Wire):
    """Lucas checks in blocked by Platform; Ananya gets the card with its three buttons in a
    1:1 chat the gateway opens; On it, Not us (a team that does not exist, then Mobile) and
    Léa's Resolved are each answered in the pressed card's place, and Lucas hears each."""
    status, _ = await wire.post(wire.activity(LUCAS, "a:lucas", type="message", id="in-1",
                                              text="checkin"))  # fmt: skip
    assert status < 300
    [reply] = wire.connector.delivered("reply")
    form = reply.activity["attachments"][0]["content"]
    done = await wire.press(LUCAS, ("a:lucas", reply.activity_id or ""),
                            filled(form, **BLOCKED), "checkin:submit")  # fmt: skip
    assert "Checked in" in texts(done)
    assert await wire.drumbeat.blockers.announce("acme") == 0  # announced as it was stored
    await wire.drumbeat.courier.deliver("acme")

    ananya, asked = await wire.sent("🚧 Lucas Bernard is waiting on Platform")
    assert ananya[0] != "a:lucas"  # her own chat with the bot, opened for it
    assert titles(asked) == ["On it", "Not us", "Resolved"]
    _, told = await wire.sent("📣 Your blocker on")
    assert "Ananya Iyer" in texts(told)

    on_it = await wire.press(ANANYA, ananya, button(asked, ACKNOWLEDGE), ACKNOWLEDGE)
    assert "You're on it: I told Lucas Bernard" in texts(on_it)
    assert "actions" not in on_it
    _, heard = await wire.sent("👍 Ananya Iyer is on it")
    assert "Platform" in texts(heard)

    reroute = await wire.press(ANANYA, ananya, button(asked, NOT_US), NOT_US)
    assert REROUTE_FIELD in inputs(reroute)
    unknown = await wire.press(ANANYA, ananya, {**submit_data(reroute), REROUTE_FIELD: "Legal"},
                               "checkin:submit")  # fmt: skip
    assert REROUTE_FIELD in inputs(unknown)
    assert "Legal" in texts(unknown)
    sent_on = await wire.press(ANANYA, ananya,
                               {**submit_data(unknown), REROUTE_FIELD: "team:mobile"},
                               "checkin:submit")  # fmt: skip
    assert "Sent on to Mobile" in texts(sent_on)
    await wire.drumbeat.courier.deliver("acme")
    lea, lea_card = await wire.sent("🚧 Lucas Bernard is waiting on Mobile")
    assert "Sent on by Ananya Iyer" in texts(lea_card)
    _, moved = await wire.sent("↪️ Your blocker now waits on Mobile")
    assert "not Platform's" in texts(moved)

    resolved = await wire.press(LEA, lea, button(lea_card, RESOLVE), RESOLVE)
    assert "Marked resolved" in texts(resolved)
    _, over = await wire.sent("✅ Léa Fontaine resolved your blocker")
    assert "Mobile" in texts(over)
    lucas_chat = [c for c in wire.connector.sent_to("a:lucas") if c.kind == "send"]
    assert len(lucas_chat) == 4  # went to Platform, on it, sent on, resolved: once each
