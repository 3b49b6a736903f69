"""Slack fan-out: 5,000 owners prompted against the local Slack API.

The local API (tests/peers/slack_api.py) enforces Slack's one message per second per channel
and the workspace-wide cap this app assumes, SLACK_MESSAGES_PER_SECOND = 20 (Slack publishes no
number; 429s pause the workspace when the real one is lower). It answers 429 with Retry-After
to any message over either limit, so the floor is owners / cap seconds. The tick runs through
the real stack: Drumbeat.tick, the SQLite store, ChatRouter, SlackGateway, SlackWebApi over
HTTP, with Slack's own limits and the client's production timeout (10 s).

Three runs, each on a fresh database:

- steady: one tick prompts everyone;
- 429 storms: the API answers every message with 429 for 5 seconds three times, which adds
  their 15 seconds to the floor;
- 2% faults: each call of the API (the prompts and the lookups of sends in doubt alike) goes
  wrong with probability 2% (seeded): a non-JSON answer (405 text/plain, an HTML page at 200,
  502 or 503, an empty or array JSON body), a connection reset or a hang, each before or after
  the call is carried out. Issue 9's target: within 15% of the floor, no duplicate, none lost.

A prompt whose send failed is released for a retry (30 s, doubling) and only a later tick picks
it up, so the faults run takes several ticks. They are driven as `drumbeat serve`'s scheduler
(bot/scheduler.py) drives them, on a clock that runs in real time from the bench's Monday 10:01:
a tick every 60 s, never two at once, and a tick that falls due while one runs is skipped
(APScheduler's max_instances=1 and coalesce), so the next one starts on the next minute after
it. That is what an organisation gets from one replica; `--driver loop` instead ticks again as
soon as a tick ends (what several replicas ticking at different seconds approach), to tell the
tick's granularity from the rest. Elapsed is from the first tick's start to the last prompt
recorded as sent.

Reported: elapsed against the floor, duplicates (a person with more than one DM) and lost
prompts (owners without a DM, prompts not marked sent or marked failed).

    .venv/bin/python -m bench.slack_fanout [--owners 5000] [--rate 20]
        [--runs steady,storms,faults] [--driver scheduler|loop] [--fault-rate 0.02] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from rich.console import Console
from sqlalchemy import func, select

from bench.owners import TICK, owners_org, with_slack_id
from bot.console.gateway import ConsoleGateway
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.slack.plugin import slack_gateway
from rhythm.okr import Organisation, Person
from rhythm.ports import Clock, FixedClock
from rhythm.service import Drumbeat
from storage.migrate import upgrade
from storage.store import SqlStore, open_store
from storage.tables import prompt_t
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, Fault

TEAM = FakeTeam("T0BENCH", "Bench Corp", "xoxb-bench-token")
STORMS = ((0.2, 5.0), (0.5, 5.0), (0.8, 5.0))  # (share of owners sent before, seconds)
STORM_RETRY_AFTER = 2
POST = "chat.postMessage"
TICK_SECONDS = 60.0  # bot/scheduler.py's interval
MAX_TICKS = 30  # a faults run that needs more intervals than this has lost prompts
LOOP_PAUSE = 1.0  # seconds between the starts of two ticks, at least, with --driver loop
# What goes wrong in the faults run: whatever a network, a proxy or Slack's edge does.
NETWORK_FAULTS: tuple[Fault, ...] = (
    Fault.TEXT_405, Fault.HTML_200, Fault.HTML_502, Fault.HTML_503, Fault.EMPTY_200,
    Fault.JSON_ARRAY_200, Fault.RESET_BEFORE, Fault.RESET_AFTER, Fault.HANG_BEFORE,
    Fault.HANG_AFTER,
)  # fmt: skip
RUNS = ("steady", "storms", "faults")

Driver = Literal["scheduler", "loop"]


def organisation(count: int) -> Organisation:
    return owners_org(count, with_slack_id)


def user_id(n: int) -> str:
    """The n-th owner's Slack id, as `with_slack_id` gives it (bench/slack_ack.py signs its
    requests as them)."""
    return with_slack_id(Person("", ""), n).slack_user_id or ""


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
    ticks: int = 1
    faulted: int = 0  # calls a fault hit
    lookups: int = 0  # DM histories read to look for a send in doubt

    @property
    def over_floor(self) -> float:
        return self.elapsed / self.floor - 1


class RunningClock:
    """Real time, from `start` on: the scheduler's clock, on the bench's Monday."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._started)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# ---- the world ------------------------------------------------------------------------------


def local_slack(org: Organisation, rate: float) -> FakeSlack:
    return FakeSlack(
        teams=[TEAM],
        users=[FakeUser(p.slack_user_id or "", p.email, team=TEAM.id) for p in org.people],
        per_channel=1,
        workspace_cap=rate,
        tolerance=1 / rate,  # a burst of two: arrival jitter on a busy machine, as Slack allows
    )


@dataclass
class Stack:
    store: SqlStore
    gateway: SlackGateway
    drumbeat: Drumbeat


@asynccontextmanager
async def drumbeat_on(
    fake: FakeSlack, org: Organisation, *, rate: float, clock: Clock, database: Path
) -> AsyncIterator[Stack]:
    """The serving stack on a fresh SQLite database, talking to `fake`."""
    url = f"sqlite:///{database}"
    await upgrade(url)
    async with open_store(url) as store:
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
        drumbeat = Drumbeat(store=store, chat=router, clock=clock, worker="bench")
        await drumbeat.organisation(org.key)
        try:
            yield Stack(store, gateway, drumbeat)
        finally:
            await gateway.aclose()


async def unsent_prompts(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        query = (
            select(func.count())
            .select_from(prompt_t)
            .where(prompt_t.c.sent_at.is_(None), prompt_t.c.failed_at.is_(None))
        )
        return int((await conn.execute(query)).scalar_one())


async def undelivered_prompts(store: SqlStore) -> int:
    """Prompts not marked sent: still unsent, or failed for good."""
    async with store.engine.connect() as conn:
        query = select(func.count()).select_from(prompt_t).where(prompt_t.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def last_sent(store: SqlStore) -> datetime | None:
    async with store.engine.connect() as conn:
        query = select(func.max(prompt_t.c.sent_at))
        found: datetime | None = (await conn.execute(query)).scalar_one()
        return found


def duplicates(fake: FakeSlack) -> tuple[int, int]:
    """(extra DMs over one per person, people reached)."""
    per_channel = Counter(p.channel for p in fake.posts)
    return sum(n - 1 for n in per_channel.values()), len(per_channel)


def refused(fake: FakeSlack) -> int:
    return sum(c.status == 429 for c in fake.calls_to(POST))


# ---- one tick: steady and storms ------------------------------------------------------------


async def fan_out(org: Organisation, *, rate: float, storms: bool, workdir: Path) -> Run:
    owners = len(org.people)
    fake = local_slack(org, rate)
    storm_seconds = 0.0
    if storms:
        for share, seconds in STORMS:
            fake.storm(POST, after=int(owners * share), seconds=seconds,
                       retry_after=STORM_RETRY_AFTER)  # fmt: skip
            storm_seconds += seconds
    database = workdir / f"fanout-{int(storms)}.db"
    async with (
        fake,
        drumbeat_on(fake, org, rate=rate, clock=FixedClock(TICK), database=database) as stack,
    ):
        started = time.perf_counter()
        report = await stack.drumbeat.tick(TICK)
        elapsed = time.perf_counter() - started
        unsent = await undelivered_prompts(stack.store)
    extra, reached = duplicates(fake)
    return Run(
        name=f"{'429 storms' if storms else 'steady'}",
        owners=owners,
        elapsed=elapsed,
        floor=owners / rate + storm_seconds,
        sent=report.sent,
        duplicates=extra,
        lost=max(owners - reached, unsent),
        refused=refused(fake),
        violations=fake.violations,
    )


# ---- several ticks: faults ------------------------------------------------------------------


async def tick_until_sent(stack: Stack, *, driver: Driver, every: float) -> int:
    """Tick until no prompt is left unsent (or for MAX_TICKS intervals); returns how many ticks
    ran.

    "scheduler": a tick starts on each multiple of `every` seconds after the first, unless one
    is still running (then that slot is skipped), as bot/scheduler.py's job runs.
    "loop": the next tick starts as soon as the last one ended, LOOP_PAUSE after it at least
    (a tick with nothing to claim yet takes milliseconds)."""
    started = time.monotonic()
    give_up = started + MAX_TICKS * every
    ticks = 0
    while time.monotonic() < give_up:
        began = time.monotonic()
        await stack.drumbeat.tick()
        await stack.gateway.drain()
        ticks += 1
        if not await unsent_prompts(stack.store):
            break
        now = time.monotonic()
        if driver == "scheduler":
            await asyncio.sleep(every - (now - started) % every)  # to the next slot
        else:
            await asyncio.sleep(max(0.0, began + LOOP_PAUSE - now))
    return ticks


async def faulty_fan_out(
    org: Organisation,
    *,
    rate: float,
    fault_rate: float,
    seed: int,
    driver: Driver,
    every: float,
    workdir: Path,
) -> Run:
    owners = len(org.people)
    fake = local_slack(org, rate)
    fake.faults.random(rate=fault_rate, seed=seed, kinds=NETWORK_FAULTS)
    clock = RunningClock(TICK)
    async with (
        fake,
        drumbeat_on(
            fake, org, rate=rate, clock=clock, database=workdir / "fanout-faults.db"
        ) as stack,
    ):
        first_tick = clock.now()
        ticks = await tick_until_sent(stack, driver=driver, every=every)
        finished = await last_sent(stack.store)
        unsent = await undelivered_prompts(stack.store)
    extra, reached = duplicates(fake)
    return Run(
        name=f"{fault_rate:.0%} faults, {driver} ticks",
        owners=owners,
        elapsed=(finished - first_tick).total_seconds() if finished else math.inf,
        floor=owners / rate,
        sent=owners - unsent,
        duplicates=extra,
        lost=max(owners - reached, unsent),
        refused=refused(fake),
        violations=fake.violations,
        ticks=ticks,
        faulted=len(fake.faulted()),
        lookups=len(fake.calls_to("conversations.history")),
    )


# ---- the report -----------------------------------------------------------------------------


def table(runs: Sequence[Run], rate: float) -> str:
    head = ("run", "owners", "elapsed", "floor", "vs floor", "dup", "lost", "429s", "over limit")
    rows = [head] + [
        (r.name, f"{r.owners:,}", f"{r.elapsed:,.1f} s", f"{r.floor:,.1f} s",
         f"{r.over_floor * 100:+.1f}%", str(r.duplicates), str(r.lost),
         str(r.refused), str(r.violations))
        for r in runs
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"Slack fan-out: 1 message/s per channel, workspace cap {rate:g}/s (local API)"]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if any(not run.faulted for run in runs):
        storms = ", ".join(f"{s:g} s after {share:.0%}" for share, s in STORMS)
        lines.append(
            f"storms: every message refused with 429 (Retry-After {STORM_RETRY_AFTER}) for "
            f"{storms}; floor = owners / cap (+ storm time); target: within 10% of it"
        )
    for run in runs:
        if run.faulted:
            lines.append(
                f"{run.name}: {run.faulted} calls faulted (non-JSON, resets, hangs), "
                f"{run.lookups} DM histories read for sends in doubt, {run.ticks} ticks; "
                "target: within 15% of the floor, 0 duplicates, 0 lost"
            )
    return "\n".join(lines)


async def main(
    owners: int,
    rate: float,
    *,
    runs: Sequence[str] = RUNS,
    driver: Driver = "scheduler",
    fault_rate: float = 0.02,
    seed: int = 1,
    every: float = TICK_SECONDS,
) -> list[Run]:
    org = organisation(owners)
    done = []
    with tempfile.TemporaryDirectory(prefix="slack-fanout-") as workdir:
        for name in runs:
            if name == "faults":
                done.append(await faulty_fan_out(
                    org, rate=rate, fault_rate=fault_rate, seed=seed, driver=driver,
                    every=every, workdir=Path(workdir),
                ))  # fmt: skip
            else:
                storms = name == "storms"
                done.append(await fan_out(org, rate=rate, storms=storms, workdir=Path(workdir)))
    print(table(done, rate))
    return done


def run_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - set(RUNS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"runs are among {', '.join(RUNS)}")
    return names


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--owners", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0, help="workspace cap, messages/s")
    parser.add_argument("--runs", type=run_names, default=list(RUNS), help=",".join(RUNS))
    parser.add_argument("--driver", choices=["scheduler", "loop"], default="scheduler")
    parser.add_argument("--fault-rate", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tick-seconds", type=float, default=TICK_SECONDS, help="the scheduler's interval"
    )
    arguments = parser.parse_args()
    asyncio.run(main(
        arguments.owners, arguments.rate, runs=arguments.runs, driver=arguments.driver,
        fault_rate=arguments.fault_rate, seed=arguments.seed, every=arguments.tick_seconds,
    ))  # fmt: skip
