"""Slack's rate limits, as throttles: one set per workspace, since Slack counts per method, per
workspace, per app.

`chat.postMessage` has its own rule: about one message per second per channel, under a
workspace-wide cap that Slack does not publish. The cap is `messages_per_second` (the setting
SLACK_MESSAGES_PER_SECOND, 20 by default: 1,200 messages a minute prompts a 5,000-person
organisation in about four minutes, and when Slack's real cap is lower its 429s pause the whole
workspace for the Retry-After it asks). Other methods follow their tier; methods not listed
(auth.test, oauth.v2.access) are not throttled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from bot.ratelimit import Limit, Throttle

POST_MESSAGE = "chat.postMessage"
DEFAULT_MESSAGES_PER_SECOND = 20.0

# Slack's tiers are "N+ per minute" with bursts tolerated; the bursts are our guess, small
# enough that a burst followed by steady use stays under N per minute on average.
TIER_2 = Limit(20, 60, burst=2)
TIER_3 = Limit(50, 60, burst=5)
TIER_4 = Limit(100, 60, burst=10)
PER_CHANNEL = Limit(1, 1)

METHOD_LIMITS: Mapping[str, Limit] = {
    "chat.update": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.open": TIER_3,
    # Looking for a prompt whose send is in doubt (internal apps; Slack allows apps distributed
    # outside the Marketplace far less since 2025).
    "conversations.history": TIER_3,
    "views.open": TIER_4,
    "views.push": TIER_4,
    "views.update": TIER_4,
    "views.publish": TIER_4,
    "users.info": TIER_4,
    # Slack's page lists it as Tier 3 (the design notes say 4): the lower one is the safe one.
    "users.lookupByEmail": TIER_3,
    "users.list": TIER_2,
    # A chart's upload: a URL for its bytes, then sharing it (both Tier 4 on Slack's pages).
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}


def messages_limit(per_second: float) -> Limit:
    """The workspace cap as a `Limit`: whole messages per whole seconds, evenly spaced."""
    if per_second <= 0:
        raise ValueError(f"messages per second must be positive, not {per_second}")
    count, seconds = (
        (int(per_second), 1.0) if float(per_second).is_integer() else (1, 1 / per_second)
    )
    return Limit(count, seconds)


class SlackLimits:
    """The throttles of every workspace this process talks to, made on first use."""

    def __init__(
        self,
        *,
        messages_per_second: float = DEFAULT_MESSAGES_PER_SECOND,
        per_channel: Limit = PER_CHANNEL,
        methods: Mapping[str, Limit] = METHOD_LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.messages = messages_limit(messages_per_second)
        self.per_channel = per_channel
        self.methods = dict(methods)
        self._clock = clock
        self._sleep = sleep
        self._throttles: dict[tuple[str, str], Throttle] = {}
        # (workspace, channel) -> the last two posts' times: a channel's 429 or the cap's?
        self._posts: dict[tuple[str, str], tuple[float | None, float]] = {}

    def throttle(self, workspace: str, method: str) -> Throttle | None:
        key = (workspace, method)
        throttle = self._throttles.get(key)
        if throttle is None:
            if method == POST_MESSAGE:
                throttle = Throttle(
                    shared=[self.messages], per_key=[self.per_channel],
                    clock=self._clock, sleep=self._sleep,
                )  # fmt: skip
            elif method in self.methods:
                throttle = Throttle(
                    shared=[self.methods[method]], clock=self._clock, sleep=self._sleep
                )
            else:
                return None
            self._throttles[key] = throttle
        return throttle

    async def acquire(self, workspace: str, method: str, channel: str | None = None) -> None:
        throttle = self.throttle(workspace, method)
        if throttle is None:
            return
        await throttle.acquire(channel or "")
        if method == POST_MESSAGE and channel:
            self._remember_post(workspace, channel)

    def rate_limited(
        self, workspace: str, method: str, seconds: float, channel: str | None = None
    ) -> None:
        """Slack answered 429 with Retry-After `seconds`: hold back the bucket it is about.

        For chat.postMessage that is the channel when we posted there within the last couple
        of seconds (we keep to one a second, but another replica may not), else the workspace
        cap. Other methods have one bucket per workspace."""
        throttle = self.throttle(workspace, method)
        if throttle is None:
            return
        if method == POST_MESSAGE and channel and self._posted_recently(workspace, channel):
            throttle.pause(seconds, key=channel)
        else:
            throttle.pause(seconds)

    def _remember_post(self, workspace: str, channel: str) -> None:
        now = self._clock()
        if len(self._posts) > 10_000:
            horizon = now - 2 * self.per_channel.interval
            self._posts = {k: times for k, times in self._posts.items() if times[1] > horizon}
        previous = self._posts.get((workspace, channel))
        self._posts[workspace, channel] = (previous[1] if previous else None, now)

    def _posted_recently(self, workspace: str, channel: str) -> bool:
        """Whether the post Slack refused came soon after another one to the same channel."""
        before, refused = self._posts.get((workspace, channel), (None, 0.0))
        return before is not None and refused - before < 2 * self.per_channel.interval
