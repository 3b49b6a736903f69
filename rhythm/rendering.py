"""Charts drawn off the event loop: `ChartRenderer` hands `rhythm.charts.draw` to worker
processes (or threads), a few at a time, so a digest run for hundreds of teams never stalls
the loop that answers people."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Literal

from rhythm.chart_model import ChartSpec
from rhythm.sections import Image


def _draw(spec: ChartSpec) -> Image:
    """`rhythm.charts.draw`, imported in the worker: the process that serves chat never
    loads matplotlib (some 40 MB)."""
    from rhythm.charts import draw

    return draw(spec)


def _warm_up() -> None:
    """A worker's first chart loads the fonts and matplotlib's caches: done at its start."""
    from rhythm.charts import warm_up

    warm_up()


class ChartRenderer:
    """Draws charts without blocking the event loop, in a pool of `workers` processes (one
    per core by default, at most 4) started at the first render; `kind="thread"` for a
    thread pool instead.

    Processes, as measured on two cores (bench/charts.py): `draw` holds the GIL nearly all
    the time, so threads draw one chart at a time whatever their number (12-13 charts/s)
    and stall the loop's other coroutines for 80-350 ms at a time while they do; two
    processes draw two at a time (18-21 charts/s, 1.5x) and the loop's longest pause stays
    at 10-30 ms. The price: each worker imports matplotlib (under a second, once, and some
    tens of MB), and a
    script that renders needs the usual `if __name__ == "__main__":` guard, since a fork
    server's child imports the main module.

    Thread-safe either way: a figure, its canvas and its renderer belong to one call of
    `draw`, which changes no global state (no pyplot, no rcParams); matplotlib keys its
    FreeType font cache by thread, its text-metrics cache is an `lru_cache`, and math text
    (its one shared parser) is switched off for every text. Concurrent threads gave the same
    bytes as sequential calls (tests/rhythm/test_charts.py), so there is no lock.

    At most `workers * 2` renders are in flight: a digest run for 500 teams queues the rest
    in the loop, not in the pool, and each worker still has its next chart waiting. A pool
    whose worker died is replaced once per render. `close()`, `aclose()` or `async with`
    shut the pool down; a closed renderer starts a new pool if used again."""

    def __init__(
        self, workers: int | None = None, *, kind: Literal["process", "thread"] = "process"
    ) -> None:
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self.kind = kind
        self._pool: Executor | None = None
        self._slots = asyncio.Semaphore(self.workers * 2)

    def _executor(self) -> Executor:
        if self._pool is None:
            if self.kind == "thread":
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="charts")
            else:
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=_context(), initializer=_warm_up
                )
        return self._pool

    async def render(self, spec: ChartSpec) -> Image:
        """`draw(spec)` in a worker."""
        async with self._slots:
            loop = asyncio.get_running_loop()
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, _draw, spec)
            except BrokenProcessPool:
                if self._pool is pool:  # not yet replaced by another render that saw it
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
                return await loop.run_in_executor(self._executor(), _draw, spec)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> ChartRenderer:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _context() -> multiprocessing.context.BaseContext:
    """A fork server where there is one: a child forked from a process with threads (the
    event loop's, the database driver's) can inherit a lock held by one of them; spawn
    elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
