"""The Teams bot with botbuilder's TestAdapter: activities shaped as Teams sends them (parsed
from JSON), the real core and database (both backends), every card checked against Teams'
rules (tests/bot/teams/cardrules.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity
from sqlalchemy import func, select

import bot.teams.cards.form as card_form
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.teams.bot import Member, TeamsBot
from bot.teams.plugin import _on_turn_error
from rhythm.context import FormContext
from rhythm.messages import Message
from rhythm.okr import Person
from rhythm.people import Admission
from rhythm.ports import FixedClock, Leaving
from rhythm.prompting import OFF, OPEN, SNOOZE
from rhythm.service import Drumbeat
from storage.store import SqlStore
from storage.tables import checkin_t
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

    async def team_members(self, context: TurnContext) -> list[Member]:
        return list(self.members.values())


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
        cards = [card(a) for a in self.adapter.activity_buffer]
        self.adapter.activity_buffer.clear()
        return cards

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


def submit_data(card: dict[str, Any]) -> dict[str, Any]:
    [action] = [a for a in card["actions"] if a["type"] == "Action.Submit"]
    data: dict[str, Any] = action["data"]
    return data


def button(card: dict[str, Any], action_id: str) -> dict[str, Any]:
    for action in card.get("actions", []):
        if action.get("data", {}).get("action") == action_id:
            data: dict[str, Any] = action["data"]
            return data
    raise AssertionError(f"no {action_id} button in {texts(card)}")


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
    await teams.say(personal(LUCAS, text="mineral water please"))

    [reply] = teams.replies()
    assert "I don't know" in texts(reply)
    assert "checkin" in texts(reply)


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


async def test_checkin_sends_the_form_as_a_card(teams: Teams):
    await teams.say(personal(LUCAS, text="checkin"))

    [form] = teams.replies()
    assert any(i.endswith(":value") for i in inputs(form))
    assert submit_data(form)["drumbeat"] == "submit"


async def test_an_invalid_value_comes_back_in_the_card_and_nothing_is_stored(teams: Teams):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()

    await teams.say(personal(LUCAS, replyToId="card-1", value=filled(form, value="ten")))

    [(replaced, shown)] = teams.updates()
    assert replaced == "card-1"
    assert "⚠" in texts(shown)
    assert "not a number" in texts(shown)
    assert [i for i in inputs(shown) if i.endswith(":value")]  # the form again, not a notice
    assert await teams.checkins() == 0


async def test_a_valid_submission_is_stored_and_the_card_replaced(teams: Teams):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()

    await teams.say(personal(LUCAS, replyToId="card-1", value=filled(form)))

    [(replaced, done)] = teams.updates()
    assert replaced == "card-1"
    assert "Checked in" in texts(done)
    assert inputs(done) == {}
    assert "actions" not in done
    assert await teams.checkins() == 1


async def test_a_double_submit_stores_one_checkin(teams: Teams):
    await teams.say(personal(LUCAS, text="checkin"))
    [form] = teams.replies()
    value = filled(form)

    await teams.say(personal(LUCAS, replyToId="card-1", value=value))
    await teams.say(personal(LUCAS, replyToId="card-1", value=value))

    first, second = teams.updates()
    assert "Checked in" in texts(first[1])
    assert "Checked in" in texts(second[1])
    assert "revision" not in texts(second[1])
    assert await teams.checkins() == 1


async def test_a_long_form_is_filled_page_by_page(teams: Teams, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(card_form, "LAYOUT_BUDGET", 2_500)  # Lucas's short form on pages
    await teams.say(personal(LUCAS, text="checkin"))
    [page] = teams.replies()
    pages = len(card_form.form_pages(
        (await teams.drumbeat.checkins.open("acme", LUCAS.email)).form
    ))  # fmt: skip
    assert pages > 1

    await teams.say(personal(LUCAS, replyToId="card-1", value=filled(page, value="ten")))
    [(_, again)] = teams.updates()
    if any(i.endswith(":value") for i in inputs(page)):
        assert "⚠" in texts(again)
        assert FormContext.parse(submit_data(again)["context"]).page == 0
    for number in range(pages):
        last = filled(page)
        await teams.say(personal(LUCAS, replyToId="card-1", value=last))
        [(replaced, page)] = teams.updates()
        assert replaced == "card-1"
        if number < pages - 1:
            assert FormContext.parse(submit_data(page)["context"]).page == number + 1
            assert await teams.checkins() == 0
    assert "Checked in" in texts(page)
    assert await teams.checkins() == 1

    await teams.say(personal(LUCAS, replyToId="card-1", value=last))  # the last page twice
    [(_, again)] = teams.updates()
    assert "Checked in" in texts(again)
    assert await teams.checkins() == 1


# ---- prompt buttons ---------------------------------------------------------------------------


async def lucas_prompt(teams: Teams) -> str:
    """Tick at the weekly check-in and link Lucas: his prompt's id."""
    await teams.say(personal(LUCAS, text="help"))
    teams.replies()
    await teams.drumbeat.tick(MONDAY)
    [prompt] = [s.message for s in teams.chat.sent if s.person == LUCAS.email]
    return next(a.value for a in prompt.actions if a.id == OPEN)  # type: ignore[union-attr]


def pressed(action: str, prompt_id: str) -> dict[str, Any]:
    return {"drumbeat": "action", "action": action, "value": prompt_id}


async def test_check_in_on_a_prompt_turns_the_prompt_into_the_form(teams: Teams):
    prompt_id = await lucas_prompt(teams)

    await teams.say(personal(LUCAS, replyToId="prompt-1", value=pressed(OPEN, prompt_id)))

    [(replaced, form)] = teams.updates()
    assert replaced == "prompt-1"
    assert FormContext.parse(submit_data(form)["context"]).prompt == int(prompt_id)
    await teams.say(personal(LUCAS, replyToId="prompt-1", value=filled(form)))
    [(_, done)] = teams.updates()
    assert "Checked in" in texts(done)
    assert (await teams.store.get_prompt("acme", int(prompt_id))).answered_at is not None


async def test_snooze_answers_with_a_new_message(teams: Teams):
    prompt_id = await lucas_prompt(teams)

    await teams.say(personal(LUCAS, replyToId="prompt-1", value=pressed(SNOOZE, prompt_id)))

    [reply] = teams.replies()
    assert "Snoozed" in texts(reply)
    assert teams.updates() == []


async def test_off_this_week_replaces_the_prompt(teams: Teams):
    prompt_id = await lucas_prompt(teams)

    await teams.say(personal(LUCAS, replyToId="prompt-1", value=pressed(OFF, prompt_id)))

    [(replaced, notice)] = teams.updates()
    assert replaced == "prompt-1"
    assert "time off" in texts(notice)


async def test_someone_elses_submit_payload_gets_a_short_answer(teams: Teams):
    await teams.say(personal(LUCAS, replyToId="x", value={"verb": "vote", "choice": "a"}))

    [reply] = teams.replies()
    assert "not one I know" in texts(reply)
    assert teams.updates() == []


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
async def test_a_tampered_button_gets_a_message_not_a_crash(teams: Teams, value: dict[str, Any]):
    await teams.say(personal(LUCAS, replyToId="x", value=value))

    [reply] = teams.replies()
    assert "checkin" in texts(reply)  # how to get a fresh form
    assert "Sorry" not in texts(reply)
    assert await teams.checkins() == 0


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
