"""What `SlackWebApi` makes of every answer the Web API can give, against the local Slack API
over HTTP: faults scheduled per method and per call, counted at the server.

A test that makes a call hang gives the client a 1 s timeout (the only real waiting: a hanging
call costs that much); every other test gets one a loaded machine never reaches, so the calls it
counts are the client's, not a pause of the machine's. Backoff and throttles run on a virtual
clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.slack.limits import SlackLimits
from bot.slack.webapi import NOT_IDEMPOTENT, SlackError, SlackWebApi, Workspace
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, Fault, FaultSchedule

TEAM = FakeTeam("T0001", "Acme", "xoxb-0001-fake")
WORKSPACE = Workspace(TEAM.id, TEAM.bot_token)
ANA = FakeUser("U0ANA", "ana@acme.test")
BEN = FakeUser("U0BEN", "ben@acme.test")
PEOPLE = [FakeUser(f"U0P{n:02d}", f"p{n}@acme.test") for n in range(6)]
POST = "chat.postMessage"
TIMEOUT = 1.0
PATIENT = 30.0
BACKOFF = 0.5
RETRIES = 2
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}
HOME = {"type": "home", "blocks": [SECTION]}
MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Check-in"}, "blocks": [SECTION]}


class VirtualTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
async def slack(time: VirtualTime) -> AsyncIterator[FakeSlack]:
    users = [ANA, BEN, *PEOPLE]
    async with FakeSlack(teams=[TEAM], users=users, channels=["C0OKRS"], clock=time.clock) as fake:
        yield fake


def api_for(url: str, time: VirtualTime, **options: Any) -> SlackWebApi:
    settings: dict[str, Any] = {
        "retries": RETRIES, "backoff": BACKOFF, "timeout": TIMEOUT, "sleep": time.sleep,
    }  # fmt: skip
    limits = SlackLimits(clock=time.clock, sleep=time.sleep)
    return SlackWebApi(limits=limits, base_url=url, **(settings | options))


def hangs(request: pytest.FixtureRequest) -> bool:
    """Whether the test is given a fault that holds a call until the client gives up."""
    spec = getattr(request.node, "callspec", None)
    given = spec.params.values() if spec is not None else ()
    return any(isinstance(value, Fault) and value.kind == "hang" for value in given)


@pytest.fixture
async def api(
    slack: FakeSlack, time: VirtualTime, request: pytest.FixtureRequest
) -> AsyncIterator[SlackWebApi]:
    api = api_for(slack.url, time, timeout=TIMEOUT if hangs(request) else PATIENT)
    yield api
    await api.aclose()


def arguments(method: str) -> dict[str, Any]:
    """A call of `method` that Slack would carry out."""
    calls: dict[str, dict[str, Any]] = {
        "users.info": {"user": ANA.id},
        "users.list": {"limit": 10, "cursor": None},
        "conversations.open": {"users": ANA.id},
        "conversations.history": {"channel": "D0ANA", "include_all_metadata": True},
        "views.publish": {"user_id": ANA.id, "view": HOME},
        POST: {"channel": ANA.id, "text": "Weekly check-in", "unfurl_links": False},
    }
    return calls[method]


IDEMPOTENT = ["users.info", "users.list", "conversations.open", "conversations.history",
              "views.publish"]  # fmt: skip

# fault, the code it becomes, maybe_done for an idempotent method, and for chat.postMessage
FAULTS = [
    (Fault.TEXT_405, "http_405_text/plain", False, False),
    (Fault.HTML_200, "http_200_text/html", False, True),
    (Fault.HTML_502, "http_502_text/html", False, True),
    (Fault.HTML_503, "http_503_text/html", False, True),
    (Fault.EMPTY_200, "http_200_invalid_json", False, True),
    (Fault.JSON_ARRAY_200, "http_200_not_an_object", False, True),
    (Fault.INTERNAL_ERROR, "internal_error", False, True),
    (Fault.INTERNAL_ERROR_AFTER, "internal_error", False, True),
    (Fault.HANG_BEFORE, "timeout", True, True),
    (Fault.HANG_AFTER, "timeout", True, True),
    (Fault.RESET_BEFORE, "connection_reset", True, True),
    (Fault.RESET_AFTER, "connection_reset", True, True),
]
FAULT_IDS = [fault.name for fault, *_ in FAULTS]


@pytest.mark.parametrize("method", IDEMPOTENT)
@pytest.mark.parametrize("fault", [fault for fault, *_ in FAULTS], ids=FAULT_IDS)
async def test_one_fault_on_an_idempotent_method_is_retried_after_a_backoff(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime, method: str, fault: Fault
) -> None:
    slack.faults.add(method=method, nth=1, fault=fault)

    answer = await api.call(WORKSPACE, method, **arguments(method))

    assert answer["ok"] is True
    first, second = slack.calls_to(method)
    assert (first.fault, second.fault) == (fault, None)
    assert second.ok
    assert time.sleeps == [BACKOFF]


@pytest.mark.parametrize("method", ["users.info", POST])
@pytest.mark.parametrize(("fault", "code", "idempotent_maybe_done", "post_maybe_done"), FAULTS,
                         ids=FAULT_IDS)  # fmt: skip
async def test_a_fault_that_persists_becomes_a_transient_error_saying_what_came_back(
    slack: FakeSlack,
    api: SlackWebApi,
    method: str,
    fault: Fault,
    code: str,
    idempotent_maybe_done: bool,
    post_maybe_done: bool,
) -> None:
    slack.faults.add(method=method, fault=fault)

    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, method, **arguments(method))

    maybe_done = post_maybe_done if method in NOT_IDEMPOTENT else idempotent_maybe_done
    error = caught.value
    assert (error.code, error.permanent, error.maybe_done) == (code, False, maybe_done)
    assert error.retry_after is not None
    calls = slack.calls_to(method)
    # chat.postMessage is never tried again when it may have been posted: the caller looks first
    tried_again = not (method in NOT_IDEMPOTENT and maybe_done)
    assert len(calls) == (1 + RETRIES if tried_again else 1)
    assert all(call.fault == fault for call in calls)
    assert [call.effect for call in calls] == [fault.after] * len(calls)
    if method == POST:
        assert len(slack.dms_to(ANA.id)) == (1 if fault.after else 0)


@pytest.mark.parametrize("fault", [Fault.HANG_AFTER, Fault.RESET_AFTER], ids=lambda f: f.name)
async def test_a_message_posted_but_not_answered_is_not_posted_again_but_a_lookup_is(
    slack: FakeSlack, api: SlackWebApi, fault: Fault
) -> None:
    slack.faults.add(method=POST, nth=1, fault=fault)
    slack.faults.add(method="users.info", nth=1, fault=fault)

    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, POST, channel=ANA.id, text="Weekly check-in")
    answer = await api.call(WORKSPACE, "users.info", user=ANA.id)

    assert caught.value.maybe_done
    [posted] = slack.calls_to(POST)
    assert posted.effect
    assert not posted.ok
    assert len(slack.dms_to(ANA.id)) == 1
    assert answer["user"]["id"] == ANA.id
    assert [c.effect for c in slack.calls_to("users.info")] == [True, True]


async def test_a_connection_dropped_before_posting_is_told_apart_only_at_the_server(
    slack: FakeSlack, api: SlackWebApi
) -> None:
    slack.faults.add(method=POST, calls={1, 2}, fault=Fault.RESET_BEFORE)
    for _ in range(2):
        with pytest.raises(SlackError) as caught:
            await api.call(WORKSPACE, POST, channel=ANA.id, text="Weekly check-in")
        assert (caught.value.code, caught.value.maybe_done) == ("connection_reset", True)
    assert [(c.status, c.error, c.effect) for c in slack.calls_to(POST)] == [
        (0, "reset_before", False),
        (0, "reset_before", False),
    ]
    assert slack.dms_to(ANA.id) == []


@pytest.mark.parametrize("status", [200, 201, 301, 400, 403, 404, 405, 413, 500, 502, 504])
@pytest.mark.parametrize("content_type", ["text/plain", "text/html", "application/xml"])
async def test_any_answer_that_is_not_json_is_a_transient_error_at_any_status(
    slack: FakeSlack, api: SlackWebApi, status: int, content_type: str
) -> None:
    slack.faults.add(method="users.list", fault=Fault.answer(status, content_type, "nope"))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "users.list", limit=10)
    assert caught.value.code == f"http_{status}_{content_type}"
    assert not caught.value.permanent
    assert not caught.value.maybe_done
    assert len(slack.calls_to("users.list")) == 1 + RETRIES


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"ok": true', "http_200_invalid_json"),
        (b"\xff\xfe{".decode("latin-1"), "http_200_invalid_json"),
        ('"ok"', "http_200_not_an_object"),
        ("null", "http_200_not_an_object"),
        ("[" * 100_000 + "]" * 100_000, "http_200_invalid_json"),
        ('{"channel": "D0ANA"}', "http_200_unexpected_answer"),
        ('{"ok": "yes"}', "http_200_unexpected_answer"),
        ('{"ok": false}', "http_200_no_error_code"),
    ],
)
async def test_json_that_is_not_slacks_answer_is_transient(
    slack: FakeSlack, api: SlackWebApi, body: str, code: str
) -> None:
    slack.faults.add(method="users.info", fault=Fault.answer(200, "application/json", body))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "users.info", user=ANA.id)
    assert (caught.value.code, caught.value.permanent) == (code, False)


async def test_a_json_error_with_a_5xx_keeps_slacks_code_and_is_transient(
    slack: FakeSlack, api: SlackWebApi
) -> None:
    slack.faults.add(method=POST, fault=Fault.slack_error("service_unavailable", status=503))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, POST, channel=ANA.id, text="hi")
    error = caught.value
    assert (error.code, error.permanent, error.maybe_done) == ("service_unavailable", False, True)
    assert len(slack.calls_to(POST)) == 1


@pytest.mark.parametrize("method", ["users.info", POST])
async def test_slacks_refusals_are_permanent_and_tried_once(
    slack: FakeSlack, api: SlackWebApi, method: str
) -> None:
    slack.faults.add(method=method, fault=Fault.slack_error("invalid_auth"))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, method, **arguments(method))
    error = caught.value
    assert (error.code, error.permanent, error.maybe_done) == ("invalid_auth", True, False)
    assert len(slack.calls_to(method)) == 1


async def test_an_api_nobody_listens_on_is_retried_even_for_messages(time: VirtualTime) -> None:
    backoff = VirtualTime()  # apart from the channel's throttle, which spaces the attempts too
    api = api_for("http://127.0.0.1:9/api/", time, sleep=backoff.sleep)
    try:
        with pytest.raises(SlackError) as caught:
            await api.call(WORKSPACE, POST, channel=ANA.id, text="hi")
    finally:
        await api.aclose()
    error = caught.value
    assert (error.code, error.permanent, error.maybe_done) == ("cannot_connect", False, False)
    assert backoff.sleeps == [BACKOFF, 2 * BACKOFF]  # never sent, so trying again is safe


async def test_429s_pause_the_throttle_for_retry_after_then_the_call_goes_through(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime
) -> None:
    slack.faults.add(method=POST, times=2, fault=Fault.rate_limited(retry_after=3))
    answer = await api.call(WORKSPACE, POST, channel=ANA.id, text="hi")
    assert answer["channel"] == "D0ANA"
    assert [c.status for c in slack.calls_to(POST)] == [429, 429, 200]
    assert sum(time.sleeps) >= 6
    assert len(slack.dms_to(ANA.id)) == 1


async def test_a_429_storm_is_waited_out(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime
) -> None:
    slack.faults.add(method="users.info", nth=1, fault=Fault.storm(seconds=3, retry_after=1))
    answer = await api.call(WORKSPACE, "users.info", user=ANA.id)
    assert answer["user"]["id"] == ANA.id
    assert [c.status for c in slack.calls_to("users.info")] == [429, 429, 429, 200]
    assert sum(time.sleeps) >= 3


async def test_a_429_storm_longer_than_the_retries_is_a_transient_error_with_retry_after(
    slack: FakeSlack, api: SlackWebApi
) -> None:
    slack.faults.add(method="users.info", nth=1, fault=Fault.storm(seconds=60, retry_after=7))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "users.info", user=ANA.id)
    error = caught.value
    assert (error.code, error.permanent, error.retry_after) == ("ratelimited", False, 7)
    assert len(slack.calls_to("users.info")) == 1 + api.rate_limit_retries


# ---- calls bound to a trigger id ------------------------------------------------------------


async def test_an_unpaced_call_does_not_wait_for_a_paused_throttle(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime
) -> None:
    api.limits.rate_limited(TEAM.id, "views.open", 60)
    answer = await api.call(
        WORKSPACE, "views.open", paced=False, trigger_id=slack.trigger(), view=MODAL
    )
    assert answer["view"]["id"]
    assert time.sleeps == []

    # Paced, it waits its turn, and by then the trigger has expired: why triggers skip the queue
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "views.open", trigger_id=slack.trigger(), view=MODAL)
    assert caught.value.code == "expired_trigger_id"
    assert sum(time.sleeps) >= 59


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault.HTML_502, "http_502_text/html"),
        (Fault.INTERNAL_ERROR, "internal_error"),
        (Fault.RESET_BEFORE, "connection_reset"),
        (Fault.HANG_BEFORE, "timeout"),
    ],
    ids=lambda value: value.name if isinstance(value, Fault) else value,
)
async def test_an_unpaced_call_makes_one_attempt(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime, fault: Fault, code: str
) -> None:
    slack.faults.add(method="views.open", fault=fault)
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "views.open", paced=False, trigger_id=slack.trigger(), view=MODAL)
    assert (caught.value.code, caught.value.permanent) == (code, False)
    assert len(slack.calls_to("views.open")) == 1
    assert time.sleeps == []


async def test_an_unpaced_call_gives_up_after_the_trigger_timeout(
    slack: FakeSlack, time: VirtualTime
) -> None:
    api = api_for(slack.url, time, timeout=30.0, trigger_timeout=0.2)
    slack.faults.add(method="views.open", fault=Fault.HANG_BEFORE)
    started = asyncio.get_running_loop().time()
    try:
        with pytest.raises(SlackError) as caught:
            await api.call(WORKSPACE, "views.open", paced=False, trigger_id="t", view=MODAL)
    finally:
        await api.aclose()
    assert caught.value.code == "timeout"
    assert asyncio.get_running_loop().time() - started < 2  # not the 30 s of paced calls


async def test_an_unpaced_429_raises_at_once_and_still_pauses_the_throttle(
    slack: FakeSlack, api: SlackWebApi, time: VirtualTime
) -> None:
    slack.faults.add(method="views.open", fault=Fault.rate_limited(retry_after=4))
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "views.open", paced=False, trigger_id=slack.trigger(), view=MODAL)
    error = caught.value
    assert (error.code, error.permanent, error.retry_after) == ("ratelimited", False, 4)
    assert len(slack.calls_to("views.open")) == 1
    assert time.sleeps == []
    throttle = api.limits.throttle(TEAM.id, "views.open")
    assert throttle is not None
    assert throttle.reserve() >= 4  # the next paced views.open waits out the Retry-After


# ---- the local API's conversations ----------------------------------------------------------


async def test_conversations_open_gives_each_person_one_stable_dm(
    slack: FakeSlack, api: SlackWebApi
) -> None:
    first = await api.call(WORKSPACE, "conversations.open", users=ANA.id)
    again = await api.call(WORKSPACE, "conversations.open", users=ANA.id, return_im=True)
    other = await api.call(WORKSPACE, "conversations.open", users=BEN.id)

    assert first["channel"] == {"id": "D0ANA"}
    assert "already_open" not in first
    assert again["channel"]["id"] == "D0ANA"
    assert (again["already_open"], again["channel"]["user"]) == (True, ANA.id)
    assert other["channel"]["id"] == slack.dm_channel(BEN.id) != "D0ANA"

    await api.call(WORKSPACE, POST, channel=ANA.id, text="to the user id")
    await api.call(WORKSPACE, POST, channel="D0ANA", text="to the DM id")
    history = await api.call(WORKSPACE, "conversations.history", channel="D0ANA")
    assert [m["text"] for m in history["messages"]] == ["to the DM id", "to the user id"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"users": "U0NOBODY"}, "user_not_found"),
        ({}, "users_list_not_supplied"),
        ({"channel": "D0NOBODY"}, "channel_not_found"),
    ],
)
async def test_conversations_open_refuses_what_slack_refuses(
    api: SlackWebApi, arguments: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "conversations.open", **arguments)
    assert (caught.value.code, caught.value.permanent) == (error, True)


async def test_message_metadata_comes_back_in_the_history_only_when_asked_for(
    slack: FakeSlack, api: SlackWebApi
) -> None:
    metadata = {"event_type": "drumbeat_prompt", "event_payload": {"prompt_id": 42}}
    posted = await api.call(WORKSPACE, POST, channel=ANA.id, text="prompt", metadata=metadata)
    await api.call(WORKSPACE, POST, channel=ANA.id, text="no metadata")

    with_metadata = await api.call(
        WORKSPACE, "conversations.history", channel="D0ANA", include_all_metadata=True
    )
    without = await api.call(WORKSPACE, "conversations.history", channel="D0ANA")

    assert posted["message"]["metadata"] == metadata
    newest, oldest = with_metadata["messages"]
    assert (oldest["ts"], oldest["metadata"]) == (posted["ts"], metadata)
    assert "metadata" not in newest
    assert all("metadata" not in m for m in without["messages"])
    assert with_metadata["has_more"] is False
    assert "response_metadata" not in with_metadata
    assert oldest["user"] == TEAM.bot_user_id
    assert slack.dms_to(ANA.id)[0].metadata == metadata


async def test_metadata_sent_as_a_form_string_is_read_like_an_object(slack: FakeSlack) -> None:
    metadata = '{"event_type": "drumbeat_prompt", "event_payload": {"prompt_id": 7}}'
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {TEAM.bot_token}"}
        form = {"channel": ANA.id, "text": "prompt", "metadata": metadata}
        async with session.post(slack.url + POST, data=form, headers=headers) as response:
            assert (await response.json())["ok"] is True
        form = {"channel": "D0ANA", "include_all_metadata": "true"}
        async with session.post(
            slack.url + "conversations.history", data=form, headers=headers
        ) as response:
            [message] = (await response.json())["messages"]
    assert message["metadata"]["event_payload"] == {"prompt_id": 7}


@pytest.mark.parametrize(
    ("metadata", "error"),
    [("{not json", "invalid_metadata_format"), ({"event_payload": {}}, "invalid_metadata_schema")],
)
async def test_metadata_slack_cannot_read_is_refused(
    slack: FakeSlack, api: SlackWebApi, metadata: object, error: str
) -> None:
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, POST, channel=ANA.id, text="prompt", metadata=metadata)
    assert caught.value.code == error
    assert slack.dms_to(ANA.id) == []


async def test_the_history_comes_newest_first_in_pages(slack: FakeSlack, api: SlackWebApi) -> None:
    for n in range(5):
        await api.call(WORKSPACE, POST, channel=ANA.id, text=f"m{n}")
    posts = slack.dms_to(ANA.id)

    texts, cursor, pages = [], None, 0
    while True:
        page = await api.call(
            WORKSPACE, "conversations.history", channel="D0ANA", limit=2, cursor=cursor
        )
        pages += 1
        texts += [m["text"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert texts == ["m4", "m3", "m2", "m1", "m0"]
    assert pages == 3

    between = await api.call(
        WORKSPACE, "conversations.history", channel="D0ANA",
        oldest=posts[1].ts, latest=posts[3].ts,
    )  # fmt: skip
    assert [m["text"] for m in between["messages"]] == ["m2"]
    inclusive = await api.call(
        WORKSPACE, "conversations.history", channel="D0ANA",
        oldest=posts[1].ts, latest=posts[3].ts, inclusive=True,
    )  # fmt: skip
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]


async def test_the_history_leaves_thread_replies_out(slack: FakeSlack, api: SlackWebApi) -> None:
    parent = await api.call(WORKSPACE, POST, channel="C0OKRS", text="digest")
    await api.call(WORKSPACE, POST, channel="C0OKRS", text="reply", thread_ts=parent["ts"])
    history = await api.call(WORKSPACE, "conversations.history", channel="C0OKRS")
    [message] = history["messages"]
    assert (message["text"], message["reply_count"]) == ("digest", 1)


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C0NOWHERE"}, "channel_not_found"),
        ({"channel": ANA.id}, "channel_not_found"),  # a user id is not a conversation
        ({"channel": "D0NOBODY"}, "channel_not_found"),
        ({"channel": "D0ANA", "cursor": "not a cursor"}, "invalid_cursor"),
        ({"channel": "D0ANA", "latest": "yesterday"}, "invalid_ts_latest"),
    ],
)
async def test_the_history_refuses_what_slack_refuses(
    api: SlackWebApi, arguments: dict[str, Any], error: str
) -> None:
    with pytest.raises(SlackError) as caught:
        await api.call(WORKSPACE, "conversations.history", **arguments)
    assert (caught.value.code, caught.value.permanent) == (error, True)


# ---- the fault schedule ----------------------------------------------------------------------


def test_planned_faults_hit_the_calls_they_name() -> None:
    faults = FaultSchedule()
    faults.add(method=POST, calls={2, 4}, fault=Fault.HTML_502)
    faults.add(method=POST, nth=3, fault=Fault.HANG_AFTER)
    faults.add(method="users.info", times=2, fault=Fault.RESET_BEFORE)
    posts = [faults.next_call(POST)[1] for _ in range(5)]
    infos = [faults.next_call("users.info")[1] for _ in range(3)]
    faults.add(method="users.info", fault=Fault.TEXT_405)  # every call from now on
    later = [faults.next_call("users.info")[1] for _ in range(2)]
    assert posts == [None, Fault.HTML_502, Fault.HANG_AFTER, Fault.HTML_502, None]
    assert infos == [Fault.RESET_BEFORE, Fault.RESET_BEFORE, None]
    assert later == [Fault.TEXT_405, Fault.TEXT_405]
    assert faults.seen(POST) == 5


def test_random_faults_repeat_with_their_seed_and_keep_to_their_methods() -> None:
    def run(seed: int) -> list[Fault | None]:
        faults = FaultSchedule()
        faults.random(rate=0.3, seed=seed, methods=[POST])
        for _ in range(50):
            assert faults.next_call("users.info")[1] is None
        return [faults.next_call(POST)[1] for _ in range(200)]

    first = run(seed=5)
    assert first == run(seed=5)
    assert first != run(seed=6)
    assert 30 < sum(f is not None for f in first) < 90


async def test_every_person_is_prompted_exactly_once_when_the_sender_looks_before_resending(
    slack: FakeSlack, time: VirtualTime
) -> None:
    """The gateway's plan, in miniature: a prompt carries its id in the message metadata; a
    send that may have been done is looked up in the DM's history before it is repeated."""
    api = api_for(slack.url, time)  # two calls hang
    slack.faults.add(method=POST, calls={1, 3}, fault=Fault.HANG_AFTER)
    slack.faults.add(method=POST, calls={2, 6}, fault=Fault.RESET_BEFORE)
    slack.faults.add(method=POST, calls={4}, fault=Fault.RESET_AFTER)
    slack.faults.add(method=POST, calls={5}, fault=Fault.HTML_502.after_effect())
    slack.faults.add(method="conversations.history", nth=2, fault=Fault.HTML_503)

    async def prompted(person: FakeUser, prompt_id: int) -> bool:
        history = await api.call(
            WORKSPACE, "conversations.history", channel=slack.dm_channel(person.id),
            include_all_metadata=True,
        )  # fmt: skip
        return any(
            m.get("metadata", {}).get("event_payload") == {"prompt_id": prompt_id}
            for m in history["messages"]
        )

    async def prompt(person: FakeUser, prompt_id: int) -> None:
        metadata = {"event_type": "drumbeat_prompt", "event_payload": {"prompt_id": prompt_id}}
        for _ in range(5):
            try:
                await api.call(WORKSPACE, POST, channel=person.id, text="Check-in",
                               metadata=metadata)  # fmt: skip
                return
            except SlackError as error:
                if not error.maybe_done:
                    raise
                if await prompted(person, prompt_id):
                    return
        raise AssertionError(f"{person.id} was never prompted")

    try:
        for prompt_id, person in enumerate(PEOPLE):
            await prompt(person, prompt_id)
    finally:
        await api.aclose()

    assert [len(slack.dms_to(p.id)) for p in PEOPLE] == [1] * len(PEOPLE)
    assert {c.number for c in slack.faulted(POST)} == {1, 2, 3, 4, 5, 6}
    assert sum(c.effect for c in slack.calls_to(POST)) == len(PEOPLE)
