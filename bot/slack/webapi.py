"""Slack Web API calls that keep to Slack's limits and say plainly what went wrong.

Every call waits for its slot in the workspace's throttle (`SlackLimits`), so a fan-out of
thousands of prompts never trips a limit on purpose. When Slack answers 429 anyway, the bucket
it is about is paused for Retry-After and the call is tried again; 5xx answers, timeouts and
dropped connections are retried with exponential backoff a bounded number of times. What is
left becomes a `SlackError`, a `DeliveryError` that says whether trying later can help.

slack_sdk's own retry handlers are switched off: retrying here is what lets a 429 pause the
throttle that every other call of the workspace waits on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.limits import SlackLimits
from bot.slack.logs import slack_logger
from rhythm.ports import DeliveryError

log = logging.getLogger(__name__)

# Errors Slack documents as "try again"; any other `ok: false` is about the request itself
# (user_not_found, channel_not_found, not_in_channel, is_archived, account_inactive,
# invalid_auth, invalid_blocks...) and repeating it cannot help.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
DEFAULT_RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who to call Slack as: the workspace's key for the throttles and its bot token."""

    key: str  # the team id, or "single" for the one workspace of SLACK_BOT_TOKEN
    token: str = field(repr=False)


class SlackError(DeliveryError):
    """A Web API call that failed for good (`permanent`) or for now, with Slack's error code."""

    def __init__(
        self, method: str, code: str, *, permanent: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(f"Slack {method}: {code}", permanent=permanent, retry_after=retry_after)
        self.method = method
        self.code = code


class SlackWebApi:
    def __init__(
        self,
        *,
        limits: SlackLimits,
        base_url: str | None = None,
        retries: int = 3,
        rate_limit_retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.base_url = base_url or AsyncWebClient.BASE_URL
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        self.retries = retries
        self.rate_limit_retries = rate_limit_retries
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._clients: dict[str, AsyncWebClient] = {}
        self.logger = slack_logger()

    async def call(self, workspace: Workspace, method: str, **params: Any) -> dict[str, Any]:
        """Call `method` (e.g. "chat.postMessage") with `params`; returns Slack's JSON answer."""
        channel = params.get("channel") if isinstance(params.get("channel"), str) else None
        failures = rate_limited = 0
        while True:
            await self.limits.acquire(workspace.key, method, channel)
            try:
                response = await self._send(workspace.token, method, params)
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as error:
                status = error.response.status_code
                code = str(error.response.get("error") or f"http_{status}")
                if status == 429:
                    wait = _retry_after(error)
                    self.limits.rate_limited(workspace.key, method, wait, channel)
                    rate_limited += 1
                    if rate_limited > self.rate_limit_retries:
                        raise SlackError(
                            method, "ratelimited", permanent=False, retry_after=wait
                        ) from None
                    log.info("Slack %s rate limited; retrying in %.1f s", method, wait)
                    continue  # the paused throttle makes the next acquire wait
                if status < 500 and code not in TRANSIENT_ERRORS:
                    raise SlackError(method, code, permanent=True) from None
                problem = code
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = type(error).__name__
            failures += 1
            wait = self.backoff * 2 ** (failures - 1)
            if failures > self.retries:
                raise SlackError(method, problem, permanent=False, retry_after=wait)
            log.info("Slack %s failed (%s); retry %d in %.1f s", method, problem, failures, wait)
            await self._sleep(wait)

    async def _send(self, token: str, method: str, params: dict[str, Any]) -> Any:
        function = getattr(self._client(token), method.replace(".", "_"))
        return await function(**params)

    def _client(self, token: str) -> AsyncWebClient:
        client = self._clients.get(token)
        if client is None:
            if self._session is None or self._session.closed:
                # Made on first use, inside the running loop; one pool for every workspace.
                self._session = aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout)
                )
            client = AsyncWebClient(
                token=token,
                base_url=self.base_url,
                session=self._session,
                timeout=int(self.timeout),
                logger=self.logger,
                retry_handlers=[],
            )
            self._clients[token] = client
        return client

    def forget(self, token: str) -> None:
        """Drop the client of a token that was revoked or replaced."""
        self._clients.pop(token, None)

    async def aclose(self) -> None:
        self._clients.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retry_after(error: SlackApiError) -> float:
    try:
        return max(0.0, float(error.response.headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
