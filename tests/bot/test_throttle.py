"""bot.ratelimit.Throttle on a fake clock: a fake sleep moves the clock, nothing really waits."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import pytest

from bot.ratelimit import Limit, Throttle

EPSILON = 1e-9
T = TypeVar("T")


class FakeTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def throttle(
    time: FakeTime, *, shared: Sequence[Limit] = (), per_key: Sequence[Limit] = ()
) -> Throttle:
    return Throttle(shared=shared, per_key=per_key, clock=time.clock, sleep=time.sleep)


async def call_times(time: FakeTime, limiter: Throttle, keys: Sequence[str]) -> list[float]:
    """One call after another, as a single sender would make them: when each went out."""
    times = []
    for key in keys:
        await limiter.acquire(key)
        times.append(time.now)
    return times


class VirtualLoop:
    """Concurrent callers on virtual time: sleeps wait for the clock, and the clock jumps to
    the earliest wake-up whenever every caller is asleep (no real time passes)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), self._seq, future))
        await future

    async def run(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        tasks = [asyncio.ensure_future(c) for c in calls]
        while not all(t.done() for t in tasks):
            for _ in range(20):  # let every runnable caller reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        return [t.result() for t in tasks]


async def concurrent_call_times(
    time: VirtualLoop, limiter: Throttle, keys: Sequence[str]
) -> list[float]:
    """Every call started at once, as concurrent senders would: when each went out."""

    async def call(key: str) -> float:
        await limiter.acquire(key)
        return time.now

    return await time.run([call(key) for key in keys])


def most_in_any_window(times: Sequence[float], seconds: float) -> int:
    """The most calls in any half-open window [t, t + seconds)."""
    return max(
        sum(1 for other in times if start <= other < start + seconds - EPSILON) for start in times
    )


def gaps(times: Sequence[float]) -> list[float]:
    return [round(b - a, 9) for a, b in itertools.pairwise(times)]


async def test_one_key_gets_one_call_a_second() -> None:
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(1, 1)])

    times = await call_times(time, limiter, ["C1"] * 4)

    assert gaps(times) == [1.0, 1.0, 1.0]
    assert times[0] == 1_000.0  # the first call does not wait


async def test_keys_do_not_wait_for_each_other() -> None:
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(1, 1)])

    times = await call_times(time, limiter, ["C1", "C2", "C3", "C1"])

    assert [t - 1_000.0 for t in times] == [0.0, 0.0, 0.0, 1.0]


async def test_a_shared_cap_spaces_calls_across_keys() -> None:
    time = FakeTime()
    limiter = throttle(time, shared=[Limit(4, 1)], per_key=[Limit(1, 1)])

    times = await call_times(time, limiter, [f"C{i}" for i in range(9)])

    assert gaps(times) == [0.25] * 8
    assert most_in_any_window(times, 1) == 4


async def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    time = FakeTime()
    limiter = throttle(time, shared=[Limit(2, 1, burst=3)])

    times = await call_times(time, limiter, [""] * 7)

    assert [round(t - 1_000.0, 9) for t in times] == [0, 0, 0, 0.5, 1.0, 1.5, 2.0]


async def test_an_idle_burst_refills() -> None:
    time = FakeTime()
    limiter = throttle(time, shared=[Limit(2, 1, burst=3)])
    await call_times(time, limiter, [""] * 3)

    time.now += 10  # quiet for a while
    start = time.now
    times = await call_times(time, limiter, [""] * 4)

    assert [t - start for t in times] == [0, 0, 0, 0.5]


async def test_every_limit_of_a_key_holds_at_once() -> None:
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(7, 1), Limit(60, 30)])

    times = await call_times(time, limiter, ["conversation"] * 61)

    assert times[59] - times[0] < 30
    assert times[60] - times[0] >= 30  # the 61st call in 30 s waits
    assert most_in_any_window(times, 1) <= 7
    assert most_in_any_window(times, 30) == 60


async def test_teams_conversation_limits_with_bursts_stay_under_teams_caps() -> None:
    # Teams: 7 per second and 60 per 30 s per conversation, split into bursts and rates the way
    # bot/teams/gateway.py does (a GCRA bucket lets burst + count through in one window).
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(4, 1.0, burst=3), Limit(31, 30.0, burst=29)])

    times = await call_times(time, limiter, ["conversation"] * 150)

    assert times[:3] == [1_000.0] * 3  # the burst
    assert times[60] - times[0] >= 30  # the 61st call in 30 s waits
    assert most_in_any_window(times, 1) <= 7
    assert most_in_any_window(times, 30) <= 60


async def test_pause_delays_every_key() -> None:
    time = FakeTime()
    limiter = throttle(time, shared=[Limit(100, 1)], per_key=[Limit(1, 1)])
    await call_times(time, limiter, ["C1"])

    limiter.pause(5)
    start = time.now
    times = await call_times(time, limiter, ["C2", "C3"])

    assert [round(t - start, 9) for t in times] == [5.0, 5.01]


async def test_pause_of_one_key_delays_only_that_key() -> None:
    time = FakeTime()
    limiter = throttle(time, shared=[Limit(100, 1)], per_key=[Limit(1, 1)])

    limiter.pause(5, key="C1")
    start = time.now
    others = await call_times(time, limiter, ["C2", "C3"])
    paused = await call_times(time, limiter, ["C1"])

    assert [round(t - start, 9) for t in others] == [0.0, 0.01]
    assert paused == [start + 5]


@pytest.mark.parametrize("held", ["paused", "queued"])
async def test_a_key_that_must_wait_does_not_hold_up_the_other_keys(held: str) -> None:
    time = VirtualLoop()
    limiter = Throttle(
        shared=[Limit(20, 1)], per_key=[Limit(1, 1)], clock=time.clock, sleep=time.sleep
    )
    if held == "paused":  # Slack answered 429 for channel C1 (SlackLimits.rate_limited)
        limiter.pause(5, key="C1")
        keys = ["C1", "C2"]
    else:  # five posts to C1 at once, e.g. concurrent sends to one conversation
        keys = ["C1"] * 5 + ["C2"]
    times = await concurrent_call_times(time, limiter, keys)

    assert times[-1] - 1_000 <= 0.05 + EPSILON  # the shared cap's spacing, not C1's wait
    assert times[-2] - 1_000 >= 4  # while C1 still waits its turn


async def test_a_pause_never_shortens_a_wait() -> None:
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(1, 10)])
    await call_times(time, limiter, ["C1"])

    limiter.pause(2, key="C1")  # shorter than the 10 s the key waits anyway
    start = time.now
    assert await call_times(time, limiter, ["C1"]) == [start + 10]


async def test_pause_delays_everyone_even_without_shared_limits() -> None:
    time = FakeTime()
    limiter = throttle(time, per_key=[Limit(1, 1)])

    limiter.pause(5)
    start = time.now

    assert await call_times(time, limiter, ["C1"]) == [start + 5]


async def test_without_limits_nothing_waits() -> None:
    time = FakeTime()
    limiter = throttle(time)

    assert await call_times(time, limiter, ["C1"] * 5) == [1_000.0] * 5
    assert time.slept == []


async def test_concurrent_callers_on_one_loop_get_distinct_ordered_slots() -> None:
    time = VirtualLoop()
    limiter = Throttle(
        shared=[Limit(10, 1)], per_key=[Limit(1, 1)], clock=time.clock, sleep=time.sleep
    )
    keys = [f"C{i % 3}" for i in range(30)]

    slots = await concurrent_call_times(time, limiter, keys)

    assert len(set(slots)) == len(slots)
    assert most_in_any_window(slots, 1) <= 10
    for key in {"C0", "C1", "C2"}:
        mine = [slot for slot, k in zip(slots, keys, strict=True) if k == key]
        assert mine == sorted(mine)
        assert min(gaps(mine)) >= 1.0 - EPSILON


async def test_forgetting_idle_keys_changes_nothing() -> None:
    # More than 10,000 keys makes the throttle drop those whose buckets are full again.
    # Afterwards every key, dropped or not, must get the very same slots as without pruning.
    limits = [Limit(1, 1), Limit(3, 10, burst=2)]
    pruned_time, kept_time = FakeTime(), FakeTime()
    pruned = throttle(pruned_time, per_key=limits)
    kept = throttle(kept_time, per_key=limits)
    kept._forget_idle = lambda now: None  # type: ignore[method-assign]

    async def both(keys: Sequence[str]) -> None:
        for key in keys:
            assert pruned.reserve(key) == kept.reserve(key), key

    await both(["busy"] * 3)
    await both([f"idle-{i}" for i in range(10_001)])
    for time in (pruned_time, kept_time):
        time.now += 4  # the idle keys' buckets are full again, busy's are not
    await both(["trigger", "busy", "idle-1", "idle-2", "idle-2", "new"])

    assert len(pruned._keys) < 100 < len(kept._keys)  # it did forget
    assert "busy" in pruned._keys  # a key still waiting is kept
    for time in (pruned_time, kept_time):
        time.now += 3
    await both(["busy", "busy", "idle-1", "idle-9999", "trigger", "trigger"])
