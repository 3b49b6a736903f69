"""Real `drumbeat serve` processes stopped in the middle of a Slack fan-out, then restarted.

Each test saves an organisation whose people are all due *now*, whatever the real clock says,
starts `drumbeat serve` against the local Slack API (tests/peers/slack_api.py, refusing with
429 what Slack would: more than one message a second to a channel, or more than the workspace
cap) and interrupts it once some but not all prompt DMs have arrived: `kill -9` and a new
process with a new or the same WORKER_ID; SIGTERM; `kill -9` while the API loses the answers
to posts it carried out. What is asserted is what people see (one prompt DM each, nobody left
out), that the database recorded every prompt as sent, and how long the restart took, against
the lease that the dead process's claims still had (read from the database after the kill).

Every restart finds the sends that were under way at the kill "in doubt" (the core marks a
send's attempt before it waits for its slot in the throttle, so that is all 16 of them, however
few were on the wire) and looks each one up in the DM's history before sending it again:
conversations.open and conversations.history, Slack Tier 3, 50 calls a minute after a burst of
5. That, not the sending, bounds how fast a restart finishes here (about 13 s).

The harness (`due_now_organisation`, `fan_out_to`, `FanOut`, `Serve`) is also what
bench/crash_recovery.py drives.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.okr import Cycle, KeyResult, Membership, Metric, Objective, Organisation, Person, Team
from storage.store import open_store
from storage.tables import prompt_t
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, Fault

pytestmark = pytest.mark.slow

DRUMBEAT = Path(sys.executable).with_name("drumbeat")
ORG = "crash"
TEAM = FakeTeam("T0CRASH", "Crash Corp", "xoxb-crash-bot-token")
SIGNING_SECRET = "3f1c0ffee0ddba11c0ffee0ddba11abc"
PROMPT_TAG = "prompt:"  # rhythm.prompting.prompt_tag: what a prompt DM carries in its metadata
POST = "chat.postMessage"

TICK_SECONDS = 1
LEASE_SECONDS = 5
# Slack Tier 3 (conversations.open, conversations.history) in bot/slack/limits.py: 50 calls a
# minute after a burst of 5. Looking up one send in doubt takes one call of each.
LOOKUP_BURST = 5
LOOKUP_SECONDS = 60 / 50
# Sends in doubt after a kill: only those that had left the throttle and were not yet
# recorded (the attempt is recorded as a send leaves); the fake answers in milliseconds.
ON_THE_WIRE = 3
RETRY_BACKOFF = 30.0  # rhythm.ticking: a send that failed is tried again this much later
START_SECONDS = 6.0  # a serve process's start-up on a busy two-core machine, with room
SLACK_SECONDS = 3.0  # ticks, a claim that just missed one, the first throttle slots


# ---- an organisation due now ----------------------------------------------------------------


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone whose local time at `now` is between 12:00 and 13:00. Etc/GMT signs
    are inverted (Etc/GMT-3 is UTC+3); the offsets needed run from UTC-11 to UTC+12."""
    offset = 12 - now.astimezone(UTC).hour
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def slack_id(n: int) -> str:
    return f"U{n:07d}"


def due_now_organisation(count: int, *, now: datetime | None = None) -> Organisation:
    """`count` owners of one key result each, all due a weekly check-in at `now` (default: the
    real now): their zone puts them at midday (outside quiet hours), every day is a working
    day, the rhythm fired a few minutes ago on the local weekday, the cycle spans today.
    Nobody leads (a lead is prompted an hour early: the fan-out would come in two waves)."""
    now = now or datetime.now(UTC)
    zone = midday_zone(now)
    local = now.astimezone(Person("", "", zone).zone)
    fired = (local - timedelta(minutes=5)).time().replace(second=0, microsecond=0)
    today = local.date()
    people, key_results = [], []
    for n in range(count):
        email = f"owner{n:05d}@crash.example"
        people.append(
            Person(
                email, f"Owner {n}", zone, working_days=frozenset(range(7)),
                memberships=(Membership(ORG),), slack_user_id=slack_id(n),
            )
        )  # fmt: skip
        key_results.append(
            KeyResult(f"kr-{n:05d}", "grow", f"Key result {n}", email, Metric(0, 100, 10))
        )
    return Organisation(
        key=ORG,
        name="Crash Corp",
        teams=(Team(ORG, "Crash Corp", timezone=zone),),
        people=tuple(people),
        cycles=(Cycle("now", today - timedelta(days=30), today + timedelta(days=30)),),
        objectives=(Objective("grow", "Grow", "now", owner_team=ORG),),
        key_results=tuple(key_results),
        rhythms=(Rhythm("weekly", ORG, RhythmKind.WEEKLY, fired, weekday=today.weekday()),),
    )


def fake_slack(org: Organisation, *, rate: float) -> FakeSlack:
    """The local Slack API with `org`'s people, refusing (429) messages over one a second per
    channel or over `rate` a second in the workspace."""
    users = [FakeUser(p.slack_user_id or "", p.email, team=TEAM.id) for p in org.people]
    return FakeSlack(
        teams=[TEAM], users=users, per_channel=1, workspace_cap=rate,
        tolerance=2 / rate,  # a burst of three: arrival jitter on a busy machine
    )  # fmt: skip


# ---- serve processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Variables of the calling environment that would change what serve does.
FOREIGN_SETTINGS = ("DATABASE_URL", "WORKER_ID", "SLACK_", "MICROSOFT_", "TEAMS_", "PORT", "HOST")


@dataclass(frozen=True, slots=True)
class ServeConfig:
    database_url: str
    slack_api_url: str
    rate: float  # SLACK_MESSAGES_PER_SECOND
    lease: int = LEASE_SECONDS  # CLAIM_LEASE_SECONDS
    tick: int = TICK_SECONDS

    def environment(self, *, worker: str, port: int) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_SETTINGS)}
        return inherited | {
            "DATABASE_URL": self.database_url,
            "WORKER_ID": worker,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "TICK_SECONDS": str(self.tick),
            "CLAIM_LEASE_SECONDS": str(self.lease),
            "SLACK_BOT_TOKEN": TEAM.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.slack_api_url,
            "SLACK_MESSAGES_PER_SECOND": str(self.rate),
            "COLUMNS": "200",  # rich's log lines, unwrapped
        }


@dataclass
class Serve:
    """One `drumbeat serve` process; its output goes to a file (a full pipe would stall it)."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    @classmethod
    async def start(cls, config: ServeConfig, *, worker: str, workdir: Path, name: str) -> Serve:
        log = workdir / f"{name}.log"
        env = config.environment(worker=worker, port=free_port())
        with log.open("w") as sink:
            process = await asyncio.create_subprocess_exec(
                str(DRUMBEAT), "serve", env=env, cwd=workdir, stdout=sink, stderr=sink
            )
        return cls(name, process, log)

    def output(self) -> str:
        return f"--- {self.name} ({self.log}) ---\n{self.log.read_text(errors='replace')}"

    async def kill(self) -> None:
        self.process.kill()
        await self.process.wait()

    async def terminate(self, *, within: float) -> tuple[int | None, float]:
        """SIGTERM: the exit code (None when it had not exited `within` seconds) and the
        seconds it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            code = None
        return code, time.monotonic() - started

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


# ---- a fan-out, and what the people and the database say ------------------------------------


@dataclass(frozen=True, slots=True)
class Claims:
    """The unsent prompts, as a dead or stopped process left them."""

    unsent: int
    in_doubt: int  # a send began and was never recorded as done
    held: int  # claimed by a worker under a lease that has not run out
    expires: float  # time.monotonic() when the last of those leases runs out (now if none)


@dataclass
class FanOut:
    """One fan-out to `org`'s people through `fake`, the serve processes doing it, and the
    test's own connection to their database."""

    org: Organisation
    fake: FakeSlack
    database_url: str
    engine: AsyncEngine
    workdir: Path
    serves: list[Serve] = field(default_factory=list)

    @property
    def people(self) -> int:
        return len(self.org.people)

    def config(
        self, *, rate: float, lease: int = LEASE_SECONDS, tick: int = TICK_SECONDS
    ) -> ServeConfig:
        return ServeConfig(self.database_url, self.fake.url, rate, lease=lease, tick=tick)

    async def serve(self, config: ServeConfig, *, worker: str) -> Serve:
        name = f"serve{len(self.serves) + 1}"
        started = await Serve.start(config, worker=worker, workdir=self.workdir, name=name)
        self.serves.append(started)
        return started

    def prompt_dms(self) -> Counter[str]:
        """Prompt DMs per Slack user: every post the API carried out, answered or not."""
        users = {self.fake.dm_channel(u): u for u in self.fake.users}
        return Counter(
            users[post.channel]
            for post in self.fake.posts
            if post.channel in users and _tag(post.metadata).startswith(PROMPT_TAG)
        )

    def reached(self) -> int:
        return len(self.prompt_dms())

    def duplicates(self) -> dict[str, int]:
        return {user: n for user, n in self.prompt_dms().items() if n > 1}

    async def unrecorded(self) -> int:
        """Prompts the database does not record as sent (failed ones included)."""
        p = prompt_t.c
        query = select(func.count()).where(p.org == ORG, p.sent_at.is_(None))
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def claims(self) -> Claims:
        p = prompt_t.c
        query = select(p.claimed_by, p.claimed_until, p.attempted_at).where(
            p.org == ORG, p.sent_at.is_(None), p.failed_at.is_(None)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        now, clock = datetime.now(UTC), time.monotonic()
        live = [
            _utc(r.claimed_until)
            for r in rows
            if r.claimed_by is not None and r.claimed_until is not None
            and _utc(r.claimed_until) > now
        ]  # fmt: skip
        left = (max(live) - now).total_seconds() if live else 0.0
        in_doubt = sum(r.attempted_at is not None for r in rows)
        return Claims(len(rows), in_doubt, len(live), clock + left)

    async def everybody_done(self) -> bool:
        """Everybody has their prompt DM and the database records every prompt as sent."""
        return self.reached() == self.people and await self.unrecorded() == 0

    async def poll(self, check: Callable[[], Awaitable[bool]], *, within: float) -> float | None:
        """Poll `check` until it holds; the time.monotonic() it did, or None after `within`
        seconds or once no serve process is left."""
        deadline = time.monotonic() + within
        while not await check():
            alive = any(s.process.returncode is None for s in self.serves)
            if time.monotonic() > deadline or not alive:
                return None
            await asyncio.sleep(0.05)
        return time.monotonic()

    async def wait_for(
        self, check: Callable[[], Awaitable[bool]], *, within: float, what: str
    ) -> float:
        """`poll`, failing with the processes' output when `check` does not come to hold."""
        held = await self.poll(check, within=within)
        if held is None:
            raise AssertionError(
                f"{what}: not after {within:.1f} s; {self.reached()}/{self.people} prompted, "
                f"{await self.unrecorded()} not recorded as sent\n{self.outputs()}"
            )
        return held

    async def wait_for_some(self, count: int, *, within: float = 30.0) -> float:
        async def enough() -> bool:
            return self.reached() >= count

        return await self.wait_for(enough, within=within, what=f"{count} people prompted")

    async def wait_for_everybody(self, *, within: float) -> float:
        return await self.wait_for(self.everybody_done, within=within, what="everybody prompted")

    def outputs(self) -> str:
        return "\n".join(serve.output() for serve in self.serves)

    async def stop(self) -> None:
        for serve in self.serves:
            await serve.stop()


@asynccontextmanager
async def fan_out_to(
    org: Organisation, *, database_url: str, rate: float, workdir: Path
) -> AsyncIterator[FanOut]:
    """`org` saved in the (migrated) database, the local Slack API running with its people;
    every serve process started through the `FanOut` is killed at the end."""
    async with open_store(database_url) as store:
        await store.save_organisation(org)
        async with fake_slack(org, rate=rate) as fake:
            fan_out = FanOut(org, fake, database_url, store.engine, workdir)
            try:
                yield fan_out
            finally:
                await fan_out.stop()


def _tag(metadata: Mapping[str, object] | None) -> str:
    payload = (metadata or {}).get("event_payload")
    tag = payload.get("tag") if isinstance(payload, Mapping) else None
    return tag if isinstance(tag, str) else ""


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps naive UTC


def lookup_seconds(in_doubt: int) -> float:
    """How long looking up `in_doubt` sends takes at Slack's Tier 3 pace."""
    return max(0, in_doubt - LOOKUP_BURST) * LOOKUP_SECONDS


def restart_work(left: Claims, rate: float) -> float:
    """Seconds a restart needs for what `left` says is left: the lookups, then the sends
    (an upper bound: they overlap)."""
    return lookup_seconds(left.in_doubt) + left.unsent / rate


# ---- the tests ------------------------------------------------------------------------------

PEOPLE = 150
RATE = 40.0  # messages a second: the whole fan-out takes about 4 s
LONG_LEASE = 45  # seconds: a restart that waited for it would blow its time budget


@pytest.fixture
async def fan_out(database_url: str, tmp_path: Path) -> AsyncIterator[FanOut]:
    org = due_now_organisation(PEOPLE)
    async with fan_out_to(org, database_url=database_url, rate=RATE, workdir=tmp_path) as started:
        yield started


async def kill_mid_fan_out(fan_out: FanOut) -> tuple[Claims, int]:
    """Wait until a third of the people got their DM, kill -9 the serve process; what it left
    behind, and how many calls the API had received by then."""
    await fan_out.wait_for_some(PEOPLE // 3)
    await fan_out.serves[-1].kill()
    calls = len(fan_out.fake.calls)
    left = await fan_out.claims()
    assert 0 < fan_out.reached() < PEOPLE
    return left, calls


async def assert_everybody_prompted_once(fan_out: FanOut) -> None:
    assert "Traceback" not in fan_out.outputs(), fan_out.outputs()
    duplicates = fan_out.duplicates()
    assert not duplicates, f"{len(duplicates)} people prompted twice: {duplicates}"
    assert fan_out.reached() == fan_out.people, "somebody was never prompted"
    assert await fan_out.unrecorded() == 0, "prompts not recorded as sent"


def first_post_since(fake: FakeSlack, calls: int) -> float:
    """When the API got its first chat.postMessage after its first `calls` calls."""
    return min(c.at for c in fake.calls[calls:] if c.method == POST)


# What runs on one backend only, to keep the file's run time down: each restart costs ~13 s of
# lookups, and a lost answer 30 s of backoff. Claims, releases and the lease are what differ
# between the backends, and the other tests cover them on both.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def kill_and_restart(fan_out: FanOut, *, same_worker: bool) -> None:
    lease = LONG_LEASE if same_worker else LEASE_SECONDS
    config = fan_out.config(rate=RATE, lease=lease)
    await fan_out.serve(config, worker="replica-1")
    left, calls = await kill_mid_fan_out(fan_out)
    assert left.held == left.unsent, "the dead process held every unsent prompt"
    assert left.in_doubt <= ON_THE_WIRE  # the queued sends are not in doubt

    restarted = time.monotonic()
    await fan_out.serve(config, worker="replica-1" if same_worker else "replica-2")
    waits = START_SECONDS if same_worker else max(left.expires - restarted, 0)
    budget = waits + restart_work(left, RATE) + SLACK_SECONDS
    done = await fan_out.wait_for_everybody(within=budget)

    await assert_everybody_prompted_once(fan_out)
    if same_worker:  # its own claims were taken back at start-up
        assert done < left.expires, fan_out.outputs()
    else:  # and not one message went out before the dead process's claims ran out
        assert first_post_since(fan_out.fake, calls) >= left.expires - 0.5, fan_out.outputs()
    print(f"{left.unsent} left, {left.in_doubt} in doubt: everybody prompted "
          f"{done - restarted:.1f} s after the restart (budget {budget:.1f} s)")  # fmt: skip


async def test_kill_9_mid_fan_out_then_a_new_worker_prompts_everybody_exactly_once(
    fan_out: FanOut,
) -> None:
    """A new WORKER_ID waits for the dead process's claims to run out (a short lease), then
    finishes the fan-out."""
    await kill_and_restart(fan_out, same_worker=False)


@SQLITE_ONLY
async def test_kill_9_mid_fan_out_then_the_same_worker_finishes_without_waiting(
    fan_out: FanOut,
) -> None:
    """The same WORKER_ID takes its claims back at start-up instead of waiting for a long
    lease to run out."""
    await kill_and_restart(fan_out, same_worker=True)


SIGTERM_RATE = 15.0  # slower: what is left when SIGTERM comes outlasts serve's grace (5 s)
EXIT_WITHIN = 10.0  # seconds, the bound


async def test_sigterm_mid_fan_out_exits_in_time_holding_no_claim_and_a_restart_finishes(
    fan_out: FanOut,
) -> None:
    config = fan_out.config(rate=SIGTERM_RATE, lease=LONG_LEASE)
    first = await fan_out.serve(config, worker="replica-1")
    await fan_out.wait_for_some(PEOPLE // 4)
    before = fan_out.reached()
    code, seconds = await first.terminate(within=EXIT_WITHIN)
    assert code == 0, f"exit code {code} after {seconds:.1f} s\n{first.output()}"
    finished = fan_out.reached() - before  # sent in serve's grace after the signal
    left = await fan_out.claims()
    assert left.unsent > 0, "the fan-out finished within the grace: nothing was given back"
    assert left.held == 0, f"{left.held} prompts still claimed after SIGTERM\n{first.output()}"

    restarted = time.monotonic()
    await fan_out.serve(config, worker="replica-2")
    # A budget well under LONG_LEASE: finishing within it shows that no lease was waited for.
    budget = START_SECONDS + restart_work(left, SIGTERM_RATE) + SLACK_SECONDS
    assert budget < LONG_LEASE
    done = await fan_out.wait_for_everybody(within=budget)
    await assert_everybody_prompted_once(fan_out)
    print(f"exit {seconds:.1f} s after SIGTERM, {finished} sent meanwhile, {left.unsent} left, "
          f"{left.in_doubt} in doubt: everybody prompted {done - restarted:.1f} s after the "
          "restart")  # fmt: skip


# Faults on chat.postMessage calls (numbered from 1, across both processes): the message is
# posted, then its answer is lost. A reset fails the send at once: the prompt is released in
# doubt, and the restarted process tries it again after the core's backoff and finds it. A
# hang lasts until the client's 10 s timeout, so the two just before the kill are still
# hanging when it comes.
RESETS = frozenset({1, 2})  # the first posts: their backoff has run out soonest
HANGS_AT_KILL = frozenset({40, 45})  # the kill comes once a third (50) were reached


@SQLITE_ONLY
async def test_lost_answers_and_a_kill_9_still_prompt_everybody_exactly_once(
    fan_out: FanOut,
) -> None:
    fake = fan_out.fake
    fake.faults.add(method=POST, calls=RESETS, fault=Fault.RESET_AFTER)
    fake.faults.add(method=POST, calls=HANGS_AT_KILL, fault=Fault.HANG_AFTER)
    config = fan_out.config(rate=RATE)
    await fan_out.serve(config, worker="replica-1")
    left, _ = await kill_mid_fan_out(fan_out)
    hung = {c.number for c in fake.calls_to(POST) if c.fault == Fault.HANG_AFTER}
    assert hung == HANGS_AT_KILL, "the kill came before the hanging posts"

    restarted = time.monotonic()
    await fan_out.serve(config, worker="replica-2")
    retried = max(c.at for c in fake.calls_to(POST) if c.number in RESETS) + RETRY_BACKOFF
    waits = max(left.expires - restarted, retried - restarted, 0)
    budget = waits + restart_work(left, RATE) + SLACK_SECONDS
    done = await fan_out.wait_for_everybody(within=budget)

    faulted = fake.faulted(POST)
    assert {c.number for c in faulted} == RESETS | HANGS_AT_KILL
    assert all(c.effect for c in faulted), "every faulted post was carried out"
    await assert_everybody_prompted_once(fan_out)
    print(f"{left.unsent} left, {left.in_doubt} in doubt: everybody prompted "
          f"{done - restarted:.1f} s after the restart (budget {budget:.1f} s)")  # fmt: skip
