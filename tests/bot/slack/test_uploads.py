"""Charts into Slack with the external upload API, against the local Slack API over HTTP: the
three calls with their arguments and bytes, where a report's charts are shared (its thread in
a channel, right under it in a DM), 429s and faults on each step, and that a chart that cannot
be shared never makes the text be sent again."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.slack.gateway import SlackGateway, parse_ref
from bot.slack.identity import SlackDirectory, SlackRecipients
from bot.slack.limits import METHOD_LIMITS, SlackLimits
from bot.slack.uploads import ALT_TEXT_LIMIT, COMPLETE_UPLOAD, GET_UPLOAD_URL, alt_text
from bot.slack.webapi import UPLOAD, SlackError, SlackWebApi, Workspace
from bot.slack.workspaces import SingleWorkspace
from rhythm.okr import Person
from rhythm.sections import Image, Line, Report, Section
from tests.bot.slack.test_gateway import LinkedPeople, VirtualTime
from tests.peers.slack_api import (
    NOT_UPLOADED,
    WRONG_LENGTH,
    FakeSlack,
    FakeTeam,
    FakeUser,
    Fault,
)

TEAM = FakeTeam("T0001", "Acme", "xoxb-0001-uploads-secret")
WORKSPACE = Workspace(TEAM.id, TEAM.bot_token)
ANA = FakeUser("U0ANA", "ana@acme.example", tz="Europe/Paris")
CHANNEL = "C0OKRS"
OUTSIDE = "C0PUBLIC"  # a public channel the app posts in (chat:write.public) but is not in
POST = "chat.postMessage"
HANGS_FOR = 1.0  # the client's timeout where a call hangs: the only real wait


def png(name: str, size: int = 600) -> bytes:
    """Bytes that start like a PNG; the fake stores them, it does not decode them."""
    return b"\x89PNG\r\n\x1a\n" + name.encode() * (size // max(1, len(name)))


def chart(name: str, *, alt: str = "", title: str = "") -> Image:
    return Image(
        png(name), alt or f"{name}: progress rose from 40% to 52% this cycle", f"{name}.png",
        640, 320, title=title or f"{name.title()} trend", summary="▁▂▄▆",
    )  # fmt: skip


def report(*images: Image, private: bool = False) -> Report:
    lines = (Line("Revenue · 52% of 70%"), *images)
    return Report("📈 Weekly digest · Growth", "2026-W48", (Section("Growth", lines),),
                  private=private)  # fmt: skip


def gateway_on(
    fake: FakeSlack, *, time: VirtualTime | None = None, timeout: float = 30.0
) -> SlackGateway:
    if time is None:
        limits = SlackLimits(messages_per_second=2000, methods=METHOD_LIMITS)
        sleep: Any = asyncio.sleep
    else:
        limits = SlackLimits(clock=time.clock, sleep=time.sleep)
        sleep = time.sleep
    api = SlackWebApi(
        limits=limits, base_url=fake.url, retries=2, backoff=0.01, timeout=timeout, sleep=sleep
    )
    return SlackGateway(
        api=api,
        workspaces=SingleWorkspace(token=TEAM.bot_token),
        recipients=SlackRecipients(directory=SlackDirectory(api=api), people=LinkedPeople()),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(
        teams=[TEAM], users=[ANA], channels=[CHANNEL], outside_channels=[OUTSIDE]
    ) as slack:
        yield slack


@pytest.fixture
async def gateway(fake: FakeSlack) -> AsyncIterator[SlackGateway]:
    built = gateway_on(fake)
    yield built
    await built.aclose()


def methods(fake: FakeSlack) -> list[str]:
    return [c.method for c in fake.calls]


ANNA = Person(ANA.email, "Ana", slack_user_id=ANA.id)


# ---- the sequence -------------------------------------------------------------------------


async def test_a_digest_posts_its_text_then_shares_its_charts_in_its_thread(
    fake: FakeSlack, gateway: SlackGateway
):
    growth, health = chart("growth"), chart("health", title="Rhythm health")

    ref = await gateway.post_channel("acme", CHANNEL, report(growth, health))

    [post] = fake.posts_in(CHANNEL)
    assert ref == f"{CHANNEL}:{post.ts}"  # the message's reference, not a file's
    assert methods(fake) == [POST, GET_UPLOAD_URL, UPLOAD, GET_UPLOAD_URL, UPLOAD, COMPLETE_UPLOAD]
    first = fake.calls_to(GET_UPLOAD_URL)[0].params
    assert first == {"filename": "growth.png", "length": str(len(growth.png)),
                     "alt_txt": growth.alt}  # fmt: skip
    assert [u.data for u in fake.uploads] == [growth.png, health.png]
    assert [u.alt_txt for u in fake.uploads] == [growth.alt, health.alt]
    assert [u.title for u in fake.uploads] == ["Growth trend", "Rhythm health"]
    assert {(u.channel, u.thread_ts) for u in fake.uploads} == {(CHANNEL, post.ts)}
    [complete] = fake.calls_to(COMPLETE_UPLOAD)
    assert json.loads(complete.params["files"]) == [
        {"id": fake.uploads[0].id, "title": "Growth trend"},
        {"id": fake.uploads[1].id, "title": "Rhythm health"},
    ]
    assert complete.params["channel_id"] == CHANNEL
    assert complete.params["thread_ts"] == post.ts


async def test_a_report_posted_as_a_reply_shares_its_charts_in_the_same_thread(
    fake: FakeSlack, gateway: SlackGateway
):
    parent = await gateway.post_channel("acme", CHANNEL, report())

    reply = await gateway.post_channel("acme", CHANNEL, report(chart("platform")), thread=parent)

    [upload] = fake.uploads
    assert upload.thread_ts == parse_ref(parent)[1]  # the parent's ts, never the reply's
    assert parse_ref(reply)[1] != upload.thread_ts
    assert fake.calls_to(COMPLETE_UPLOAD)[0].params["thread_ts"] == parse_ref(parent)[1]


async def test_a_private_report_sent_directly_shares_its_chart_at_the_top_of_the_dm(
    fake: FakeSlack, gateway: SlackGateway
):
    trend = chart("onboarding")

    ref = await gateway.send_direct("acme", ANNA, report(trend, private=True))

    [post] = fake.dms_to(ANA.id)
    assert ref == f"D0ANA:{post.ts}"
    [upload] = fake.uploads
    assert (upload.channel, upload.thread_ts, upload.data) == ("D0ANA", None, trend.png)
    assert "thread_ts" not in fake.calls_to(COMPLETE_UPLOAD)[0].params


async def test_a_report_without_images_makes_no_upload(fake: FakeSlack, gateway: SlackGateway):
    await gateway.post_channel("acme", CHANNEL, report())

    assert methods(fake) == [POST]


def test_alt_text_keeps_to_slacks_limit():
    long = chart("growth", alt="word " * 400)
    assert len(alt_text(long)) == ALT_TEXT_LIMIT
    assert alt_text(long).endswith("…")


async def test_an_image_without_bytes_is_a_bug_that_raises(fake: FakeSlack, gateway: SlackGateway):
    empty = Image(b"", "nothing", "empty.png", 1, 1)

    with pytest.raises(ValueError, match="without bytes"):
        await gateway.post_channel("acme", CHANNEL, report(empty))


# ---- limits and faults --------------------------------------------------------------------


async def test_a_429_on_the_upload_url_request_waits_its_retry_after_then_goes_on(
    fake: FakeSlack,
):
    time = VirtualTime()
    gateway = gateway_on(fake, time=time)
    fake.faults.add(method=GET_UPLOAD_URL, fault=Fault.rate_limited(7), times=1)
    try:
        await gateway.post_channel("acme", CHANNEL, report(chart("growth")))
    finally:
        await gateway.aclose()

    assert [c.status for c in fake.calls_to(GET_UPLOAD_URL)] == [429, 200]
    assert any(6.9 <= pause <= 7.1 for pause in time.sleeps), time.sleeps
    assert len(fake.uploads) == 1
    assert len(fake.posts_in(CHANNEL)) == 1


def test_both_upload_methods_are_paced_at_tier_4():
    for method in (GET_UPLOAD_URL, COMPLETE_UPLOAD):
        assert METHOD_LIMITS[method].count == 100, method
        assert METHOD_LIMITS[method].seconds == 60, method


@pytest.mark.parametrize(
    "fault", [Fault.TEXT_405, Fault.HTML_502, Fault.RESET_BEFORE], ids=lambda f: f.name
)
async def test_a_fault_on_the_upload_url_request_is_retried(
    fake: FakeSlack, gateway: SlackGateway, fault: Fault
):
    fake.faults.add(method=GET_UPLOAD_URL, fault=fault, times=1)

    await gateway.post_channel("acme", CHANNEL, report(chart("growth")))

    assert len(fake.calls_to(GET_UPLOAD_URL)) == 2
    assert len(fake.uploads) == 1


@pytest.mark.parametrize("fault", [Fault.RESET_AFTER, Fault.HTML_502], ids=lambda f: f.name)
async def test_bytes_whose_answer_was_lost_are_sent_again_and_shared_once(
    fake: FakeSlack, gateway: SlackGateway, fault: Fault
):
    fake.faults.add(method=UPLOAD, fault=fault.after_effect(), times=1)

    await gateway.post_channel("acme", CHANNEL, report(chart("growth")))

    [upload] = fake.uploads
    assert upload.uploads == 2
    assert len(fake.calls_to(COMPLETE_UPLOAD)) == 1


async def test_a_429_from_the_file_host_is_waited_out(fake: FakeSlack):
    time = VirtualTime()
    gateway = gateway_on(fake, time=time)
    fake.faults.add(method=UPLOAD, fault=Fault.rate_limited(3), times=1)
    try:
        await gateway.post_channel("acme", CHANNEL, report(chart("growth")))
    finally:
        await gateway.aclose()

    assert 3.0 in time.sleeps
    assert len(fake.uploads) == 1


@pytest.mark.parametrize(
    "fault",
    [Fault.HANG_BEFORE, Fault.HANG_AFTER, Fault.HTML_200, Fault.HTML_502, Fault.RESET_AFTER],
    ids=lambda f: f.name,
)
async def test_sharing_that_fails_leaves_the_text_posted_once_and_says_why(
    fake: FakeSlack, fault: Fault, caplog: pytest.LogCaptureFixture
):
    gateway = gateway_on(fake, timeout=HANGS_FOR)
    fake.faults.add(method=COMPLETE_UPLOAD, fault=fault)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.slack.gateway"):
            ref = await gateway.post_channel("acme", CHANNEL, report(chart("growth")))
    finally:
        await gateway.aclose()

    [post] = fake.posts_in(CHANNEL)
    assert ref == f"{CHANNEL}:{post.ts}"
    assert len(fake.calls_to(POST)) == 1  # the text, once
    assert len(fake.calls_to(COMPLETE_UPLOAD)) == 1  # sharing is not repeated blindly
    assert len(fake.uploads) == (1 if fault.after else 0)
    [warning] = [r for r in caplog.records if "charts of" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "files.completeUploadExternal" in warning.getMessage()
    assert TEAM.bot_token not in caplog.text


async def test_a_channel_the_app_is_not_in_gets_the_text_and_a_warning_that_says_what_to_do(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.WARNING, logger="bot.slack.gateway"):
        await gateway.post_channel("acme", OUTSIDE, report(chart("growth")))

    assert len(fake.posts_in(OUTSIDE)) == 1
    assert fake.uploads == []
    [complete] = fake.calls_to(COMPLETE_UPLOAD)
    assert complete.error == "not_in_channel"
    assert "invite the app to the channel" in caplog.text


async def test_bytes_that_never_go_up_are_left_out_and_the_rest_shared(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    fake.faults.add(method=UPLOAD, fault=Fault.answer(403, "text/plain", "Forbidden"), nth=1)

    with caplog.at_level(logging.WARNING, logger="bot.slack.uploads"):
        await gateway.post_channel("acme", CHANNEL, report(chart("growth"), chart("health")))

    assert [u.filename for u in fake.uploads] == ["health.png"]
    assert len(fake.calls_to(UPLOAD)) == 2  # a 403 is about that URL: not asked again
    assert "growth.png not uploaded" in caplog.text


# ---- the fake refuses what Slack refuses --------------------------------------------------


@pytest.fixture
async def api(fake: FakeSlack) -> AsyncIterator[SlackWebApi]:
    client = SlackWebApi(limits=SlackLimits(), base_url=fake.url, retries=0, backoff=0.01)
    yield client
    await client.aclose()


async def reserved(api: SlackWebApi, length: int = 10) -> tuple[str, str]:
    answer = await api.call(WORKSPACE, GET_UPLOAD_URL, filename="a.png", length=length)
    assert set(answer) >= {"ok", "upload_url", "file_id"}
    assert answer["file_id"].startswith("F")
    return answer["file_id"], answer["upload_url"]


async def complete(api: SlackWebApi, file_id: str, **params: Any) -> dict[str, Any]:
    return await api.call(
        WORKSPACE, COMPLETE_UPLOAD, files=[{"id": file_id, "title": "A"}], **params
    )


async def test_the_upload_url_is_on_the_fake_and_answers_like_slacks_file_host(
    fake: FakeSlack, api: SlackWebApi
):
    file_id, url = await reserved(api, length=5)
    assert url.startswith(fake.root + "/upload/v1/")
    async with aiohttp.ClientSession() as http, http.post(url, data=b"12345") as response:
        assert (response.status, await response.text()) == (200, "OK - 5")

    answer = await complete(api, file_id, channel_id=CHANNEL)

    assert answer == {"ok": True, "files": [
        {"id": file_id, "title": "A", "name": "a.png", "size": 5, "mimetype": "image/png"}
    ]}  # fmt: skip


async def test_a_multipart_upload_is_read_like_a_raw_one(fake: FakeSlack, api: SlackWebApi):
    file_id, url = await reserved(api, length=3)
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.png", content_type="image/png")
    async with aiohttp.ClientSession() as http, http.post(url, data=form) as response:
        assert response.status == 200

    await complete(api, file_id, channel_id=CHANNEL)
    assert fake.uploads[0].data == b"abc"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"length": 10}, "invalid_arguments"),  # no filename
        ({"filename": "a.png", "length": "ten"}, "invalid_arguments"),
        ({"filename": "a.png", "length": 0}, "missing_argument"),
        ({"filename": "a.png", "length": 1, "alt_txt": "x" * 1001}, "alt_txt_too_large"),
    ],
)
async def test_asking_for_an_upload_url_refuses_what_slack_refuses(
    api: SlackWebApi, params: dict[str, Any], code: str
):
    with pytest.raises(SlackError) as refused:
        await api.call(WORKSPACE, GET_UPLOAD_URL, **params)
    assert (refused.value.code, refused.value.permanent) == (code, True)


async def test_sharing_refuses_files_never_uploaded_of_another_length_or_shared_already(
    api: SlackWebApi,
):
    never, _ = await reserved(api)
    short, url = await reserved(api, length=10)
    await api.upload(WORKSPACE, url, b"123")
    once, url = await reserved(api, length=3)
    await api.upload(WORKSPACE, url, b"123")
    await complete(api, once, channel_id=CHANNEL)

    for file_id, code in ((never, NOT_UPLOADED), (short, WRONG_LENGTH), (once, "file_not_found"),
                          ("F0NOSUCH", "file_not_found")):  # fmt: skip
        with pytest.raises(SlackError) as refused:
            await complete(api, file_id, channel_id=CHANNEL)
        assert refused.value.code == code
    with pytest.raises(SlackError) as gone:  # a shared file's URL takes no more bytes
        await api.upload(WORKSPACE, url, b"123")
    assert (gone.value.code, gone.value.permanent) == ("http_404_text/plain", True)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"channel_id": "C0NOSUCH"}, "channel_not_found"),
        ({"channel_id": OUTSIDE}, "not_in_channel"),
        ({"channel_id": "D0NOSUCH"}, "channel_not_found"),
        ({"channel_id": CHANNEL, "thread_ts": "1.000001"}, "invalid_thread_ts"),
        ({"files": "not json"}, "invalid_arguments"),
        ({"files": [{"title": "no id"}]}, "invalid_arguments"),
    ],
)
async def test_sharing_refuses_where_slack_would(
    api: SlackWebApi, params: dict[str, Any], code: str
):
    file_id, url = await reserved(api, length=3)
    await api.upload(WORKSPACE, url, b"abc")
    arguments: dict[str, Any] = {"files": [{"id": file_id}]} | params

    with pytest.raises(SlackError) as refused:
        await api.call(WORKSPACE, COMPLETE_UPLOAD, **arguments)
    assert refused.value.code == code


async def test_a_file_completed_without_a_channel_stays_private(fake: FakeSlack, api: SlackWebApi):
    file_id, url = await reserved(api, length=3)
    await api.upload(WORKSPACE, url, b"abc")

    await complete(api, file_id)

    assert fake.uploads == []
    assert fake.files[file_id].title == "A"


async def test_an_install_without_files_write_posts_the_text_and_says_how_to_get_charts(
    fake: FakeSlack, gateway: SlackGateway, caplog: pytest.LogCaptureFixture
):
    fake.fail(GET_UPLOAD_URL, "missing_scope")

    with caplog.at_level(logging.WARNING, logger="bot.slack.uploads"):
        await gateway.post_channel("acme", CHANNEL, report(chart("growth")))

    assert len(fake.posts_in(CHANNEL)) == 1
    assert fake.calls_to(COMPLETE_UPLOAD) == []
    assert "grant files:write" in caplog.text
