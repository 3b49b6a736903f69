"""`/okr chart KEY` and a digest's "Trend" button over real HTTP, signed as Slack signs them:
the chart (a private report) goes to the person's DM with the app, the PNG shared there through
the local Slack API's upload sequence, and where they asked an ephemeral word says so; the
core's refusals come back as the usual ephemeral answer. (The backend plays no part: SQLite.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.slack.commands import NOT_SENT
from bot.slack.uploads import COMPLETE_UPLOAD
from rhythm.cadences import RhythmKind
from rhythm.digest_report import CHART_ACTION
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.ports import Answering
from rhythm.status import Status
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.test_app_http import responses, text_of
from tests.bot.slack.world import (
    CHANNEL,
    LEAD,
    OWNER,
    PROMPT_TIME,
    TEAM,
    SlackWorld,
    eventually,
    slack_world,
)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

KR = "onboarding-completion"  # Lucas's (OWNER's): 40% to 70%
TITLE = "Onboarding completion rate from 40% to 70%"
DIGEST_TIME = PROMPT_TIME + timedelta(days=2)  # past the weekly's answer deadline
SENT = f"I've sent the chart of {TITLE} to our direct messages."


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as built:
        await history(built)
        yield built


async def history(world: SlackWorld) -> None:
    """Two weekly check-ins of the key result, so its chart has values to draw."""
    for weeks, value in ((2, 46.0), (1, 50.0)):
        at = PROMPT_TIME - timedelta(weeks=weeks)
        update = KrUpdate(KR, value=value, confidence=7, status=Status.ON_TRACK)
        await world.store.save_checkin(
            world.org.key, CheckInDraft(OWNER, RhythmKind.WEEKLY, kr_updates=(update,)),
            period=f"2026-W{48 - weeks}", answering=Answering(), submitted_at=at,
            idempotency_key=f"history-{weeks}",
        )  # fmt: skip


def dm_of(world: SlackWorld, who: str) -> str:
    return world.fake.dm_channel(world.user(who).id)


async def test_a_chart_asked_for_in_a_channel_goes_to_the_dm_with_a_word_where_asked(
    world: SlackWorld,
):
    response = await world.command(f"chart {KR}", who=OWNER)
    assert response.status == 200

    [upload] = await eventually(lambda: world.fake.uploads)
    dm = dm_of(world, OWNER)
    [post] = world.fake.posts_in(dm)
    assert TITLE in post.text
    assert (upload.channel, upload.thread_ts) == (dm, None)  # at the top of the DM
    assert upload.data is not None
    assert upload.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert upload.alt_txt
    assert upload.filename.endswith(".png")
    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "ephemeral"
    assert SENT in text_of(reply)
    assert world.fake.posts_in(CHANNEL) == []  # nothing private in the channel


async def test_a_chart_asked_for_in_the_dm_is_the_answer_itself(world: SlackWorld):
    dm = dm_of(world, OWNER)

    await world.command(f"chart {KR}", who=OWNER, channel=dm)

    [upload] = await eventually(lambda: world.fake.uploads)
    assert upload.channel == dm
    assert len(world.fake.posts_in(dm)) == 1
    assert responses(world) == []


async def test_an_unknown_key_is_refused_ephemerally_and_nothing_is_sent(world: SlackWorld):
    await world.command("chart onboarding-complet", who=OWNER)

    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "ephemeral"
    assert "No key result" in text_of(reply)
    assert KR in text_of(reply)  # the key it was probably meant to be
    assert world.fake.dms_to(world.user(OWNER).id) == []
    assert world.fake.calls_to(COMPLETE_UPLOAD) == []


async def test_a_dm_that_cannot_be_sent_is_said_where_asked(world: SlackWorld):
    world.fake.fail("chat.postMessage", "user_disabled")

    await world.command(f"chart {KR}", who=OWNER)

    [reply] = await eventually(lambda: responses(world))
    assert NOT_SENT in text_of(reply)
    assert world.fake.uploads == []


def trend_click(world: SlackWorld, who: str, key: str) -> dict[str, object]:
    """The "Trend" button of a key result's line in a digest posted in the channel."""
    return payloads.message_action(
        payloads.button(CHART_ACTION, key, block_id="kr-onboarding"),
        user_id=world.user(who).id, team=TEAM.id, trigger_id=world.fake.trigger(),
        response_url=world.fake.response_url(), channel=CHANNEL, message_ts="1700000000.000100",
    )  # fmt: skip


async def test_the_trend_button_of_a_digest_sends_the_chart_to_whoever_pressed_it(
    world: SlackWorld,
):
    response = await world.slack.interactive(trend_click(world, LEAD, KR))
    assert response.status == 200

    [upload] = await eventually(lambda: world.fake.uploads)
    assert upload.channel == dm_of(world, LEAD)  # the lead pressed it, not the owner
    assert world.fake.dms_to(world.user(OWNER).id) == []
    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "ephemeral"
    assert reply["replace_original"] is False  # the digest stays as it is
    assert SENT in text_of(reply)


async def test_the_trend_button_of_a_key_result_gone_since_says_so(world: SlackWorld):
    await world.slack.interactive(trend_click(world, LEAD, "retired-kr"))

    [reply] = await eventually(lambda: responses(world))
    assert reply["response_type"] == "ephemeral"
    assert "No key result" in text_of(reply)
    assert world.fake.uploads == []


async def test_a_digest_shares_its_charts_in_its_own_thread(world: SlackWorld):
    await world.command("subscribe acme", who=LEAD, channel=CHANNEL)
    await eventually(lambda: responses(world))

    await world.tick(DIGEST_TIME)

    top, *_ = world.fake.posts_in(CHANNEL)
    assert top.thread_ts is None
    shared = world.fake.uploads_in(CHANNEL)
    assert shared
    assert {u.thread_ts for u in shared} == {top.ts}  # never under a sub-team's reply
    assert all(u.data and u.data.startswith(b"\x89PNG") for u in shared)
    assert len([p for p in world.fake.posts_in(CHANNEL) if p.thread_ts is None]) == 1
