"""Slack acknowledgement latency: 200 concurrent signed `/okr status` requests to
POST /slack/events, p99 of the time until each gets its HTTP answer (Slack allows 3 s).

The server (the aiohttp app with the Slack adapter, a SQLite store with a 2,000-person
organisation, the local Slack API for auth.test and the response URLs) runs in this process;
the requests come from a child process, so the client's own work is not counted against the
server: every request has its connection open before the burst and is written as raw bytes,
so a request's clock starts when it is sent. A first round of the same size warms the caches;
the measured rounds follow, each once every answer of the one before has arrived on its
response URL. Each request's work (a team's status, from the database) runs after its
acknowledgement, alongside the other requests, as it would in production.

Three rounds as the process is, three after `gc.freeze()`: the collector's full passes over
the long-lived objects (the loaded organisation above all) otherwise land on some bursts as
a 50-150 ms pause; a server can freeze once it has loaded its organisations.

    .venv/bin/python -m bench.slack_ack [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from rich.console import Console

from bench.slack_fanout import TEAM, TICK, organisation, user_id
from bot.console.gateway import ConsoleGateway
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.slack.plugin import attach_slack, slack_gateway
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.migrate import upgrade
from storage.store import open_store
from tests.bot.slack.payloads import slash_command
from tests.bot.slack.signing import FORM, command_body, signed_headers
from tests.peers.slack_api import FakeSlack, FakeUser

SECRET = "bench-signing-secret"
OWNERS = 2000
TARGET_P99 = 0.100
COMMAND_TEXT = "status"
ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Round:
    frozen: bool  # after gc.freeze()
    p50: float
    p99: float
    max: float
    answered: float  # seconds until every answer reached its response URL


async def serve_and_measure(requests: int, rounds: int = ROUNDS) -> list[Round]:
    org = organisation(OWNERS)
    with tempfile.TemporaryDirectory(prefix="slack-ack-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'ack.db'}"
        await upgrade(url)
        fake = FakeSlack(
            teams=[TEAM],
            users=[FakeUser(p.slack_user_id or "", p.email, team=TEAM.id) for p in org.people],
        )
        async with fake, open_store(url) as store:
            await store.save_organisation(org)
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                slack_bot_token=TEAM.bot_token,
                slack_signing_secret=SECRET,
                slack_api_url=fake.url,
            )
            gateway = slack_gateway(settings, store)
            console = ConsoleGateway(console=Console(file=io.StringIO()))
            router = ChatRouter(gateways={"slack": gateway, "console": console}, fallback="slack")
            drumbeat = Drumbeat(store=store, chat=router, clock=FixedClock(TICK), worker="bench")
            web_app = web.Application()
            attach_slack(web_app, settings=settings, drumbeat=drumbeat, gateway=gateway)
            runner = web.AppRunner(web_app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            try:
                endpoint = f"http://127.0.0.1:{port}/slack/events"
                await _round(endpoint, fake, requests, "warm-up")
                measured = []
                for frozen in (False, True):
                    if frozen:
                        # What the long-lived objects (the loaded organisation, bolt, the
                        # modules) cost the collector: moved out of its way, its pauses stop
                        # landing on acknowledgements.
                        gc.collect()
                        gc.freeze()
                    for number in range(rounds):
                        fake.responses.clear()
                        label = f"round {number + 1}{' (frozen)' if frozen else ''}"
                        latencies, answered = await _round(endpoint, fake, requests, label)
                        measured.append(_summary(frozen, latencies, answered))
            finally:
                await runner.cleanup()
                gc.unfreeze()
    return measured


def _summary(frozen: bool, latencies: list[float], answered: float) -> Round:
    ordered = sorted(latencies)
    return Round(
        frozen=frozen,
        p50=statistics.median(ordered),
        p99=ordered[math.ceil(0.99 * len(ordered)) - 1],
        max=ordered[-1],
        answered=answered,
    )


async def _round(
    endpoint: str, fake: FakeSlack, requests: int, label: str
) -> tuple[list[float], float]:
    """One round from the child process; returns its latencies and the seconds until every
    request's answer reached its response URL."""
    started = time.perf_counter()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.slack_ack", "--client", endpoint,
        "--requests", str(requests), "--respond-to", fake.root,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await child.communicate()
    result = json.loads(out)
    if set(result["statuses"]) != {200}:
        raise RuntimeError(f"{label}: unexpected HTTP statuses {set(result['statuses'])}")
    while len(fake.responses) < requests:
        if time.perf_counter() - started > 120:
            raise RuntimeError(f"{label}: {len(fake.responses)} of {requests} answered")
        await asyncio.sleep(0.01)
    return result["latencies"], time.perf_counter() - started


async def client(endpoint: str, requests: int, respond_to: str) -> None:
    """The load: `requests` signed `/okr status` at once, from as many people, each on a
    connection opened beforehand, written as raw HTTP/1.1: the clock of a request starts
    when its bytes are written, so the client's own Python is not counted."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    raw = []
    for n in range(requests):
        body = command_body(slash_command(
            COMMAND_TEXT, user_id=user_id(n), team=TEAM.id,
            response_url=f"{respond_to}/respond/{n}", trigger_id=f"{n}.1.bench",
        ))  # fmt: skip
        headers = signed_headers(SECRET, body, content_type=FORM)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        raw.append(
            f"POST {url.path} HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}".encode()
        )
    connections = await asyncio.gather(
        *(asyncio.open_connection(host, port) for _ in range(requests))
    )

    async def one(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[float, int]:
        start = time.perf_counter()
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        elapsed = time.perf_counter() - start
        writer.close()
        return elapsed, status

    results = await asyncio.gather(
        *(one(r, w, request) for (r, w), request in zip(connections, raw, strict=True))
    )
    print(json.dumps({"latencies": [r[0] for r in results], "statuses": [r[1] for r in results]}))


def table(rounds: list[Round], requests: int) -> str:
    lines = [
        f"Slack ack latency: {requests} concurrent signed /okr {COMMAND_TEXT} "
        f"({OWNERS:,}-person organisation, SQLite)",
        "gc        round  p50        p99        max        all answered (response_url)",
    ]
    for frozen in (False, True):
        these = [r for r in rounds if r.frozen is frozen]
        for n, r in enumerate(these, 1):
            lines.append(
                f"{'frozen' if frozen else 'default':<8}  {n:<5}  {r.p50 * 1000:6.1f} ms  "
                f"{r.p99 * 1000:6.1f} ms  {r.max * 1000:6.1f} ms  {r.answered:.1f} s"
            )
        p99 = statistics.median(r.p99 for r in these)
        verdict = "PASS" if p99 < TARGET_P99 else "FAIL"
        lines.append(
            f"{'':<8}  median p99 {p99 * 1000:.1f} ms, target < {TARGET_P99 * 1000:.0f} ms: "
            f"{verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--respond-to", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client:
        asyncio.run(client(arguments.client, arguments.requests, arguments.respond_to))
    else:
        print(table(asyncio.run(serve_and_measure(arguments.requests)), arguments.requests))
