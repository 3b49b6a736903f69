"""Slack retries an event it thinks we missed (up to three times, with X-Slack-Retry-Num):
each event id is handled once per process. Replicas may each see a retry; what they do with
events is idempotent (the App Home is published again, check-ins are stored by fingerprint)."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class RecentEvents:
    """Event ids seen in the last `ttl` seconds (at most `size` of them)."""

    def __init__(
        self,
        *,
        ttl: float = 3600.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        now = self._clock()
        while self._seen and (
            len(self._seen) >= self.size or next(iter(self._seen.values())) < now - self.ttl
        ):
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now
        return True


def skip_repeated_events(
    recent: RecentEvents,
) -> Callable[..., Awaitable[BoltResponse | None]]:
    """A bolt middleware that acknowledges an event it already handled and goes no further."""

    async def middleware(
        body: dict[str, Any], next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not recent.first_time(event_id):
            log.info("event %s already handled: acknowledged and skipped", event_id)
            return BoltResponse(status=200, body="")
        await next_()
        return None

    return middleware
