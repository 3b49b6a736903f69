"""A local Slack Web API: an aiohttp server on 127.0.0.1 that slack_sdk talks to through its
`base_url`, for tests and benchmarks.

It answers the methods Drumbeat calls with the shapes Slack documents (`ok: false` and an
error code on HTTP 200 for request errors, 429 with Retry-After for rate limits), checks the
bearer token of every call, and rejects Block Kit that Slack would reject
(tests/bot/slack/blockkit.py). It records every call, keeps the messages it was sent (with
their updates), the views it opened and published, and what was posted to response URLs.

Rate limits: `per_channel` (messages per second to one channel) and `workspace_cap` (messages
per second in one workspace) make chat.postMessage answer 429 like Slack does when a client
posts faster; `tolerance` absorbs network jitter. On top, failures can be scripted: `fail`
(an `ok: false` error), `server_error` (HTTP 5xx), `throttle` (the next calls get 429) and
`storm` (every call gets 429 for a while, from the Nth call on).

Socket Mode: `apps.connections.open` (with the app-level token) hands out a websocket URL on
this server that says hello and carries envelopes; `envelope()` sends one and waits for the
client's acknowledgement.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.bot.slack.blockkit import block_problems, view_problems

TRIGGER_SECONDS = 3.0


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


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    team: str | None
    at: float
    status: int = 200
    error: str | None = None

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

    @property
    def current(self) -> dict[str, Any]:
        """What the message reads now: the last update, or the post itself."""
        return self.updates[-1] if self.updates else {"text": self.text, "blocks": self.blocks}


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
        per_channel: float | None = None,
        workspace_cap: float | None = None,
        tolerance: float = 0.05,
        whole_seconds: bool = True,
        validate: bool = True,
        client_id: str = "1111.2222",
        client_secret: str = "fake-client-secret",
        app_token: str = "xapp-1-A0001-fake",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.teams = {t.id: t for t in teams}
        self.users = {u.id: u for u in users}
        self.channels = set(channels)
        self.private_channels = set(private_channels)  # the bot is not a member
        self.archived_channels = set(archived_channels)
        self.per_channel = per_channel
        self.workspace_cap = workspace_cap
        self.tolerance = tolerance
        self.whole_seconds = whole_seconds  # Retry-After in whole seconds, as Slack sends it
        self.validate = validate
        self.client_id = client_id
        self.client_secret = client_secret
        self.app_token = app_token
        self.clock = clock

        self.calls: list[Call] = []
        self.posts: list[Post] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}
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
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- life -----------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=8 * 2**20)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
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

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def posts_in(self, channel: str) -> list[Post]:
        return [p for p in self.posts if p.channel == channel]

    def dms_to(self, user_id: str) -> list[Post]:
        return self.posts_in(self.dm_channel(user_id))

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

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params, None, self.clock())
        self.calls.append(call)
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
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": self._seconds(limited.retry_after)},
            )
        except SlackApiError as error:
            call.status, call.error = error.status, error.error
            if error.status >= 500:
                return web.Response(status=error.status, text="<html>upstream error</html>",
                                    content_type="text/html")  # fmt: skip
            return web.json_response({"ok": False, "error": error.error, **error.extra})
        self._served[method] = self._served.get(method, 0) + 1
        return web.json_response({"ok": True, **answer})

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
            "scope": "chat:write,chat:write.public,commands,im:write,users:read,users:read.email",
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

    def _m_conversations_open(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", "")).split(",")
        if len(users) != 1:
            raise SlackApiError("not_implemented")
        user = self._user(team, users[0])
        return {"channel": {"id": self.dm_channel(user.id)}}

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
        self._enforce_message_limits(team, channel)
        ts = self._ts()
        thread = params.get("thread_ts")
        self.posts.append(Post(team.id, channel, ts, text, blocks, str(thread) if thread else None))
        message = {"type": "message", "subtype": "bot_message", "text": text, "ts": ts,
                   "user": team.bot_user_id, "bot_id": team.bot_id, "team": team.id,
                   "blocks": blocks}  # fmt: skip
        return {"channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, team: FakeTeam, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(team, str(params.get("channel", "")))
        ts = str(params.get("ts", ""))
        post = next((p for p in self.posts if p.channel == channel and p.ts == ts), None)
        if post is None:
            raise SlackApiError("message_not_found")
        text, blocks = self._message_content(params)
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
