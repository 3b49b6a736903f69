"""The Teams bot with botbuilder's TestAdapter: activities shaped as Teams sends them (parsed
from JSON), the real core and database (both backends), every card checked against Teams'
rules (tests/bot/teams/cardrules.py).

A card's button is pressed both ways Teams can send it: as the `adaptiveCard/action` invoke
of an Action.Execute (answered in the invoke's response, with nothing sent through the Bot
Framework) and as the message of an Action.Submit (cards sent before Action.Execute, older
clients), which the same handler answers by replacing the card or sending a message."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.core.serializer_helper import serializer_helper
from botbuilder.schema import Activity, ActivityTypes
from sqlalchemy import func, select

import bot.teams.cards.form as card_form
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.teams.bot import Member, TeamsBot
from bot.teams.cards import card_for
from bot.teams.plugin import _on_turn_error
from rhythm.context import FormContext
from rhythm.due import due_prompts
from rhythm.messages import Message
from rhythm.okr import Person
from rhythm.people import Admission
from rhythm.ports import FixedClock, Leaving
from rhythm.prompting import OFF, OPEN, SNOOZE
from rhythm.service import Drumbeat
from storage.store import SqlStore
from storage.tables import checkin_t, prompt_t
from tests.bot.teams.cardrules import card_problems

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris: the weekly check-in
TENANT = "72f988bf-tenant"
BOT_ID = "28:drumbeat-bot"
CHANNEL = "19:acme-okrs@thread.tacv2"
LUCAS = Member("29:lucas", "aad-lucas", "lucas.bernard@acme.example", "Lucas Bernard")
SOFIA = Member("29:sofia", "aad-sofia", "Sofia.Rossi@acme.example", "Sofia Rossi")  # growth lead
STRANGER = Member("29:who", "aad-who", "someone@else.example", "Someone")


@dataclass
class Sent:
    person: str
    message: Message


@dataclass
class RecordingChat:
    """The core's outgoing chat (prompts, updates of answered prompts), recorded."""

    sent: list[Sent] = field(default_factory=list)
    updated: list[tuple[str, Message]] = field(default_factory=list)

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if leaving is not None:
            await leaving()
        self.sent.append(Sent(person.email, message))
        return f"m{len(self.sent)}"

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        return None

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        self.updated.append((ref, message))

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        return "c1"


class Directory:
    """Teams' member lookup, as the Playground or Teams would answer it."""

    def __init__(self, *members: Member) -> None:
        self.members = {m.id: m for m in members}

    async def member(self, context: TurnContext, user_id: str) -> Member | None:
        return self.members.get(user_id)

    async def conversation_members(self, context: TurnContext) -> list[Member]:
        return list(self.members.values())


@dataclass(frozen=True)
class Seen:
    """What pressing a button showed: the card in the pressed one's place, or a message."""

    card: dict[str, Any] | None = None
    said: str | None = None


EXECUTE, SUBMIT = "execute", "submit"  # the two ways a press comes


@dataclass
class Teams:
    adapter: TestAdapter
    drumbeat: Drumbeat
    store: SqlStore
    chat: RecordingChat
    clock: FixedClock

    async def say(self, activity: dict[str, Any]) -> None:
        await self.adapter.receive_activity(Activity().deserialize(activity))

    def replies(self) -> list[dict[str, Any]]:
        """Cards sent since the last call (every one checked against Teams' rules)."""
        sent = self.adapter.activity_buffer
        assert not [a for a in sent if a.type == ActivityTypes.invoke_response]
        cards = [card(a) for a in sent]
        sent.clear()
        return cards

    def invoke_answers(self) -> list[dict[str, Any]]:
        """The bodies of the invoke responses since the last call (HTTP 200 each)."""
        sent = self.adapter.activity_buffer
        answers = [a.value for a in sent if a.type == ActivityTypes.invoke_response]
        sent[:] = [a for a in sent if a.type != ActivityTypes.invoke_response]
        assert all(answer.status == 200 for answer in answers)
        # As CloudAdapter puts them on the wire.
        return [json.loads(json.dumps(serializer_helper(answer.body))) for answer in answers]

    async def press(
        self, member: Member, card_id: str, data: dict[str, Any], *, via: str, verb: str = ""
    ) -> Seen:
        """Press a button whose data (with the card's inputs) is `data`, on the card
        `card_id`, the way `via` says; what the person sees then."""
        if via == EXECUTE:
            executed = {"type": "Action.Execute", "verb": verb or execute_verb(data),
                        "data": data}  # fmt: skip
            await self.say(personal(
                member, type="invoke", name="adaptiveCard/action", replyToId=card_id,
                value={"action": executed, "trigger": "manual"},
            ))  # fmt: skip
            [answer] = self.invoke_answers()
            # Answered in the invoke's response: nothing went through the Bot Framework.
            assert self.replies() == [], "a message sent"
            assert self.updates() == [], "a message updated"
            if answer["type"] == "application/vnd.microsoft.card.adaptive":
                assert answer["statusCode"] == 200
                assert card_problems(answer["value"]) == []
                return Seen(card=answer["value"])
            assert (answer["statusCode"], answer["type"]) == (
                200, "application/vnd.microsoft.activity.message"
            )  # fmt: skip
            assert isinstance(answer["value"], str)
            return Seen(said=answer["value"])
        await self.say(personal(member, replyToId=card_id, value=data))
        replaced, said = self.updates(), self.replies()
        assert len(replaced) + len(said) == 1, (replaced, said)
        if replaced:
            [(target, shown)] = replaced
            assert target == card_id
            return Seen(card=shown)
        return Seen(said=texts(said[0]))

    def updates(self) -> list[tuple[str, dict[str, Any]]]:
        """(replaced activity id, new card) since the last call."""
        done = [(a.id, card(a)) for a in self.adapter.updated_activities]
        self.adapter.updated_activities.clear()
        return done

    async def checkins(self) -> int:
        async with self.store.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(checkin_t))).scalar_one()


def card(activity: Activity) -> dict[str, Any]:
    [attachment] = activity.attachments
    assert attachment.content_type == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment.content
    assert card_problems(content) == []
    return content


def texts(card: dict[str, Any]) -> str:
    """Every piece of text of a card, in order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "label", "placeholder"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                found[node["id"]] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def checked_button(action: dict[str, Any]) -> dict[str, Any]:
    """A button as Teams needs it: an Action.Execute (card version 1.5, as Teams asks for
    Universal Actions) whose fallback, for older clients, is an Action.Submit with the same
    title and data."""
    assert action["type"] == "Action.Execute"
    assert action["verb"]
    fallback = action["fallback"]
    assert fallback["type"] == "Action.Submit"
    assert (fallback["title"], fallback["data"]) == (action["title"], action["data"])
    assert fallback.get("style") == action.get("style")
    return action


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    """The data of the form card's one button (Next, or the form's submit label)."""
    assert card["version"] == "1.5"
    [action] = card["actions"]
    data: dict[str, Any] = checked_button(action)["data"]
    assert data["drumbeat"] == "submit"
    return data


def button(card: dict[str, Any], action_id: str) -> dict[str, Any]:
    assert card["version"] == "1.5"
    for action in card.get("actions", []):
        if action.get("data", {}).get("action") == action_id:
            data: dict[str, Any] = checked_button(action)["data"]
            assert action["verb"] == action_id
            return data
    raise AssertionError(f"no {action_id} button in {texts(card)}")


def execute_verb(data: dict[str, Any]) -> str:
    """The verb Drumbeat gives a button with this data."""
    return str(data.get("action") or "checkin:submit")


def filled(card: dict[str, Any], **overrides: str) -> dict[str, Any]:
    """What Teams sends when the card's button is pressed with valid answers typed in."""
    value = dict(submit_data(card))
    for input_id, element in inputs(card).items():
        if element["type"] == "Input.Number":
            value[input_id] = str(element.get("value", element.get("min", 0)))
        elif element["type"] == "Input.ChoiceSet":
            value[input_id] = element.get("value") or element["choices"][0]["value"]
        elif input_id.endswith(":moved"):
            value[input_id] = "Shipped the new onboarding <b>flow</b>"
        else:
            value[input_id] = ""
    for suffix, answer in overrides.items():
        for input_id in inputs(card):
            if input_id.endswith(f":{suffix}"):
                value[input_id] = answer
    return value


def personal(member: Member, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id},
        "recipient": {"id": BOT_ID, "name": "Drumbeat"},
        "conversation": {
            "id": f"a:{member.id}",
            "conversationType": "personal",
            "tenantId": TENANT,
        },
        "channelData": {"tenant": {"id": TENANT}},
        "entities": [{"type": "clientInfo", "locale": "fr-FR", "timezone": "Europe/Paris"}],
        **fields,
    }


def in_channel(member: Member, text: str, *, thread: str = "1700000000001") -> dict[str, Any]:
    mention = "<at>Drumbeat</at>"
    return {
        "type": "message",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": member.id, "name": member.name, "aadObjectId": member.aad_object_id},
        "recipient": {"id": BOT_ID, "name": "Drumbeat"},
        "conversation": {
            "id": f"{CHANNEL};messageid={thread}", "conversationType": "channel",
            "isGroup": True, "tenantId": TENANT,
        },
        "text": f"{mention} {text}",
        "entities": [{
            "type": "mention", "text": mention,
            "mentioned": {"id": BOT_ID, "name": "Drumbeat"},
        }],
        "channelData": {
            "tenant": {"id": TENANT}, "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": CHANNEL}, "teamsChannelId": CHANNEL,
        },
    }  # fmt: skip


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
        members=Directory(LUCAS, SOFIA, STRANGER),
    )  # fmt: skip
    return Teams(TestAdapter(bot.on_turn), drumbeat, store, chat, clock)


# ---- install, welcome, identity ---------------------------------------------------------------


async def test_installing_for_a_person_welcomes_links_and_stores_the_reference(teams: Teams):
    await teams.say(
        personal(LUCAS, type="conversationUpdate", membersAdded=[{"id": BOT_ID}], text=None)
    )

    [welcome] = teams.replies()
    assert "Drumbeat" in texts(welcome)
    stored = await teams.store.conversation("teams", "aad-lucas")
    assert stored is not None
    assert stored.person == LUCAS.email
    assert stored.reference["conversation"]["id"] == "a:29:lucas"
    assert stored.reference["serviceUrl"] == "https://smba.trafficmanager.net/emea/"
    org = await teams.drumbeat.organisation("acme")
    assert org.person_by_chat_id("teams", "aad-lucas") == LUCAS.email
    assert org.person[LUCAS.email].teams_user_id == "aad-lucas"
    assert await teams.store.workspace_org("teams", TENANT) == "acme"
    assert await teams.store.conversation("teams", f"tenant:{TENANT}") is not None


async def test_installing_in_a_team_links_its_members_for_later_prompts(teams: Teams):
    await teams.say(
        {**in_channel(SOFIA, ""), "type": "conversationUpdate", "text": None,
         "membersAdded": [{"id": BOT_ID}]}
    )  # fmt: skip

    [welcome] = teams.replies()
    assert "subscribe" in texts(welcome)
    channel = await teams.store.conversation("teams", CHANNEL)
    assert channel is not None
    assert channel.reference["conversation"]["id"] == CHANNEL  # the channel, not one thread
    member = await teams.store.conversation("teams", "aad-lucas")
    assert member is not None
    assert member.reference["user"]["id"] == "29:lucas"  # what opening a 1:1 needs
    assert not member.reference["conversation"].get("id")  # no conversation yet
    org = await teams.drumbeat.organisation("acme")
    assert org.person_by_chat_id("teams", "aad-sofia") == "sofia.rossi@acme.example"


async def test_the_first_install_in_the_tenant_sends_the_prompts_that_waited_for_it(
    teams: Teams,
):
    """Before the app was installed anywhere in the tenant, nobody could be prompted: their
    prompts wait. The first install makes every one of them due on the next tick."""
    org = await teams.drumbeat.organisation("acme")
    await teams.store.add_prompts("acme", list(due_prompts(org, MONDAY)))
    async with teams.store.engine.connect() as conn:
        ids = list((await conn.execute(select(prompt_t.c.id))).scalars())
    assert ids
    far = MONDAY + timedelta(hours=1)  # when they would look again by themselves
    for prompt_id in ids:
        await teams.store.wait_for_link(prompt_id, at=MONDAY, look_again=far)
    woken: list[str] = []
    teams.drumbeat.people.on_prompts_due.append(lambda: woken.append("tick"))

    await teams.say(
        {**in_channel(SOFIA, ""), "type": "conversationUpdate", "text": None,
         "membersAdded": [{"id": BOT_ID}]}
    )  # fmt: skip
    await teams.say(personal(LUCAS, text="mine"))  # the tenant is known now: nothing more

    async with teams.store.engine.connect() as conn:
        held = (await conn.execute(select(prompt_t.c.claimed_until))).scalars()
    assert set(held) == {None}  # no longer waiting an hour to look again
    assert woken  # and this process ticks at once


async def test_someone_outside_the_okr_tree_is_told_so(teams: Teams):
    await teams.say(personal(STRANGER, text="mine"))

    [reply] = teams.replies()
    assert "not in Acme's OKR tree" in texts(reply)


# ---- commands ---------------------------------------------------------------------------------


async def test_a_command_in_a_personal_chat(teams: Teams):
    await teams.say(personal(LUCAS, text="mine"))

    [reply] = teams.replies()
    assert "Lucas Bernard's key results" in texts(reply)


async def test_unknown_words_get_the_help_not_a_guess(teams: Teams):
    await teams.say(personal(LUCAS, text="water the plants please"))

    [reply] = teams.replies()
    assert "I don't know" in texts(reply)
    assert "checkin" in texts(reply)


async def test_a_typo_is_asked_about_not_run(teams: Teams):
    await teams.say(personal(LUCAS, text="mineral water please"))

    [reply] = teams.replies()
    assert "I don't know “mineral”. Did you mean" in texts(reply)
    assert "key results" not in texts(reply)  # `mine` was not run on a guess


async def test_in_a_channel_the_mention_is_stripped_and_the_channel_remembered(teams: Teams):
    await teams.say(in_channel(SOFIA, "status growth"))

    [reply] = teams.replies()
    assert "Growth" in texts(reply)
    stored = await teams.store.conversation("teams", CHANNEL)
    assert stored is not None
    assert stored.reference["conversation"]["id"] == CHANNEL


async def test_subscribe_in_a_channel_subscribes_that_channel(teams: Teams):
    await teams.say(in_channel(SOFIA, "subscribe growth"))

    teams.replies()
    [subscription] = await teams.store.subscriptions("acme", "growth")
    assert subscription.channel == f"teams:{CHANNEL}"


# ---- check-in cards ---------------------------------------------------------------------------

BOTH_WAYS = pytest.mark.parametrize("via", [EXECUTE, SUBMIT])


async def test_checkin_sends_the_form_as_a_card(teams: Teams):
    await teams.say(personal(LUCAS, text="checkin"))

    [form] = teams.replies()
    assert any(i.endswith(":value") for i in inputs(form))
    assert submit_data(form)["drumbeat"] == "submit"
    assert form["actions"][0]["verb"] == "checkin:submit"


@BOTH_WAYS
async def test_an_invalid_value_comes_back_in_the_card_and_nothing_is_stored(
    teams: Teams, via: str
):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()

    seen = await teams.press(LUCAS, "card-1", filled(form, value="ten"), via=via)

    assert seen.card is not None
    assert "⚠" in texts(seen.card)
    assert "not a number" in texts(seen.card)
    assert [i for i in inputs(seen.card) if i.endswith(":value")]  # the form, not a notice
    assert submit_data(seen.card)["drumbeat"] == "submit"  # pressable again
    assert await teams.checkins() == 0


@BOTH_WAYS
async def test_a_valid_submission_is_stored_and_the_card_replaced(teams: Teams, via: str):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()

    seen = await teams.press(LUCAS, "card-1", filled(form), via=via)

    assert seen.card is not None
    assert "Checked in" in texts(seen.card)
    assert inputs(seen.card) == {}
    assert [a["title"] for a in seen.card["actions"]] == ["Edit"]  # its only button
    assert await teams.checkins() == 1


async def test_both_ways_of_pressing_one_card_store_one_checkin(teams: Teams):
    """A double click, or an old client's Action.Submit and a new one's Action.Execute on the
    same card: one check-in, and "Checked in" both times (not a revision)."""
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()
    value = filled(form)

    first = await teams.press(LUCAS, "card-1", value, via=EXECUTE)
    second = await teams.press(LUCAS, "card-1", value, via=EXECUTE)
    third = await teams.press(LUCAS, "card-1", value, via=SUBMIT)

    for seen in (first, second, third):
        assert seen.card is not None
        assert "Checked in" in texts(seen.card)
        assert "revision" not in texts(seen.card)
    assert await teams.checkins() == 1


@BOTH_WAYS
async def test_a_long_form_is_filled_page_by_page(
    teams: Teams, monkeypatch: pytest.MonkeyPatch, via: str
):
    monkeypatch.setattr(card_form, "LAYOUT_BUDGET", 2_500)  # Lucas's short form on pages
    await teams.say(personal(LUCAS, text="checkin"))
    [page] = teams.replies()
    pages = len(card_form.form_pages(
        (await teams.drumbeat.checkins.open("acme", LUCAS.email)).form
    ))  # fmt: skip
    assert pages > 1

    again = (await teams.press(LUCAS, "card-1", filled(page, value="ten"), via=via)).card
    assert again is not None
    if any(i.endswith(":value") for i in inputs(page)):
        assert "⚠" in texts(again)
        assert FormContext.parse(submit_data(again)["context"]).page == 0
    for number in range(pages):
        last = filled(page)
        shown = (await teams.press(LUCAS, "card-1", last, via=via)).card
        assert shown is not None
        page = shown
        if number < pages - 1:
            assert FormContext.parse(submit_data(page)["context"]).page == number + 1
            final = number + 1 == pages - 1
            assert (page["actions"][0]["title"] == "Next") is not final
            assert await teams.checkins() == 0
    assert "Checked in" in texts(page)
    assert await teams.checkins() == 1

    twice = (await teams.press(LUCAS, "card-1", last, via=via)).card  # the last page twice
    assert twice is not None
    assert "Checked in" in texts(twice)
    assert await teams.checkins() == 1


# ---- prompt buttons ---------------------------------------------------------------------------


async def lucas_prompt(teams: Teams) -> tuple[str, dict[str, Any]]:
    """Tick at the weekly check-in and link Lucas: his prompt's id, and its card."""
    await teams.say(personal(LUCAS, text="help"))
    teams.replies()
    await teams.drumbeat.tick(MONDAY)
    [prompt] = [s.message for s in teams.chat.sent if s.person == LUCAS.email]
    [drawn] = card_for(prompt)
    assert card_problems(drawn) == []
    return next(a.value for a in prompt.actions if a.id == OPEN), drawn  # type: ignore[union-attr]


def pressed(action: str, prompt_id: str) -> dict[str, Any]:
    return {"drumbeat": "action", "action": action, "value": prompt_id}


async def test_the_prompt_s_buttons_are_universal_actions_with_their_data(teams: Teams):
    prompt_id, prompt = await lucas_prompt(teams)

    for action in (OPEN, SNOOZE, OFF):
        assert button(prompt, action) == pressed(action, prompt_id)


@BOTH_WAYS
async def test_check_in_on_a_prompt_turns_the_prompt_into_the_form(teams: Teams, via: str):
    prompt_id, prompt = await lucas_prompt(teams)

    form = (await teams.press(LUCAS, "prompt-1", button(prompt, OPEN), via=via)).card

    assert form is not None
    assert FormContext.parse(submit_data(form)["context"]).prompt == int(prompt_id)
    done = (await teams.press(LUCAS, "prompt-1", filled(form), via=via)).card
    assert done is not None
    assert "Checked in" in texts(done)
    assert (await teams.store.get_prompt("acme", int(prompt_id))).answered_at is not None


@BOTH_WAYS
async def test_snooze_leaves_the_prompt_and_says_until_when(teams: Teams, via: str):
    prompt_id, prompt = await lucas_prompt(teams)

    seen = await teams.press(LUCAS, "prompt-1", button(prompt, SNOOZE), via=via)

    assert seen.card is None  # the prompt stays, with its buttons
    assert seen.said is not None
    assert "Snoozed" in seen.said
    assert (await teams.store.get_prompt("acme", int(prompt_id))).snoozed_until is not None


@BOTH_WAYS
async def test_off_this_week_replaces_the_prompt(teams: Teams, via: str):
    _, prompt = await lucas_prompt(teams)

    seen = await teams.press(LUCAS, "prompt-1", button(prompt, OFF), via=via)

    assert seen.card is not None
    assert "time off" in texts(seen.card)
    assert "actions" not in seen.card


@BOTH_WAYS
async def test_someone_elses_submit_payload_gets_a_short_answer(teams: Teams, via: str):
    seen = await teams.press(LUCAS, "x", {"verb": "vote", "choice": "a"}, via=via, verb="vote")

    assert seen.said is not None
    assert "not one I know" in seen.said


@BOTH_WAYS
@pytest.mark.parametrize(
    "value",
    [
        {"drumbeat": "action", "action": "checkin:open", "value": "abc"},
        {"drumbeat": "action", "action": "checkin:snooze", "value": "1e309"},
        {"drumbeat": "action", "action": "checkin:off", "value": "²"},
        {"drumbeat": "action", "action": "checkin:nonsense", "value": "1"},
        {"drumbeat": "submit", "context": '{"v":1,"o":"acme","k":"yearly"}'},
        {"drumbeat": "submit", "context": "not json at all"},
    ],
)
async def test_a_tampered_button_gets_a_message_not_a_crash(
    teams: Teams, value: dict[str, Any], via: str
):
    seen = await teams.press(LUCAS, "x", value, via=via)

    assert seen.said is not None
    assert "checkin" in seen.said  # how to get a fresh form
    assert "Sorry" not in seen.said
    assert await teams.checkins() == 0


async def test_an_invoke_without_data_gets_a_short_answer(teams: Teams):
    await teams.say(personal(
        LUCAS, type="invoke", name="adaptiveCard/action", replyToId="x",
        value={"action": {"type": "Action.Execute", "verb": "checkin:open"}, "trigger": "manual"},
    ))  # fmt: skip

    [answer] = teams.invoke_answers()
    assert answer["type"] == "application/vnd.microsoft.activity.message"
    assert "not one I know" in answer["value"]


async def test_a_stranger_s_press_is_told_so_in_the_invoke_answer(teams: Teams):
    seen = await teams.press(STRANGER, "x", pressed(OPEN, "1"), via=EXECUTE)

    assert seen.said is not None
    assert "not in Acme's OKR tree" in seen.said


# ---- a tenant nobody linked -------------------------------------------------------------------


async def test_a_tenant_nobody_linked_reads_nothing_even_with_a_member_s_email(
    store: SqlStore,
):
    """A multi-tenant bot hears from any tenant: one no admin linked joins no organisation,
    not even when its user's email is a member's."""
    await store.save_organisation(load_organisation(ACME))
    drumbeat = Drumbeat(
        store=store, chat=ChatRouter(gateways={"teams": RecordingChat()}, fallback="teams"),
        clock=FixedClock(MONDAY),
    )  # fmt: skip
    impostor = Member("29:evil", "aad-evil", LUCAS.email, "Not Lucas")
    bot = TeamsBot(drumbeat=drumbeat, conversations=store, members=Directory(impostor))
    teams = Teams(TestAdapter(bot.on_turn), drumbeat, store, RecordingChat(), FixedClock(MONDAY))
    other_tenant = {"conversation": {"id": "a:29:evil", "conversationType": "personal",
                                     "tenantId": "evil-tenant"},
                    "channelData": {"tenant": {"id": "evil-tenant"}}}  # fmt: skip

    for text in ("status growth", "tree", "mine", "checkin"):
        await teams.say({**personal(impostor, text=text), **other_tenant})
        [reply] = teams.replies()
        shown = texts(reply)
        assert "not connected to Drumbeat yet" in shown, text
        assert "Growth" not in shown
        assert "Onboarding" not in shown

    assert await store.workspace_org("teams", "evil-tenant") is None
    assert await store.conversation("teams", "aad-evil") is None  # nothing of it kept
    assert (await drumbeat.organisation("acme")).person_by_chat_id("teams", "aad-evil") is None
    await store.link_workspace("teams", "evil-tenant", "acme")  # an admin says it is ours
    await teams.say({**personal(impostor, text="mine"), **other_tenant})
    [reply] = teams.replies()
    assert "Lucas Bernard's key results" in texts(reply)


async def test_a_bug_is_logged_with_its_traceback_and_the_person_gets_an_apology(
    teams: Teams, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    teams.adapter.on_turn_error = _on_turn_error  # as attach_teams sets it

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("kr:onboarding-completion:value")

    monkeypatch.setattr(teams.drumbeat.digests, "digest", broken)
    await teams.say(personal(LUCAS, text="status growth"))

    [reply] = teams.replies()
    assert "Sorry, something went wrong on my side" in texts(reply)
    assert "kr:" not in texts(reply)
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


async def test_a_bug_behind_a_button_is_answered_in_the_invoke_response(
    teams: Teams, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """Universal Actions' error answer (HTTP 200, statusCode 500) with the apology, instead
    of no answer (Teams would show its own error) and an apology sent as a message."""
    teams.adapter.on_turn_error = _on_turn_error
    _, prompt = await lucas_prompt(teams)

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError("kr:onboarding-completion:value")

    monkeypatch.setattr(teams.drumbeat.checkins, "open", broken)
    await teams.say(personal(
        LUCAS, type="invoke", name="adaptiveCard/action", replyToId="prompt-1",
        value={"action": {"type": "Action.Execute", "verb": OPEN,
                          "data": button(prompt, OPEN)}, "trigger": "manual"},
    ))  # fmt: skip

    [answer] = teams.invoke_answers()
    assert teams.replies() == []
    assert teams.updates() == []
    assert (answer["statusCode"], answer["type"]) == (500, "application/vnd.microsoft.error")
    assert "Sorry, something went wrong on my side" in answer["value"]["message"]
    assert "kr:" not in json.dumps(answer)
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)
