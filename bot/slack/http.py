"""POST /slack/events: aiohttp in front of bolt, acknowledging at once what needs no answer.

Slack wants every request acknowledged within three seconds, and 200 people typing
`/okr status` in the same minute is an ordinary Monday. bolt acknowledges from inside its
pipeline (request parsing, middleware, authorization, listener matching, then a 10 ms poll
for the listener's `ack()`), about a millisecond of Python per request, on the event loop
that also runs the work after each acknowledgement; a burst then waits for all of it.

So a request whose acknowledgement carries nothing (a slash command, a button click, an
Events API callback) is answered here as soon as its signature checks out, and bolt runs it
in the background exactly as it would have. What must answer with a body goes through bolt
first: view submissions (errors, the next page), URL verification, SSL checks, options.
A forged or stale request is never acknowledged here: bolt answers it with 401.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import is_block_actions, is_event
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


def needs_no_answer(content_type: str, raw: str) -> bool:
    """Requests whose acknowledgement is an empty 200, whatever the listener does: slash
    commands, block_actions and event callbacks (read from the raw body, as bolt would)."""
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return False
        return isinstance(body, dict) and is_event(body)
    form = parse_qs(raw)
    if "payload" in form:
        try:
            payload = json.loads(form["payload"][0])
        except ValueError:
            return False
        return isinstance(payload, dict) and is_block_actions(payload)
    return "command" in form


class SlackEndpoint:
    def __init__(self, *, bolt: AsyncApp, signing_secret: str, workers: int = 4) -> None:
        self.bolt = bolt
        self.verifier = SignatureVerifier(signing_secret)
        # bolt's pipeline for acknowledged requests runs a few at a time, so it never
        # crowds out the acknowledgements of the requests still arriving
        self._gate = asyncio.Semaphore(workers)
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        if needs_no_answer(request.content_type, raw) and self.verifier.is_valid(
            body=raw,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
        ):
            task = asyncio.ensure_future(
                self._run(raw, query=request.query_string, headers=dict(request.headers))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return web.Response(status=200)
        bolt_request = AsyncBoltRequest(
            body=raw, query=request.query_string, headers=dict(request.headers)
        )
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def _run(self, raw: str, *, query: str, headers: dict[str, str]) -> None:
        async with self._gate:
            request = AsyncBoltRequest(body=raw, query=query, headers=headers)
            response = await self.bolt.async_dispatch(request)
        if response.status >= 400:  # what bolt would have told Slack: nobody handles it
            log.info("Slack request answered %s after its acknowledgement", response.status)

    async def drain(self) -> None:
        """Let the requests under way finish (shutdown, tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
