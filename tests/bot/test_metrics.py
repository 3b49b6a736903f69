"""GET /metrics of the real composition root (bot.app.runtime, bot.server.create_app), over
real HTTP, read with prometheus-client's own parser: a tick and check-ins move the counters by
what they did, routes are patterns, no label names a person, METRICS_TOKEN guards it, and a
429 from the local Slack API is counted by method."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from rich.console import Console

from bot.app import runtime
from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.server import create_app
from bot.settings import Settings
from rhythm.checkin import CheckedIn
from rhythm.messages import Notice
from rhythm.ports import FixedClock
from rhythm.prompting import OPEN
from tests.bot.slack import payloads
from tests.bot.slack.signing import SignedPoster
from tests.bot.slack.world import ACME, CHANNEL, MONDAY, SECRET, TEAM, slack_settings, slack_users
from tests.bot.test_flow import valid_answers
from tests.peers.slack_api import FakeSlack

PROMPT_TIME = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: the weekly is out
LEADS_TIME = MONDAY + timedelta(hours=8, minutes=5)  # 09:05 in Paris: the leads' weekly only
OWNER = "lucas.bernard@acme.example"  # prompted at 10:00 Paris
UNPROMPTED = "ananya.iyer@acme.example"  # Kolkata: her weekly is Tuesday
TOKEN = "metrics-token-0123456789"


class Scrape:
    """One scrape of /metrics, parsed by prometheus-client."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels; 0 when the series does not exist."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, found
        return found[0] if found else 0.0

    def labelled(self, name: str) -> Iterator[Sample]:
        return (s for s in self.samples if s.name == name)


async def scrape(client: TestClient, **headers: str) -> Scrape:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    return Scrape(await response.text())


def prompt_id(console: ConsoleGateway, email: str) -> int:
    [*_, notice] = [
        s.message for s in console.sent_to(email) if isinstance(s.message, Notice) and not s.updates
    ]
    assert isinstance(notice, Notice)
    return int(next(a.value for a in notice.actions if a.id == OPEN))


async def test_a_tick_and_check_ins_move_the_counters_by_what_they_did(database_url: str):
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    console = Console(file=io.StringIO(), width=120)
    async with (
        runtime(settings, console=console, clock=FixedClock(PROMPT_TIME)) as rt,
        TestClient(TestServer(create_app(rt, tick=False))) as client,
    ):
        await rt.store.save_organisation(load_organisation(ACME))
        before = await scrape(client)
        report = await rt.drumbeat.tick(PROMPT_TIME)
        assert report.created > 1
        assert report.sent == report.created

        terminal = rt.chat.gateways["console"]
        assert isinstance(terminal, ConsoleGateway)
        checkins, submissions = rt.drumbeat.checkins, rt.drumbeat.submissions
        page = await checkins.open("acme", OWNER, prompt_id=prompt_id(terminal, OWNER))
        answers = valid_answers(page.form)
        done = await submissions.submit("acme", OWNER, page.form.context, answers)
        assert isinstance(done, CheckedIn)
        assert done.created
        again = await submissions.submit("acme", OWNER, page.form.context, answers)
        assert isinstance(again, CheckedIn)
        assert not again.created
        edit = await checkins.edit("acme", OWNER, done.checkin_id)
        changed = valid_answers(edit.form, {"value": "61"})
        assert isinstance(await submissions.submit("acme", OWNER, edit.form.context, changed),
                          CheckedIn)  # fmt: skip
        free = await checkins.open("acme", UNPROMPTED)
        spontaneous = await submissions.submit(
            "acme", UNPROMPTED, free.form.context, valid_answers(free.form)
        )
        assert isinstance(spontaneous, CheckedIn)
        assert spontaneous.created

        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/charts/not-a-chart.png")).status == 404
        assert (await client.get("/no/such/path")).status == 404
        after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert moved("drumbeat_prompts_created_total", org="acme") == report.created
    assert moved("drumbeat_prompts_sent_total", org="acme", platform="console") == report.sent
    assert moved("drumbeat_prompts_failed_total", org="acme", platform="console") == 0
    # The prompts, and each confirmation's update of its prompt message, went to the console.
    sent = moved("drumbeat_chat_messages_total", platform="console", method="send_direct",
                 status="ok")  # fmt: skip
    assert sent >= report.sent
    assert after.value("drumbeat_messages_in_flight", platform="console") == 0
    for source, count in (("prompt", 1), ("revision", 1), ("spontaneous", 1)):
        assert moved("drumbeat_checkins_stored_total", org="acme", source=source) == count
    assert moved("drumbeat_tick_duration_seconds_count", org="acme") == 1
    assert after.value("drumbeat_tick_last_success_timestamp_seconds", org="acme") > 0
    assert after.value("drumbeat_tick_failures_total", org="acme") == 0

    requests = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in after.labelled("drumbeat_http_requests_total")
    }
    assert requests[("/healthz", "200")] == 1
    assert requests[("/charts/{name}", "404")] == 1
    assert requests[("unmatched", "404")] == 1
    assert requests[("/metrics", "200")] == 1  # the first scrape
    assert not [route for route, _ in requests if "not-a-chart" in route or "such" in route]
    assert after.value("drumbeat_http_request_duration_seconds_count", method="GET",
                       route="/healthz") == 1  # fmt: skip
    assert [s.value for s in after.labelled("drumbeat_db_connections_in_use")] == [0]
    assert after.value("drumbeat_db_pool_size") >= 1

    # No person in any label: no email, no name.
    people = load_organisation(ACME).people
    values = [v for s in after.samples for v in s.labels.values()]
    assert not [v for v in values if "@" in v]
    assert not [v for v in values for p in people if p.name in v or p.email in v]


async def test_metrics_token_is_required_as_a_bearer_token(database_url: str):
    settings = Settings(database_url=database_url, metrics_token=TOKEN, _env_file=None)  # type: ignore[call-arg]
    async with (
        runtime(settings, console=Console(file=io.StringIO())) as rt,
        TestClient(TestServer(create_app(rt, tick=False))) as client,
    ):
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": f"Bearer {TOKEN}x"},
        ):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status == 401, headers
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert "drumbeat_" not in await refused.text()
        scraped = await scrape(client, Authorization=f"Bearer {TOKEN}")
        assert (await client.get("/healthz")).status == 200  # the probes stay open
    assert scraped.value("drumbeat_http_requests_total", method="GET", route="/metrics",
                         status="401") == 4  # fmt: skip


async def test_a_slack_429_is_counted_by_method_and_the_send_retried(database_url: str):
    """The leads' prompts of 09:05 in Paris, through the local Slack API, which answers the
    first chat.postMessage with a 429: counted, retried, and every prompt is sent on Slack."""
    org = load_organisation(ACME)
    fake = FakeSlack(teams=[TEAM], users=slack_users(org), channels=[CHANNEL], whole_seconds=False)
    async with fake:
        fake.throttle("chat.postMessage", times=1, retry_after=0.05)
        settings = slack_settings(fake, database_url=database_url)
        console = Console(file=io.StringIO())
        async with runtime(settings, console=console, clock=FixedClock(LEADS_TIME)) as rt:
            await rt.store.save_organisation(org)
            async with (
                TestServer(create_app(rt, tick=False), host="127.0.0.1") as server,
                TestClient(server) as client,
                aiohttp.ClientSession() as http,
            ):
                before = await scrape(client)
                report = await rt.drumbeat.tick(LEADS_TIME)
                slack = SignedPoster(
                    session=http, url=str(server.make_url("/slack/events")), secret=SECRET
                )
                lead = next(u for u in slack_users(org) if u.email == "claire.martin@acme.example")
                fields = payloads.slash_command(
                    "help", user_id=lead.id, team=TEAM.id, response_url=fake.response_url(),
                    trigger_id=fake.trigger(), channel_id=CHANNEL,
                )  # fmt: skip
                assert (await slack.command(fields)).status == 200
                after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert report.created >= 1
    assert report.sent == report.created
    assert moved("drumbeat_prompts_sent_total", org="acme", platform="slack") == report.sent
    assert moved("drumbeat_rate_limited_total", platform="slack", method="chat.postMessage") == 1
    assert (
        moved("drumbeat_platform_retries_total", platform="slack", method="chat.postMessage") == 1
    )
    assert len(fake.calls_to("chat.postMessage", ok=True)) == report.sent
    assert moved("drumbeat_http_requests_total", method="POST", route="/slack/events",
                 status="200") == 1  # fmt: skip
    assert after.value("drumbeat_messages_in_flight", platform="slack") == 0
    assert not [v for s in after.samples for v in s.labels.values() if "@" in v]
