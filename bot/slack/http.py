"""POST /slack/events: aiohttp in front of bolt, verifying first and acknowledging at once what
needs no answer.

Nothing of a request is read before its signature checks out: the v0 signature is computed
here on the raw bytes (a body that is not even UTF-8 is refused without being decoded), and
a request that cannot be verified is answered 401 with one log line. A verified request is
then decoded and parsed (bot/slack/inbound.py); one that no listener could handle is answered
400 (a modal's unreadable input: a field error, which keeps the modal open), with one log line,
instead of failing inside bolt or after its acknowledgement. bolt still verifies the signature
itself: two checks of the same secret cost nothing.

Slack wants every request acknowledged within three seconds, and 200 people typing
`/okr status` in the same minute is an ordinary Monday. bolt acknowledges from inside its
pipeline (request parsing, middleware, authorization, listener matching, then a 10 ms poll
for the listener's `ack()`), about a millisecond of Python per request, on the event loop
that also runs the work after each acknowledgement; a burst then waits for all of it.

So a request whose acknowledgement carries nothing (a slash command, a button click, an
Events API callback) is answered here as soon as it is verified and parsed, and bolt runs it
in the background exactly as it would have. What must answer with a body goes through bolt
first: view submissions (errors, the next page), URL verification, SSL checks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.background import Background
from bot.slack.inbound import (
    AppRateLimited,
    BlockAction,
    EventCallback,
    Inbound,
    MalformedPayload,
    SlashCommand,
    decode_body,
    parse,
)

log = logging.getLogger(__name__)

TIMESTAMP = "X-Slack-Request-Timestamp"
SIGNATURE = "X-Slack-Signature"
MAX_AGE_SECONDS = 5 * 60  # Slack's own advice against replayed requests
_DIGITS = re.compile(r"[0-9]{1,15}")  # int() would also take " 1", "+1", "1_0", "١"
# What a person sees on a modal input whose state Slack sent in a shape we cannot read.
UNREADABLE_INPUT = "Drumbeat could not read this answer. Please try again."


def signature_problem(
    secret: bytes, headers: Mapping[str, str], raw: bytes, *, now: float
) -> str | None:
    """Why the request is not verifiably Slack's (None when it is): Slack's v0 signature is
    `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`, and the timestamp is recent."""
    stamp = headers.get(TIMESTAMP)
    if stamp is None:
        return f"no {TIMESTAMP}"
    if not _DIGITS.fullmatch(stamp):
        return f"{TIMESTAMP} is not a number of seconds"
    if abs(now - int(stamp)) > MAX_AGE_SECONDS:
        return f"{TIMESTAMP} is more than five minutes away from now"
    given = headers.get(SIGNATURE)
    if given is None:
        return f"no {SIGNATURE}"
    digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256)
    expected = "v0=" + digest.hexdigest()
    # compare_digest takes ASCII strings only; anything else cannot be the signature anyway
    if not given.isascii() or not hmac.compare_digest(expected, given):
        return "the signature does not match"
    return None


def acknowledged_at_once(inbound: Inbound) -> bool:
    """Requests whose acknowledgement is an empty 200 whatever the listener does: answered
    here, then run by bolt in the background."""
    return isinstance(inbound, SlashCommand | BlockAction | EventCallback)


def content_type(request: web.Request) -> str:
    """The media type as aiohttp reads it; MalformedPayload for a header it cannot read (the
    standard library's parser raises IndexError on some odd parameters)."""
    try:
        return request.content_type
    except (IndexError, ValueError) as error:
        raise MalformedPayload("the Content-Type header cannot be read") from error


def bolt_headers(request: web.Request) -> dict[str, str | Sequence[str]]:
    """The request's headers for bolt, with the content type as aiohttp read it (lower case,
    without parameters): bolt compares it as it is, and must read the body as we did."""
    headers: dict[str, str | Sequence[str]] = {
        name: value for name, value in request.headers.items() if name.lower() != "content-type"
    }
    headers["Content-Type"] = request.content_type
    return headers


def malformed_answer(problem: MalformedPayload) -> web.Response:
    """400, except inside a modal: an error on one of its inputs keeps it open."""
    if problem.field is not None:
        return web.json_response(
            {"response_action": "errors", "errors": {problem.field: UNREADABLE_INPUT}}
        )
    return web.Response(status=400)


class SlackEndpoint:
    def __init__(
        self,
        *,
        bolt: AsyncApp,
        signing_secret: str,
        workers: int = 32,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bolt = bolt
        self._secret = signing_secret.encode()
        self._clock = clock
        # bolt's pipeline for acknowledged requests runs a few at a time, so it never
        # crowds out the acknowledgements of the requests still arriving
        self._gate = asyncio.Semaphore(workers)
        self._background = Background("a Slack request after its acknowledgement")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        problem = signature_problem(self._secret, request.headers, raw, now=self._clock())
        if problem is not None:
            log.info("Slack request refused (401): %s", problem)
            return web.Response(status=401)
        try:
            body = decode_body(raw)
            inbound = parse(content_type(request), body)
        except MalformedPayload as malformed:
            log.warning("Slack request malformed (400): %s", malformed.reason)
            return malformed_answer(malformed)
        return await self._answer(inbound, request, body)

    async def _answer(
        self, inbound: Inbound, request: web.Request, body: str
    ) -> web.StreamResponse:
        if isinstance(inbound, AppRateLimited):
            log.warning(
                "Slack paused the events of workspace %s for a minute (rate limited)",
                inbound.team_id,
            )
            return web.Response(status=200)
        # built before any acknowledgement: bolt reads the body and builds its context here,
        # where a failure would be this request's 500, not a task's error after a 200
        bolt_request = AsyncBoltRequest(
            body=body, query=request.query_string, headers=bolt_headers(request)
        )
        if acknowledged_at_once(inbound):
            self._background.spawn(self._run(bolt_request))
            return web.Response(status=200)
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def _run(self, request: AsyncBoltRequest) -> None:
        async with self._gate:
            response = await self.bolt.async_dispatch(request)
        if response.status >= 400:  # what bolt would have told Slack: nobody handles it
            log.info("Slack request answered %s after its acknowledgement", response.status)

    async def drain(self) -> None:
        """Let the requests under way finish (shutdown, tests)."""
        await self._background.drain()
