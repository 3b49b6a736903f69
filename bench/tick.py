"""Scheduler benchmarks: who is due among 10,000 people, and a whole `Drumbeat.tick`.

There is no watermark (migration 0004): every tick works out every prompt of the current
periods that is due by now (`due_prompts`, pure: the target), leaves out those this process
saw written already, and lets the database's unique key say which of the rest are new. So a
process's first tick writes (insert-or-ignore) the whole current periods' due set, and the
ticks after it only what came due since.

The full tick (prompts written, claimed and "sent" through a gateway that does nothing, with
the attempt recorded as each send leaves; reminders, digests) is for information. It starts
from the database as a server ticking all along would have it at Monday 08:29 UTC
(`bench.common.catch_up`): then a new process's first tick at 08:29, the 08:30 tick when the
ten Central European zones' weekly prompts fire, and the quiet minute after it, each on the
process that made the tick before. The ticks write: give them a scratch copy.
Run alone: python -m bench.tick [DATABASE_URL]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bench.common import NullGateway, Result, catch_up
from bench.org import BUSY_TICK, MIDWEEK, ORG, QUIET_TICK, build
from rhythm.due import DuePrompt, due_prompts
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat, TickReport
from storage.store import SqlStore, open_store
from storage.tables import outbox_t, prompt_t

DUE_TARGET = 0.200
MINUTE = timedelta(minutes=1)
# Thursday 00:05 UTC: every zone's Wednesday 09:30 weekly deadline has passed.
DEADLINES_PASSED = datetime(2026, 11, 26, 0, 5, tzinfo=UTC)
MOMENTS = (("Monday 08:30 UTC", BUSY_TICK), ("Tuesday 13:07 UTC", MIDWEEK))


def _keys(due: list[DuePrompt]) -> set[tuple[str, str, str]]:
    return {(p.rhythm, p.person, p.period) for p in due}


def pure(org: Organisation, runs: int = 7) -> list[Result]:
    """`list(due_prompts(org, now))` at the busy minute and on a Tuesday afternoon."""
    results = []
    for label, now in MOMENTS:
        list(due_prompts(org, now))
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            found = list(due_prompts(org, now))
            samples.append(time.perf_counter() - started)
        kinds = Counter(p.kind.value for p in found)
        new = len(_keys(found) - _keys(list(due_prompts(org, now - MINUTE))))
        note = (
            f"{len(found):,} due in the current periods"
            + (f" ({', '.join(f'{n:,} {k}' for k, n in sorted(kinds.items()))})" if found else "")
            + f", {new:,} of them new since the minute before"
        )
        results.append(Result("pure", f"due_prompts, {label}", samples, DUE_TARGET, note=note))
    return results


def _report(report: TickReport) -> str:
    return (
        f"{report.created:,} prompts created, {report.sent:,} sent, {report.reminded:,} "
        f"reminders, {report.digests:,} digests"
    )


async def _written(store: SqlStore, since: int) -> tuple[int, int]:
    """Prompts with an id from `since` on, and how many of them were sent."""
    async with store.engine.connect() as conn:
        created, sent = (
            await conn.execute(
                select(func.count(), func.count(prompt_t.c.sent_at)).where(
                    prompt_t.c.org == ORG, prompt_t.c.id >= since
                )
            )
        ).one()
    return int(created), int(sent)


async def _next_prompt_id(store: SqlStore) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.max(prompt_t.c.id)))).scalar() or 0) + 1


async def _process(store: SqlStore, now: datetime) -> tuple[Drumbeat, FixedClock]:
    """A new process: its own caches, the organisation loaded (as before its first tick)."""
    clock = FixedClock(now)
    drumbeat = Drumbeat(store=store, chat=NullGateway(), clock=clock)
    await drumbeat.organisation(ORG)
    return drumbeat, clock


async def full(
    url: str, backend: str, *, quiet_runs: int = 5, restart_runs: int = 3, budget: float = 120.0
) -> list[Result]:
    """`Drumbeat.tick` end to end with the organisation already loaded (for information): a
    new process's first tick (median of `restart_runs`), the busy tick (once, given at most
    `budget` seconds: past that it is stopped and its time extrapolated from the prompts it
    had sent) and the quiet minute (median of `quiet_runs` after a warm-up)."""
    results = []
    async with open_store(url) as store:
        before = BUSY_TICK - MINUTE
        drumbeat, clock = await _process(store, before)
        org = await drumbeat.organisation(ORG)
        caught = await catch_up(store, org, before)
        due = len(list(due_prompts(org, before)))

        samples: list[float] = []
        for _ in range(restart_runs):
            drumbeat, clock = await _process(store, before)
            started = time.perf_counter()
            report = await drumbeat.tick(before)
            samples.append(time.perf_counter() - started)
        results.append(Result(
            backend, "Drumbeat.tick, a new process's first, Monday 08:29 UTC (info)", samples,
            note=f"{due:,} due in the current periods, {caught.prompts:,} to write (the others "
                 "are past their deadline and their rhythm never prompted), written and sent "
                 f"already by bench.common.catch_up: {_report(report)}",
        ))  # fmt: skip

        # The same process, a minute later.
        first = await _next_prompt_id(store)
        clock.set(BUSY_TICK)
        started = time.perf_counter()
        try:
            report = await asyncio.wait_for(drumbeat.tick(BUSY_TICK), timeout=budget)
            elapsed = time.perf_counter() - started
            note = _report(report)
        except TimeoutError:
            elapsed = time.perf_counter() - started
            created, sent = await _written(store, first)
            note = (f"stopped after {elapsed:.0f} s with {sent:,} of {created:,} sent: "
                    f"about {elapsed * created / max(sent, 1):,.0f} s for all")  # fmt: skip
            elapsed = elapsed * created / max(sent, 1)
            # What it did not send is sent, so the quiet minute starts from a tick that ended.
            await drumbeat.ticker.release_own_claims()
            drumbeat, clock = await _process(store, BUSY_TICK)
            await catch_up(store, org, BUSY_TICK)
            await drumbeat.tick(BUSY_TICK)
        results.append(Result(backend, "Drumbeat.tick, Monday 08:30 UTC (info)", [elapsed],
                              unit="s", note=note))  # fmt: skip

        clock.set(QUIET_TICK)
        samples = []
        for _ in range(quiet_runs + 1):  # the first is a warm-up
            started = time.perf_counter()
            report = await drumbeat.tick(QUIET_TICK)
            samples.append(time.perf_counter() - started)
        due = len(list(due_prompts(org, QUIET_TICK)))
        results.append(Result(
            backend, "Drumbeat.tick, quiet minute, Monday 08:31 UTC (info)", samples[1:],
            note=f"{due:,} due in the current periods, none new: {_report(report)}",
        ))  # fmt: skip
        results += await _deadline(store, org)
    return results


async def _deadline(store: SqlStore, org: Organisation) -> list[Result]:
    """The week's prompts all sent by Tuesday and none answered: the tick after every weekly
    deadline has passed writes each lead's list of who is missing and delivers them; the
    minute after does not look for lists (every `rhythm.nudges.LIST_EVERY`); six minutes
    later it looks again and finds each list written already (info)."""
    await catch_up(store, org, MIDWEEK)
    drumbeat, _ = await _process(store, DEADLINES_PASSED)
    moments = (DEADLINES_PASSED, DEADLINES_PASSED + MINUTE, DEADLINES_PASSED + 6 * MINUTE)
    samples, reports = [], []
    for moment in moments:
        started = time.perf_counter()
        reports.append(await drumbeat.tick(moment))
        samples.append(time.perf_counter() - started)
    async with store.engine.connect() as conn:
        lists = (await conn.execute(
            select(func.count()).select_from(outbox_t).where(
                outbox_t.c.org == ORG, outbox_t.c.key.startswith("missing:")
            )
        )).scalar_one()  # fmt: skip
    first, quiet, again = reports
    backend = store_backend(store)
    return [
        Result(backend, "Drumbeat.tick, all weekly deadlines passed (info)", [samples[0]],
               note=f"{lists:,} leads' missed lists written, {first.notes:,} direct messages "
               f"delivered; {_report(first)}"),
        Result(backend, "Drumbeat.tick, the minute after (info)", [samples[1]],
               note=f"no lists looked for; {quiet.notes:,} delivered; {_report(quiet)}"),
        Result(backend, "Drumbeat.tick, lists looked for again (info)", [samples[2]],
               note=f"{again.notes:,} delivered: each list written once; {_report(again)}"),
    ]  # fmt: skip


def store_backend(store: SqlStore) -> str:
    return "PostgreSQL" if store.engine.dialect.name == "postgresql" else "SQLite"


async def _main(url: str | None) -> None:
    for result in pure(build().org):
        print(f"{result.name:55} {result.show():>12}  {result.verdict:5} {result.note}")
    if url:
        for result in await full(url, url.split(":")[0]):
            print(f"{result.name:55} {result.show():>12}  {result.verdict:5} {result.note}")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else None))
