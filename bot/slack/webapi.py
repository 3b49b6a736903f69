"""Slack Web API calls that keep to Slack's limits and say plainly what went wrong.

Every call waits for its slot in the workspace's throttle (`SlackLimits`), so a fan-out of
thousands of prompts never trips a limit on purpose. When Slack answers 429 anyway, the bucket
it is about is paused for Retry-After and the call is tried again. Whatever else comes back
maps to one outcome:

- JSON `{"ok": true, ...}`: the answer, returned as it is.
- JSON `{"ok": false, "error": code}`: `SlackError(code)`, permanent unless Slack documents the
  code as "try again" (`TRANSIENT_ERRORS`).
- a 5xx, a body that is not JSON or not a JSON object, whatever its status or content type (a
  proxy's `405 text/plain`, an HTML error page): a transient `SlackError` whose code says what
  came back, e.g. `http_405_text/plain`, `http_502_text/html`, `http_200_not_an_object`.
- no answer at all (timeout, connection reset or closed, cannot connect): a transient
  `SlackError` (`timeout`, `connection_reset`, `server_disconnected`, `cannot_connect`...).

`SlackError.maybe_done` says that Slack may have carried the request out although we got no
usable answer: the request had been sent when the connection failed or timed out, or a
method in `NOT_IDEMPOTENT` got a 5xx, an unreadable 2xx or `internal_error`. Idempotent methods
are retried with exponential backoff a bounded number of times; a method in `NOT_IDEMPOTENT` is
never retried after a `maybe_done` failure, so that its caller can look for what it sent (the
DM's history) before sending it again.

A file goes up in three steps (`bot.slack.uploads`): files.getUploadURLExternal, the bytes
POSTed to the URL it gives (`upload`, on Slack's file host, with the same retries, 429 and
fault handling; any answer but `200 OK - <length>` is a `SlackError` of method `upload_url`),
then files.completeUploadExternal, which shares the file (not repeated when in doubt).

Requests go straight through aiohttp rather than slack_sdk's client: that keeps every status,
content type and connection failure in view, where slack_sdk would hand back a body it could
not parse as a string.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from bot.slack.limits import SlackLimits
from rhythm.ports import DeliveryError, Leaving

if TYPE_CHECKING:
    from bot.metrics import CallCounts

log = logging.getLogger(__name__)
T = TypeVar("T")

SLACK_API_URL = "https://slack.com/api/"

# Errors Slack documents as "try again"; any other `ok: false` is about the request itself
# (user_not_found, channel_not_found, not_in_channel, is_archived, account_inactive,
# invalid_auth, invalid_blocks...) and repeating it cannot help.
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# Of those, the ones where Slack may have done the work before failing to say so.
MAYBE_DONE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Methods that do something new each time they are called: repeating one whose outcome is
# unknown may do it twice (two identical DMs). Every other method Drumbeat calls reads, or sets
# a state that a repeat sets again (chat.update, views.publish, conversations.open).
NOT_IDEMPOTENT = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "files.completeUploadExternal",
    }
)
# Methods whose arguments go as a JSON body, as slack_sdk sends them: they take blocks, views
# or metadata. The others get a form body, which every method accepts (JSON not all of them).
JSON_BODY_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "chat.update",
        "views.open",
        "views.push",
        "views.update",
        "views.publish",
    }
)
DEFAULT_RETRY_AFTER = 1.0
# What a file upload's failures are named after: the POST to files.getUploadURLExternal's URL.
UPLOAD = "upload_url"
# A trigger id expires 3 s after the click: an answer later than this is useless anyway.
TRIGGER_TIMEOUT = 2.5


@dataclass(frozen=True, slots=True)
class Workspace:
    """Who to call Slack as: the workspace's key for the throttles and its bot token."""

    key: str  # the team id, or "single" for the one workspace of SLACK_BOT_TOKEN
    token: str = field(repr=False)


class SlackError(DeliveryError):
    """A Web API call that failed for good (`permanent`) or for now, with Slack's error code
    (or one saying what came back instead of Slack's answer). `maybe_done`: Slack may have
    carried the request out although we have no answer that says so."""

    def __init__(
        self,
        method: str,
        code: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        maybe_done: bool = False,
    ) -> None:
        super().__init__(
            f"Slack {method}: {code}",
            permanent=permanent,
            retry_after=retry_after,
            maybe_done=maybe_done,
        )
        self.method = method
        self.code = code

    def waiting(self, retry_after: float) -> SlackError:
        """The same failure, to be tried again after `retry_after` seconds."""
        return SlackError(
            self.method,
            self.code,
            permanent=self.permanent,
            retry_after=retry_after,
            maybe_done=self.maybe_done,
        )


def dig(answer: Mapping[str, Any], *path: str) -> Any:
    """A nested value of an answer, or None where the answer has another shape: an ok answer
    from a proxy or a changed API is never trusted to have Slack's."""
    value: Any = answer
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def unexpected(method: str) -> SlackError:
    """An ok answer without what the method always returns: tried again later."""
    return SlackError(method, "unexpected_answer_shape", permanent=False)


class _RateLimited(Exception):
    """Slack answered 429: wait `retry_after` seconds."""

    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
        self.error = SlackError(method, "ratelimited", permanent=False, retry_after=retry_after)


@dataclass(slots=True)
class _Progress:
    """How far one request got: once its headers are out, Slack may act on it."""

    sent: bool = False


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
        trigger_timeout: float = TRIGGER_TIMEOUT,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        calls: CallCounts | None = None,
    ) -> None:
        self.limits = limits
        self.calls = calls  # 429s and retries, per method, for the metrics
        self.base_url = base_url or SLACK_API_URL
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        self.retries = retries
        self.rate_limit_retries = rate_limit_retries
        self.backoff = backoff
        self.timeout = timeout
        self.trigger_timeout = trigger_timeout
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self,
        workspace: Workspace,
        method: str,
        *,
        paced: bool = True,
        leaving: Leaving | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Call `method` (e.g. "chat.postMessage") with `params`; returns Slack's JSON answer.

        `paced=False` is for calls bound to a trigger id (views.open, views.push), which
        expire before a throttle's queue would let them out: one attempt, at once, with a short
        timeout; a 429 raises at once (and still pauses the throttle for the other calls).
        `leaving` is awaited once, when the throttle first lets the call out."""
        channel = params.get("channel") if isinstance(params.get("channel"), str) else None
        if not paced:
            return await self._call_at_once(workspace, method, params, channel)
        return await self._with_retries(
            workspace, method, channel, leaving,
            lambda: self._attempt(workspace.token, method, params, self.timeout),
        )  # fmt: skip

    async def upload(self, workspace: Workspace, url: str, data: bytes) -> None:
        """POST a file's bytes to the `upload_url` files.getUploadURLExternal gave (on Slack's
        file host, not the Web API's), with the same retries and fault handling as a call.

        The bytes go as the raw body, as slack_sdk sends them; the URL is signed, so the bot
        token stays with the Web API. Slack answers `200 OK - <length>`. Until the file is
        shared its URL takes the bytes again, so a failure is retried like a read's; a 4xx
        (an expired or used URL) is permanent."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SlackError(UPLOAD, "not_an_upload_url", permanent=False)
        await self._with_retries(
            workspace, UPLOAD, None, None, lambda: self._attempt_upload(url, data)
        )

    async def _with_retries(
        self,
        workspace: Workspace,
        method: str,
        channel: str | None,
        leaving: Leaving | None,
        attempt: Callable[[], Awaitable[T]],
    ) -> T:
        """`attempt` in the workspace's throttle for `method`, again after a 429 (once its
        Retry-After has passed) and after a transient failure (with backoff), as said above."""
        failures = rate_limited = 0
        while True:
            await self.limits.acquire(workspace.key, method, channel)
            if leaving is not None:
                await leaving()
                leaving = None
            try:
                return await attempt()
            except _RateLimited as limited:
                self.limits.rate_limited(workspace.key, method, limited.retry_after, channel)
                self._count(method, retried=False)
                rate_limited += 1
                if rate_limited > self.rate_limit_retries:
                    raise limited.error from None
                self._count(method, retried=True)
                log.info("Slack %s rate limited; retrying in %.1f s", method, limited.retry_after)
                if self.limits.throttle(workspace.key, method) is None:
                    await self._sleep(limited.retry_after)  # no throttle to hold the next one
                continue  # the paused throttle makes the next acquire wait
            except SlackError as error:
                if error.permanent:
                    raise
                if error.maybe_done and method in NOT_IDEMPOTENT:
                    # Trying again could do it twice: the caller looks before it sends again.
                    log.info("Slack %s may have been done (%s); not retried", method, error.code)
                    raise error.waiting(self.backoff) from None
                failures += 1
                wait = self.backoff * 2 ** (failures - 1)
                if failures > self.retries:
                    raise error.waiting(wait) from None
                log.info(
                    "Slack %s failed (%s); retry %d in %.1f s", method, error.code, failures, wait
                )
                self._count(method, retried=True)
                await self._sleep(wait)

    def _count(self, method: str, *, retried: bool) -> None:
        """A 429 (`retried` False) or a retry of `method`, for the metrics."""
        if self.calls is None:
            return
        if retried:
            self.calls.retried(method)
        else:
            self.calls.rate_limited(method)

    async def _call_at_once(
        self, workspace: Workspace, method: str, params: dict[str, Any], channel: str | None
    ) -> dict[str, Any]:
        timeout = min(self.timeout, self.trigger_timeout)
        try:
            return await self._attempt(workspace.token, method, params, timeout)
        except _RateLimited as limited:
            self.limits.rate_limited(workspace.key, method, limited.retry_after, channel)
            self._count(method, retried=False)
            raise limited.error from None

    async def _attempt(
        self, token: str, method: str, params: dict[str, Any], answer_within: float
    ) -> dict[str, Any]:
        """One request: Slack's answer when it is `ok`, else `SlackError` or `_RateLimited`."""
        body, content_type_header = _request_body(method, params)
        headers = {"Authorization": f"Bearer {token}", **content_type_header}
        status, content_type, answer = await self._post(
            method, self.base_url + method, body, headers, answer_within
        )
        return _answer(method, status, content_type, answer)

    async def _attempt_upload(self, url: str, data: bytes) -> None:
        """One POST of a file's bytes: None when Slack's file host took them."""
        headers = {"Content-Type": "application/octet-stream"}
        status, content_type, answer = await self._post(UPLOAD, url, data, headers, self.timeout)
        if status == 200 and answer.startswith(b"OK"):
            return
        kind = content_type or "no_content_type"
        # A 4xx is about this URL (expired, already used, refused): asking again cannot help.
        raise SlackError(UPLOAD, f"http_{status}_{kind}", permanent=400 <= status < 500)

    async def _post(
        self, method: str, url: str, data: Any, headers: dict[str, str], answer_within: float
    ) -> tuple[int, str, bytes]:
        """One POST: its status, content type and body; `SlackError` when no answer came (a
        reset, a timeout), `_RateLimited` for a 429."""
        progress = _Progress()
        try:
            async with self._client().post(
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=answer_within),
                allow_redirects=False,  # a redirect is a proxy's login page, not Slack
                trace_request_ctx=progress,
            ) as response:
                answer = await response.read()
                status, content_type = response.status, response.content_type
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SlackError(
                method, _no_answer_code(error), permanent=False, maybe_done=progress.sent
            ) from error
        if status == 429:
            raise _RateLimited(method, _seconds(retry_after))
        return status, content_type, answer

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Made on first use, inside the running loop; one pool for every workspace.
            tracing = aiohttp.TraceConfig()
            tracing.on_request_headers_sent.append(_mark_sent)
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), trace_configs=[tracing]
            )
        return self._session

    def forget(self, token: str) -> None:
        """Drop what is kept for a token that was revoked or replaced: nothing, now that every
        call carries its own token; kept for the callers that say so."""

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _mark_sent(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    progress = context.trace_request_ctx
    if isinstance(progress, _Progress):
        progress.sent = True


def _request_body(method: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """The body carrying `params` (without the ones left out: None) and its content type."""
    given = {name: value for name, value in params.items() if value is not None}
    if method in JSON_BODY_METHODS:
        # Slack wants the charset said; without it, it adds a warning to every answer.
        return json.dumps(given).encode(), {"Content-Type": "application/json; charset=utf-8"}
    return {name: _form_value(value) for name, value in given.items()}, {}


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"  # what Slack reads as a boolean in a form
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return str(value)


def _no_answer_code(error: aiohttp.ClientError | TimeoutError) -> str:
    """What happened to a request that got no answer, as an error code."""
    if isinstance(error, TimeoutError):  # aiohttp's own timeouts are TimeoutErrors too
        return "timeout"
    if isinstance(error, aiohttp.ClientConnectorError):
        return "cannot_connect"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "server_disconnected"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "truncated_answer"
    if isinstance(error, ConnectionResetError) or (
        isinstance(error, aiohttp.ClientOSError) and error.errno == errno.ECONNRESET
    ):
        return "connection_reset"
    if isinstance(error, aiohttp.ClientConnectionError):
        return "connection_error"
    return f"client_error_{type(error).__name__}"


def _answer(method: str, status: int, content_type: str, body: bytes) -> dict[str, Any]:
    """Slack's answer when it is `ok`, else the `SlackError` that says what came back."""
    document = _json_object(content_type, body)
    if isinstance(document, str):  # not Slack's JSON: a proxy's page, a truncated body...
        raise SlackError(
            method,
            f"http_{status}_{document}",
            permanent=False,
            maybe_done=method in NOT_IDEMPOTENT and not 400 <= status < 500,
        )
    if status >= 500:
        code = _error_code(document, status)
        raise SlackError(method, code, permanent=False, maybe_done=method in NOT_IDEMPOTENT)
    ok = document.get("ok")
    if ok is True and 200 <= status < 300:
        return document
    if ok is not False:  # neither Slack's answer nor its refusal: we cannot tell which
        raise SlackError(method, f"http_{status}_unexpected_answer", permanent=False)
    code = _error_code(document, status)
    raise SlackError(
        method,
        code,
        permanent=code not in TRANSIENT_ERRORS and not code.startswith("http_"),
        maybe_done=method in NOT_IDEMPOTENT and code in MAYBE_DONE_ERRORS,
    )


def _error_code(document: dict[str, Any], status: int) -> str:
    error = document.get("error")
    return error if isinstance(error, str) and error else f"http_{status}_no_error_code"


def _json_object(content_type: str, body: bytes) -> dict[str, Any] | str:
    """The JSON object in `body`, or a word for what is there instead."""
    if content_type != "application/json":
        return content_type or "no_content_type"
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurdly deep nesting
        return "invalid_json"
    if not isinstance(document, dict):
        return "not_an_object"
    return document


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds (Slack sends whole seconds); the default when it is unreadable."""
    try:
        seconds = float(retry_after) if retry_after is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return max(0.0, seconds) if math.isfinite(seconds) else DEFAULT_RETRY_AFTER
