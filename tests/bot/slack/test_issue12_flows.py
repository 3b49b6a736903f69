"""Blockers, nudges, settings, history and Edit in Slack, end to end: signed requests to the
running app over real HTTP, the local Slack Web API recording what the app sends, a real
database and the fixed clock.

- A check-in whose "Blocked by" names a team reaches that team's lead as a DM with On it /
  Not us / Resolved; each answer replaces the lead's message and reaches the reporter; a
  second answer is told who was first; Not us opens a re-route form (errors on its field,
  teams suggested as people type in a large organisation); the reporter's next check-in
  without a blocker resolves it for both sides.
- `/okr blockers`, `/okr history KEY | @person` and `/okr settings` (a modal whose Off stops
  the lead's list of who is missing).
- A lead's missing list has one Nudge per person (action ids unique in their block); a
  Nudge reaches the person once, and never past their weekly allowance.
- A confirmation's Edit opens the form prefilled, and stores a second revision.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.okrfile import load_organisation
from bot.slack.blocks import core_action_id
from rhythm.blocker_news import ACKNOWLEDGE, NOT_US, RESOLVE
from rhythm.forms import REROUTE_FIELD
from rhythm.nudges import NUDGE
from rhythm.okr import KeyResult, Metric
from rhythm.preferences import MISSING_LIST
from rhythm.prompting import EDIT, OPEN
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.blockkit import block_problems, view_problems
from tests.bot.slack.test_app_http import prompt_id, responses, text_of
from tests.bot.slack.test_picker_http import big_acme
from tests.bot.slack.world import (
    ACME,
    MONDAY,
    OWNER,
    PROMPT_TIME,
    TEAM,
    SlackWorld,
    eventually,
    slack_world,
)
from tests.peers.slack_api import Post

ONLY_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

ANANYA = "ananya.iyer@acme.example"  # leads Platform
THOMAS = "thomas.keller@acme.example"  # leads Engineering, Platform's parent team
LEA = "lea.fontaine@acme.example"  # leads Mobile
SOFIA = "sofia.rossi@acme.example"  # leads Growth: Lucas (OWNER) and Camille
CAMILLE = "camille.laurent@acme.example"
KR = "onboarding-completion"  # Lucas's
KR_TITLE = "Onboarding completion rate from 40% to 70%"
BLOCKER = "waiting for the <b>SSO</b> fix & the new endpoint"
DEADLINE = MONDAY + timedelta(days=2, hours=9)  # the weekly's answer deadline (Paris)


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as built:
        yield built


@pytest.fixture
async def growth_world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    """Acme where Camille owns a key result too: Growth's lead has two people to chase."""
    acme = load_organisation(ACME)
    extra = KeyResult(
        "self-serve-upgrades", "activation", "Self-serve upgrades from 20 to 60", CAMILLE,
        Metric(20, 60, 30),
    )  # fmt: skip
    org = replace(acme, key_results=(*acme.key_results, extra))
    async with slack_world(store, org=org) as built:
        yield built


# ---- helpers ------------------------------------------------------------------------------


async def settle(world: SlackWorld) -> None:
    """What the core does in the background once a click or a submission is answered (news
    delivered "soon", prompt messages updated), done; then what a tick would do for blockers
    (announce what changed, deliver the outbox)."""
    await world.drumbeat.courier.settle()
    await world.drumbeat.blockers.announce("acme")
    await world.drumbeat.courier.deliver("acme")
    await world.gateway.drain()


def dms(world: SlackWorld, who: str) -> list[Post]:
    return world.fake.dms_to(world.user(who).id)


def buttons(post: Post) -> dict[str, str | None]:
    """action id -> value of the buttons of a message as it reads now."""
    return {
        element["action_id"]: element.get("value")
        for block in post.current["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def reads(post: Post) -> str:
    return post.current["text"] + str(post.current["blocks"])


def with_button(world: SlackWorld, who: str, action: str) -> Post:
    """The person's latest DM that has the core button `action`."""
    found = [p for p in dms(world, who) if action in map(core_action_id, buttons(p))]
    assert found, f"no {action} button in the DMs of {who}"
    return found[-1]


async def press(world: SlackWorld, who: str, post: Post, action_id: str, value: str | None) -> None:
    """`who` clicks the button `action_id` of the message `post`, as Slack sends it."""
    payload = payloads.message_action(
        payloads.button(action_id, value),
        user_id=world.user(who).id,
        team=TEAM.id,
        trigger_id=world.fake.trigger(),
        response_url=world.fake.response_url(),
        channel=post.channel,
        message_ts=post.ts,
    )
    response = await world.slack.interactive(payload)
    assert response.status == 200


async def answered(world: SlackWorld, count: int) -> dict[str, Any]:
    """The response-URL answer number `count` (from 1), once it has come."""
    found = await eventually(lambda: responses(world)[count - 1 :])
    return found[0]


def field_id(view: dict[str, Any], suffix: str) -> str:
    return next(b["block_id"] for b in view["blocks"] if b.get("block_id", "").endswith(suffix))


def initial(view: dict[str, Any], block_id: str) -> str | None:
    [block] = [b for b in view["blocks"] if b.get("block_id") == block_id]
    element = block["element"]
    if "initial_option" in element:
        return str(element["initial_option"]["value"])
    return element.get("initial_value")


async def open_prompt(world: SlackWorld, who: str = OWNER) -> dict[str, Any]:
    """The person clicks "Check in" on their latest prompt: the modal Slack opened."""
    before = len(world.opened_views())
    await world.click(OPEN, str(prompt_id(world, who)), who=who)
    views = await eventually(lambda: world.opened_views()[before:])
    return views[0]


async def check_in(world: SlackWorld, view: dict[str, Any], changes: dict[str, str | None]) -> None:
    """Lucas submits the form with `changes` (field name -> answer) to his key result."""
    ours = {field_id(view, f"{KR}:{name}"): value for name, value in changes.items()}
    answer = await (await world.submit(view, payloads.valid_answers(view) | ours, who=OWNER)).json()
    assert answer == {"response_action": "clear"}


async def raise_blocker(world: SlackWorld) -> Post:
    """Lucas's weekly check-in says Platform blocks his key result; what Platform's lead got."""
    await world.tick(PROMPT_TIME)
    view = await open_prompt(world)
    await check_in(world, view, {"value": "52", "blocked_by": "team:platform", "blockers": BLOCKER})
    await settle(world)
    return with_button(world, ANANYA, ACKNOWLEDGE)


# ---- blockers ------------------------------------------------------------------------------


async def test_a_blocker_reaches_the_team_lead_and_each_answer_the_reporter(world: SlackWorld):
    asked = await raise_blocker(world)

    # Platform's lead: who, on what, in their words (escaped), and the three answers.
    assert block_problems(asked.blocks) == []
    assert asked.metadata is not None
    assert asked.metadata["event_payload"]["tag"].startswith("note:")  # found again by it
    assert "Lucas Bernard" in reads(asked)
    assert KR_TITLE in reads(asked)
    assert "&lt;b&gt;SSO&lt;/b&gt; fix &amp; the new endpoint" in reads(asked)
    assert "<b>" not in reads(asked)
    blocker = buttons(asked)[ACKNOWLEDGE]
    assert blocker is not None
    assert buttons(asked) == {ACKNOWLEDGE: blocker, NOT_US: blocker, RESOLVE: blocker}
    [went] = [p for p in dms(world, OWNER) if "went to" in p.text]
    assert "Your blocker on Onboarding completion rate" in went.text
    assert "went to Platform" in went.text
    assert "Ananya Iyer" in reads(went)

    # On it: the lead's message is replaced, the reporter hears it.
    await press(world, ANANYA, asked, ACKNOWLEDGE, blocker)
    reply = await answered(world, 1)
    assert reply["replace_original"] is True
    assert "You're on it: I told Lucas Bernard" in text_of(reply)
    await settle(world)
    assert "Ananya Iyer is on it" in dms(world, OWNER)[-1].text

    # Engineering's lead (above Platform) presses it too: told who was first, nothing sent.
    sent = len(dms(world, OWNER))
    await press(world, THOMAS, asked, ACKNOWLEDGE, blocker)
    second = await answered(world, 2)
    assert "Ananya Iyer is on it already" in text_of(second)
    await settle(world)
    assert len(dms(world, OWNER)) == sent

    # Resolved: the lead's message says so, the reporter hears who resolved it.
    await press(world, ANANYA, asked, RESOLVE, blocker)
    third = await answered(world, 3)
    assert (third["replace_original"], "Marked resolved" in text_of(third)) == (True, True)
    await settle(world)
    assert "Ananya Iyer resolved your blocker" in dms(world, OWNER)[-1].text
    assert await world.store.blockers("acme", key_results=[KR]) == []  # none live


@ONLY_SQLITE
async def test_not_us_sends_it_on_to_the_team_named_and_refuses_one_that_is_not(
    world: SlackWorld,
):
    asked = await raise_blocker(world)
    blocker = buttons(asked)[NOT_US]

    await press(world, ANANYA, asked, NOT_US, blocker)
    [form] = await eventually(lambda: world.opened_views()[1:])  # after Lucas's check-in
    assert view_problems(form) == []
    assert form["title"]["text"] == "Not us"
    menu = next(b for b in form["blocks"] if b.get("block_id") == REROUTE_FIELD)["element"]
    assert "team:mobile" in [o["value"] for o in payloads.menu_options(menu)]

    # A team that does not exist: said on the field, nothing changes.
    wrong = await world.submit(form, {REROUTE_FIELD: "team:the-moon"}, who=ANANYA)
    answer = await wrong.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [REROUTE_FIELD]
    assert "the-moon" in answer["errors"][REROUTE_FIELD]

    # Mobile: the modal closes, Ananya is told in her DM, Mobile's lead gets the blocker
    # with its buttons, the reporter hears where it went.
    right = await world.submit(form, {REROUTE_FIELD: "team:mobile"}, who=ANANYA)
    assert await right.json() == {"response_action": "clear"}
    told = await eventually(lambda: [p for p in dms(world, ANANYA) if "Sent on" in p.text])
    assert "Sent on to Mobile; Lucas Bernard is told" in told[0].text
    await settle(world)
    sent_on = with_button(world, LEA, ACKNOWLEDGE)
    assert buttons(sent_on)[ACKNOWLEDGE] == blocker
    assert "Sent on by Ananya Iyer" in reads(sent_on)
    assert block_problems(sent_on.blocks) == []
    assert "now waits on Mobile" in dms(world, OWNER)[-1].text

    # The same form submitted again (a double click): it closes, Ananya is told where the
    # blocker is now, and nothing is sent on twice.
    again = await (await world.submit(form, {REROUTE_FIELD: "team:mobile"}, who=ANANYA)).json()
    assert again == {"response_action": "clear"}
    await eventually(lambda: [p for p in dms(world, ANANYA) if "It now waits on Mobile" in p.text])
    await settle(world)
    assert len([p for p in dms(world, LEA) if ACKNOWLEDGE in buttons(p)]) == 1


@ONLY_SQLITE
async def test_in_a_large_organisation_not_us_offers_teams_as_people_type(store: SqlStore):
    async with slack_world(store, org=big_acme()) as world:
        asked = await raise_blocker(world)
        await press(world, ANANYA, asked, NOT_US, buttons(asked)[NOT_US])
        [form] = await eventually(lambda: world.opened_views()[1:])
        assert view_problems(form) == []
        menu = next(b for b in form["blocks"] if b.get("block_id") == REROUTE_FIELD)["element"]
        assert menu["type"] == "external_select"  # more teams than a static select holds

        typed = payloads.block_suggestion(
            form, REROUTE_FIELD, "squad 04", user_id=world.user(ANANYA).id, team=TEAM.id
        )
        found = json.loads(await (await world.slack.interactive(typed)).text())
        [group] = found["option_groups"]
        assert [o["value"] for o in group["options"]][:2] == ["team:squad-004", "team:squad-040"]

        right = await world.submit(form, {REROUTE_FIELD: "team:squad-042"}, who=ANANYA)
        assert await right.json() == {"response_action": "clear"}
        await settle(world)
        assert "now waits on Squad 042" in dms(world, OWNER)[-1].text
        # Squad 042 has no lead: Engineering's lead, the nearest above, gets it.
        assert "Sent on by Ananya Iyer" in reads(with_button(world, THOMAS, ACKNOWLEDGE))


@ONLY_SQLITE
async def test_the_reporters_next_check_in_without_a_blocker_resolves_it_for_both(
    world: SlackWorld,
):
    await raise_blocker(world)
    await world.tick(PROMPT_TIME + timedelta(weeks=1))  # next week's prompt
    view = await open_prompt(world)
    await check_in(world, view, {"value": "55", "blocked_by": "none", "blockers": None})
    await settle(world)
    assert "Your blocker on Onboarding completion rate" in dms(world, OWNER)[-1].text
    assert "is resolved" in dms(world, OWNER)[-1].text
    resolved = dms(world, ANANYA)[-1]
    assert "Resolved: Lucas Bernard's blocker" in resolved.text
    assert "reports no blocker" in reads(resolved)


@ONLY_SQLITE
async def test_blockers_and_history_commands_answer_with_what_is_stored(world: SlackWorld):
    await raise_blocker(world)

    await world.command("blockers growth", who=OWNER)
    growth = text_of(await answered(world, 1))
    assert "Blockers · Growth" in growth
    assert "Raised by Growth" in growth
    assert "waiting on *Platform*" in growth
    assert "Nothing waits on it." in growth

    await world.command("blockers platform", who=ANANYA)
    platform = text_of(await answered(world, 2))
    assert "Waiting on Platform" in platform
    assert "Lucas Bernard" in platform

    await world.command(f"history {KR}", who=SOFIA)
    by_key = await answered(world, 3)
    assert f"{KR_TITLE} · last check-ins" in text_of(by_key)
    assert "52%" in text_of(by_key)
    assert "waiting on Platform" in text_of(by_key)
    assert block_problems(by_key["blocks"]) == []

    lucas = world.user(OWNER)
    await world.command(f"history <@{lucas.id}|lucas>", who=SOFIA)
    by_person = await answered(world, 4)
    assert "Lucas Bernard · last check-ins" in text_of(by_person)
    assert KR_TITLE in text_of(by_person)
    assert "52%" in text_of(by_person)


# ---- settings and nudges ------------------------------------------------------------------


async def missing_list(world: SlackWorld) -> int:
    """Past the weekly's deadline: the leads' lists of who is missing, written and sent."""
    now = DEADLINE + timedelta(minutes=1)
    world.clock.set(now)
    written = await world.drumbeat.nudges.missing_lists(world.org, now)
    await world.drumbeat.courier.deliver("acme")
    return written


@ONLY_SQLITE
async def test_settings_open_as_a_modal_and_off_stops_the_missing_list(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    await world.command("settings", who=SOFIA)
    [form] = await eventually(world.opened_views)
    assert view_problems(form) == []
    assert form["title"]["text"] == "Settings"
    assert initial(form, MISSING_LIST) == "on"

    answer = await world.submit(form, {MISSING_LIST: "off"}, who=SOFIA)
    assert await answer.json() == {"response_action": "clear"}
    saved = await eventually(lambda: [p for p in dms(world, SOFIA) if "Settings saved" in p.text])
    assert "the list" in reads(saved[0])  # what Off means, said
    settings = await world.store.person_settings("acme", [SOFIA])
    assert settings[SOFIA].missing_list is False

    before = len(dms(world, SOFIA))
    assert await missing_list(world) > 0  # other leads get theirs
    assert len(dms(world, SOFIA)) == before
    assert any("not checked in" in p.text for p in dms(world, LEA))  # Hugo is missing


@ONLY_SQLITE
async def test_a_leads_nudge_reaches_the_person_once_and_never_past_the_weekly_cap(
    growth_world: SlackWorld,
):
    world = growth_world
    await world.tick(PROMPT_TIME)
    assert await missing_list(world) > 0
    listed = with_button(world, SOFIA, NUDGE)
    assert "2 of your people have not checked in" in listed.text
    assert block_problems(listed.blocks) == []  # one Nudge per person, ids unique in the block
    nudges = {
        element["text"]["text"]: (element["action_id"], element["value"])
        for block in listed.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }
    assert set(nudges) == {"Nudge Camille", "Nudge Lucas"}
    assert {core_action_id(a) for a, _ in nudges.values()} == {NUDGE}
    assert len({a for a, _ in nudges.values()}) == 2

    # Nudge Lucas: Sofia is told beside her list, Lucas gets the reminder in her name.
    action, value = nudges["Nudge Lucas"]
    await press(world, SOFIA, listed, action, value)
    sent = await answered(world, 1)
    assert sent["replace_original"] is False
    assert "I reminded Lucas Bernard for you" in text_of(sent)
    await settle(world)
    reminded = dms(world, OWNER)[-1]
    assert "Sofia Rossi asked me to remind you" in reminded.text
    assert buttons(reminded)[OPEN] == value  # the prompt's own buttons

    # Again: already nudged for this check-in, nothing more sent.
    count = len(dms(world, OWNER))
    await press(world, SOFIA, listed, action, value)
    assert "already nudged for this check-in" in text_of(await answered(world, 2))
    await settle(world)
    assert len(dms(world, OWNER)) == count

    # Camille had her three reminders this week already: no nudge.
    action, value = nudges["Nudge Camille"]
    prompt = await world.store.get_prompt("acme", int(value))
    assert prompt is not None
    for number in range(1, world.org.nudges_per_week + 1):
        assert await world.drumbeat.nudges.spend_reminder(world.org, prompt, number)
    camille = len(dms(world, CAMILLE))
    await press(world, SOFIA, listed, action, value)
    assert "already nudged this week" in text_of(await answered(world, 3))
    await settle(world)
    assert len(dms(world, CAMILLE)) == camille


# ---- edit ---------------------------------------------------------------------------------


@ONLY_SQLITE
async def test_edit_opens_the_stored_answers_and_stores_a_second_revision(world: SlackWorld):
    await world.tick(PROMPT_TIME)
    [prompt] = dms(world, OWNER)
    view = await open_prompt(world)
    await check_in(world, view, {"value": "61", "confidence": "6"})
    await world.gateway.drain()
    assert "Checked in at" in prompt.current["text"]
    checkin = buttons(prompt)[EDIT]
    assert checkin is not None

    await press(world, OWNER, prompt, EDIT, checkin)
    [edit] = await eventually(lambda: world.opened_views()[1:])
    assert view_problems(edit) == []
    assert initial(edit, field_id(edit, f"{KR}:value")) == "61"
    assert initial(edit, field_id(edit, f"{KR}:confidence")) == "6"

    await check_in(world, edit, {"value": "63"})
    await world.gateway.drain()
    stored = await world.store.stored_checkin("acme", int(checkin))
    assert stored is not None
    assert stored.revision == 2
    assert [u.value for u in stored.draft.kr_updates if u.key_result == KR] == [63.0]
    assert len(world.fake.calls_to("chat.update", ok=True)) == 2
    assert "revision 2" in reads(prompt)
    assert "63%" in reads(prompt)

    digest = await world.drumbeat.digests.digest("acme", "growth")
    [line] = [kr for o in digest.objectives for kr in o.key_results if kr.key == KR]
    assert line.value == 63.0
