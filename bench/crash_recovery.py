"""Crash recovery: `kill -9` of `drumbeat serve` at a random point of a Slack fan-out, then a
restart; duplicates and the time until everybody is prompted, over several runs.

Each run starts from a fresh database holding an organisation whose owners are all due now
(tests/bot/test_crash.py's `due_now_organisation`), starts a real `drumbeat serve` against the
local Slack API (tests/peers/slack_api.py: one message a second per channel, the workspace cap
refused with 429 beyond `--rate`), kills it with SIGKILL once a random number of owners got
their DM, and starts a new process at once: with a new WORKER_ID (a replica or pod that comes
back under another name, so it waits for the dead one's claims to run out) unless
`--same-worker` (it takes its own claims back at start-up).

The pacing is Slack's as the app assumes it out of the box: SLACK_MESSAGES_PER_SECOND 20,
CLAIM_LEASE_SECONDS 60 and TICK_SECONDS 60 (so after a kill the dead process's claims come back
within a minute and the next tick picks them up); scale them with --rate, --lease and --tick.
Reported per run: where the kill came, what it left (unsent prompts, how many of them the dead
process held, how many were in doubt), duplicate prompt DMs, people never prompted, and the
seconds from the kill to the moment every owner has their DM and every prompt is recorded as
sent; then the median and the maximum.

    .venv/bin/python -m bench.crash_recovery [--runs 10] [--prompts 1000]
        [--backend sqlite|postgresql] [--database-url postgresql://...] [--same-worker]
        [--rate 20] [--lease 60] [--tick 60] [--seed 1]

PostgreSQL: a throwaway cluster (bench.common.postgres_cluster, as bench/run_all.py) unless
--database-url names a server whose role may CREATE DATABASE; each run gets a new database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import DATA, postgres_cluster
from storage.migrate import upgrade
from tests.bot.test_crash import FanOut, due_now_organisation, fan_out_to
from tests.pg import PostgresServer

# How long past its expected end a run may take before it counts its missing people as lost.
GRACE_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class Options:
    runs: int
    prompts: int
    backend: str
    database_url: str | None
    same_worker: bool
    rate: float
    lease: int
    tick: int
    seed: int


@dataclass(frozen=True, slots=True)
class Run:
    number: int
    killed_at: int  # owners with their DM when the kill came
    unsent: int  # prompts not recorded as sent, left by the kill
    held: int  # of those, claimed by the dead process under a live lease
    in_doubt: int  # of those, a send had begun
    posted: int  # of those, already posted: what a restart that did not look would repeat
    duplicates: int  # prompt DMs beyond the first per owner
    lost: int  # owners without a DM, or prompts not recorded as sent, at the end
    recovery: float | None  # seconds from the kill until everybody was prompted
    refused: int  # 429s the local API answered (over a limit)


# ---- databases ------------------------------------------------------------------------------


class Databases:
    """A fresh, migrated database per run, on SQLite (files in `directory`) or on a PostgreSQL
    server (a new database per run, dropped afterwards)."""

    def __init__(self, directory: Path, server: PostgresServer | None) -> None:
        self.directory = directory
        self.server = server

    @asynccontextmanager
    async def fresh(self, run: int) -> AsyncIterator[str]:
        if self.server is None:
            url = f"sqlite:///{self.directory / f'crash-{run}.db'}"
            await upgrade(url)
            yield url
            return
        name = await self.server.create_database(prefix="crash")
        url = self.server.url(name)
        try:
            await upgrade(url)
            yield url
        finally:
            await self.server.drop_database(name)


@asynccontextmanager
async def databases(options: Options, directory: Path) -> AsyncIterator[Databases]:
    if options.backend == "sqlite":
        yield Databases(directory, None)
    elif options.database_url:
        yield Databases(directory, PostgresServer(admin_url=options.database_url))
    else:
        async with postgres_cluster() as cluster:
            yield Databases(directory, PostgresServer(admin_url=cluster.admin_url))


# ---- one run --------------------------------------------------------------------------------


def expected_recovery(options: Options, unsent: int) -> float:
    """A generous bound on one run's recovery: the lease and a tick, sending what was left,
    a minute of lookups."""
    return options.lease + options.tick + unsent / options.rate + 60


async def crash_and_recover(options: Options, url: str, number: int, workdir: Path) -> Run:
    org = due_now_organisation(options.prompts)
    kill_at = random.Random(options.seed * 1000 + number).randint(1, options.prompts - 1)
    async with fan_out_to(org, database_url=url, rate=options.rate, workdir=workdir) as fan_out:
        config = fan_out.config(rate=options.rate, lease=options.lease, tick=options.tick)
        await fan_out.serve(config, worker=f"bench-{number}-a")
        await fan_out.wait_for_some(
            kill_at, within=options.tick + 2 * options.prompts / options.rate
        )
        await fan_out.serves[-1].kill()
        killed = time.monotonic()
        killed_at = fan_out.reached()
        left = await fan_out.claims()
        worker = f"bench-{number}-a" if options.same_worker else f"bench-{number}-b"
        await fan_out.serve(config, worker=worker)
        done = await fan_out.poll(
            fan_out.everybody_done, within=expected_recovery(options, left.unsent) + GRACE_SECONDS
        )
        return Run(
            number=number,
            killed_at=killed_at,
            unsent=left.unsent,
            held=left.held,
            in_doubt=left.in_doubt,
            posted=max(0, killed_at - (options.prompts - left.unsent)),
            duplicates=sum(n - 1 for n in fan_out.prompt_dms().values()),
            lost=await lost(fan_out),
            recovery=None if done is None else done - killed,
            refused=fan_out.fake.violations,
        )


async def lost(fan_out: FanOut) -> int:
    return max(fan_out.people - fan_out.reached(), await fan_out.unrecorded())


def keep_logs(workdir: Path, number: int) -> Path:
    """The serve processes' logs of a run that went wrong, out of the scratch directory."""
    kept = DATA / f"crash-recovery-run-{number}"
    kept.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("*.log"):
        shutil.copy(log, kept / log.name)
    return kept


# ---- the report -----------------------------------------------------------------------------


def progress(run: Run) -> str:
    recovery = "did not finish" if run.recovery is None else f"{run.recovery:.1f} s"
    return (
        f"killed at {run.killed_at:,}, {run.unsent:,} left ({run.in_doubt} in doubt), "
        f"recovered in {recovery}, {run.duplicates} duplicates, {run.lost} lost"
    )


def table(runs: list[Run], options: Options) -> str:
    head = ("run", "killed at", "unsent", "held", "in doubt", "posted", "dup", "lost", "429s",
            "recovery")  # fmt: skip
    rows = [head] + [
        (str(r.number), f"{r.killed_at:,}/{options.prompts:,}", f"{r.unsent:,}", f"{r.held:,}",
         str(r.in_doubt), str(r.posted), str(r.duplicates), str(r.lost), str(r.refused),
         "did not finish" if r.recovery is None else f"{r.recovery:,.1f} s")
        for r in runs
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines += [
        "killed at: owners with their DM; unsent: prompts not recorded as sent; held: of those, "
        "claimed by the dead process;",
        "in doubt: a send had begun; posted: of those, already in the DM (looked up, not sent "
        "again); recovery: kill -> every owner prompted, every prompt recorded as sent",
    ]
    return "\n".join(lines)


def summary(runs: list[Run]) -> str:
    finished = [r.recovery for r in runs if r.recovery is not None]
    duplicates = [r.duplicates for r in runs]
    lines = [
        f"duplicates: {sum(duplicates)} in all, at most {max(duplicates)} in a run; "
        f"lost: {sum(r.lost for r in runs)}; runs that did not finish: "
        f"{len(runs) - len(finished)}",
    ]
    if finished:
        lines.append(
            f"kill -> everybody prompted: median {statistics.median(finished):,.1f} s "
            f"({statistics.median(finished) / 60:.1f} min), max {max(finished):,.1f} s "
            f"({max(finished) / 60:.1f} min)"
        )
    return "\n".join(lines)


def heading(options: Options) -> str:
    restart = "the same WORKER_ID" if options.same_worker else "a new WORKER_ID"
    return (
        f"Crash recovery on {options.backend}: {options.runs} run{'s' * (options.runs > 1)} of "
        f"{options.prompts:,} prompts "
        f"at {options.rate:g} messages/s (1/s per channel), CLAIM_LEASE_SECONDS {options.lease}, "
        f"TICK_SECONDS {options.tick}; kill -9 at a random point, restart with {restart}"
    )


async def main(options: Options) -> list[Run]:
    print(heading(options), flush=True)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="crash-recovery-") as scratch:
        directory = Path(scratch)
        async with databases(options, directory) as dbs:
            for number in range(1, options.runs + 1):
                workdir = directory / f"run-{number}"
                workdir.mkdir()
                async with dbs.fresh(number) as url:
                    run = await crash_and_recover(options, url, number, workdir)
                runs.append(run)
                if run.duplicates or run.lost or run.recovery is None:
                    print(f"  run {number}'s logs: {keep_logs(workdir, number)}", flush=True)
                print(f"  run {number}: {progress(run)}", flush=True)
    print(table(runs, options))
    print(summary(runs))
    return runs


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--database-url", help="a PostgreSQL server to create databases on")
    parser.add_argument("--same-worker", action="store_true", help="restart as the same worker")
    parser.add_argument("--rate", type=float, default=20.0, help="SLACK_MESSAGES_PER_SECOND")
    parser.add_argument("--lease", type=int, default=60, help="CLAIM_LEASE_SECONDS")
    parser.add_argument("--tick", type=int, default=60, help="TICK_SECONDS")
    parser.add_argument("--seed", type=int, default=1, help="where the kills come")
    args = parser.parse_args(argv)
    if args.database_url:
        args.backend = "postgresql"
    if args.prompts < 2 or args.runs < 1:
        parser.error("at least one run of at least two prompts")
    return Options(
        args.runs, args.prompts, args.backend, args.database_url, args.same_worker,
        args.rate, args.lease, args.tick, args.seed,
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(parse()))
