"""SlackGateway and its Web API client against the local Slack API: what is posted, how limits,
429s, server errors and Slack's own errors are handled, and what becomes a DeliveryError."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.ratelimit import Limit
from bot.slack.gateway import SlackGateway, parse_ref
from bot.slack.identity import SlackDirectory, SlackRecipients
from bot.slack.limits import POST_MESSAGE, SlackLimits
from bot.slack.webapi import SlackError, SlackWebApi, Workspace
from bot.slack.workspaces import SingleWorkspace
from rhythm.messages import Notice, Table, Text
from rhythm.okr import Person
from rhythm.ports import DeliveryError, NotLinked
from rhythm.records import Unreachable
from tests.bot.slack.world import fast_limits
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, Fault

TEAM = FakeTeam("T0001", "Acme", "xoxb-0001-gateway-secret")
ANA = FakeUser("U0ANA", "ana@acme.example", tz="Asia/Kolkata")
BEN = FakeUser("U0BEN", "ben@acme.example", tz="America/New_York")


@dataclass
class LinkedPeople:
    """The one PeopleRepository method the gateway uses, recorded."""

    links: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    async def link_chat_user(
        self, org: str, person: str, *, platform: str, user_id: str, timezone: str | None = None
    ) -> None:
        self.links.append((org, person, user_id, timezone))

    async def set_timezone(self, org: str, person: str, timezone: str | None) -> None: ...

    async def mark_unreachable(
        self, org: str, person: str, *, reason: str, at: datetime
    ) -> None: ...

    async def clear_unreachable(self, org: str, person: str) -> None: ...

    async def unreachable_people(self, org: str) -> list[Unreachable]:
        return []


class VirtualTime:
    """A clock for the throttles that moves when they sleep: waits are recorded, not spent."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def gateway_for(
    fake: FakeSlack,
    *,
    limits: SlackLimits | None = None,
    token: str = TEAM.bot_token,
    people: LinkedPeople | None = None,
    retries: int = 3,
    base_url: str | None = None,
) -> SlackGateway:
    api = SlackWebApi(
        limits=limits or fast_limits(),
        base_url=base_url or fake.url,
        retries=retries,
        backoff=0.01,
    )
    return SlackGateway(
        api=api,
        workspaces=SingleWorkspace(token=token),
        recipients=SlackRecipients(
            directory=SlackDirectory(api=api), people=people or LinkedPeople()
        ),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(teams=[TEAM], users=[ANA, BEN], channels=["C0OKRS"]) as slack:
        yield slack


@pytest.fixture
async def gateway(fake: FakeSlack) -> AsyncIterator[SlackGateway]:
    gateway = gateway_for(fake)
    yield gateway
    await gateway.aclose()


def person(user: FakeUser, *, linked: bool = True) -> Person:
    return Person(
        user.email, user.email.split("@")[0].title(), slack_user_id=user.id if linked else None
    )


PROMPT = Notice("Weekly check-in · 2026-W48", ("Revenue · 10 of 20",), footer="Answer by Tue")


async def test_a_direct_message_goes_to_the_persons_slack_id(
    fake: FakeSlack, gateway: SlackGateway
):
    ref = await gateway.send_direct("acme", person(ANA), PROMPT)

    [post] = fake.dms_to(ANA.id)
    assert ref == f"{post.channel}:{post.ts}"
    assert post.channel == "D0ANA"
    assert "Weekly check-in" in post.text
    [call] = fake.calls_to(POST_MESSAGE)
    assert call.params["channel"] == ANA.id
    assert call.params["unfurl_links"] is False


async def test_people_without_a_slack_id_are_found_in_the_user_list_and_linked(fake: FakeSlack):
    people = LinkedPeople()
    gateway = gateway_for(fake, people=people)
    try:
        await gateway.send_direct("acme", person(ANA, linked=False), PROMPT)
        await gateway.send_direct("acme", person(ANA, linked=False), PROMPT)
        await gateway.send_direct("acme", person(BEN, linked=False), PROMPT)
    finally:
        await gateway.aclose()
    assert len(fake.calls_to("users.list")) == 1
    assert fake.calls_to("users.lookupByEmail") == []
    assert people.links == [
        ("acme", ANA.email, ANA.id, "Asia/Kolkata"),
        ("acme", BEN.email, BEN.id, "America/New_York"),
    ]
    assert len(fake.dms_to(ANA.id)) == 2


async def test_a_big_workspace_is_read_in_pages_once_for_a_whole_fan_out(fake: FakeSlack):
    users = [fake.add_user(FakeUser(f"U{n:05d}", f"p{n}@acme.example")) for n in range(1200)]
    gateway = gateway_for(fake)
    try:
        await asyncio.gather(
            *(gateway.send_direct("acme", person(u, linked=False), PROMPT) for u in users[::100])
        )
    finally:
        await gateway.aclose()
    assert len(fake.calls_to("users.list")) == 3  # 1,202 users in pages of 500
    assert len(fake.calls_to(POST_MESSAGE, ok=True)) == 12


async def test_someone_who_joined_after_the_listing_is_looked_up_by_email(fake: FakeSlack):
    gateway = gateway_for(fake)
    try:
        await gateway.send_direct("acme", person(ANA, linked=False), PROMPT)
        newcomer = fake.add_user(FakeUser("U0NEW", "new@acme.example"))
        await gateway.send_direct("acme", person(newcomer, linked=False), PROMPT)
    finally:
        await gateway.aclose()
    assert len(fake.calls_to("users.list")) == 1
    assert len(fake.calls_to("users.lookupByEmail", ok=True)) == 1
    assert len(fake.dms_to("U0NEW")) == 1


async def test_nobody_with_that_email_yet_is_not_linked_not_a_failure(
    fake: FakeSlack, gateway: SlackGateway
):
    nobody = Person("nobody@acme.example", "Nobody")
    with pytest.raises(NotLinked) as caught:
        await gateway.send_direct("acme", nobody, PROMPT)
    assert not caught.value.permanent
    assert isinstance(caught.value.__cause__, SlackError)
    assert caught.value.__cause__.code == "users_not_found"
    assert fake.calls_to(POST_MESSAGE) == []


@pytest.mark.parametrize(
    "error",
    ["user_not_found", "account_inactive", "channel_not_found", "not_in_channel", "is_archived"],
)
async def test_slack_errors_about_the_recipient_are_permanent_and_not_retried(
    fake: FakeSlack, gateway: SlackGateway, error: str
):
    fake.fail(POST_MESSAGE, error)
    with pytest.raises(DeliveryError) as caught:
        await gateway.send_direct("acme", person(ANA), PROMPT)
    assert caught.value.permanent
    assert isinstance(caught.value, SlackError)
    assert caught.value.code == error
    assert len(fake.calls_to(POST_MESSAGE)) == 1


async def test_channels_the_bot_cannot_post_in_fail_for_good(
    fake: FakeSlack, gateway: SlackGateway
):
    fake.private_channels.add("G0SECRET")
    fake.archived_channels.add("C0OLD")
    codes = []
    for channel in ("C0NOWHERE", "G0SECRET", "C0OLD"):
        with pytest.raises(SlackError) as caught:
            await gateway.post_channel("acme", channel, Text("digest"))
        assert caught.value.permanent
        codes.append(caught.value.code)
    assert codes == ["channel_not_found", "not_in_channel", "is_archived"]


async def test_a_wrong_token_is_refused_by_the_api_and_never_retried(fake: FakeSlack):
    gateway = gateway_for(fake, token="xoxb-0001-wrong")
    try:
        with pytest.raises(SlackError) as caught:
            await gateway.send_direct("acme", person(ANA), PROMPT)
    finally:
        await gateway.aclose()
    assert (caught.value.code, caught.value.permanent) == ("invalid_auth", True)
    assert len(fake.calls) == 1


async def test_a_429_pauses_for_retry_after_and_the_message_is_sent_once(fake: FakeSlack):
    clock = VirtualTime()
    gateway = gateway_for(fake, limits=SlackLimits(clock=clock.clock, sleep=clock.sleep))
    fake.throttle(POST_MESSAGE, times=2, retry_after=3)
    try:
        ref = await gateway.send_direct("acme", person(ANA), PROMPT)
    finally:
        await gateway.aclose()
    assert [c.status for c in fake.calls_to(POST_MESSAGE)] == [429, 429, 200]
    assert len(fake.dms_to(ANA.id)) == 1
    assert parse_ref(ref)[0] == "D0ANA"
    assert sum(clock.sleeps) >= 6  # waited Retry-After twice before trying again


async def test_429s_that_go_on_become_a_transient_failure_with_retry_after(fake: FakeSlack):
    clock = VirtualTime()
    gateway = gateway_for(fake, limits=SlackLimits(clock=clock.clock, sleep=clock.sleep))
    fake.throttle(POST_MESSAGE, times=50, retry_after=7)
    try:
        with pytest.raises(DeliveryError) as caught:
            await gateway.send_direct("acme", person(ANA), PROMPT)
    finally:
        await gateway.aclose()
    assert not caught.value.permanent
    assert caught.value.retry_after == 7
    assert len(fake.calls_to(POST_MESSAGE)) == 1 + gateway.api.rate_limit_retries


async def test_server_errors_on_a_post_are_not_retried_blindly(
    fake: FakeSlack, gateway: SlackGateway
):
    """A 5xx on chat.postMessage may come after the message was posted: the send fails as
    "maybe done", for the core to look for the message before sending it again."""
    fake.server_error(POST_MESSAGE, times=2, status=503)
    with pytest.raises(DeliveryError) as caught:
        await gateway.send_direct("acme", person(ANA), PROMPT)
    assert not caught.value.permanent
    assert caught.value.maybe_done
    assert [c.status for c in fake.calls_to(POST_MESSAGE)] == [503]


async def test_server_errors_on_reads_are_retried_with_backoff(
    fake: FakeSlack, gateway: SlackGateway
):
    fake.server_error("users.info", times=2, status=503)
    answer = await gateway.api.call(Workspace("single", TEAM.bot_token), "users.info", user=ANA.id)
    assert answer["ok"]
    assert [c.status for c in fake.calls_to("users.info")] == [503, 503, 200]


async def test_server_errors_that_persist_are_transient_failures(
    fake: FakeSlack, gateway: SlackGateway
):
    fake.server_error("users.info", times=10, status=500)
    with pytest.raises(DeliveryError) as caught:
        await gateway.api.call(Workspace("single", TEAM.bot_token), "users.info", user=ANA.id)
    assert not caught.value.permanent
    assert not caught.value.maybe_done
    assert caught.value.retry_after is not None
    assert len(fake.calls_to("users.info")) == 1 + gateway.api.retries


async def test_an_unreachable_api_is_a_transient_failure(fake: FakeSlack):
    gateway = gateway_for(fake, base_url="http://127.0.0.1:9/api/", retries=1)
    try:
        with pytest.raises(DeliveryError) as caught:
            await gateway.send_direct("acme", person(ANA), PROMPT)
    finally:
        await gateway.aclose()
    assert not caught.value.permanent


async def test_messages_to_one_channel_keep_to_its_rate(fake: FakeSlack):
    """Scaled down ten times: one message per 100 ms per channel, enforced by the local API
    (which lets a message arrive 50 ms early: jitter on a busy machine)."""
    fake.per_channel, fake.tolerance = 10, 0.05
    gateway = gateway_for(
        fake, limits=SlackLimits(messages_per_second=1000, per_channel=Limit(1, 0.1))
    )
    try:
        await asyncio.gather(
            *(gateway.post_channel("acme", "C0OKRS", Text(f"{n}")) for n in range(6))
        )
    finally:
        await gateway.aclose()
    assert fake.violations == 0
    times = [c.at for c in fake.calls_to(POST_MESSAGE)]
    assert len(times) == 6
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.05


async def test_the_same_burst_without_the_throttle_trips_the_local_limit(fake: FakeSlack):
    """The test above could pass with a lenient fake: without spacing, it answers 429."""
    fake.per_channel, fake.tolerance, fake.whole_seconds = 10, 0.05, False
    gateway = gateway_for(
        fake, limits=SlackLimits(messages_per_second=1000, per_channel=Limit(1000, 1))
    )
    try:
        await asyncio.gather(
            *(gateway.post_channel("acme", "C0OKRS", Text(f"{n}")) for n in range(6))
        )
    finally:
        await gateway.aclose()
    assert fake.violations > 0
    assert len(fake.posts_in("C0OKRS")) == 6  # each 429 was waited out and retried once


async def test_the_workspace_cap_spaces_messages_to_different_people(fake: FakeSlack):
    users = [fake.add_user(FakeUser(f"U{n:04d}", f"p{n}@acme.example")) for n in range(20)]
    # 50 a second; the local API lets arrivals be 50 ms early (jitter on a busy machine), so
    # 20 messages sent at once would still trip it about 17 times
    fake.workspace_cap, fake.tolerance = 50, 0.05
    gateway = gateway_for(fake, limits=SlackLimits(messages_per_second=50))
    started = time.monotonic()
    try:
        await asyncio.gather(*(gateway.send_direct("acme", person(u), PROMPT) for u in users))
    finally:
        await gateway.aclose()
    assert fake.violations == 0
    assert time.monotonic() - started >= 0.38  # 20 messages at 50 a second


def test_a_429_on_a_fresh_channel_pauses_the_workspace_a_repeated_channel_only_itself():
    clock = VirtualTime()
    limits = SlackLimits(messages_per_second=10, clock=clock.clock, sleep=clock.sleep)
    throttle = limits.throttle("T1", POST_MESSAGE)
    assert throttle is not None
    limits.rate_limited("T1", POST_MESSAGE, 5, channel="D1")  # never posted there: the cap
    assert throttle.reserve("D2") >= 5

    clock.now += 100
    limits._remember_post("T1", "C1")
    clock.now += 1
    limits._remember_post("T1", "C1")
    limits.rate_limited("T1", POST_MESSAGE, 5, channel="C1")  # posted a second ago: C1's own
    assert throttle.reserve("C2") < 1
    assert throttle.reserve("C1") >= 5


def test_tiered_methods_have_their_own_bucket_per_workspace():
    limits = SlackLimits()
    assert limits.throttle("T1", "chat.update") is not limits.throttle("T1", "views.open")
    assert limits.throttle("T1", "views.open") is not limits.throttle("T2", "views.open")
    assert limits.throttle("T1", "auth.test") is None
    views = limits.throttle("T1", "views.open")
    assert views is not None
    limits.rate_limited("T1", "views.open", 30)
    assert views.reserve() > 29.9


async def test_a_long_message_continues_in_the_thread_of_its_first_post(
    fake: FakeSlack, gateway: SlackGateway
):
    rows = tuple((f"Key result {n}", f"{n}%") for n in range(120))
    ref = await gateway.post_channel(
        "acme", "C0OKRS", Table("Everything", ("KR", "Progress"), rows)
    )
    first, *rest = fake.posts_in("C0OKRS")
    assert ref == f"C0OKRS:{first.ts}"
    assert first.thread_ts is None
    assert rest
    assert all(p.thread_ts == first.ts for p in rest)
    assert all(len(p.blocks) <= 50 for p in (first, *rest))


async def test_a_reply_goes_into_the_thread_it_names(fake: FakeSlack, gateway: SlackGateway):
    top = await gateway.post_channel("acme", "C0OKRS", Text("digest"))
    await gateway.post_channel("acme", "C0OKRS", Text("team detail"), thread=top)
    first, reply = fake.posts_in("C0OKRS")
    assert reply.thread_ts == first.ts


async def test_updating_a_prompt_rewrites_it_in_place(fake: FakeSlack, gateway: SlackGateway):
    ref = await gateway.send_direct("acme", person(ANA), PROMPT)
    await gateway.update_direct("acme", person(ANA), ref, Notice("✅ Checked in at 09:14"))
    await gateway.drain()
    [post] = fake.dms_to(ANA.id)
    assert "Checked in at 09:14" in post.current["text"]
    assert len(fake.calls_to("chat.update", ok=True)) == 1


async def test_a_failed_update_is_logged_not_raised(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    await gateway.update_direct("acme", person(ANA), "D0ANA:1.000001", Notice("done"))
    await gateway.drain()
    assert "message_not_found" in caplog.text


async def test_people_typed_markup_is_posted_escaped(fake: FakeSlack, gateway: SlackGateway):
    await gateway.post_channel(
        "acme", "C0OKRS", Text("ping <!channel> <@U0BEN> <https://evil|click>")
    )
    [post] = fake.posts_in("C0OKRS")
    sent = str(post.blocks) + post.text
    for raw in ("<!channel>", "<@U0BEN>", "<https://evil|click>"):
        assert raw not in sent
    assert "&lt;!channel&gt;" in post.text


async def test_tokens_never_reach_the_logs(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake.throttle(POST_MESSAGE, times=1, retry_after=0.01)
    fake.whole_seconds = False
    fake.fail("chat.update", "message_not_found")
    ref = await gateway.send_direct("acme", person(ANA), PROMPT)
    await gateway.update_direct("acme", person(ANA), ref, Notice("done"))
    await gateway.drain()
    assert caplog.records  # something was logged: the 429 and the failed update
    assert TEAM.bot_token not in caplog.text
    assert all(TEAM.bot_token not in str(r.__dict__) for r in caplog.records)


# ---- a send in doubt, looked up -----------------------------------------------------------


async def test_a_prompt_in_doubt_is_found_by_its_tag_in_the_dm(
    fake: FakeSlack, gateway: SlackGateway
):
    began = datetime.now(UTC) - timedelta(seconds=5)
    ref = await gateway.send_direct("acme", person(ANA), PROMPT, tag="drumbeat-prompt-7")
    await gateway.send_direct("acme", person(ANA), PROMPT, tag="drumbeat-prompt-8")

    found = await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=began)
    missing = await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-9", since=began)

    assert found == ref
    assert missing is None


async def test_without_im_history_a_prompt_in_doubt_is_sent_again_not_given_up(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    """A workspace that installed the app before it asked for im:history: Slack refuses the
    lookup; the prompt goes out again rather than never (and the log says how to fix it)."""
    fake.faults.add(method="conversations.history", fault=Fault.slack_error("missing_scope"))
    began = datetime.now(UTC) - timedelta(seconds=5)
    await gateway.send_direct("acme", person(ANA), PROMPT, tag="drumbeat-prompt-7")

    with caplog.at_level(logging.WARNING):
        found = await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=began)

    assert found is None
    assert "im:history" in caplog.text


async def test_other_refusals_of_the_lookup_are_failures(fake: FakeSlack, gateway: SlackGateway):
    fake.faults.add(method="conversations.history", fault=Fault.slack_error("channel_not_found"))
    with pytest.raises(SlackError, match="channel_not_found"):
        await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=datetime.now(UTC))


# ---- ok answers of the wrong shape (a proxy, a changed API) ------------------------------

WRONG_SHAPES = [
    '{"ok": true}',
    '{"ok": true, "members": "nope"}',
    '{"ok": true, "members": [1, "x", null]}',
    '{"ok": true, "members": [{"id": 5}], "response_metadata": "x"}',
    '{"ok": true, "members": [], "response_metadata": {"next_cursor": 7}}',
    '{"ok": true, "user": "U1"}',
    '{"ok": true, "user": {"id": ""}}',
    '{"ok": true, "user": {"id": "U0ANA", "profile": "x", "tz": 3}}',
]


@pytest.mark.parametrize("method", ["users.list", "users.lookupByEmail"])
@pytest.mark.parametrize("body", WRONG_SHAPES)
async def test_an_ok_answer_of_another_shape_is_a_transient_failure_not_a_crash(
    fake: FakeSlack, gateway: SlackGateway, method: str, body: str
):
    """Someone without a Slack id is looked up by email; whatever shape Slack's "ok" answer
    has, the send either goes out or fails for now with a reason (and is retried later)."""
    fake.faults.add(method=method, fault=Fault.answer(200, "application/json", body))
    outcome: str | DeliveryError
    try:
        outcome = await gateway.send_direct("acme", person(ANA, linked=False), PROMPT)
    except DeliveryError as error:
        outcome = error
    if isinstance(outcome, DeliveryError):
        assert not outcome.permanent
        assert "unexpected_answer_shape" in outcome.reason
    else:
        assert outcome.startswith("D0ANA:")


@pytest.mark.parametrize(
    "body", ['{"ok": true, "messages": 5}', '{"ok": true, "messages": "abc", "has_more": 1}']
)
async def test_a_history_page_of_another_shape_finds_nothing(
    fake: FakeSlack, gateway: SlackGateway, body: str
):
    fake.faults.add(
        method="conversations.history", fault=Fault.answer(200, "application/json", body)
    )
    since = datetime.now(UTC) - timedelta(seconds=5)
    assert await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-1", since=since) is None


async def test_a_lookup_in_a_dm_the_app_posted_in_needs_no_conversations_open(
    fake: FakeSlack, gateway: SlackGateway
):
    """Tier 3 is 50 calls a minute: after a fan-out's lost answers, each lookup costs one
    call (the history), not two, when the DM's id is known from an earlier post."""
    began = datetime.now(UTC) - timedelta(seconds=5)
    ref = await gateway.send_direct("acme", person(ANA), PROMPT, tag="drumbeat-prompt-7")

    assert await gateway.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=began) == ref
    assert fake.calls_to("conversations.open") == []
    fresh = gateway_for(fake)  # another process: it asks Slack once
    await fresh.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=began)
    await fresh.find_direct("acme", person(ANA), "drumbeat-prompt-7", since=began)
    assert len(fake.calls_to("conversations.open")) == 1
    await fresh.aclose()
