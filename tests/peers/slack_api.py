"""A local Slack Web API: an aiohttp server on 127.0.0.1 that Slack clients talk to through
their `base_url`, for tests and benchmarks.

It answers the methods Drumbeat calls with the shapes Slack documents (`ok: false` and an
error code on HTTP 200 for request errors, 429 with Retry-After for rate limits), checks the
bearer token of every call, and rejects Block Kit that Slack would reject
(tests/bot/slack/blockkit.py). It records every call, keeps the messages it was sent (with
their updates and metadata, readable back with `conversations.history`), the views it opened
and published, and what was posted to response URLs.

Rate limits: `per_channel` (messages per second to one channel) and `workspace_cap` (messages
per second in one workspace) make chat.postMessage answer 429 like Slack does when a client
posts faster; `tolerance` absorbs network jitter. On top, failures can be scripted: `fail`
(an `ok: false` error), `server_error` (HTTP 5xx), `throttle` (the next calls get 429) and
`storm` (every call gets 429 for a while, from the Nth call on).

Faults: `faults` (a `FaultSchedule`) makes chosen calls of a method go wrong the way networks,
proxies and Slack itself do: any status with any body and content type, `ok: false`
`internal_error`, an answer that never comes (the call hangs until the client gives up) or a
connection reset, each either before the call is carried out or after it (the message is
posted, then the answer is lost), 429s and 429 storms. Calls are numbered per method from 1:

    slack.faults.add(method="chat.postMessage", calls={3, 7}, fault=Fault.HANG_AFTER)
    slack.faults.add(method="users.info", times=2, fault=Fault.HTML_502)
    slack.faults.random(rate=0.02, seed=1, methods=["chat.postMessage", "users.info"])

Each `Call` records the fault it got (`fault`) and whether its effect happened (`effect`), so
a test can tell "posted but unanswered" from "never posted".

Files: `files.getUploadURLExternal` hands out an `upload_url` on this server (Slack's is on
files.slack.com) and a file id; POSTing the bytes there answers `200 OK - <length>`;
`files.completeUploadExternal` shares the files in a conversation (a thread with `thread_ts`).
`uploads` holds what was shared (bytes, alt text, channel, thread); sharing refuses what Slack
refuses: bytes never sent or of another length than declared, a file shared already, a
conversation the bot cannot post files in. The upload URL's calls are counted and faulted as
the method `UPLOAD` ("upload_url").

Socket Mode: `apps.connections.open` (with the app-level token) hands out a websocket URL on
this server that says hello and carries envelopes; `envelope()` sends one and waits for the
client's acknowledgement.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import itertools
import json
import math
import random
import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, WSMsgType, web

from tests.bot.slack.blockkit import block_problems, view_problems

TRIGGER_SECONDS = 3.0
HISTORY_LIMIT = 100  # conversations.history's default page, and
HISTORY_MAX = 999  # its largest
HANG_POLL = 0.01  # how often a hanging call looks whether its client has left (seconds)


@dataclass
class FakeTeam:
    id: str
    name: str
    bot_token: str
    bot_user_id: str = "UBOTDRUM"
    bot_id: str = "BDRUM"


@dataclass
class FakeUser:
    id: str
    email: str
    team: str = "T0001"
    tz: str = "Europe/Paris"
    name: str = ""
    deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        name = self.name or self.email.split("@")[0]
        return {
            "id": self.id,
            "team_id": self.team,
            "name": name,
            "deleted": self.deleted,
            "real_name": name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "is_bot": False,
            "is_admin": False,
            "profile": {"email": self.email, "real_name": name, "display_name": name},
        }


FaultKind = Literal["answer", "hang", "reset", "rate_limited", "storm"]


@dataclass(frozen=True, slots=True)
class Fault:
    """What goes wrong with one call. `after`: the call is carried out first (its message
    posted, its view opened) and only its answer goes wrong; else it never is.

    - "answer": HTTP `status` with `body` as `content_type` instead of Slack's answer.
    - "hang": no answer; the request is held until the client gives up (its timeout), then
      the connection is dropped.
    - "reset": the connection is reset (TCP RST) instead of answering.
    - "rate_limited": 429 with Retry-After `retry_after` (never `after`: Slack refused).
    - "storm": this call and every call of the method for `seconds` get 429.
    """

    name: str
    kind: FaultKind
    after: bool = False
    status: int = 200
    content_type: str = "application/json"
    body: str = ""
    retry_after: float = 1.0
    seconds: float = 0.0

    TEXT_405: ClassVar[Fault]
    HTML_200: ClassVar[Fault]
    HTML_502: ClassVar[Fault]
    HTML_503: ClassVar[Fault]
    EMPTY_200: ClassVar[Fault]
    JSON_ARRAY_200: ClassVar[Fault]
    INTERNAL_ERROR: ClassVar[Fault]
    INTERNAL_ERROR_AFTER: ClassVar[Fault]
    HANG_BEFORE: ClassVar[Fault]
    HANG_AFTER: ClassVar[Fault]
    RESET_BEFORE: ClassVar[Fault]
    RESET_AFTER: ClassVar[Fault]
    RATE_LIMITED: ClassVar[Fault]
    STORM: ClassVar[Fault]

    @classmethod
    def answer(cls, status: int, content_type: str, body: str, *, after: bool = False) -> Fault:
        """Any answer at all, e.g. a proxy's `405 text/plain` or an HTML error page."""
        name = f"http_{status}_{content_type}" + ("_after" if after else "")
        return cls(name, "answer", after, status, content_type, body)

    @classmethod
    def slack_error(cls, error: str, *, status: int = 200, after: bool = False) -> Fault:
        """Slack's own refusal, `{"ok": false, "error": error}`."""
        body = json.dumps({"ok": False, "error": error})
        return cls(error + ("_after" if after else ""), "answer", after, status, body=body)

    @classmethod
    def hang(cls, *, after: bool) -> Fault:
        return cls("hang_after" if after else "hang_before", "hang", after)

    @classmethod
    def reset(cls, *, after: bool) -> Fault:
        return cls("reset_after" if after else "reset_before", "reset", after)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0) -> Fault:
        return cls("rate_limited", "rate_limited", status=429, retry_after=retry_after)

    @classmethod
    def storm(cls, seconds: float, retry_after: float = 1.0) -> Fault:
        return cls("storm", "storm", status=429, retry_after=retry_after, seconds=seconds)

    def after_effect(self) -> Fault:
        """The same fault, once the call has been carried out."""
        if self.kind in ("rate_limited", "storm"):
            raise ValueError("a 429 means Slack did not carry the call out")
        name = self.name if self.after else self.name + "_after"
        return dataclasses.replace(self, after=True, name=name)


Fault.TEXT_405 = Fault.answer(405, "text/plain", "Method Not Allowed")
Fault.HTML_200 = Fault.answer(200, "text/html", "<html><body>Please sign in</body></html>")
Fault.HTML_502 = Fault.answer(
    502, "text/html", "<html><head><title>502 Bad Gateway</title></head></html>"
)
Fault.HTML_503 = Fault.answer(
    503, "text/html", "<html><head><title>503 Service Unavailable</title></head></html>"
)
Fault.EMPTY_200 = Fault.answer(200, "application/json", "")
Fault.JSON_ARRAY_200 = Fault.answer(200, "application/json", "[]")
Fault.INTERNAL_ERROR = Fault.slack_error("internal_error")
Fault.INTERNAL_ERROR_AFTER = Fault.slack_error("internal_error", after=True)
Fault.HANG_BEFORE = Fault.hang(after=False)
Fault.HANG_AFTER = Fault.hang(after=True)
Fault.RESET_BEFORE = Fault.reset(after=False)
Fault.RESET_AFTER = Fault.reset(after=True)
Fault.RATE_LIMITED = Fault.rate_limited(1.0)
Fault.STORM = Fault.storm(seconds=5.0, retry_after=1.0)

# What `FaultSchedule.random` picks from unless told otherwise.
RANDOM_FAULTS: tuple[Fault, ...] = (
    Fault.TEXT_405, Fault.HTML_200, Fault.HTML_502, Fault.HTML_503, Fault.INTERNAL_ERROR,
    Fault.INTERNAL_ERROR_AFTER, Fault.HANG_BEFORE, Fault.HANG_AFTER, Fault.RESET_BEFORE,
    Fault.RESET_AFTER, Fault.RATE_LIMITED,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Planned:
    method: str
    fault: Fault
    start: int  # the first call number it may hit
    calls: frozenset[int] | None  # None: every call from `start` on

    def hits(self, method: str, number: int) -> bool:
        return (
            method == self.method
            and number >= self.start
            and (self.calls is None or number in self.calls)
        )


@dataclass(slots=True)
class _RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[Fault, ...]
    methods: frozenset[str] | None


class FaultSchedule:
    """Which calls go wrong, and how. Calls are numbered per method, from 1, in the order
    they reach the server (faulted ones included). Planned faults come first; the first one
    added that matches a call wins. Random faults apply to the calls no plan matched."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._planned: list[_Planned] = []
        self._random: _RandomFaults | None = None

    def add(
        self,
        *,
        method: str,
        fault: Fault,
        calls: Iterable[int] | None = None,
        nth: int | None = None,
        times: int | None = None,
    ) -> None:
        """`calls` (call numbers, e.g. {3, 7} or range(1, 20) for a storm), `nth` (one call
        number), `times` (the next so many calls), or none of them: every call from now on."""
        if sum(x is not None for x in (calls, nth, times)) > 1:
            raise ValueError("say calls, nth or times, not several")
        seen = self.seen(method)
        chosen: frozenset[int] | None = None
        if calls is not None:
            chosen = frozenset(calls)
        elif nth is not None:
            chosen = frozenset({nth})
        elif times is not None:
            chosen = frozenset(range(seen + 1, seen + 1 + times))
        if chosen is not None and any(n < 1 for n in chosen):
            raise ValueError("calls are numbered from 1")
        start = 1 if chosen is not None else seen + 1
        self._planned.append(_Planned(method, fault, start, chosen))

    def random(
        self,
        *,
        rate: float,
        seed: int = 1,
        kinds: Sequence[Fault] = RANDOM_FAULTS,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Each call of `methods` (all when None) goes wrong with probability `rate`, in one
        of `kinds` picked at random; the same seed gives the same faults for the same calls."""
        if not 0 <= rate <= 1 or not kinds:
            raise ValueError("a rate between 0 and 1 and at least one kind of fault")
        self._random = _RandomFaults(
            rate, random.Random(seed), tuple(kinds),
            frozenset(methods) if methods is not None else None,
        )  # fmt: skip

    def clear(self) -> None:
        """No more faults (the call numbers go on)."""
        self._planned.clear()
        self._random = None

    def seen(self, method: str) -> int:
        """How many calls of `method` have reached the server."""
        return self._seen.get(method, 0)

    def next_call(self, method: str) -> tuple[int, Fault | None]:
        """Number the call that just arrived and say what goes wrong with it."""
        number = self._seen[method] = self.seen(method) + 1
        for planned in self._planned:
            if planned.hits(method, number):
                return number, planned.fault
        chance = self._random
        if chance is None or (chance.methods is not None and method not in chance.methods):
            return number, None
        if chance.rng.random() < chance.rate:
            return number, chance.rng.choice(chance.kinds)
        return number, None


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    team: str | None
    at: float
    status: int = 200  # 0 when no answer was given (a hang, a reset)
    error: str | None = None
    number: int = 0  # this call's number among the calls of its method, from 1
    fault: Fault | None = None
    effect: bool = False  # it was carried out (whatever the client was told)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Post:
    team: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    user: str = ""  # who posted it (the bot user)
    bot_id: str = ""

    @property
    def current(self) -> dict[str, Any]:
        """What the message reads now: the last update, or the post itself."""
        return self.updates[-1] if self.updates else {"text": self.text, "blocks": self.blocks}


UPLOAD = "upload_url"  # the upload URL's calls, for `calls_to` and `faults`
ALT_TEXT_LIMIT = 1000
# Slack documents no error codes for these cases of files.completeUploadExternal (its list
# names none); the fake's stand-ins, which a client must treat like any other refusal.
NOT_UPLOADED = "file_not_uploaded"
WRONG_LENGTH = "file_size_mismatch"


@dataclass
class FakeFile:
    """A file from files.getUploadURLExternal to its sharing."""

    id: str
    team: str
    filename: str
    length: int  # as declared to getUploadURLExternal
    alt_txt: str | None
    key: str  # the upload URL's last part
    data: bytes | None = None  # what was POSTed to the upload URL
    uploads: int = 0  # how many times bytes were POSTed
    title: str | None = None
    channel: str | None = None  # where it was shared; None while it is not
    thread_ts: str | None = None
    shared_at: float | None = None

    @property
    def shared(self) -> bool:
        return self.shared_at is not None


@dataclass
class _Gcra:
    """A rate limit that refuses instead of waiting: `wait` is 0 when a call conforms, else the
    seconds until it would; `take` counts a call that was let through."""

    interval: float
    tolerance: float
    tat: float = 0.0

    def wait(self, now: float) -> float:
        return max(0.0, self.tat - self.tolerance - now)

    def take(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval


@dataclass
class _Storm:
    method: str
    after: int
    seconds: float
    retry_after: float
    started: float | None = None


class SlackApiError(Exception):
    """An `ok: false` answer (HTTP 200 unless `status` says otherwise)."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class FakeSlack:
    def __init__(
        self,
        *,
        teams: Iterable[FakeTeam] = (FakeTeam("T0001", "Acme", "xoxb-0001-fake"),),
        users: Iterable[FakeUser] = (),
        channels: Iterable[str] = ("C0GENERAL",),
        private_channels: Iterable[str] = (),
        archived_channels: Iterable[str] = (),
        outside_channels: Iterable[str] = (),
        per_channel: float | None = None,
        workspace_cap: float | None = None,
        tolerance: float = 0.05,
        whole_seconds: bool = True,
        validate: bool = True,
        client_id: str = "1111.2222",
        client_secret: str = "fake-client-secret",
        app_token: str = "xapp-1-A0001-fake",
        clock: Callable[[], float] = time.monotonic,
        max_hang: float = 30.0,
    ) -> None:
        self.teams = {t.id: t for t in teams}
        self.users = {u.id: u for u in users}
        self.channels = set(channels)
        self.private_channels = set(private_channels)  # the bot is not a member
        self.archived_channels = set(archived_channels)
        # Public channels the bot is not a member of: chat:write.public posts there, but a
        # file can only be shared where the bot is a member.
        self.outside_channels = set(outside_channels)
        self.channels |= self.outside_channels
        self.per_channel = per_channel
        self.workspace_cap = workspace_cap
        self.tolerance = tolerance
        self.whole_seconds = whole_seconds  # Retry-After in whole seconds, as Slack sends it
        self.validate = validate
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_token = app_token
        self.clock = clock
        self.max_hang = max_hang  # a hanging call gives up after this long (real seconds)
        self.faults = FaultSchedule()

        self.calls: list[Call] = []
        self.posts: list[Post] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}
        self.files: dict[str, FakeFile] = {}
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.violations = 0  # 429s from the enforced limits (not the scripted ones)
        self.envelope_acks: dict[str, dict[str, Any]] = {}

        self._ids = itertools.count(1)
        self._triggers: dict[str, float] = {}
        self._codes: dict[str, tuple[str, str]] = {}
        self._scripted: dict[str, list[tuple[str, Any]]] = {}
        self._storms: list[_Storm] = []
        self._served: dict[str, int] = {}
        self._channel_limits: dict[tuple[str, str], _Gcra] = {}
        self._team_limits: dict[str, _Gcra] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._opened: set[str] = set()  # DM channels conversations.open has opened
        self._stopping = asyncio.Event()  # ends the hanging calls
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- life -----------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        self._stopping = asyncio.Event()  # of this loop: a FakeSlack may be started again
        app = web.Application(client_max_size=8 * 2**20)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_post("/upload/v1/{key}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._stopping.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The Web API base URL (`SLACK_API_URL`)."""
        return f"{self.root}/api/"

    # ---- what tests set up ----------------------------------------------------------------

    def add_user(self, user: FakeUser) -> FakeUser:
        self.users[user.id] = user
        return user

    def trigger(self) -> str:
        """A trigger id, as Slack puts in an interaction payload: valid for three seconds."""
        trigger = f"{next(self._ids)}.{int(time.time())}.fake{next(self._ids):x}"
        self._triggers[trigger] = self.clock()
        return trigger

    def response_url(self, key: str = "") -> str:
        return f"{self.root}/respond/{key or next(self._ids)}"

    def oauth_code(self, team: FakeTeam, installer: str = "UINSTALLER") -> str:
        """A code that `oauth.v2.access` exchanges for `team`'s bot token, once."""
        self.teams.setdefault(team.id, team)
        code = f"code-{next(self._ids)}"
        self._codes[code] = (team.id, installer)
        return code

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        self._scripted.setdefault(method, []).extend([("error", error)] * times)

    def server_error(self, method: str, *, times: int = 1, status: int = 503) -> None:
        self._scripted.setdefault(method, []).extend([("status", status)] * times)

    def throttle(self, method: str, *, times: int = 1, retry_after: float = 1) -> None:
        """The next `times` calls of `method` get 429 with this Retry-After."""
        self._scripted.setdefault(method, []).extend([("429", retry_after)] * times)

    def storm(self, method: str, *, after: int, seconds: float, retry_after: float = 1) -> None:
        """Once `after` calls of `method` succeeded, every call gets 429 for `seconds`."""
        self._storms.append(_Storm(method, after, seconds, retry_after))

    # ---- what tests read ------------------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def faulted(self, method: str | None = None) -> list[Call]:
        """The calls (of `method`) that a fault hit."""
        return [c for c in self.calls if c.fault and (method is None or c.method == method)]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def posts_in(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel]

    def dms_to(self, user_id: str) -> list[Post]:
        return self.posts_in(self.dm_channel(user_id))

    @property
    def uploads(self) -> list[FakeFile]:
        """The files shared, in the order they were."""
        shared = [f for f in self.files.values() if f.shared_at is not None]
        return sorted(shared, key=lambda f: f.shared_at or 0.0)

    def uploads_in(self, channel: str) -> list[FakeFile]:
        return [f for f in self.uploads if f.channel == channel]

    # ---- socket mode ----------------------------------------------------------------------

    async def envelope(
        self, kind: str, payload: Mapping[str, Any], *, within: float = 5.0
    ) -> dict[str, Any]:
        """Send an envelope ("slash_commands", "interactive", "events_api") to the connected
        Socket Mode client and wait for its acknowledgement."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode client is connected")
        envelope_id = f"env-{next(self._ids)}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = waiter
        await self._sockets[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": dict(payload),
            "accepts_response_payload": kind != "events_api", "retry_attempt": 0,
            "retry_reason": "",
        })  # fmt: skip
        try:
            return await asyncio.wait_for(waiter, within)
        finally:
            self._waiting.pop(envelope_id, None)

    async def connected(self, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not self._sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no Socket Mode client connected")
            await asyncio.sleep(0.01)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({
            "type": "hello", "num_connections": len(self._sockets),
            "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0001"},
        })  # fmt: skip
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                envelope_id = data.get("envelope_id")
                if envelope_id:
                    self.envelope_acks[envelope_id] = data
                    waiter = self._waiting.get(envelope_id)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws

    # ---- HTTP -----------------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        blocks = body.get("blocks")
        if self.validate and blocks is not None and block_problems(blocks):
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append((request.match_info["key"], body))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """A file's bytes POSTed to its upload URL (raw, or as the one file of a multipart
        form), answered as Slack's file host answers: `200 OK - <length>`, text/plain."""
        key = request.match_info["key"]
        data = await _upload_bytes(request)
        call = Call(UPLOAD, {"key": key, "length": len(data)}, None, self.clock())
        self.calls.append(call)
        call.number, call.fault = self.faults.next_call(UPLOAD)
        if call.fault is not None and not call.fault.after:
            return await self._go_wrong(request, call, call.fault)
        found = next((f for f in self.files.values() if f.key == key), None)
        if found is None or found.shared:
            call.status, call.error = 404, "upload_url_not_found"
            response = web.Response(status=404, text="Not Found", content_type="text/plain")
        else:
            call.team, call.effect = found.team, True
            found.data, found.uploads = data, found.uploads + 1
            response = web.Response(text=f"OK - {len(data)}", content_type="text/plain")
        if call.fault is not None:
            return await self._go_wrong(request, call, call.fault)
        return response

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params, None, self.clock())
        self.calls.append(call)
        call.number, call.fault = self.faults.next_call(method)
        if call.fault is not None and not call.fault.after:
            return await self._go_wrong(request, call, call.fault)
        response = await self._answer(request, call)
        if call.fault is not None:
            return await self._go_wrong(request, call, call.fault)
        return response

    async def _answer(self, request: web.Request, call: Call) -> web.Response:
        """Slack's answer to `call`, having carried it out if it can be."""
        method, params = call.method, call.params
        try:
            team = self._authenticate(request, method, params)
            call.team = team.id if team else None
            self._scripted_failure(method)
            self._storm(method)
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackApiError("unknown_method")
            answer = await handler(team, params) if asyncio.iscoroutinefunction(handler) else (
                handler(team, params)
            )  # fmt: skip
        except _RateLimited as limited:
            call.status, call.error = 429, "ratelimited"
            return self._rate_limited(limited.retry_after)
        except SlackApiError as error:
            call.status, call.error = error.status, error.error
            if error.status >= 500:
                return web.Response(status=error.status, text="<html>upstream error</html>",
                                    content_type="text/html")  # fmt: skip
            return web.json_response({"ok": False, "error": error.error, **error.extra})
        call.effect = True
        self._served[method] = self._served.get(method, 0) + 1
        return web.json_response({"ok": True, **answer})

    def _rate_limited(self, retry_after: float) -> web.Response:
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": self._seconds(retry_after)},
        )

    async def _go_wrong(self, request: web.Request, call: Call, fault: Fault) -> web.Response:
        """What the client gets instead of Slack's answer to `call`."""
        call.status, call.error = fault.status, fault.name
        if fault.kind == "answer":
            return web.Response(
                status=fault.status, body=fault.body.encode(), content_type=fault.content_type
            )
        if fault.kind == "storm":
            self._storms.append(
                _Storm(call.method, 0, fault.seconds, fault.retry_after, started=self.clock())
            )
        if fault.kind in ("rate_limited", "storm"):
            return self._rate_limited(fault.retry_after)
        call.status = 0
        if fault.kind == "hang":
            await self._hang(request)
        _reset(request)
        return web.Response(status=500)  # never delivered: the connection is gone

    async def _hang(self, request: web.Request) -> None:
        """Hold the request until its client gives up, the server stops or `max_hang`."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.max_hang
        while _connected(request) and loop.time() < give_up:
            try:
                await asyncio.wait_for(self._stopping.wait(), HANG_POLL)
                return
            except TimeoutError:
                continue  # aiohttp says nothing when a client leaves: look again

    def _seconds(self, wait: float) -> str:
        if self.whole_seconds:
            return str(max(1, math.ceil(wait)))
        return f"{max(wait, 0.001):.3f}"

    def _authenticate(
        self, request: web.Request, method: str, params: dict[str, Any]
    ) -> FakeTeam | None:
        header = request.headers.get("Authorization", "")
        if method == "oauth.v2.access":
            if header.startswith("Basic "):
                pair = base64.b64decode(header[6:]).decode()
                client_id, _, secret = pair.partition(":")
            else:
                client_id, secret = params.get("client_id", ""), params.get("client_secret", "")
            if (client_id, secret) != (self.client_id, self.client_secret):
                raise SlackApiError("invalid_client_id")
            return None
        token = header[7:] if header.startswith("Bearer ") else params.get("token")
        if not token:
            raise SlackApiError("not_authed")
        if method == "apps.connections.open":
            if token != self.app_token:
                raise SlackApiError("invalid_auth")
            return None
        for team in self.teams.values():
            if team.bot_token == token:
                return team
        raise SlackApiError("invalid_auth")

    def _scripted_failure(self, method: str) -> None:
        queue = self._scripted.get(method)
        if not queue:
            return
        kind, value = queue.pop(0)
        if kind == "error":
            raise SlackApiError(value)
        if kind == "status":
            raise SlackApiError("server_error", status=value)
        raise _RateLimited(value)

    def _storm(self, method: str) -> None:
        now = self.clock()
        for storm in self._storms:
            if storm.method != method:
                continue
            if storm.started is None and self._served.get(method, 0) >= storm.after:
                storm.started = now
            if storm.started is not None and now < storm.started + storm.seconds:
                raise _RateLimited(min(storm.retry_after, storm.started + storm.seconds - now))

    def _enforce_message_limits(self, team: FakeTeam, channel: str) -> None:
        """Refuse a message over either limit; a refused message counts against neither."""
        now = self.clock()
        limits = []
        if self.per_channel:
            limits.append(self._channel_limits.setdefault(
                (team.id, channel), _Gcra(1 / self.per_channel, self.tolerance)
            ))  # fmt: skip
        if self.workspace_cap:
            limits.append(self._team_limits.setdefault(
                team.id, _Gcra(1 / self.workspace_cap, self.tolerance)
            ))  # fmt: skip
        wait = max((limit.wait(now) for limit in limits), default=0.0)
        if wait > 0:
            self.violations += 1
            raise _RateLimited(wait)
        for limit in limits:
            limit.take(now)

    # ---- methods --------------------------------------------------------------------------

    def _m_auth_test(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{team.name.lower()}.slack.com/", "team": team.name,
            "user": "drumbeat", "team_id": team.id, "user_id": team.bot_user_id,
            "bot_id": team.bot_id, "is_enterprise_install": False,
        }  # fmt: skip

    def _m_apps_connections_open(self, team: None, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    def _m_oauth_v2_access(self, team: None, params: dict[str, Any]) -> dict[str, Any]:
        found = self._codes.pop(str(params.get("code")), None)
        if found is None:
            raise SlackApiError("invalid_code")
        installed = self.teams[found[0]]
        return {
            "access_token": installed.bot_token, "token_type": "bot",
            "scope": "chat:write,chat:write.public,commands,im:write,users:read,users:read.email,"
                     "files:write",
            "bot_user_id": installed.bot_user_id, "app_id": "A0001",
            "team": {"id": installed.id, "name": installed.name}, "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": found[1], "scope": "", "token_type": "user"},
        }  # fmt: skip

    def _user(self, team: FakeTeam, user_id: str) -> FakeUser:
        user = self.users.get(user_id)
        if user is None or user.team != team.id:
            raise SlackApiError("user_not_found")
        return user

    def _m_users_info(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(team, str(params.get("user"))).as_json()}

    def _m_users_list(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        members = [u for u in self.users.values() if u.team == team.id]
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = members[start : start + limit]
        more = start + limit < len(members)
        return {
            "members": [u.as_json() for u in page],
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _m_users_lookupByEmail(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        for user in self.users.values():
            if user.team == team.id and user.email.lower() == email:
                return {"user": user.as_json()}
        raise SlackApiError("users_not_found")

    def _dm_user(self, team: FakeTeam, channel: str) -> FakeUser | None:
        """Whose DM with the bot `channel` is, if it is one in `team`."""
        return next(
            (
                u
                for u in self.users.values()
                if u.team == team.id and self.dm_channel(u.id) == channel
            ),
            None,
        )

    def _m_conversations_open(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        """The bot's DM with one user (`users`), or a DM reopened by its id (`channel`)."""
        if params.get("channel"):
            user = self._dm_user(team, str(params["channel"]))
            if user is None:
                raise SlackApiError("channel_not_found")
        else:
            users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
            if not users:
                raise SlackApiError("users_list_not_supplied")
            if len(users) != 1:
                raise SlackApiError("not_implemented")  # group DMs: Drumbeat has none
            user = self._user(team, users[0])
            if user.deleted:
                raise SlackApiError("user_disabled")
        channel = self.dm_channel(user.id)
        already_open = channel in self._opened
        self._opened.add(channel)
        answer: dict[str, Any] = {"channel": {"id": channel}}
        if _flag(params.get("return_im")):
            answer["channel"] |= {"is_im": True, "user": user.id, "is_open": True}
        if already_open:
            answer |= {"no_op": True, "already_open": True}
        return answer

    def _m_conversations_history(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        """A conversation's messages, newest first, a page at a time (thread replies left
        out, as Slack does); message metadata only with `include_all_metadata`."""
        channel = self._readable_channel(team, str(params.get("channel") or ""))
        inclusive = _flag(params.get("inclusive"))
        oldest = _timestamp(params.get("oldest"), "invalid_ts_oldest") or Decimal(0)
        latest = _timestamp(params.get("latest"), "invalid_ts_latest")
        start = _cursor_ts(params.get("cursor"))
        limit = min(int(params.get("limit") or HISTORY_LIMIT), HISTORY_MAX)
        if limit < 1:
            raise SlackApiError("invalid_limit")

        def in_range(ts: Decimal) -> bool:
            above = ts >= oldest if inclusive else ts > oldest
            below = latest is None or (ts <= latest if inclusive else ts < latest)
            return above and below and (start is None or ts <= start)

        found = sorted(
            (p for p in self.posts if p.team == team.id and p.channel == channel
             and p.thread_ts in (None, p.ts) and in_range(Decimal(p.ts))),
            key=lambda p: Decimal(p.ts), reverse=True,
        )  # fmt: skip
        page, rest = found[:limit], found[limit:]
        metadata = _flag(params.get("include_all_metadata"))
        answer: dict[str, Any] = {
            "messages": [self._history_message(p, metadata=metadata) for p in page],
            "has_more": bool(rest), "pin_count": 0, "channel_actual_pin_count": 0,
        }  # fmt: skip
        if rest:
            cursor = base64.b64encode(f"next_ts:{rest[0].ts}".encode()).decode()
            answer["response_metadata"] = {"next_cursor": cursor}
        return answer

    def _readable_channel(self, team: FakeTeam, channel: str) -> str:
        """A conversation id whose history the bot may read, or Slack's error for it."""
        if channel.startswith("D"):
            if self._dm_user(team, channel) is None:
                raise SlackApiError("channel_not_found")
            return channel
        if channel in self.private_channels:
            raise SlackApiError("not_in_channel")
        if channel not in self.channels and channel not in self.archived_channels:
            raise SlackApiError("channel_not_found")  # a user id among them: not a conversation
        return channel

    def _history_message(self, post: Post, *, metadata: bool) -> dict[str, Any]:
        current = post.current
        message: dict[str, Any] = {
            "type": "message", "user": post.user, "bot_id": post.bot_id, "app_id": "A0001",
            "text": current["text"], "ts": post.ts, "team": post.team,
        }  # fmt: skip
        if current["blocks"]:
            message["blocks"] = current["blocks"]
        replies = [p for p in self.posts if p.thread_ts == post.ts and p.channel == post.channel]
        if replies:
            message |= {"thread_ts": post.ts, "reply_count": len(replies),
                        "latest_reply": replies[-1].ts}  # fmt: skip
        if metadata and post.metadata is not None:
            message["metadata"] = post.metadata
        return message

    def _channel(self, team: FakeTeam, channel: str) -> str:
        """The channel id a message to `channel` lands in, or Slack's error for it."""
        if channel[:1] in ("U", "W"):
            user = self.users.get(channel)
            if user is None or user.team != team.id:
                raise SlackApiError("channel_not_found")
            if user.deleted:
                raise SlackApiError("user_disabled")
            return self.dm_channel(user.id)
        if channel.startswith("D"):
            if not any(self.dm_channel(u) == channel for u in self.users):
                raise SlackApiError("channel_not_found")
            return channel
        if channel in self.archived_channels:
            raise SlackApiError("is_archived")
        if channel in self.private_channels:
            raise SlackApiError("not_in_channel")
        if channel not in self.channels:
            raise SlackApiError("channel_not_found")
        return channel

    def _message_content(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text") or ""
        blocks = params.get("blocks") or []
        if not text and not blocks:
            raise SlackApiError("no_text")
        if blocks and self.validate:
            problems = block_problems(blocks)
            if problems:
                raise SlackApiError(
                    "invalid_blocks", errors=problems,
                    response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
                )  # fmt: skip
        return str(text), list(blocks)

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    def _m_chat_postMessage(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, str(params.get("channel", "")))
        text, blocks = self._message_content(params)
        metadata = _metadata(params.get("metadata"))
        self._enforce_message_limits(team, channel)
        ts = self._ts()
        thread = params.get("thread_ts")
        self.posts.append(Post(
            team.id, channel, ts, text, blocks, str(thread) if thread else None,
            metadata=metadata, user=team.bot_user_id, bot_id=team.bot_id,
        ))  # fmt: skip
        if channel.startswith("D"):
            self._opened.add(channel)  # a DM to a user id opens it
        message: dict[str, Any] = {
            "type": "message", "subtype": "bot_message", "text": text, "ts": ts,
            "user": team.bot_user_id, "bot_id": team.bot_id, "team": team.id, "blocks": blocks,
        }  # fmt: skip
        if metadata is not None:
            message["metadata"] = metadata
        return {"channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, str(params.get("channel", "")))
        ts = str(params.get("ts", ""))
        post = next((p for p in self.posts if p.channel == channel and p.ts == ts), None)
        if post is None:
            raise SlackApiError("message_not_found")
        text, blocks = self._message_content(params)
        if params.get("metadata"):
            post.metadata = _metadata(params["metadata"])
        post.updates.append({"text": text, "blocks": blocks})
        return {"channel": channel, "ts": ts, "text": text,
                "message": {"text": text, "blocks": blocks}}  # fmt: skip

    def _m_chat_postEphemeral(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        self._channel(team, str(params.get("channel", "")))
        self._user(team, str(params.get("user", "")))
        self._message_content(params)
        return {"message_ts": self._ts()}

    def _use_trigger(self, params: dict[str, Any]) -> None:
        trigger = str(params.get("trigger_id", ""))
        issued = self._triggers.pop(trigger, None)
        if issued is None:
            raise SlackApiError("invalid_trigger_id")
        if self.clock() - issued > TRIGGER_SECONDS:
            raise SlackApiError("expired_trigger_id")

    def _checked_view(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict):
            raise SlackApiError("invalid_arguments")
        problems = view_problems(view) if self.validate else []
        if problems:
            raise SlackApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
        return view

    def _store_view(
        self, team: FakeTeam, view: dict[str, Any], view_id: str | None = None
    ) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {
            **view, "id": view_id, "team_id": team.id, "app_id": "A0001",
            "bot_id": team.bot_id, "state": {"values": {}}, "hash": f"{time.time():.6f}.fake",
            "root_view_id": view_id, "previous_view_id": None,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
        }  # fmt: skip
        self.views[view_id] = stored
        return stored

    def _m_views_open(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params)
        self._use_trigger(params)
        return {"view": self._store_view(team, view)}

    def _m_views_push(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        return self._m_views_open(team, params)

    def _m_views_update(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params)
        view_id = str(params.get("view_id", ""))
        if view_id not in self.views:
            raise SlackApiError("not_found")
        return {"view": self._store_view(team, view, view_id)}

    def _m_views_publish(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params)
        user = self._user(team, str(params.get("user_id", "")))
        if view.get("type") != "home":
            raise SlackApiError("invalid_arguments")
        self.published[user.id] = view
        return {"view": self._store_view(team, view)}

    def _m_files_getUploadURLExternal(
        self, team: FakeTeam, params: dict[str, Any]
    ) -> dict[str, Any]:
        filename = params.get("filename")
        if not isinstance(filename, str) or not filename:
            raise SlackApiError("invalid_arguments")
        try:
            length = int(str(params.get("length", "")))
        except ValueError:
            raise SlackApiError("invalid_arguments") from None
        if length <= 0:
            raise SlackApiError("missing_argument")  # what Slack says of a length of 0
        alt = params.get("alt_txt")
        if alt is not None and len(str(alt)) > ALT_TEXT_LIMIT:
            raise SlackApiError("alt_txt_too_large")
        file_id = f"F{next(self._ids):010d}"
        key = base64.urlsafe_b64encode(f"{team.id}:{file_id}:{next(self._ids)}".encode())
        found = FakeFile(file_id, team.id, filename, length,
                         None if alt is None else str(alt), key.decode().rstrip("="))  # fmt: skip
        self.files[file_id] = found
        return {"upload_url": f"{self.root}/upload/v1/{found.key}", "file_id": file_id}

    def _m_files_completeUploadExternal(
        self, team: FakeTeam, params: dict[str, Any]
    ) -> dict[str, Any]:
        wanted = _file_list(params.get("files"))
        channel = params.get("channel_id") or None
        thread = params.get("thread_ts") or None
        if channel is not None:
            channel = self._file_channel(team, str(channel))
        if thread is not None:
            if channel is None:
                raise SlackApiError("invalid_arguments")  # a thread of which conversation?
            parent = next((p for p in self.posts if p.channel == channel and p.ts == thread), None)
            if parent is None or parent.thread_ts not in (None, parent.ts):
                raise SlackApiError("invalid_thread_ts")  # never a reply's ts: its parent's
        files = []
        for file_id, title in wanted:
            found = self.files.get(file_id)
            if found is None or found.team != team.id or found.shared:
                raise SlackApiError("file_not_found")
            if found.data is None:
                raise SlackApiError(NOT_UPLOADED)
            if len(found.data) != found.length:
                raise SlackApiError(WRONG_LENGTH)
            files.append((found, title))
        now = self.clock()
        shared = []
        for found, title in files:
            found.title = title or found.filename
            if channel is not None:
                found.channel, found.thread_ts, found.shared_at = channel, thread, now
            shared.append({"id": found.id, "title": found.title, "name": found.filename,
                           "size": found.length, "mimetype": "image/png"})  # fmt: skip
        return {"files": shared}

    def _file_channel(self, team: FakeTeam, channel: str) -> str:
        """A conversation the bot may share files in (a conversation id, never a user's)."""
        if channel.startswith("D"):
            if self._dm_user(team, channel) is None:
                raise SlackApiError("channel_not_found")
            return channel
        if channel in self.archived_channels:
            raise SlackApiError("is_archived")
        if channel in self.private_channels or channel in self.outside_channels:
            raise SlackApiError("not_in_channel")
        if channel not in self.channels:
            raise SlackApiError("channel_not_found")
        return channel


class _RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


async def _params(request: web.Request) -> dict[str, Any]:
    """A call's arguments, wherever slack_sdk put them: query string, form or JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        raw = await request.text()
        if request.content_type == "application/json":
            params.update(json.loads(raw) if raw else {})
        else:
            params.update(parse_qsl(raw, keep_blank_values=True))
    for key in ("blocks", "view"):
        if isinstance(params.get(key), str) and params[key][:1] in ("[", "{"):
            params[key] = json.loads(params[key])
    return params


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _reset(request: web.Request) -> None:
    """Drop the connection with a TCP reset, as a crashed proxy or a lost route would."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close sends RST rather than FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def _flag(value: object) -> bool:
    """A boolean argument as JSON (true), a form ("1", "true") or a query string sends it."""
    return value is True or str(value).lower() in ("1", "true")


def _timestamp(value: object, error: str) -> Decimal | None:
    """A message timestamp argument ("1700000000.000123"), exactly; None when not given."""
    if value is None or value == "":
        return None
    try:
        ts = Decimal(str(value))
    except InvalidOperation:
        raise SlackApiError(error) from None
    if not ts.is_finite() or ts < 0:
        raise SlackApiError(error)
    return ts


def _cursor_ts(cursor: object) -> Decimal | None:
    """Where a conversations.history page starts: Slack's cursors read "next_ts:<ts>"."""
    if not cursor:
        return None
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackApiError("invalid_cursor") from None
    prefix, _, ts = decoded.partition(":")
    if prefix != "next_ts":
        raise SlackApiError("invalid_cursor")
    return _timestamp(ts, "invalid_cursor")


def _metadata(value: object) -> dict[str, Any] | None:
    """chat.postMessage's `metadata`, as a JSON string (a form) or an object (a JSON body)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackApiError("invalid_metadata_format") from None
    if not isinstance(value, dict):
        raise SlackApiError("invalid_metadata_format")
    event_type, payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise SlackApiError("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _file_list(value: object) -> list[tuple[str, str | None]]:
    """completeUploadExternal's `files`: a JSON array (a form sends it as a string) of
    objects with an `id` and an optional `title`."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackApiError("invalid_arguments") from None
    if not isinstance(value, list) or not value:
        raise SlackApiError("invalid_arguments")
    found = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise SlackApiError("invalid_arguments")
        title = item.get("title")
        found.append((item["id"], title if isinstance(title, str) else None))
    return found


async def _upload_bytes(request: web.Request) -> bytes:
    """The file in an upload: the raw body, or the first file part of a multipart form."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.filename is not None:
                return bytes(await part.read())
        return b""
    return await request.read()
