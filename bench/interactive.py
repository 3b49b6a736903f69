"""The interactive path at scale (issue 8): what owners pressing Check in on a Monday morning
see while the tick fans out the morning's prompts in the same process.

Targets (this 2-core machine): every modal opened within 1 s of its trigger (p99; a trigger
lasts 3 s), 200 view submissions at 50 concurrent answered with p99 under 300 ms and every
accepted check-in stored exactly once, `/okr mine` answered with p99 under 300 ms meanwhile,
and Teams card submissions answered with p99 under 1 s.

The data. With --people 10000 (the default): bench/org.py's organisation (10,000 people in 40
timezones, 20,000 key results) with bench/load.py's year of history, generated once under
bench/.data as bench/run_all.py does. Any other size: bench/owners.py's (owners in Paris, one
key result each, no history), for quick runs. Each platform's run gets a database of its own
(a scratch copy, a new PostgreSQL database) in which everyone has an account there: a Slack
id the local Slack API knows, or a Teams id with a stored 1:1 conversation reference.

The method is bench/slack_ack.py's. The server (the real aiohttp app with the Slack adapter, or
the Teams bot in local mode) runs in this process, with one tick fanning out the morning's
prompts for the whole measurement: the server's clock starts on Monday 2026-11-23 08:30 UTC
(09:30 in CET), the week's first tick, which writes every prompt due in the current periods
(about 7,200 with bench/org.py: the weekly check-in of everyone east of the Atlantic and the
daily pulses) and sends them as fast as the platform's limits let it, for minutes. The platform
runs in a process of its own, as it does in life: tests/peers/slack_api.py's local Slack API
with Slack's message limits (1 per second per channel, 20 per second per workspace), or
tests/peers/teams_connector.py's connector with Teams' (30 per second per tenant); inside the
server's event loop it would only see a call once that loop is free. The requests come from a
third process, each on a connection opened before it is due and written as raw bytes, so its
clock starts when its bytes are written and the client's own Python is not counted. All three
read one clock (time.monotonic is CLOCK_MONOTONIC, system-wide on Linux).

Slack, once the tick has sent `--owners` prompt DMs (their recipients are the owners):
1. `--owners` signed `/okr checkin` at random moments within 5 s. Each trigger id is issued at
   the local Slack API for the moment its command is planned, so a command the client sends
   late only has less of its 3 s. Measured: send -> views.open with that trigger arriving at
   the local API; expired triggers.
2. A view_submission of each opened modal (valid answers, built from the view as opened), 50 at
   a time. Measured: send -> HTTP answer, which must be `response_action: clear`. Then the
   database: exactly one check-in per owner, and none from anybody else.
Throughout: `/okr mine` from other owners, 10 a second. Measured: send -> the answer arriving
on its response URL.

Teams (TEAMS_LOCAL, no tokens, the local connector as serviceUrl): the same with `checkin`
messages in the owners' 1:1 chats, then the form card's button pressed: an Action.Execute,
which Teams sends as an `adaptiveCard/action` invoke (its data with the filled inputs, in
reply to the card). The bot answers it in the HTTP response with the card to show in the
form's place, so the HTTP answer is also the moment the card is shown: both are measured at
the client, and the answer must be the "Checked in" card. `mine` messages run meanwhile.

    .venv/bin/python -m bench.interactive [--people 10000] [--owners 200]
        [--backend sqlite|postgresql | --database-url URL] [--platform slack|teams|both]
        [--profile DIR]   (py-spy's samples of the server during each measurement)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import make_url

from bench import load
from bench.common import (
    ROOT,
    Cluster,
    postgres_cluster,
    postgres_database,
    sqlite_copy,
    sqlite_database,
)
from bench.org import ORG, build
from bench.owners import TICK as OWNERS_TICK
from bench.owners import owners_org, with_slack_id
from bench.slack_fanout import TEAM
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.slack.limits import SlackLimits
from bot.slack.plugin import attach_slack, slack_gateway
from bot.slack.services import BUSY
from bot.slack.services import SORRY as SLACK_SORRY
from bot.teams.gateway import person_address, reference_dict
from bot.teams.plugin import SORRY as TEAMS_SORRY
from bot.teams.plugin import attach_teams, teams_gateway
from rhythm.ports import ChatGateway
from rhythm.service import Drumbeat
from storage.migrate import upgrade
from storage.store import SqlStore, open_store
from storage.tables import checkin_t, conversation_t, person_t
from tests.bot.slack.payloads import slash_command, valid_answers, view_submission
from tests.bot.slack.signing import FORM, command_body, interactive_body, signed_headers
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, SlackApiError
from tests.peers.teams_connector import TENANT_PER_SECOND, TeamsConnector, add_control_routes

log = logging.getLogger(__name__)

BIG = 10_000  # bench/org.py's size: anything else is bench/owners.py's
ORG_START = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # Monday 09:30 in CET: the weekly check-in
SECRET = "bench-signing-secret"
TENANT = "bench-tenant"
BOT_ID = "28:drumbeat-bench"
SLACK_MESSAGES_PER_SECOND = 20.0  # the app's setting and the local API's workspace cap

MODAL_TARGET = 1.0
SUBMIT_TARGET = 0.300
MINE_TARGET = 0.300
TEAMS_SUBMIT_TARGET = 1.0

SEED = 8  # the issue's number: the same owners, moments and people asking `mine` every run
MINE_PEOPLE = 100
GO_LEAD = 0.5  # seconds between telling the client to go and its first request
OPEN_AHEAD = 0.2  # a `mine` request's connection is opened this long before it is sent
ANSWER_PATIENCE = 30.0  # a request unanswered after this long counts as failed
ARRIVAL_PATIENCE = 15.0  # how long to wait for what the platform should have received
PROMPT_PATIENCE = 600.0  # how long the tick may take to send the owners' prompts
FORM_ACTION = "submit"  # the "drumbeat" key of a form card's submit (bot/teams/cards/form.py)


# ---- the data -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    position: int  # in the OKR file's people: what their chat ids are made of
    email: str


def slack_id(position: int) -> str:
    """bench/owners.py's Slack ids ("U" and seven digits), for everyone."""
    return f"U{position:07d}"


def teams_id(position: int) -> str:
    """An AAD object id (a GUID) per person."""
    return f"00000000-0000-4000-8000-{position:012d}"


def position_of_slack_id(user_id: str) -> int:
    return int(user_id[1:])


def conversation_id(position: int) -> str:
    return f"a:bench-{position}"


def position_of_conversation(conversation: str) -> int:
    return int(conversation.split(";")[0].rpartition("-")[2])


def data_set_name(people: int) -> str:
    if people == BIG:
        return (
            "bench/org.py: 10,000 people in 40 timezones, 20,000 key results, with a year of "
            "history (bench/load.py: about 517,000 prompts, 514,000 check-ins and a million "
            "key-result updates)"
        )
    return f"bench/owners.py: {people:,} owners in Paris, one key result each, no history"


def start_of(people: int) -> datetime:
    """When the server's clock starts: the moment the data set's morning prompts are due."""
    return ORG_START if people == BIG else OWNERS_TICK


def _fill_prompt_attempts() -> None:
    """bench/load.py writes prompt.attempts as None, which the database refuses since
    migration 0004 made it NOT NULL (server default 0): its history gets the default until
    the loader writes the column itself."""
    if load._EMPTY_PROMPT.get("attempts") is None:
        load._EMPTY_PROMPT["attempts"] = 0


async def fill_small(url: str, people: int) -> None:
    await upgrade(url)
    async with open_store(url) as store:
        await store.save_organisation(owners_org(people, with_slack_id))


async def is_empty(url: str) -> bool:
    await upgrade(url)
    async with open_store(url) as store:
        return await store.organisation_stamp(ORG) is None


class Databases:
    """A database of its own, holding the data set, for each platform's run (runs write)."""

    def __init__(
        self, *, people: int, backend: str, given: str | None, stack: AsyncExitStack
    ) -> None:
        self.people = people
        self.backend = backend
        self.given = given
        self.stack = stack
        self._cluster: Cluster | None = None
        self.description = ""

    async def fresh(self, platform: str) -> str:
        if self.given is not None:
            url = await self._given()
        elif self.backend == "sqlite":
            url = await self._sqlite(platform)
        else:
            url = await self._postgresql(platform)
        await give_accounts(url, platform)
        return url

    async def _given(self) -> str:
        assert self.given is not None
        if not await is_empty(self.given):
            raise SystemExit("--database-url must name an empty database: the bench fills it")
        if self.people == BIG:
            _fill_prompt_attempts()
            await load.load(self.given, build())
        else:
            await fill_small(self.given, self.people)
        self.description = f"{make_url(self.given).get_backend_name()} (--database-url)"
        return self.given

    async def _sqlite(self, platform: str) -> str:
        self.description = "SQLite (a file, WAL)"
        if self.people == BIG:
            _fill_prompt_attempts()
            cached = await sqlite_database(build())
            scratch = sqlite_copy(Path(cached.location), f"interactive-{platform}")
        else:
            workdir = Path(tempfile.mkdtemp(prefix="interactive-"))
            self.stack.callback(shutil.rmtree, workdir, True)
            scratch = workdir / f"{platform}.sqlite"
            await fill_small(f"sqlite:///{scratch}", self.people)
        self.stack.callback(_remove_sqlite, scratch)
        return f"sqlite:///{scratch}"

    async def _postgresql(self, platform: str) -> str:
        if self._cluster is None:
            self._cluster = await self.stack.enter_async_context(postgres_cluster())
        self.description = (
            "PostgreSQL (a throwaway cluster with tests/pg.py's settings: fsync off, default "
            "shared_buffers)"
        )
        name = f"interactive_{platform}"
        if self.people == BIG:
            _fill_prompt_attempts()
            return (await postgres_database(build(), self._cluster, name)).location
        admin = make_url(self._cluster.admin_url)
        conn = await asyncpg.connect(self._cluster.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        url = admin.set(database=name).render_as_string(hide_password=False)
        await fill_small(url, self.people)
        return url


def _remove_sqlite(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def give_accounts(url: str, platform: str) -> None:
    """Everyone on `platform` only: a Slack id, or a Teams id (the router then has one place
    to send each person)."""
    p = person_t.c
    async with open_store(url) as store, store.engine.begin() as conn:
        rows = (await conn.execute(select(p.email, p.position).where(p.org == ORG))).all()
        change = (
            update(person_t)
            .where(p.org == ORG, p.email == bindparam("b_email"))
            .values(slack_user_id=bindparam("b_slack"), teams_user_id=bindparam("b_teams"))
        )
        await conn.execute(change, [
            {"b_email": email, "b_slack": slack_id(position) if platform == "slack" else None,
             "b_teams": teams_id(position) if platform == "teams" else None}
            for email, position in rows
        ])  # fmt: skip


async def members(store: SqlStore) -> list[Member]:
    p = person_t.c
    async with store.engine.connect() as conn:
        query = select(p.position, p.email).where(p.org == ORG).order_by(p.position)
        return [Member(position, email) for position, email in (await conn.execute(query)).all()]


# ---- the platforms, each in a process of its own ------------------------------------------


class RecordingSlack(FakeSlack):
    """The local Slack API, also noting when each trigger's views.open arrived (with the view
    it opened, or Slack's refusal) and when each response URL was posted to."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.opened: dict[str, dict[str, Any]] = {}
        self.responded: dict[str, list[tuple[float, str]]] = {}  # key -> (when, what)

    def issue(self, trigger: str, at: float) -> None:
        """A trigger id as Slack issues one when a person acts: valid for 3 s from `at`."""
        self._triggers[trigger] = at

    def _m_views_open(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        trigger, arrived = str(params.get("trigger_id", "")), self.clock()
        try:
            answer = super()._m_views_open(team, params)
        except SlackApiError as refusal:
            self.opened[trigger] = {"at": arrived, "error": refusal.error}
            raise
        self.opened[trigger] = {"at": arrived, "error": None, "view": answer["view"]}
        return answer

    async def _respond(self, request: web.Request) -> web.Response:
        arrived = self.clock()
        what = answer_kind(await request.text())
        self.responded.setdefault(request.match_info["key"], []).append((arrived, what))
        return await super()._respond(request)

    def dm_users(self) -> list[str]:
        """Who got a DM, in the order of their first one."""
        seen: dict[str, None] = {}
        for post in self.posts:
            if post.channel.startswith("D"):
                seen.setdefault("U" + post.channel[1:], None)
        return list(seen)


def answer_kind(text: str) -> str:
    """What a person was told: an answer, the adapter's apology for a failure, or that Slack
    was too busy to open the form."""
    if SLACK_SORRY in text or TEAMS_SORRY.text in text:
        return "apology"
    return "busy" if BUSY in text else "answer"


def slack_control(slack: RecordingSlack) -> web.Application:
    async def triggers(request: web.Request) -> web.Response:
        for trigger, at in (await request.json()).items():
            slack.issue(trigger, float(at))
        return web.json_response({"ok": True})

    async def opened(request: web.Request) -> web.Response:
        views = request.query.get("views") == "1"
        return web.json_response({
            trigger: {k: v for k, v in seen.items() if views or k != "view"}
            for trigger, seen in slack.opened.items()
        })  # fmt: skip

    async def responses(request: web.Request) -> web.Response:
        return web.json_response(slack.responded)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({
            "dm_users": slack.dm_users(),
            "calls": Counter(c.method for c in slack.calls),
            "refused": Counter(c.method for c in slack.calls if c.status == 429),
            "violations": slack.violations,
        })  # fmt: skip

    control = web.Application(client_max_size=16 * 2**20)
    control.router.add_post("/triggers", triggers)
    control.router.add_get("/opened", opened)
    control.router.add_get("/responses", responses)
    control.router.add_get("/stats", stats)
    return control


def connector_routes(app: web.Application, connector: TeamsConnector) -> None:
    """The connector's own control routes, and what this bench reads: replies and updates
    (with their cards when asked), and who was prompted."""
    add_control_routes(app, connector)

    async def replies(request: web.Request) -> web.Response:
        prefix, cards = request.query.get("reply_to", ""), request.query.get("cards") == "1"
        found = []
        for call in connector.calls:
            reply_to = call.activity.get("replyToId") or ""
            if call.kind not in ("reply", "update") or not reply_to.startswith(prefix):
                continue
            row = {
                "kind": call.kind, "conversation": call.conversation, "at": call.at,
                "status": call.status, "activity_id": call.activity_id, "reply_to": reply_to,
                "what": answer_kind(json.dumps(call.activity)),
            }  # fmt: skip
            if cards:
                row["cards"] = [a.get("content") for a in call.activity.get("attachments") or []]
            found.append(row)
        return web.json_response(found)

    async def stats(request: web.Request) -> web.Response:
        prompted: dict[str, None] = {}
        for call in connector.calls:
            if call.kind == "send" and call.status < 300:
                prompted.setdefault(call.conversation, None)
        return web.json_response({
            "prompted": list(prompted),
            "calls": Counter(c.kind for c in connector.calls),
            "refused": Counter(c.kind for c in connector.calls if c.status == 429),
        })  # fmt: skip

    app.router.add_get("/_bench/replies", replies)
    app.router.add_get("/_bench/stats", stats)


async def listening(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def until_terminated() -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve_slack_peer(people: Sequence[tuple[str, str]]) -> None:
    slack = RecordingSlack(
        teams=[TEAM],
        users=[FakeUser(user_id, email, team=TEAM.id) for user_id, email in people],
        per_channel=1,
        workspace_cap=SLACK_MESSAGES_PER_SECOND,
        tolerance=1 / SLACK_MESSAGES_PER_SECOND,  # a burst of two, as in bench/slack_fanout.py
    )
    await slack.start()
    runner, control = await listening(slack_control(slack))
    print(json.dumps({"service": slack.root, "control": control}), flush=True)
    await until_terminated()
    await runner.cleanup()
    await slack.stop()


async def serve_teams_peer() -> None:
    # A slot of arrival jitter, as bench/teams_fanout.py allows the gateway.
    connector = TeamsConnector(tolerance=1 / TENANT_PER_SECOND)
    url = await connector.start(configure=lambda app: connector_routes(app, connector))
    print(json.dumps({"service": url, "control": url}), flush=True)
    await until_terminated()
    await connector.stop()


class Peer:
    """`python -m bench.interactive --peer KIND`: the platform's stand-in as a child process,
    scripted and read over HTTP."""

    def __init__(self, kind: str, people: Sequence[Member] = ()) -> None:
        self.kind = kind
        self.people = people
        self.service = ""
        self.control = ""
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="interactive-peer-"))

    async def __aenter__(self) -> Peer:
        people_file = self._workdir / "people.json"
        people_file.write_text(json.dumps([[slack_id(m.position), m.email] for m in self.people]))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.interactive", "--peer", self.kind,
            "--people-file", str(people_file), stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        if not line:
            raise RuntimeError(f"the {self.kind} peer did not start")
        addresses = json.loads(line)
        self.service, self.control = addresses["service"], addresses["control"]
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._process is not None:
            self._process.terminate()
            await self._process.wait()
        for leftover in self._workdir.iterdir():
            leftover.unlink()
        self._workdir.rmdir()

    async def get(self, path: str) -> Any:
        assert self._http is not None
        async with self._http.get(self.control + path) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def post(self, path: str, payload: object) -> Any:
        assert self._http is not None
        async with self._http.post(self.control + path, json=payload) as answer:
            answer.raise_for_status()
            return await answer.json()


# ---- the server ---------------------------------------------------------------------------


class RunningClock:
    """The server's clock: starts at `start` and runs at the real pace, so leases, claims and
    `submitted_at` move as they would on the morning it stands for."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass
class Server:
    drumbeat: Drumbeat
    endpoint: str
    tick: asyncio.Task[object] | None = None


def new_drumbeat(store: SqlStore, platform: str, gateway: ChatGateway, start: datetime) -> Drumbeat:
    router = ChatRouter(gateways={platform: gateway}, fallback=platform)
    return Drumbeat(store=store, chat=router, clock=RunningClock(start), worker="bench")


@asynccontextmanager
async def slack_server(store: SqlStore, peer: Peer, start: datetime) -> AsyncIterator[Server]:
    settings = Settings(
        _env_file=None,
        slack_bot_token=TEAM.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=f"{peer.service}/api/",
        slack_messages_per_second=SLACK_MESSAGES_PER_SECOND,
    )
    hurry = Hurry()
    limits = SlackLimits(messages_per_second=SLACK_MESSAGES_PER_SECOND, sleep=hurry.sleep)
    gateway = slack_gateway(settings, store, limits=limits)
    drumbeat = new_drumbeat(store, "slack", gateway, start)
    web_app = web.Application()
    attach_slack(web_app, settings=settings, drumbeat=drumbeat, gateway=gateway)
    async with serving(web_app, drumbeat, "/slack/events") as server:
        try:
            yield server
        finally:
            await stop_ticking(server)
            hurry.up()


@asynccontextmanager
async def teams_server(store: SqlStore, start: datetime) -> AsyncIterator[Server]:
    settings = Settings(_env_file=None, teams_local=True)
    gateway = teams_gateway(settings, store)
    drumbeat = new_drumbeat(store, "teams", gateway, start)
    await store.link_workspace("teams", TENANT, ORG)
    web_app = web.Application()
    attach_teams(web_app, settings=settings, drumbeat=drumbeat, gateway=gateway)
    async with serving(web_app, drumbeat, "/api/messages") as server:
        try:
            yield server
        finally:
            await stop_ticking(server)


@asynccontextmanager
async def serving(web_app: web.Application, drumbeat: Drumbeat, path: str) -> AsyncIterator[Server]:
    runner, root = await listening(web_app)
    try:
        await drumbeat.organisation(ORG)
        # As `drumbeat serve` does once it is up: what lives as long as the process (the
        # libraries, the loaded organisation) is kept out of the collector's full passes.
        gc.collect()
        gc.freeze()
        yield Server(drumbeat, root + path)
    finally:
        await runner.cleanup()
        gc.unfreeze()


def start_ticking(server: Server) -> None:
    """One tick, as the scheduler's at the morning's minute: it writes the prompts due and
    sends them, paced by the platform's limits, for minutes."""
    server.tick = asyncio.create_task(server.drumbeat.tick())


async def stop_ticking(server: Server) -> None:
    """Stop the tick (claims given back), as `drumbeat serve` does on SIGTERM."""
    await server.drumbeat.ticker.stop(grace=0.1)


class Hurry:
    """The Slack throttles' sleep, which the bench can cut short. The prompts' chat.update
    calls queue behind Tier 3 (50 a minute) and the gateway waits for them on shutdown:
    minutes for 200 check-ins. Once the measurement is over they go at once instead."""

    def __init__(self) -> None:
        self._now = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._now.wait(), seconds)

    def up(self) -> None:
        self._now.set()


async def first_prompted(
    read: Callable[[], Awaitable[list[str]]], count: int, server: Server
) -> list[str]:
    """The first `count` people the tick reached (Slack user ids or Teams conversations)."""
    deadline = time.monotonic() + PROMPT_PATIENCE
    while True:
        reached = await read()
        if len(reached) >= count:
            return reached[:count]
        if server.tick is not None and server.tick.done():
            raise RuntimeError(f"the tick ended having prompted {len(reached)} people, not {count}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the tick prompted {len(reached)} people in {PROMPT_PATIENCE} s")
        await asyncio.sleep(0.5)


async def stored_checkins(store: SqlStore, since: datetime) -> Counter[str]:
    """Check-ins submitted since `since` (the history ends before it), per person."""
    c = checkin_t.c
    query = (
        select(c.person, func.count())
        .where(c.org == ORG, c.submitted_at >= since)
        .group_by(c.person)
    )
    async with store.engine.connect() as conn:
        return Counter({person: n for person, n in (await conn.execute(query)).all()})


# ---- measuring ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    failed: int  # never completed, or completed wrongly: counted as infinitely late
    p50: float
    p95: float
    p99: float
    max: float


def latency(samples: Iterable[float | None]) -> Latency:
    """Percentiles (nearest rank) of `samples`, None being a failure."""
    given = list(samples)
    ordered = sorted(math.inf if s is None else s for s in given)
    if not ordered:
        return Latency(0, 0, math.nan, math.nan, math.nan, math.nan)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    failed = sum(1 for s in given if s is None)
    return Latency(len(given), failed, rank(0.5), rank(0.95), rank(0.99), ordered[-1])


@dataclass(frozen=True, slots=True)
class Row:
    platform: str
    name: str
    latency: Latency
    target: float | None  # None: for information
    note: str = ""
    ok: bool = True  # what the target also needs: the right answers, stored exactly once

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        passed = self.ok and self.latency.failed == 0 and self.latency.p99 <= self.target
        return "PASS" if passed else "FAIL"


@dataclass
class Run:
    platform: str
    rows: list[Row]
    facts: list[str]


def elapsed(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


async def arrivals(
    read: Callable[[], Awaitable[dict[str, Any]]], wanted: Iterable[str]
) -> dict[str, Any]:
    """What the platform received, once it has all of `wanted` or patience ran out."""
    wanted = set(wanted)
    deadline = time.monotonic() + ARRIVAL_PATIENCE
    while True:
        seen = await read()
        if wanted <= set(seen) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.25)


# ---- the client process -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    path: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80, parts.path)

    def post(self, headers: Mapping[str, str], body: bytes) -> bytes:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body

    async def connect(self) -> Connection:
        return await asyncio.open_connection(self.host, self.port)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True, slots=True)
class Exchange:
    sent: float
    answered: float | None  # None: no answer (reset, closed, too late)
    status: int
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "answered": self.answered, "status": self.status}


async def exchange(connection: Connection, request: bytes) -> Exchange:
    """Write `request` on its open connection; its clock starts as the bytes go out."""
    reader, writer = connection
    sent = time.monotonic()
    writer.write(request)
    try:
        status, body = await asyncio.wait_for(read_answer(reader), ANSWER_PATIENCE)
    except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, ValueError, IndexError):
        return Exchange(sent, None, 0, b"")
    finally:
        writer.close()
    return Exchange(sent, time.monotonic(), status, body)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.monotonic()))


async def at_moments(
    t0: float, requests: Sequence[tuple[float, bytes]], endpoint: Endpoint
) -> list[Exchange]:
    """Each request at t0 + its offset, on a connection opened before it is due."""
    connections = await asyncio.gather(*(endpoint.connect() for _ in requests))

    async def one(connection: Connection, offset: float, request: bytes) -> Exchange:
        await sleep_until(t0 + offset)
        return await exchange(connection, request)

    return await asyncio.gather(
        *(one(c, offset, r) for c, (offset, r) in zip(connections, requests, strict=True))
    )


async def at_most(concurrent: int, requests: Sequence[bytes], endpoint: Endpoint) -> list[Exchange]:
    """All of `requests`, `concurrent` at a time, each on a connection opened beforehand."""
    connections = await asyncio.gather(*(endpoint.connect() for _ in requests))
    gate = asyncio.Semaphore(concurrent)

    async def one(connection: Connection, request: bytes) -> Exchange:
        async with gate:
            return await exchange(connection, request)

    return await asyncio.gather(*(one(c, r) for c, r in zip(connections, requests, strict=True)))


async def steady(
    t0: float, rate: float, stop: asyncio.Event, request: Callable[[int], bytes], endpoint: Endpoint
) -> list[Exchange]:
    """request(k) at t0 + k / rate until `stop` is set."""
    tasks: list[asyncio.Task[Exchange]] = []

    async def one(k: int, moment: float) -> Exchange:
        await sleep_until(moment - OPEN_AHEAD)
        connection = await endpoint.connect()
        await sleep_until(moment)
        return await exchange(connection, request(k))

    k = 0
    while not stop.is_set():
        moment = t0 + k / rate
        tasks.append(asyncio.create_task(one(k, moment)))
        k += 1
        await sleep_until(moment - OPEN_AHEAD)
    return list(await asyncio.gather(*tasks))


async def control_get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as answer:
        answer.raise_for_status()
        return await answer.json()


class SlackLoad:
    """The Slack requests: `/okr checkin`, the modals' submissions, `/okr mine` meanwhile."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.endpoint = Endpoint.of(plan["endpoint"])

    def signed(self, body: str) -> bytes:
        return self.endpoint.post(signed_headers(SECRET, body, content_type=FORM), body.encode())

    def command(self, text: str, user: str, key: str, trigger: str) -> bytes:
        return self.signed(command_body(slash_command(
            text, user_id=user, team=TEAM.id, trigger_id=trigger,
            response_url=f"{self.plan['respond_to']}/respond/{key}",
        )))  # fmt: skip

    def mine(self, k: int) -> bytes:
        users = self.plan["mine_users"]
        return self.command("mine", users[k % len(users)], f"mine-{k}", f"mine-{k}.bench")

    async def run(self, t0: float) -> dict[str, Any]:
        checkins = self.plan["checkins"]
        requests = [
            (c["offset"], self.command("checkin", c["user"], f"checkin-{n}", c["trigger"]))
            for n, c in enumerate(checkins)
        ]
        stop_mine = asyncio.Event()
        mine = asyncio.create_task(
            steady(t0, self.plan["rate"], stop_mine, self.mine, self.endpoint)
        )
        commands = await at_moments(t0, requests, self.endpoint)
        async with aiohttp.ClientSession() as http:
            views = await self.opened_views(http, [c["trigger"] for c in checkins])
        owners = {c["trigger"]: c["user"] for c in checkins}
        opened = [(trigger, view) for trigger, view in views.items() if view is not None]
        submissions = [self.submission(view, owners[trigger], trigger) for trigger, view in opened]
        submitted_from = time.monotonic()
        answers = await at_most(self.plan["concurrency"], submissions, self.endpoint)
        submitted_until = time.monotonic()
        await asyncio.sleep(1.0)  # `mine` goes on a little past the last submission
        stop_mine.set()
        return {
            "commands": [{"trigger": c["trigger"], **e.as_json()}
                         for c, e in zip(checkins, commands, strict=True)],
            "submissions": [{"trigger": t, "action": response_action(e.body), **e.as_json()}
                            for (t, _), e in zip(opened, answers, strict=True)],
            "mine": [{"key": f"mine-{k}", **e.as_json()} for k, e in enumerate(await mine)],
            "phase2": [submitted_from, submitted_until],
        }  # fmt: skip

    def submission(self, view: dict[str, Any], user: str, trigger: str) -> bytes:
        """The modal submitted with valid answers, as Slack sends it."""
        payload = view_submission(
            view, valid_answers(view), user_id=user, team=TEAM.id, trigger_id=f"{trigger}.submit"
        )
        return self.signed(interactive_body(payload))

    async def opened_views(
        self, http: aiohttp.ClientSession, triggers: Sequence[str]
    ) -> dict[str, dict[str, Any] | None]:
        """The modal each trigger opened (None: none), once all are there or patience ran
        out: the views a person would then fill in."""
        control = self.plan["control"]
        deadline = time.monotonic() + ARRIVAL_PATIENCE
        while time.monotonic() < deadline:
            if set(triggers) <= set(await control_get(http, f"{control}/opened")):
                break
            await asyncio.sleep(0.2)
        seen = await control_get(http, f"{control}/opened?views=1")
        return {t: (seen.get(t) or {}).get("view") for t in triggers}


def response_action(body: bytes) -> str:
    """A view submission's answer: its response_action ("" for an empty acknowledgement)."""
    try:
        answer = json.loads(body) if body else {}
    except ValueError:
        return "not json"
    return str(answer.get("response_action", "")) if isinstance(answer, dict) else "not json"


def personal_message(
    position: int, service_url: str, activity_id: str, **fields: Any
) -> dict[str, Any]:
    """A message in a person's 1:1 chat with the bot, as Teams sends it."""
    return {
        "type": "message",
        "id": activity_id,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{position}", "name": f"Person {position}",
                 "aadObjectId": teams_id(position)},
        "recipient": {"id": BOT_ID, "name": "Drumbeat"},
        "conversation": {"id": conversation_id(position), "conversationType": "personal",
                         "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        **fields,
    }  # fmt: skip


def card_inputs(card: object) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if isinstance(card, dict):
        if str(card.get("type", "")).startswith("Input."):
            found[card["id"]] = card
        for value in card.values():
            found |= card_inputs(value)
    elif isinstance(card, list):
        for item in card:
            found |= card_inputs(item)
    return found


def form_submit(card: Mapping[str, Any]) -> dict[str, Any] | None:
    """A form card's submit button (None: not a form card)."""
    for action in card.get("actions") or ():
        data = action.get("data") if isinstance(action, dict) else None
        if isinstance(data, dict) and data.get("drumbeat") == FORM_ACTION:
            return dict(action)
    return None


def invoke_answer_kind(body: bytes) -> str:
    """What the answer to a form's Action.Execute showed: the "Checked in" card ("answer"),
    the apology, or something else (the form again, a message, not an invoke answer)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "not json"
    if not isinstance(answer, dict):
        return "not json"
    shown = json.dumps(answer.get("value"))
    if TEAMS_SORRY.text in shown:
        return "apology"
    card = answer.get("type") == "application/vnd.microsoft.card.adaptive"
    if card and answer.get("statusCode") == 200 and "Checked in" in shown:
        return "answer"
    return "card" if card else str(answer.get("type"))


def filled_value(card: Mapping[str, Any], submit: Mapping[str, Any]) -> dict[str, Any]:
    """What Teams sends when the card's button is pressed: the button's data with every input,
    filled as a person would (prefills kept, required ones answered)."""
    value = dict(submit)
    for input_id, element in card_inputs(card).items():
        given = element.get("value")
        if element["type"] == "Input.Number":
            value[input_id] = str(given if given is not None else element.get("min", 1))
        elif element["type"] == "Input.ChoiceSet":
            value[input_id] = given or element["choices"][0]["value"]
        elif element.get("isRequired") or input_id.endswith(":moved"):
            value[input_id] = given or "Steady progress"
        else:
            value[input_id] = given or ""
    return value


class TeamsLoad:
    """The Teams messages: `checkin`, the form cards' submits, `mine` meanwhile."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.endpoint = Endpoint.of(plan["endpoint"])

    def message(self, position: int, activity_id: str, **fields: Any) -> bytes:
        activity = personal_message(position, self.plan["service_url"], activity_id, **fields)
        return self.endpoint.post(
            {"Content-Type": "application/json"}, json.dumps(activity).encode()
        )

    def mine(self, k: int) -> bytes:
        people = self.plan["mine_people"]
        return self.message(people[k % len(people)], f"mine-{k}", text="mine")

    async def run(self, t0: float) -> dict[str, Any]:
        checkins = self.plan["checkins"]
        requests = [
            (c["offset"], self.message(c["position"], f"chk-{c['position']}", text="checkin"))
            for c in checkins
        ]
        stop_mine = asyncio.Event()
        mine = asyncio.create_task(
            steady(t0, self.plan["rate"], stop_mine, self.mine, self.endpoint)
        )
        commands = await at_moments(t0, requests, self.endpoint)
        async with aiohttp.ClientSession() as http:
            cards = await self.form_cards(http)
        forms = [(c["position"], cards.get(c["position"])) for c in checkins]
        submits = [(position, card) for position, card in forms if card is not None]
        pressed = [self.submit(position, card) for position, card in submits]
        submitted_from = time.monotonic()
        answers = await at_most(self.plan["concurrency"], pressed, self.endpoint)
        submitted_until = time.monotonic()
        await asyncio.sleep(1.0)
        stop_mine.set()
        return {
            "commands": [{"position": c["position"], **e.as_json()}
                         for c, e in zip(checkins, commands, strict=True)],
            "submissions": [{"position": p, "card": card["activity_id"],
                             "what": invoke_answer_kind(e.body), **e.as_json()}
                            for (p, card), e in zip(submits, answers, strict=True)],
            "mine": [{"key": f"mine-{k}", **e.as_json()} for k, e in enumerate(await mine)],
            "phase2": [submitted_from, submitted_until],
        }  # fmt: skip

    def submit(self, position: int, form: Mapping[str, Any]) -> bytes:
        """The form card's button (an Action.Execute) pressed with its inputs filled: the
        invoke Teams sends, in reply to the card."""
        button = form["submit"]
        executed = {"type": "Action.Execute", "title": button["title"], "verb": button["verb"],
                    "data": filled_value(form["card"], button["data"])}  # fmt: skip
        return self.message(
            position, f"sub-{position}", type="invoke", name="adaptiveCard/action",
            replyToId=form["activity_id"], value={"action": executed, "trigger": "manual"},
        )  # fmt: skip

    async def form_cards(self, http: aiohttp.ClientSession) -> dict[int, dict[str, Any]]:
        """Per owner, the form card the bot replied to `checkin` with: its activity id, the
        card, its submit button's data."""
        url = f"{self.plan['control']}/_bench/replies?reply_to=chk-&cards=1"
        found: dict[int, dict[str, Any]] = {}
        for reply in await control_get(http, url):
            if reply["kind"] != "reply" or reply["status"] >= 300:
                continue
            for card in reply["cards"]:
                submit = form_submit(card) if isinstance(card, dict) else None
                if submit is not None:
                    found[position_of_conversation(reply["conversation"])] = {
                        "activity_id": reply["activity_id"], "card": card, "submit": submit,
                    }  # fmt: skip
        return found


LOADS: dict[str, Callable[[dict[str, Any]], SlackLoad | TeamsLoad]] = {
    "slack": SlackLoad,
    "teams": TeamsLoad,
}


async def client_main(kind: str, plan: dict[str, Any]) -> None:
    """The client process: ready, then go at the moment the server names."""
    workload = LOADS[kind](plan)
    print("ready", flush=True)
    t0 = float(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    print(json.dumps(await workload.run(t0)), flush=True)


async def drive_client(
    kind: str, plan: dict[str, Any], before_go: Callable[[float], Awaitable[None]]
) -> dict[str, Any]:
    """Start the client process, tell it when to go (after `before_go(t0)`), read its
    measurements."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="interactive-plan-") as file:
        json.dump(plan, file)
        file.flush()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.interactive", "--client", kind, "--plan", file.name,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        assert child.stdout is not None
        ready = await asyncio.wait_for(child.stdout.readline(), 120)
        if ready.strip() != b"ready":
            raise RuntimeError(f"the client did not start: {ready!r}")
        t0 = time.monotonic() + GO_LEAD
        await before_go(t0)
        out, _ = await asyncio.wait_for(child.communicate(f"{t0!r}\n".encode()), 600)
    if child.returncode != 0:
        raise RuntimeError(f"the client failed (exit code {child.returncode})")
    result: dict[str, Any] = json.loads(out)
    result["t0"] = t0
    return result


# ---- one platform's run -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Load:
    owners: int
    window: float
    concurrency: int
    rate: float
    profile: Path | None = None  # --profile: where py-spy's samples of the measurement go


@asynccontextmanager
async def profiled(directory: Path | None, name: str) -> AsyncIterator[None]:
    """With --profile: py-spy samples this process (every thread, idle ones too, without
    pausing it) while the block runs, into DIRECTORY/NAME.txt as collapsed stacks."""
    if directory is None:
        yield
        return
    spy_binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    spy = await asyncio.create_subprocess_exec(
        spy_binary, "record", "--pid", str(os.getpid()), "--format", "raw", "--idle",
        "--threads", "--nonblocking", "--rate", "100", "-o", str(directory / f"{name}.txt"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(1.0)  # attached before the measurement starts
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        await spy.wait()


def offsets(count: int, window: float) -> list[float]:
    """`count` moments at random within `window` seconds (people do not press in step)."""
    rng = random.Random(SEED)
    return sorted(rng.uniform(0, window) for _ in range(count))


def others(people: Sequence[Member], owners: set[int], count: int) -> list[Member]:
    rng = random.Random(SEED + 1)
    rest = [m for m in people if m.position not in owners]
    return rng.sample(rest, min(count, len(rest)))


class Fanout:
    """How the tick's fan-out went during the measurement: sends per second, refusals."""

    def __init__(self, before: dict[str, Any], reached: str) -> None:
        self.before = before
        self.reached = reached
        self.started = time.monotonic()

    def fact(self, after: dict[str, Any]) -> str:
        seconds = time.monotonic() - self.started
        sent = len(after[self.reached]) - len(self.before[self.reached])
        refused = dict(Counter(after["refused"]) - Counter(self.before["refused"]))
        return (
            f"tick fan-out meanwhile: {sent:,} people prompted in {seconds:.1f} s "
            f"({sent / seconds:.1f}/s); 429s answered meanwhile: {refused or 'none'}"
        )


class CpuMeter:
    """The server process's CPU time, sampled every 50 ms while the client runs: how busy it
    was in each phase (near 100% of a core, its one event loop is the bottleneck)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    @asynccontextmanager
    async def sampling(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._sample())
        try:
            yield
        finally:
            task.cancel()

    async def _sample(self) -> None:
        while True:
            self.samples.append((time.monotonic(), time.process_time()))
            await asyncio.sleep(0.05)

    def busy(self, start: float, end: float) -> float:
        inside = [(t, cpu) for t, cpu in self.samples if start <= t <= end]
        if len(inside) < 2:
            return math.nan
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def fact(self, out: Mapping[str, Any]) -> str:
        t0: float = out["t0"]
        submitting, submitted = out["phase2"]
        return (
            f"server process CPU (all its threads): {self.busy(t0, submitting):.0%} of one core "
            f"while the commands came and the modals opened, {self.busy(submitting, submitted):.0%}"
            " during the submissions"
        )


def stored_fact(stored: Counter[str], owners: set[str]) -> tuple[bool, str]:
    """Exactly one check-in per owner whose submission was accepted, none from anybody else."""
    once = sum(1 for email in owners if stored.get(email) == 1)
    twice = sum(1 for email in owners if stored.get(email, 0) > 1)
    strangers = sum(n for email, n in stored.items() if email not in owners)
    ok = once == len(owners) and twice == 0 and strangers == 0
    return ok, f"{once} of {len(owners)} stored once, {twice} more than once, {strangers} others"


async def run_slack(url: str, people: int, shape: Load) -> Run:
    start = start_of(people)
    async with open_store(url) as store:
        everyone = await members(store)
        by_position = {m.position: m for m in everyone}
        async with Peer("slack", everyone) as peer, slack_server(store, peer, start) as server:
            start_ticking(server)

            async def dm_users() -> list[str]:
                return list((await peer.get("/stats"))["dm_users"])

            users = await first_prompted(dm_users, shape.owners, server)
            owners = [by_position[position_of_slack_id(u)] for u in users]
            asking = others(everyone, {m.position for m in owners}, MINE_PEOPLE)
            moments = offsets(len(users), shape.window)
            checkins: list[dict[str, Any]] = [
                {"user": u, "trigger": f"{n}.{int(time.time())}.bench", "offset": offset}
                for n, (u, offset) in enumerate(zip(users, moments, strict=True))
            ]
            plan = {
                "endpoint": server.endpoint, "respond_to": peer.service,
                "control": peer.control, "checkins": checkins, "rate": shape.rate,
                "mine_users": [slack_id(m.position) for m in asking],
                "concurrency": shape.concurrency,
            }  # fmt: skip

            async def issue_triggers(t0: float) -> None:
                await peer.post("/triggers", {c["trigger"]: t0 + c["offset"] for c in checkins})

            fanout = Fanout(await peer.get("/stats"), "dm_users")
            cpu = CpuMeter()
            async with cpu.sampling(), profiled(shape.profile, "slack"):
                out = await drive_client("slack", plan, issue_triggers)
            facts = [fanout.fact(await peer.get("/stats"))]
            opened = await peer.get("/opened")
            responses = await arrivals(
                lambda: peer.get("/responses"), (m["key"] for m in out["mine"])
            )
            stored = await stored_checkins(store, start)
            facts.append(cpu.fact(out))
    return slack_rows(out, opened, responses, stored, {m.email for m in owners}, facts)


def slack_rows(
    out: dict[str, Any],
    opened: dict[str, Any],
    responses: dict[str, list[list[Any]]],
    stored: Counter[str],
    owners: set[str],
    facts: list[str],
) -> Run:
    commands, submissions, mine = out["commands"], out["submissions"], out["mine"]
    missing: list[float | None] = [None] * (len(commands) - len(submissions))

    def cleared(s: Mapping[str, Any]) -> float | None:
        return elapsed(s["sent"], s["answered"]) if s["action"] == "clear" else None

    def told(m: Mapping[str, Any]) -> float | None:
        return elapsed(m["sent"], answered_at(responses.get(m["key"]), m["sent"]))

    modal = [elapsed(c["sent"], ok_arrival(opened.get(c["trigger"]))) for c in commands]
    refusals = Counter(str((opened.get(c["trigger"]) or {}).get("error")) for c in commands)
    refusals.pop("None", None)
    expired = refusals.get("expired_trigger_id", 0)
    never = sum(1 for c in commands if c["trigger"] not in opened)
    actions = Counter(s["action"] for s in submissions)
    posts = Counter(what for arrived in responses.values() for _, what in arrived)
    stored_ok, stored_note = stored_fact(stored, owners)
    rows = [
        Row("slack", "/okr checkin -> views.open at Slack", latency(modal), MODAL_TARGET,
            f"{expired} expired triggers, {never} never opened, refusals: {dict(refusals)}",
            ok=expired == 0),
        Row("slack", "view_submission -> HTTP answer", latency([*map(cleared, submissions),
            *missing]), SUBMIT_TARGET, f"answers {dict(actions)}; {stored_note}",
            ok=actions.get("clear", 0) == len(commands) and stored_ok),
        Row("slack", "/okr mine -> answer on response URL", latency(map(told, mine)),
            MINE_TARGET, f"{len(mine)} commands at a steady rate through both phases; "
            f"response URL posts: {dict(posts)}"),
        Row("slack", "/okr checkin -> HTTP ack (info)",
            latency(elapsed(c["sent"], c["answered"]) for c in commands), None),
        Row("slack", "/okr mine -> HTTP ack (info)",
            latency(elapsed(m["sent"], m["answered"]) for m in mine), None),
    ]  # fmt: skip
    phase2 = out["phase2"]
    facts.append(f"submissions took {phase2[1] - phase2[0]:.2f} s in all")
    return Run("slack", rows, facts)


def ok_arrival(seen: Mapping[str, Any] | None) -> float | None:
    if not seen or seen.get("error"):
        return None
    at: float = seen["at"]
    return at


async def store_conversations(store: SqlStore, everyone: Sequence[Member], service: str) -> None:
    """Everyone installed the app once: their 1:1 conversation reference is stored as the bot
    stores it from one of their messages (so their next message changes nothing)."""
    now = datetime.now(UTC)
    rows = []
    for member in everyone:
        activity = Activity().deserialize(personal_message(member.position, service, "install"))
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.tenant_id = TENANT
        rows.append({
            "platform": "teams", "address": person_address(teams_id(member.position)),
            "org": ORG, "person": member.email, "reference": reference_dict(reference),
            "updated_at": now,
        })  # fmt: skip
    async with store.engine.begin() as conn:
        await conn.execute(insert(conversation_t), rows)


async def run_teams(url: str, people: int, shape: Load) -> Run:
    start = start_of(people)
    async with open_store(url) as store, Peer("teams") as peer:
        everyone = await members(store)
        await peer.post("/_control/conversations", [
            {"id": conversation_id(m.position), "user": f"29:{m.position}", "tenant": TENANT}
            for m in everyone
        ])  # fmt: skip
        await store_conversations(store, everyone, peer.service)
        by_position = {m.position: m for m in everyone}
        async with teams_server(store, start) as server:
            start_ticking(server)

            async def prompted() -> list[str]:
                return list((await peer.get("/_bench/stats"))["prompted"])

            reached = await first_prompted(prompted, shape.owners, server)
            owners = [by_position[position_of_conversation(c)] for c in reached]
            asking = others(everyone, {m.position for m in owners}, MINE_PEOPLE)
            plan = {
                "endpoint": server.endpoint, "service_url": peer.service,
                "control": peer.control, "rate": shape.rate, "concurrency": shape.concurrency,
                "checkins": [{"position": m.position, "offset": o}
                             for m, o in zip(owners, offsets(len(owners), shape.window),
                                             strict=True)],
                "mine_people": [m.position for m in asking],
            }  # fmt: skip

            async def nothing_to_set_up(t0: float) -> None:
                return None

            fanout = Fanout(await peer.get("/_bench/stats"), "prompted")
            cpu = CpuMeter()
            async with cpu.sampling(), profiled(shape.profile, "teams"):
                out = await drive_client("teams", plan, nothing_to_set_up)
            facts = [fanout.fact(await peer.get("/_bench/stats"))]
            replies = await peer.get("/_bench/replies")
            stored = await stored_checkins(store, start)
            facts.append(cpu.fact(out))
    return teams_rows(out, replies, stored, {m.email for m in owners}, facts)


class Delivered:
    """What the connector accepted in answer to each of our activities: replies (by the
    activity they answer) and card updates (by the card), each as (when, what)."""

    def __init__(self, calls: Iterable[Mapping[str, Any]]) -> None:
        self.replies: dict[str, list[tuple[float, str]]] = {}
        self.updates: dict[str, list[tuple[float, str]]] = {}
        self.refused: Counter[str] = Counter()
        for call in calls:
            if call["status"] == 429:
                self.refused[call["kind"]] += 1
            if call["status"] >= 300:
                continue
            into = self.replies if call["kind"] == "reply" else self.updates
            key = call["reply_to"] if call["kind"] == "reply" else call["activity_id"]
            into.setdefault(key, []).append((call["at"], call["what"]))

    def apologised(self, activity_id: str) -> bool:
        return any(what == "apology" for _, what in self.replies.get(activity_id, ()))


def answered_at(arrived: Iterable[Sequence[Any]] | None, after: float) -> float | None:
    """When the first real answer (not an apology) arrived after `after`."""
    times = [at for at, what in arrived or () if what == "answer" and at >= after]
    return min(times) if times else None


def teams_rows(
    out: dict[str, Any],
    calls: list[dict[str, Any]],
    stored: Counter[str],
    owners: set[str],
    facts: list[str],
) -> Run:
    got = Delivered(calls)
    commands, submissions, mine = out["commands"], out["submissions"], out["mine"]
    missing: list[float | None] = [None] * (len(commands) - len(submissions))

    def answered(e: Mapping[str, Any], activity_id: str, proof: float | None) -> float | None:
        """The HTTP answer's latency, if it came (2xx) with what the person should see."""
        fine = 200 <= e["status"] < 300 and proof is not None and not got.apologised(activity_id)
        return elapsed(e["sent"], e["answered"]) if fine else None

    def card_at(c: Mapping[str, Any]) -> float | None:
        return answered_at(got.replies.get(f"chk-{c['position']}"), c["sent"])

    def shown(s: Mapping[str, Any]) -> float | None:
        """The HTTP answer's latency, if it came (200) with the "Checked in" card: the card
        Teams shows in the form's place, with no message through the connector."""
        fine = s["status"] == 200 and s["what"] == "answer"
        return elapsed(s["sent"], s["answered"]) if fine else None

    def reply_at(m: Mapping[str, Any]) -> float | None:
        return answered_at(got.replies.get(m["key"]), m["sent"])

    submit = [shown(s) for s in submissions]
    # The form's card is replaced by the answer itself: any update of it is a regression.
    form_updates = sum(len(got.updates.get(s["card"], ())) for s in submissions)
    checkin = [answered(c, f"chk-{c['position']}", card_at(c)) for c in commands]
    asked = [answered(m, m["key"], reply_at(m)) for m in mine]
    apologies = sum(got.apologised(key) for key in (
        *(f"chk-{c['position']}" for c in commands), *(m["key"] for m in mine),
    )) + sum(s["what"] == "apology" for s in submissions)  # fmt: skip
    answers = Counter(s["what"] for s in submissions)
    statuses = Counter(str(s["status"]) for s in [*commands, *submissions, *mine])
    stored_ok, stored_note = stored_fact(stored, owners)
    rows = [
        Row("teams", "card submit -> HTTP answer", latency([*submit, *missing]),
            TEAMS_SUBMIT_TARGET, f"answers {dict(answers)}; {stored_note}", ok=stored_ok),
        Row("teams", "card submit -> card shown (the answer's card)",
            latency([*submit, *missing]), TEAMS_SUBMIT_TARGET,
            f"{form_updates} updates of a form card through the connector",
            ok=form_updates == 0),
        Row("teams", "checkin -> HTTP answer (info)", latency(checkin), None,
            f"{len(missing)} got no form card"),
        Row("teams", "checkin -> form card at connector (info)",
            latency(elapsed(c["sent"], card_at(c)) for c in commands), None),
        Row("teams", "mine -> HTTP answer (info)", latency(asked), None,
            f"{len(mine)} messages at a steady rate through both phases"),
        Row("teams", "mine -> reply at connector (info)",
            latency(elapsed(m["sent"], reply_at(m)) for m in mine), None),
    ]  # fmt: skip
    facts.append(
        f"HTTP statuses of every request: {dict(statuses)}; {apologies} answered with the "
        f"apology; replies/updates refused with 429: {dict(got.refused) or 'none'}"
    )
    phase2 = out["phase2"]
    facts.append(f"submissions took {phase2[1] - phase2[0]:.2f} s in all")
    return Run("teams", rows, facts)


RUNS: dict[str, Callable[[str, int, Load], Awaitable[Run]]] = {
    "slack": run_slack,
    "teams": run_teams,
}


# ---- the report ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if math.isinf(seconds):
        return "failed"
    return f"{seconds * 1000:,.0f} ms"


def table(runs: Sequence[Run], header: Sequence[str]) -> str:
    head = ("platform", "measurement", "n", "p50", "p95", "p99", "max", "target", "result")
    rows = [head]
    for run in runs:
        for r in run.rows:
            lat = r.latency
            rows.append((
                r.platform, r.name, str(lat.count), ms(lat.p50), ms(lat.p95), ms(lat.p99),
                ms(lat.max), f"p99 <= {ms(r.target)}" if r.target else "", r.verdict,
            ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [*header, ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    for run in runs:
        for r in run.rows:
            if r.note:
                lines.append(f"{run.platform} · {r.name}: {r.note}")
        lines.extend(f"{run.platform} · {fact}" for fact in run.facts)
    return "\n".join(lines)


class Tally(logging.Handler):
    """Warnings and errors the server logged, counted by logger and first words."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen[f"{record.levelname} {record.name}: {record.getMessage()[:80]}"] += 1


async def main(arguments: argparse.Namespace) -> int:
    platforms = ["slack", "teams"] if arguments.platform == "both" else [arguments.platform]
    if arguments.database_url and len(platforms) > 1:
        raise SystemExit("--database-url takes one --platform: each run needs a fresh database")
    shape = Load(
        arguments.owners, arguments.window, arguments.concurrency, arguments.rate,
        arguments.profile,
    )  # fmt: skip
    tally = Tally()
    logging.getLogger().addHandler(tally)
    load_before = os.getloadavg()[0]
    runs = []
    async with AsyncExitStack() as stack:
        databases = Databases(
            people=arguments.people, backend=arguments.backend, given=arguments.database_url,
            stack=stack,
        )  # fmt: skip
        for platform in platforms:
            url = await databases.fresh(platform)
            print(f"{platform}: measuring ...", file=sys.stderr, flush=True)
            runs.append(await RUNS[platform](url, arguments.people, shape))
    header = [
        f"Interactive path at scale: {shape.owners} owners within {shape.window:g} s, "
        f"submissions {shape.concurrency} at a time, `mine` {shape.rate:g}/s, while one tick "
        "fans out the morning's prompts",
        f"data: {data_set_name(arguments.people)}; backend: {databases.description}",
        f"machine: {os.cpu_count()} CPUs, shared (1-minute load average {load_before:.1f} "
        f"before, {os.getloadavg()[0]:.1f} after); server, platform stand-in and client in "
        "three processes, PostgreSQL (if used) in its own",
    ]
    print(table(runs, header))
    if tally.seen:
        print("\nserver log, warnings and errors (count, first 80 characters):")
        for line, count in tally.seen.most_common(12):
            print(f"  {count:5}  {line}")
    return 1 if any(r.verdict == "FAIL" for run in runs for r in run.rows) else 0


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parse.add_argument("--people", type=int, default=BIG, help="10000: bench/org.py + history")
    parse.add_argument("--owners", type=int, default=200, help="who check in")
    parse.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parse.add_argument("--database-url", help="an empty database to fill instead")
    parse.add_argument("--platform", choices=("slack", "teams", "both"), default="both")
    parse.add_argument("--window", type=float, default=5.0, help="seconds the commands span")
    parse.add_argument("--concurrency", type=int, default=50, help="submissions at once")
    parse.add_argument("--rate", type=float, default=10.0, help="`mine` requests per second")
    parse.add_argument("--profile", type=Path, help="a directory for py-spy's samples")
    parse.add_argument("--peer", choices=("slack", "teams"), help=argparse.SUPPRESS)
    parse.add_argument("--people-file", help=argparse.SUPPRESS)
    parse.add_argument("--client", choices=("slack", "teams"), help=argparse.SUPPRESS)
    parse.add_argument("--plan", help=argparse.SUPPRESS)
    return parse


def entry(arguments: argparse.Namespace) -> int:
    if arguments.peer == "slack":
        people = json.loads(Path(arguments.people_file).read_text())
        asyncio.run(serve_slack_peer([(user_id, email) for user_id, email in people]))
    elif arguments.peer == "teams":
        asyncio.run(serve_teams_peer())
    elif arguments.client:
        plan = json.loads(Path(arguments.plan).read_text())
        asyncio.run(client_main(arguments.client, plan))
    else:
        if arguments.profile is not None:
            arguments.profile.mkdir(parents=True, exist_ok=True)
        return asyncio.run(main(arguments))
    return 0


if __name__ == "__main__":
    sys.exit(entry(parser().parse_args()))
