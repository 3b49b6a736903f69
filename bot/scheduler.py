"""The one scheduler job: a tick every minute. The database, not the scheduler, knows who is
due, so any number of replicas can run this and restarts lose nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.logs import ticking
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

TICK_JOB = "drumbeat-tick"


async def tick_once(drumbeat: Drumbeat) -> None:
    """One tick; what it logs carries the tick's id (bot.logs)."""
    with ticking():
        await _tick(drumbeat)


async def _tick(drumbeat: Drumbeat) -> None:
    try:
        report = await drumbeat.tick()
    except asyncio.CancelledError:
        # Shutdown in the middle of a tick, after the grace for the sends under way: what was
        # claimed and not sent is given back (Ticker.stop) for another replica or a restart.
        log.info("tick interrupted by shutdown")
        return
    if report.created or report.sent or report.failed or report.reminded or report.digests:
        log.info("tick: %s", report)


class _StillTicking(logging.Filter):
    """APScheduler warns each time a tick is skipped because the last one still runs. Here
    that is expected (a fan-out of thousands of prompts takes minutes at Slack's pace), so
    it is said at INFO, in our words, instead of a warning an operator would chase."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" in record.getMessage():
            record.msg, record.args = "the last tick is still running: this one is skipped", ()
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


_STILL_TICKING = _StillTicking()


class Ticking:
    """The job: tick, and tick once more right after when `soon` was asked meanwhile (someone
    was linked while a tick ran: their prompt should not wait for the next interval)."""

    def __init__(self, drumbeat: Drumbeat, scheduler: AsyncIOScheduler) -> None:
        self.drumbeat = drumbeat
        self.scheduler = scheduler
        self.running = False
        self.again = False

    async def run(self) -> None:
        self.running = True
        try:
            self.again = True
            while self.again:
                self.again = False
                await tick_once(self.drumbeat)
        finally:
            self.running = False

    def soon(self) -> None:
        if self.running:
            self.again = True
        else:
            self.scheduler.modify_job(TICK_JOB, next_run_time=datetime.now(UTC))


def start_scheduler(drumbeat: Drumbeat, *, seconds: int = 60) -> AsyncIOScheduler:
    """Start ticking on the running event loop; the job store is memory (one job, no state)."""
    logging.getLogger("apscheduler.scheduler").addFilter(_STILL_TICKING)  # once: a set
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        # A bound coroutine method: APScheduler runs an awaitable instance in a thread.
        Ticking(drumbeat, scheduler).run,
        "interval",
        seconds=seconds,
        id=TICK_JOB,
        replace_existing=True,
        max_instances=1,  # a slow tick is never overlapped by the next one in this process
        coalesce=True,  # after a pause, run once, not once per missed minute
        misfire_grace_time=seconds,
        next_run_time=drumbeat.clock.now(),  # catch up the current period right away
    )
    scheduler.start()
    return scheduler


def tick_soon(scheduler: AsyncIOScheduler) -> None:
    """Run the tick now rather than at its next interval, or right after the one under way:
    someone was just linked, and their prompt should reach them while they are looking."""
    job = scheduler.get_job(TICK_JOB)
    ticking = getattr(job.func, "__self__", None) if job is not None else None
    if isinstance(ticking, Ticking):
        ticking.soon()
