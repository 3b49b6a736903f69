"""The whole rhythm in Slack, end to end over real HTTP and a real database (both backends):
a tick prompts an owner in a DM, the button opens the modal, an invalid submission is refused
on its fields and stores nothing, a valid one is stored once (however often it arrives) and
the DM says so, and the digest reaches the channel a lead subscribed with `/okr subscribe`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.okrfile import load_organisation
from bot.slack.modal import form_pages
from rhythm.context import FormContext
from rhythm.okr import KeyResult, Metric, Organisation
from rhythm.records import Draft
from storage.store import SqlStore
from storage.tables import checkin_t
from tests.bot.slack import payloads
from tests.bot.slack.blockkit import block_problems, view_problems
from tests.bot.slack.test_app_http import prompt_id, responses, text_of
from tests.bot.slack.world import (
    ACME,
    CHANNEL,
    LEAD,
    MONDAY,
    OWNER,
    PROMPT_TIME,
    SlackWorld,
    eventually,
    slack_world,
)

pytestmark = pytest.mark.slow

DEADLINE = MONDAY + timedelta(days=2, hours=9)  # Monday 10:00 Paris + two days
EVIL = "ping <!channel> and <@U05ACME001>, see <https://evil.example|the plan>"


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as built:
        yield built


async def checkins(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(checkin_t))).scalar_one())


def block_id(view: dict[str, Any], suffix: str) -> str:
    return next(b["block_id"] for b in view["blocks"] if b.get("block_id", "").endswith(suffix))


async def test_prompt_modal_errors_check_in_dm_update_and_digest(world: SlackWorld):
    # A lead subscribes the channel to Acme's digests.
    await world.command("subscribe acme", who=LEAD, channel=CHANNEL)
    [reply] = await eventually(lambda: responses(world))
    assert "now receives Acme's digests" in text_of(reply)

    # The tick prompts the owner in a DM (found by email: the OKR file has no Slack id).
    await world.tick(PROMPT_TIME)
    owner = world.user(OWNER)
    [prompt] = world.fake.dms_to(owner.id)
    assert "Weekly check-in" in prompt.text
    assert block_problems(prompt.blocks) == []

    # The button opens the prompt's modal through views.open, with the click's trigger.
    await world.click("checkin:open", str(prompt_id(world, OWNER)), who=OWNER)
    [view] = await eventually(world.opened_views)
    assert view_problems(view) == []
    state = FormContext.parse(view["private_metadata"])
    assert (state.org, state.page, state.prompt) == ("acme", 0, prompt_id(world, OWNER))

    # An invalid submission: errors on the right inputs, nothing stored.
    invalid = payloads.valid_answers(view) | {block_id(view, ":blocked_by"): "the moon team"}
    answer = await (await world.submit(view, invalid, who=OWNER)).json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == [block_id(view, ":blocked_by")]
    assert await checkins(world.store) == 0

    # A valid one (with text that tries to ping everyone) is stored and closes the modal...
    valid = payloads.valid_answers(view) | {
        block_id(view, ":value"): "61",
        block_id(view, ":confidence"): "4",
        block_id(view, ":status"): "at_risk",
        block_id(view, ":blockers"): EVIL,
    }
    answer = await (await world.submit(view, valid, who=OWNER)).json()
    assert answer == {"response_action": "clear"}
    assert await checkins(world.store) == 1

    # ...and the DM now says so, in place.
    await world.gateway.drain()
    [update] = [c for c in world.fake.calls_to("chat.update", ok=True)]
    assert (update.params["channel"], update.params["ts"]) == (prompt.channel, prompt.ts)
    assert "Checked in at 10:05 (Europe/Paris)" in prompt.current["text"]
    assert "61% (was" in str(prompt.current["blocks"])  # what was stored, echoed

    # At the deadline the digest reaches the subscribed channel, sub-teams in its thread.
    await world.tick(DEADLINE)
    top, *replies = world.fake.posts_in(CHANNEL)
    assert top.thread_ts is None
    assert "Acme" in top.text
    assert replies
    assert {r.thread_ts for r in replies} == {top.ts}
    posted = " ".join(str(p.blocks) + p.text for p in (top, *replies))
    assert "Lucas Bernard" in posted
    assert "&lt;!channel&gt;" in posted  # the blocker is there, escaped
    for raw in ("<!channel>", "<@U05ACME001>", "<https://evil.example|the plan>"):
        assert raw not in posted
    for post in (top, *replies):
        assert block_problems(post.blocks) == []

    # A later tick posts nothing twice.
    await world.tick(DEADLINE + timedelta(minutes=1))
    assert len([p for p in world.fake.posts_in(CHANNEL) if p.thread_ts is None]) == 1


async def test_a_double_submission_stores_one_check_in_and_updates_the_dm_once(
    world: SlackWorld,
):
    await world.tick(PROMPT_TIME)
    await world.click("checkin:open", str(prompt_id(world, OWNER)), who=OWNER)
    [view] = await eventually(world.opened_views)
    valid = payloads.valid_answers(view) | {block_id(view, ":value"): "58"}
    first, second = await asyncio.gather(
        world.submit(view, valid, who=OWNER), world.submit(view, valid, who=OWNER)
    )
    assert [await first.json(), await second.json()] == [{"response_action": "clear"}] * 2
    third = await world.submit(view, valid, who=OWNER)  # a late retry of the same submission
    assert await third.json() == {"response_action": "clear"}
    await world.gateway.drain()
    assert await checkins(world.store) == 1
    assert len(world.fake.calls_to("chat.update")) == 1


def many_key_results(org: Organisation, owner: str, count: int) -> Organisation:
    """`owner` also owns `count` more key results under the objective of their first one."""
    first = next(kr for kr in org.key_results if kr.owner == owner)
    extra = tuple(
        KeyResult(
            f"extra-{n:02d}",
            first.objective,
            f"Extra key result {n}",
            owner,
            Metric(0, 100, n, unit="%"),
        )
        for n in range(count)
    )
    return replace(org, key_results=org.key_results + extra)


async def test_many_key_results_get_a_paged_modal_and_one_check_in(store: SqlStore):
    org = many_key_results(load_organisation(ACME), OWNER, 24)
    async with slack_world(store, org=org) as world:
        await world.command("checkin", who=OWNER, channel="D0001ACME")
        [first] = await eventually(world.opened_views)
        state = FormContext.parse(first["private_metadata"])
        form = (await world.drumbeat.checkins.open("acme", OWNER)).form
        pages = len(form_pages(form))
        assert pages >= 3
        assert first["submit"]["text"] == "Next"

        # Page 1 with a bad answer: errors on that page; the next page only once it is fixed.
        bad = payloads.valid_answers(first) | {block_id(first, ":blocked_by"): "nobody here"}
        answer = await (await world.submit(first, bad, who=OWNER)).json()
        assert answer["response_action"] == "errors"

        view, typed = first, {}
        for page in range(pages):
            answers = payloads.valid_answers(view)
            if page == 0:
                answers[block_id(view, ":next")] = "call legal"
                typed = answers
            answer = await (await world.submit(view, answers, who=OWNER)).json()
            if page < pages - 1:
                assert answer["response_action"] == "update"
                view = answer["view"]
                assert view_problems(view) == []
                assert FormContext.parse(view["private_metadata"]) == state.at(page + 1)
                assert len(view["blocks"]) <= 100
            else:
                assert answer == {"response_action": "clear"}
        assert await checkins(store) == 1
        last = await store.kr_states("acme", OWNER)
        key = next(k for k in typed if k.endswith(":next")).split(":")[1]
        assert last[key].next_step == "call legal"  # page 1's answers were kept


async def test_an_error_on_an_earlier_page_brings_that_page_back(store: SqlStore):
    org = many_key_results(load_organisation(ACME), OWNER, 24)
    async with slack_world(store, org=org) as world:
        await world.command("checkin", who=OWNER, channel="D0001ACME")
        [view] = await eventually(world.opened_views)
        # Page 1 passes; then its answer is made invalid behind the modal's back (the OKR
        # file changed), so the last page's submission is rejected for a field on page 1.
        answers = payloads.valid_answers(view)
        answer = await (await world.submit(view, answers, who=OWNER)).json()
        view = answer["view"]
        key = FormContext.parse(view["private_metadata"]).draft_key
        draft = await store.load_draft("acme", OWNER, key)
        broken = next(k for k in draft.answers if k.endswith(":blocked_by"))
        await store.save_draft("acme", OWNER, key, Draft({**draft.answers, broken: "gone team"}))
        for _ in range(10):  # the remaining pages, until the last one sends page 1 back
            answer = await (
                await world.submit(view, payloads.valid_answers(view), who=OWNER)
            ).json()
            if FormContext.parse(answer["view"]["private_metadata"]).page == 0:
                break
            view = answer["view"]
        assert answer["response_action"] == "update"
        assert "gone team" in str(answer["view"]["blocks"])
        assert await checkins(store) == 0
