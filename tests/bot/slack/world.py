"""A Slack workspace for the app's tests: the Acme organisation in a real database, the local
Slack API with Acme's people as Slack users, the core with its clock fixed, and the aiohttp app
with the Slack adapter attached, reached over real HTTP with signed requests."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.ratelimit import Limit
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.limits import METHOD_LIMITS, SlackLimits
from bot.slack.plugin import SocketModeFactory, attach_slack, slack_gateway
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore
from tests.bot.slack import payloads
from tests.bot.slack.signing import SignedPoster
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
PROMPT_TIME = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: the weekly is out
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = FakeTeam("T0ACME", "Acme", "xoxb-0001-acme-bot-token-secret")
CHANNEL = "C0OKRS"
LEAD = "claire.martin@acme.example"  # Acme's lead (an admin), Slack id in the OKR file
OWNER = "lucas.bernard@acme.example"  # one key result, no Slack id in the OKR file


def fast_limits() -> SlackLimits:
    """Slack's limits a hundred times faster: the same code paths, without minutes of waiting."""
    return SlackLimits(
        messages_per_second=2000,
        per_channel=Limit(1, 0.01),
        methods={
            m: Limit(lim.count * 100, lim.seconds, lim.burst) for m, lim in METHOD_LIMITS.items()
        },
    )


T = TypeVar("T")


def slack_users(org: Organisation, team: str = TEAM.id) -> list[FakeUser]:
    """Every person of `org` as a Slack user: their OKR file id, else a made-up one."""
    return [
        FakeUser(p.slack_user_id or f"U{n:04d}ACME", p.email, team=team, tz=p.timezone, name=p.name)
        for n, p in enumerate(org.people)
    ]


@dataclass
class SlackWorld:
    org: Organisation
    store: SqlStore
    fake: FakeSlack
    gateway: SlackGateway
    drumbeat: Drumbeat
    clock: FixedClock
    slack: SignedPoster
    web_app: web.Application

    def user(self, email: str) -> FakeUser:
        return next(u for u in self.fake.users.values() if u.email == email)

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.drumbeat.tick(at)
        await self.gateway.drain()

    async def command(
        self, text: str, *, who: str, channel: str = CHANNEL, **options: Any
    ) -> aiohttp.ClientResponse:
        fields = payloads.slash_command(
            text,
            user_id=self.user(who).id,
            team=TEAM.id,
            response_url=self.fake.response_url(),
            trigger_id=self.fake.trigger(),
            channel_id=channel,
            channel_name="directmessage" if channel.startswith("D") else "okrs",
        )
        return await self.slack.command(fields, **options)

    async def click(self, action_id: str, value: str | None, *, who: str) -> aiohttp.ClientResponse:
        """A button of the person's latest DM."""
        user = self.user(who)
        [*_, post] = self.fake.dms_to(user.id)
        payload = payloads.message_action(
            payloads.button(action_id, value),
            user_id=user.id,
            team=TEAM.id,
            trigger_id=self.fake.trigger(),
            response_url=self.fake.response_url(),
            channel=post.channel,
            message_ts=post.ts,
        )
        return await self.slack.interactive(payload)

    async def submit(
        self, view: dict[str, Any], answers: dict[str, str | None], *, who: str
    ) -> aiohttp.ClientResponse:
        payload = payloads.view_submission(
            view, answers, user_id=self.user(who).id, team=TEAM.id, trigger_id=self.fake.trigger()
        )
        return await self.slack.interactive(payload)

    def opened_views(self) -> list[dict[str, Any]]:
        return [c.params["view"] for c in self.fake.calls_to("views.open", ok=True)]


async def eventually(check: Callable[[], T], *, within: float = 5.0) -> T:
    """Wait for work that runs after Slack's acknowledgement to show its effect."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {within} s: {result!r}")
        await asyncio.sleep(0.01)


def slack_settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": TEAM.bot_token,
        "slack_signing_secret": SECRET,
        "slack_api_url": fake.url,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@asynccontextmanager
async def slack_world(
    store: SqlStore,
    *,
    org: Organisation | None = None,
    fake: FakeSlack | None = None,
    socket_mode: SocketModeFactory | None = None,
    **settings: Any,
) -> AsyncIterator[SlackWorld]:
    org = org or load_organisation(ACME)
    await store.save_organisation(org)
    fake = fake or FakeSlack(teams=[TEAM], users=slack_users(org), channels=[CHANNEL])
    async with fake:
        config = slack_settings(fake, **settings)
        gateway = slack_gateway(config, store, limits=fast_limits())
        console = ConsoleGateway(console=Console(file=io.StringIO(), width=120))
        router = ChatRouter(gateways={"slack": gateway, "console": console}, fallback="slack")
        clock = FixedClock(PROMPT_TIME)
        drumbeat = Drumbeat(store=store, chat=router, clock=clock, worker="test")
        web_app = web.Application()
        attach_slack(web_app, settings=config, drumbeat=drumbeat, gateway=gateway,
                     socket_mode=socket_mode)  # fmt: skip
        async with TestServer(web_app, host="127.0.0.1") as server, aiohttp.ClientSession() as http:
            poster = SignedPoster(
                session=http, url=str(server.make_url("/slack/events")), secret=SECRET
            )
            yield SlackWorld(org, store, fake, gateway, drumbeat, clock, poster, web_app)
