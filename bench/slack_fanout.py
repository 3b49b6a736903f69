"""Slack fan-out: 5,000 owners prompted in one tick against the local Slack API.

The local API (tests/peers/slack_api.py) enforces Slack's one message per second per channel
and the workspace-wide cap this app assumes, SLACK_MESSAGES_PER_SECOND = 20 (Slack publishes no
number; 429s pause the workspace when the real one is lower). It answers 429 with Retry-After
to any message over either limit, so the floor is owners / cap seconds. The tick runs through
the real stack: Drumbeat.tick, the SQLite store, ChatRouter, SlackGateway, slack_sdk over HTTP.

Two runs, each on a fresh database: a steady one, and one where the API answers every message
with 429 for 5 seconds three times ("storms"), which adds their 15 seconds to the floor.
Reported: elapsed against the floor, duplicates (a person with more than one DM) and lost
prompts (owners without a DM, prompts not marked sent).

    .venv/bin/python -m bench.slack_fanout [--owners 5000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select

from bench.owners import TICK, owners_org, with_slack_id
from bot.console.gateway import ConsoleGateway
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.slack.plugin import slack_gateway
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.migrate import upgrade
from storage.store import open_store
from storage.tables import prompt_t
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser

TEAM = FakeTeam("T0BENCH", "Bench Corp", "xoxb-bench-token")
STORMS = ((0.2, 5.0), (0.5, 5.0), (0.8, 5.0))  # (share of owners sent before, seconds)
STORM_RETRY_AFTER = 2


def organisation(count: int) -> Organisation:
    return owners_org(count, with_slack_id)


@dataclass(frozen=True, slots=True)
class Run:
    name: str
    owners: int
    elapsed: float
    floor: float
    sent: int
    duplicates: int
    lost: int
    refused: int  # 429s the API answered
    violations: int  # of those, messages sent over a limit (not during a storm)


async def fan_out(org: Organisation, *, rate: float, storms: bool, workdir: Path) -> Run:
    url = f"sqlite:///{workdir / f'fanout-{int(storms)}.db'}"
    await upgrade(url)
    owners = len(org.people)
    fake = FakeSlack(
        teams=[TEAM],
        users=[FakeUser(p.slack_user_id or "", p.email, team=TEAM.id) for p in org.people],
        per_channel=1,
        workspace_cap=rate,
        tolerance=1 / rate,  # a burst of two: arrival jitter on a busy machine, as Slack allows
    )
    storm_seconds = 0.0
    if storms:
        for share, seconds in STORMS:
            fake.storm("chat.postMessage", after=int(owners * share), seconds=seconds,
                       retry_after=STORM_RETRY_AFTER)  # fmt: skip
            storm_seconds += seconds
    async with fake, open_store(url) as store:
        await store.save_organisation(org)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            slack_bot_token=TEAM.bot_token,
            slack_signing_secret="unused",
            slack_api_url=fake.url,
            slack_messages_per_second=rate,
        )
        gateway = slack_gateway(settings, store)
        console = ConsoleGateway(console=Console(file=io.StringIO()))
        router = ChatRouter(gateways={"slack": gateway, "console": console}, fallback="slack")
        drumbeat = Drumbeat(store=store, chat=router, clock=FixedClock(TICK), worker="bench")
        await drumbeat.organisation(org.key)
        started = time.perf_counter()
        report = await drumbeat.tick(TICK)
        elapsed = time.perf_counter() - started
        await gateway.aclose()
        async with store.engine.connect() as conn:
            unsent = (await conn.execute(
                select(func.count()).select_from(prompt_t).where(prompt_t.c.sent_at.is_(None))
            )).scalar_one()  # fmt: skip
    per_channel = Counter(p.channel for p in fake.posts)
    reached = len(per_channel)
    return Run(
        name=f"{'429 storms' if storms else 'steady'}",
        owners=owners,
        elapsed=elapsed,
        floor=owners / rate + storm_seconds,
        sent=report.sent,
        duplicates=sum(n - 1 for n in per_channel.values()),
        lost=max(owners - reached, int(unsent)),
        refused=len(fake.calls_to("chat.postMessage", ok=False)),
        violations=fake.violations,
    )


def table(runs: list[Run], rate: float) -> str:
    head = ("run", "owners", "elapsed", "floor", "vs floor", "dup", "lost", "429s", "over limit")
    rows = [head] + [
        (r.name, f"{r.owners:,}", f"{r.elapsed:,.1f} s", f"{r.floor:,.1f} s",
         f"{(r.elapsed / r.floor - 1) * 100:+.1f}%", str(r.duplicates), str(r.lost),
         str(r.refused), str(r.violations))
        for r in runs
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"Slack fan-out: 1 message/s per channel, workspace cap {rate:g}/s (local API)"]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    storms = ", ".join(f"{s:g} s after {share:.0%}" for share, s in STORMS)
    lines.append(
        f"storms: every message refused with 429 (Retry-After {STORM_RETRY_AFTER}) for {storms}"
        "; floor = owners / cap (+ storm time); target: within 10% of it"
    )
    return "\n".join(lines)


async def main(owners: int, rate: float) -> list[Run]:
    org = organisation(owners)
    runs = []
    with tempfile.TemporaryDirectory(prefix="slack-fanout-") as workdir:
        for storms in (False, True):
            runs.append(await fan_out(org, rate=rate, storms=storms, workdir=Path(workdir)))
    print(table(runs, rate))
    return runs


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owners", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0, help="workspace cap, messages/s")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.owners, arguments.rate))
