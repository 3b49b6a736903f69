"""Scheduler benchmarks: who is due among 10,000 people, and a whole `Drumbeat.tick`.

`due_prompts` is pure (the target); the full tick (prompts written, claimed and "sent" through
a gateway that does nothing, reminders, digests) is for information, at a quiet minute and at
Monday 08:30 UTC when the ten Central European zones' weekly prompts fire. The tick writes, so
each run starts from the same state: what it added is deleted and the watermark put back.
Run alone: python -m bench.tick DATABASE_URL (a scratch copy: it writes).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text

from bench.common import NullGateway, Result
from bench.org import BUSY_TICK, ORG, QUIET_TICK, build
from rhythm.due import due_prompts
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore, open_store
from storage.tables import digest_t, prompt_t, tick_state_t

DUE_TARGET = 0.200
BUSY = (BUSY_TICK[1] - timedelta(minutes=1), BUSY_TICK[1])  # one scheduler minute


def pure(org: Organisation, runs: int = 7) -> list[Result]:
    """`list(due_prompts(org, now, since))` at the quiet and the busy minute."""
    results = []
    for label, (since, now) in (("quiet minute", QUIET_TICK), ("Monday 08:30 UTC", BUSY)):
        list(due_prompts(org, now, since))
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            found = list(due_prompts(org, now, since))
            samples.append(time.perf_counter() - started)
        kinds = Counter(p.kind.value for p in found)
        note = f"{len(found):,} due" + (
            f" ({', '.join(f'{n:,} {k}' for k, n in sorted(kinds.items()))})" if found else ""
        )
        results.append(Result("pure", f"due_prompts, {label}", samples, DUE_TARGET, note=note))
    return results


async def _reset(store: SqlStore, since: datetime, first_prompt: int, first_digest: int) -> None:
    """Undo a tick: drop the prompts and digests it added, put the watermark back.

    Deleting a prompt makes the database check that no check-in refers to it, and
    checkin.prompt_id has no index (the application never deletes prompts): a scan of every
    check-in per prompt, minutes for a busy tick's. A temporary index makes it instant."""
    async with store.engine.begin() as conn:
        await conn.execute(text(f"CREATE INDEX IF NOT EXISTS {_CLEANUP} ON checkin (prompt_id)"))
        await conn.execute(delete(prompt_t).where(prompt_t.c.id >= first_prompt))
        await conn.execute(delete(digest_t).where(digest_t.c.id >= first_digest))
        await conn.execute(delete(tick_state_t).where(tick_state_t.c.org == ORG))
        await conn.execute(text(f"DROP INDEX {_CLEANUP}"))
    await store.record_tick(ORG, since)


_CLEANUP = "bench_checkin_prompt_id"


async def _next_ids(store: SqlStore) -> tuple[int, int]:
    async with store.engine.connect() as conn:
        prompts = (await conn.execute(select(func.max(prompt_t.c.id)))).scalar() or 0
        digests = (await conn.execute(select(func.max(digest_t.c.id)))).scalar() or 0
    return prompts + 1, digests + 1


async def full(
    url: str, backend: str, *, quiet_runs: int = 5, budget: float = 45.0
) -> list[Result]:
    """`Drumbeat.tick` end to end with the organisation already loaded (for information): the
    median of `quiet_runs` quiet ticks, and one busy tick given at most `budget` seconds (past
    that it is stopped and its time extrapolated from the prompts it had sent)."""
    results = []
    async with open_store(url) as store:
        first_prompt, first_digest = await _next_ids(store)
        gateway = NullGateway()
        since, now = QUIET_TICK
        drumbeat = Drumbeat(store=store, chat=gateway, clock=FixedClock(now))
        await drumbeat.organisation(ORG)
        samples: list[float] = []
        report = None
        for _ in range(quiet_runs + 1):  # the first is a warm-up
            await _reset(store, since, first_prompt, first_digest)
            started = time.perf_counter()
            report = await drumbeat.tick(now)
            samples.append(time.perf_counter() - started)
        assert report is not None
        results.append(Result(
            backend, "Drumbeat.tick, quiet minute (info)", samples[1:],
            note=f"{report.created:,} prompts created, {report.sent:,} sent, "
                 f"{report.reminded:,} reminders, {report.digests:,} digests",
        ))  # fmt: skip

        since, now = BUSY
        drumbeat = Drumbeat(store=store, chat=gateway, clock=FixedClock(now))
        await drumbeat.organisation(ORG)
        await _reset(store, since, first_prompt, first_digest)
        started = time.perf_counter()
        try:
            report = await asyncio.wait_for(drumbeat.tick(now), timeout=budget)
            elapsed = time.perf_counter() - started
            note = f"{report.created:,} prompts created, {report.sent:,} sent"
        except TimeoutError:
            elapsed = time.perf_counter() - started
            async with store.engine.connect() as conn:
                created, sent = (await conn.execute(
                    select(func.count(), func.count(prompt_t.c.sent_at))
                    .where(prompt_t.c.id >= first_prompt)
                )).one()  # fmt: skip
            note = (f"stopped after {elapsed:.0f} s with {sent:,} of {created:,} sent: "
                    f"about {elapsed * created / max(sent, 1):,.0f} s for all")  # fmt: skip
            elapsed = elapsed * created / max(sent, 1)
        results.append(Result(backend, "Drumbeat.tick, Monday 08:30 UTC (info)", [elapsed],
                              unit="s", note=note))  # fmt: skip
        await _reset(store, QUIET_TICK[0], first_prompt, first_digest)
        async with store.engine.begin() as conn:
            await conn.execute(delete(tick_state_t).where(tick_state_t.c.org == ORG))
    return results


async def _main(url: str | None) -> None:
    for result in pure(build().org):
        print(f"{result.name:45} {result.show():>12}  {result.verdict:5} {result.note}")
    if url:
        for result in await full(url, url.split(":")[0]):
            print(f"{result.name:45} {result.show():>12}  {result.verdict:5} {result.note}")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else None))
