"""A local Bot Framework connector: the service URL a Teams bot sends its messages to, as an
aiohttp server on 127.0.0.1, for tests and benchmarks.

It answers the v3 conversation routes botbuilder's ConnectorClient calls, with the shapes the
Bot Connector REST API documents:
    POST /v3/conversations                                     create a conversation (201)
    POST /v3/conversations/{conversation}/activities           send (201, {"id"})
    POST /v3/conversations/{conversation}/activities/{id}      reply (201, {"id"})
    PUT  /v3/conversations/{conversation}/activities/{id}      update (200, {"id"})
and records every call. Conversation ids may carry a thread (";messageid=...").

Limits, as Teams enforces them: per conversation 7 per second, 60 per 30 seconds and 1,800
per hour; per tenant `tenant_per_second` (30). A call over a limit gets 429 with a
Retry-After of whole seconds and is not recorded as delivered. `block(user)` makes every
call to that user's conversations (and creating one with them) answer 403 as Teams does when
someone blocked the bot; `fail(status, times)` makes the next calls answer a transient error.
`tolerance` (seconds) shortens every window a little: what a client paces at its end reaches
the connector with the jitter of threads and sockets in between, which Teams' "about 30 per
second" tolerates too.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import signal
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
PER_CONVERSATION = ((7, 1.0), (60, 30.0), (1800, 3600.0))
TENANT_PER_SECOND = 30


@dataclass
class Call:
    kind: str  # "create", "send", "reply", "update"
    conversation: str
    activity: dict[str, Any]
    at: float  # time.monotonic() when the connector received it
    status: int
    activity_id: str | None = None
    tenant: str = ""


@dataclass
class Window:
    """Arrival times of accepted calls within the last `seconds`, at most `count` of them."""

    count: int
    seconds: float
    tolerance: float = 0.0
    times: deque[float] = field(default_factory=deque)

    def wait(self, now: float) -> float:
        """0 when one more call fits now, else how long until one does."""
        while self.times and self.times[0] <= now - self.seconds + self.tolerance:
            self.times.popleft()
        if len(self.times) < self.count:
            return 0.0
        return self.times[0] + self.seconds - self.tolerance - now

    def add(self, now: float) -> None:
        self.times.append(now)


class TeamsConnector:
    def __init__(
        self,
        *,
        per_conversation: Iterable[tuple[int, float]] = PER_CONVERSATION,
        tenant_per_second: int | None = TENANT_PER_SECOND,
        tolerance: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_conversation = tuple(per_conversation)
        self.tenant_per_second = tenant_per_second
        self.tolerance = tolerance
        self.clock = clock
        self.calls: list[Call] = []
        self.conversations: dict[str, dict[str, Any]] = {}  # id -> {"user", "tenant", "group"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (conversation, id) -> last
        self.blocked: set[str] = set()
        self._failures: deque[tuple[int, int | None]] = deque()
        self._windows: dict[str, list[Window]] = {}
        self._tenants: dict[str, Window] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ---- scripting ----------------------------------------------------------------------------

    def block(self, user_id: str) -> None:
        self.blocked.add(user_id)

    def fail(self, status: int, times: int = 1, *, retry_after: int | None = None) -> None:
        """The next `times` calls answer `status` (with Retry-After when given)."""
        self._failures.extend([(status, retry_after)] * times)

    def add_conversation(
        self, conversation: str, *, user: str | None = None, tenant: str = "", group: bool = False
    ) -> None:
        """A conversation that exists already (the bot talked there before)."""
        self.conversations[conversation] = {"user": user, "tenant": tenant, "group": group}

    # ---- what was delivered -------------------------------------------------------------------

    def delivered(self, kind: str | None = None) -> list[Call]:
        return [
            c for c in self.calls if c.status < 300 and (kind is None or c.kind == kind)
        ]  # fmt: skip

    def refused(self, status: int) -> list[Call]:
        return [c for c in self.calls if c.status == status]

    def sent_to(self, conversation: str) -> list[Call]:
        return [
            c for c in self.delivered() if c.kind in ("send", "reply")
            and c.conversation.split(";")[0] == conversation
        ]  # fmt: skip

    # ---- the server ---------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TeamsConnector]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def start(
        self, port: int = 0, *, configure: Callable[[web.Application], None] | None = None
    ) -> str:
        app = web.Application()
        if configure is not None:
            configure(app)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        host, bound = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- routes -------------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        members = body.get("members") or []
        channel_data = body.get("channelData") or {}
        tenant = (channel_data.get("tenant") or {}).get("id") or body.get("tenantID") or ""
        user = members[0].get("id") if members and not body.get("isGroup") else None
        now = self.clock()
        denied = self._refusal(now, tenant, None, user)
        call = Call("create", "", body, now, denied.status if denied else 201, None, tenant)
        self.calls.append(call)
        if denied:
            return denied
        conversation = f"a:conversation-{next(self._ids)}"
        self.conversations[conversation] = {"user": user, "tenant": tenant, "group": False}
        call.conversation = conversation
        return web.json_response({"id": conversation}, status=201)

    async def _send(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        reply_to = request.match_info.get("activity")
        activity = await request.json()
        kind = "reply" if reply_to else "send"
        return self._deliver(kind, conversation, activity, None)

    async def _update(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = request.match_info["activity"]
        activity = await request.json()
        if (conversation, activity_id) not in self.messages:
            return _error(404, "ActivityNotFound", f"no activity {activity_id} in {conversation}")
        return self._deliver("update", conversation, activity, activity_id)

    def _deliver(
        self, kind: str, conversation: str, activity: dict[str, Any], activity_id: str | None
    ) -> web.Response:
        known = self.conversations.get(conversation.split(";")[0])
        if known is None:
            return _error(404, "ConversationNotFound", f"no conversation {conversation}")
        tenant = known["tenant"] or (activity.get("conversation") or {}).get("tenantId") or ""
        now = self.clock()
        denied = self._refusal(now, tenant, conversation.split(";")[0], known["user"])
        call = Call(kind, conversation, activity, now, 0, activity_id, tenant)
        self.calls.append(call)
        if denied:
            call.status = denied.status
            return denied
        if activity_id is None:
            activity_id = str(next(self._ids))
            call.status = 201
        else:
            call.status = 200
        call.activity_id = activity_id
        self.messages[(conversation, activity_id)] = activity
        return web.json_response({"id": activity_id}, status=call.status)

    def _refusal(
        self, now: float, tenant: str, conversation: str | None, user: str | None
    ) -> web.Response | None:
        if user is not None and user in self.blocked:
            return _error(403, "ConversationBlockedByUser", "The user blocked the bot.")
        if self._failures:
            status, retry_after = self._failures.popleft()
            scripted = _error(status, "ScriptedFailure", f"scripted {status}")
            if retry_after is not None:
                scripted.headers["Retry-After"] = str(retry_after)
            return scripted
        windows = [self._tenant(tenant)] if self.tenant_per_second else []
        if conversation is not None:
            windows += self._conversation(conversation)
        wait = max((w.wait(now) for w in windows), default=0.0)
        if wait > 0:
            response = _error(429, "TooManyRequests", "Too many requests")
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        for window in windows:
            window.add(now)
        return None

    def _tenant(self, tenant: str) -> Window:
        window = self._tenants.get(tenant)
        if window is None:
            assert self.tenant_per_second is not None
            window = self._tenants[tenant] = Window(self.tenant_per_second, 1.0, self.tolerance)
        return window

    def _conversation(self, conversation: str) -> list[Window]:
        windows = self._windows.get(conversation)
        if windows is None:
            windows = self._windows[conversation] = [
                Window(n, s, self.tolerance) for n, s in self.per_conversation
            ]
        return windows


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


# ---- in a process of its own ------------------------------------------------------------------
#
# In the test's own event loop the connector answers only when that loop is free, so a busy
# client sees its calls "arrive" in bursts that never left it that way. The benchmark runs it
# as a separate process (as Teams is), scripted and read over a few control routes.


def add_control_routes(app: web.Application, connector: TeamsConnector) -> None:
    async def conversations(request: web.Request) -> web.Response:
        for item in await request.json():
            connector.add_conversation(
                item["id"], user=item.get("user"), tenant=item.get("tenant", "")
            )
        return web.json_response({"ok": True})

    async def calls(request: web.Request) -> web.Response:
        return web.json_response([
            {"kind": c.kind, "conversation": c.conversation, "at": c.at, "status": c.status,
             "activity_id": c.activity_id, "tenant": c.tenant}
            for c in connector.calls
        ])  # fmt: skip

    app.router.add_post("/_control/conversations", conversations)
    app.router.add_get("/_control/calls", calls)


class ConnectorProcess:
    """`python -m tests.peers.teams_connector` as a child process: `async with` it."""

    def __init__(self, *, tolerance: float = 0.0) -> None:
        self.tolerance = tolerance
        self.url = ""
        self._process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ConnectorProcess:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.peers.teams_connector",
            "--tolerance", str(self.tolerance),
            stdout=asyncio.subprocess.PIPE, cwd=REPO,
        )  # fmt: skip
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        self.url = line.decode().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the connector did not start: {line!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            await self._process.wait()

    async def add_conversations(self, items: list[dict[str, Any]]) -> None:
        url = f"{self.url}/_control/conversations"
        async with aiohttp.ClientSession() as http, http.post(url, json=items) as response:
            response.raise_for_status()

    async def calls(self) -> list[Call]:
        url = f"{self.url}/_control/calls"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            response.raise_for_status()
            rows = await response.json()
        return [
            Call(r["kind"], r["conversation"], {}, r["at"], r["status"], r["activity_id"],
                 r["tenant"])
            for r in rows
        ]  # fmt: skip


async def _serve(tolerance: float) -> None:
    connector = TeamsConnector(tolerance=tolerance)
    url = await connector.start(configure=lambda app: add_control_routes(app, connector))
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await connector.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A local Bot Framework connector.")
    parser.add_argument("--tolerance", type=float, default=0.0)
    asyncio.run(_serve(parser.parse_args().tolerance))
