"""The "Blocked by" picker in Slack over real HTTP, with signed requests and a real database:
a static select with option groups for an organisation that fits one, an external select
answered by `block_suggestion` for one that does not, and what is picked stored as a team and
a key result."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from bot.okrfile import load_organisation
from rhythm.okr import Organisation, Team
from storage.store import SqlStore
from storage.tables import kr_update_t
from tests.bot.slack import payloads
from tests.bot.slack.blockkit import menu_problems, view_problems
from tests.bot.slack.world import ACME, OWNER, TEAM, SlackWorld, eventually, slack_world

SQUADS = 120  # teams beyond what one static select holds (100 options)


def big_acme() -> Organisation:
    acme = load_organisation(ACME)
    squads = tuple(
        Team(f"squad-{n:03d}", f"Squad {n:03d}", "engineering", "Europe/Paris")
        for n in range(SQUADS)
    )
    return replace(acme, teams=(*acme.teams, *squads))


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as built:
        yield built


@pytest.fixture
async def big_world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store, org=big_acme()) as built:
        yield built


async def opened_form(world: SlackWorld) -> dict[str, Any]:
    await world.command("checkin", who=OWNER)
    [view] = await eventually(world.opened_views)
    assert view_problems(view) == []
    return view


def blocked_by(view: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in view["blocks"] if b.get("block_id", "").endswith(":blocked_by")]
    return block


async def stored_blockers(store: SqlStore) -> list[tuple[str | None, str | None]]:
    query = select(kr_update_t.c.blocked_by_team, kr_update_t.c.blocked_by_kr)
    async with store.engine.connect() as conn:
        return [(team, kr) for team, kr in (await conn.execute(query)).all()]


async def suggest(world: SlackWorld, view: dict[str, Any], typed: str, *, who: str = OWNER) -> Any:
    user_id = world.user(who).id if who == OWNER else who
    payload = payloads.block_suggestion(
        view, blocked_by(view)["block_id"], typed, user_id=user_id, team=TEAM.id
    )
    response = await world.slack.interactive(payload)
    assert response.status == 200
    return json.loads(await response.text())


async def test_a_small_organisation_picks_from_a_static_select_in_groups(world: SlackWorld):
    view = await opened_form(world)
    block = blocked_by(view)
    menu = block["element"]
    assert (menu["type"], block["optional"]) == ("static_select", True)
    assert menu_problems(menu, "blocked_by") == []
    headings = [g["label"]["text"] for g in menu["option_groups"]]
    assert headings[:3] == ["No blocker", "Teams", "Acme key results"]
    assert "Platform key results" in headings

    answers = payloads.valid_answers(view) | {block["block_id"]: "kr:p95-latency"}
    answer = await (await world.submit(view, answers, who=OWNER)).json()
    assert answer == {"response_action": "clear"}
    assert await stored_blockers(world.store) == [("platform", "p95-latency")]


async def test_nothing_picked_and_none_picked_both_store_no_blocker(world: SlackWorld):
    view = await opened_form(world)
    block_id = blocked_by(view)["block_id"]
    for picked in (None, "none"):
        answers = payloads.valid_answers(view) | {block_id: picked}
        answer = await (await world.submit(view, answers, who=OWNER)).json()
        assert answer == {"response_action": "clear"}
    assert await stored_blockers(world.store) == [(None, None), (None, None)]


async def test_a_value_no_option_has_is_refused_on_its_input(world: SlackWorld):
    view = await opened_form(world)
    block_id = blocked_by(view)["block_id"]
    answers = payloads.valid_answers(view) | {block_id: "team:the-moon"}
    answer = await (await world.submit(view, answers, who=OWNER)).json()
    assert answer == {
        "response_action": "errors",
        "errors": {block_id: "No team or key result called “the-moon”."},
    }
    assert await stored_blockers(world.store) == []


async def test_a_large_organisation_gets_an_external_select_answered_as_people_type(
    big_world: SlackWorld,
):
    view = await opened_form(big_world)
    menu = blocked_by(view)["element"]
    assert menu == {
        "type": "external_select",
        "action_id": "value",
        "placeholder": {"type": "plain_text", "text": "Type a name…", "emoji": True},
        "min_query_length": 1,
    }

    started = time.monotonic()
    found = await suggest(big_world, view, "squad 04")
    assert time.monotonic() - started < 1.0  # Slack gives up after 3 s
    assert menu_problems(found, "options") == []
    [group] = found["option_groups"]
    assert group["label"]["text"] == "Teams"
    squads = ["Squad 004", *(f"Squad 04{n}" for n in range(10)), "Squad 104"]
    assert [o["text"]["text"] for o in group["options"]] == squads  # as listed, the team tree

    wide = await suggest(big_world, view, "s")  # nearly everything matches: 100 at most
    assert menu_problems(wide, "options") == []
    assert sum(len(g["options"]) for g in wide["option_groups"]) == 100

    latency = await suggest(big_world, view, "LATENCY")
    found_groups = [(g["label"]["text"], [o["value"] for o in g["options"]])
                    for g in latency["option_groups"]]  # fmt: skip
    assert found_groups == [("Platform key results", ["kr:p95-latency"])]

    answers = payloads.valid_answers(view) | {blocked_by(view)["block_id"]: "team:squad-042"}
    answer = await (await big_world.submit(view, answers, who=OWNER)).json()
    assert answer == {"response_action": "clear"}
    assert await stored_blockers(big_world.store) == [("squad-042", None)]


async def test_a_suggestion_for_nobody_we_know_or_no_picker_is_an_empty_list(
    big_world: SlackWorld,
):
    view = await opened_form(big_world)
    assert await suggest(big_world, view, "squad", who="U0STRANGER") == {"options": []}
    value_input = next(b for b in view["blocks"] if b.get("block_id", "").endswith(":value"))
    payload = payloads.block_suggestion(
        view, value_input["block_id"], "1", user_id=big_world.user(OWNER).id, team=TEAM.id
    )
    response = await big_world.slack.interactive(payload)
    assert json.loads(await response.text()) == {"options": []}
