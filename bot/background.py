"""Work a request or a tick starts and does not wait for (rewriting a prompt's message,
bolt's pipeline after Slack's acknowledgement): each task is kept until it ends, so none is
garbage-collected half-way, its failure is logged with the traceback, and `drain` waits for
all of them before a session closes (shutdown, tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Background:
    def __init__(self, what: str) -> None:
        self.what = what  # for the log: "updating a Slack message"
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("%s failed", self.what, exc_info=error)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
