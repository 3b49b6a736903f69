"""Rate limits for outgoing chat calls: several limits per key plus limits shared by all keys.

Slack allows about one message per second per channel under a workspace-wide cap; Teams allows
7 per second, 60 per 30 seconds and 1,800 per hour per conversation, under about 30 per second
per tenant. `Throttle` spaces calls so none of those is exceeded, and `pause` makes everyone
wait when the platform answers 429 with Retry-After anyway.

Each limit is a GCRA (generic cell rate algorithm) bucket: one "theoretical arrival time" per
bucket instead of a queue of timestamps, so a limit costs one float per key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """`count` calls per `seconds` on average, of which up to `burst` may come at once (so a
    window of `seconds` can hold `count + burst - 1`: pick `burst` 1 for a hard cap)."""

    count: int
    seconds: float
    burst: int = 1

    @property
    def interval(self) -> float:
        return self.seconds / self.count

    @property
    def tolerance(self) -> float:
        return self.interval * (self.burst - 1)


class _Bucket:
    __slots__ = ("limit", "tat")

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.tat = 0.0  # theoretical arrival time of the next conforming call

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.limit.tolerance)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.limit.interval

    def hold_until(self, moment: float) -> None:
        self.tat = max(self.tat, moment + self.limit.tolerance)


class Throttle:
    """Waits as long as needed before each call so that every limit holds.

    `acquire(key)` first waits for a slot in the key's own buckets (a channel, a
    conversation), then for one in the shared buckets. In that order, a key that must wait
    (a busy channel, one paused by a 429) does not book shared slots it cannot use yet, so it
    never holds up the other keys. Slots are reserved without an await in between, so
    concurrent callers on one event loop get distinct, ordered slots.
    """

    def __init__(
        self,
        *,
        shared: Sequence[Limit] = (),
        per_key: Sequence[Limit] = (),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._shared = [_Bucket(limit) for limit in shared]
        self._per_key_limits = tuple(per_key)
        self._keys: dict[str, list[_Bucket]] = {}
        self._held_until = 0.0  # `pause` for everyone, with or without shared limits
        self._clock = clock
        self._sleep = sleep

    def reserve(self, key: str = "") -> float:
        """Reserve the key's next slot and a shared slot at the same moment; returns how many
        seconds from now that is. (`acquire` reserves the two one after the other.)"""
        now = self._clock()
        buckets = self._key_buckets(key, now) + self._shared
        return self._take(buckets, max(now, self._held_until)) - now

    async def acquire(self, key: str = "") -> None:
        now = self._clock()
        own = self._take(self._key_buckets(key, now), now)
        if own > now:
            await self._sleep(own - now)
            now = self._clock()
        shared = self._take(self._shared, max(now, self._held_until))
        if shared > now:
            await self._sleep(shared - now)

    def pause(self, seconds: float, key: str | None = None) -> None:
        """Nobody (or only `key`) gets a slot for `seconds`: the platform said Retry-After."""
        until = self._clock() + seconds
        if key is None:
            self._held_until = max(self._held_until, until)
            buckets = self._shared
        else:
            buckets = self._key_buckets(key, self._clock())
        for bucket in buckets:
            bucket.hold_until(until)

    @staticmethod
    def _take(buckets: Sequence[_Bucket], now: float) -> float:
        """Book the earliest moment from `now` that all `buckets` allow; returns it."""
        start = max((b.earliest(now) for b in buckets), default=now)
        for bucket in buckets:
            bucket.take(start)
        return start

    def _key_buckets(self, key: str, now: float) -> list[_Bucket]:
        if not self._per_key_limits:
            return []
        buckets = self._keys.get(key)
        if buckets is None:
            if len(self._keys) > 10_000:
                self._forget_idle(now)
            buckets = self._keys[key] = [_Bucket(limit) for limit in self._per_key_limits]
        return buckets

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose buckets are all back to full: they would behave like new ones."""
        for key in [k for k, bs in self._keys.items() if all(b.tat <= now for b in bs)]:
            del self._keys[key]
