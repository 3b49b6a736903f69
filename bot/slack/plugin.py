"""The Slack adapter's two entry points for the composition root.

    gateway = slack_gateway(settings, store)          # a ChatGateway for the ChatRouter
    attach_slack(web_app, settings=settings, drumbeat=drumbeat, gateway=gateway)

`attach_slack` adds POST /slack/events (events, slash commands and interactivity: see
bot/slack/http.py for what is acknowledged before bolt runs) and, with
OAuth, GET /slack/install and /slack/oauth_redirect. With SLACK_APP_TOKEN it also connects to
Slack over Socket Mode while the web app runs (the HTTP route stays, harmlessly unused). The
gateway's HTTP session is closed when the web app stops; a process that uses the gateway
without a web app (a one-off `drumbeat tick`) closes it with `await gateway.aclose()`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.metrics import CallCounts
from bot.settings import Settings, SettingsError
from bot.slack.app import build_app
from bot.slack.gateway import SlackGateway
from bot.slack.http import SlackEndpoint
from bot.slack.identity import SlackDirectory, SlackPeople, SlackRecipients
from bot.slack.limits import SlackLimits
from bot.slack.logs import quiet_library_loggers
from bot.slack.manifest import EVENTS_PATH, OAUTH_REDIRECT_PATH
from bot.slack.oauth import INSTALL_PATH, installation_store, oauth_settings, state_store
from bot.slack.services import SlackServices
from bot.slack.webapi import SlackWebApi
from bot.slack.workspaces import InstalledWorkspaces, SingleWorkspace, Workspaces
from rhythm.people import Admission, allow_list
from rhythm.ports import Store
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

BOLT_APP = web.AppKey("slack_bolt_app", AsyncApp)


class SocketMode(Protocol):
    async def connect_async(self) -> None: ...

    async def close_async(self) -> None: ...


SocketModeFactory = Callable[[AsyncApp, str], SocketMode]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def uses_oauth(settings: Settings) -> bool:
    """OAuth (several workspaces) when its credentials are set; else SLACK_BOT_TOKEN."""
    return bool(settings.slack_client_id and settings.slack_client_secret)


def slack_gateway(
    settings: Settings,
    store: Store,
    *,
    limits: SlackLimits | None = None,
    calls: CallCounts | None = None,
) -> SlackGateway:
    """`limits` replaces Slack's (tests and benchmarks scale them); `calls` counts 429s and
    retries for the metrics. With OAuth the installations live in the store's database
    (`store.engine`, which SqlStore has)."""
    quiet_library_loggers()
    api = SlackWebApi(
        limits=limits or SlackLimits(messages_per_second=settings.slack_messages_per_second),
        base_url=settings.slack_api_url,
        calls=calls,
    )
    workspaces: Workspaces
    if uses_oauth(settings):
        assert settings.slack_client_id is not None
        workspaces = InstalledWorkspaces(
            installations=installation_store(_engine(store), client_id=settings.slack_client_id),
            links=store,
        )
    elif settings.slack_bot_token:
        workspaces = SingleWorkspace(token=settings.slack_bot_token)
    else:
        raise SettingsError(
            "Slack needs SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"
        )
    directory = SlackDirectory(api=api)
    return SlackGateway(
        api=api,
        workspaces=workspaces,
        recipients=SlackRecipients(directory=directory, people=store),
    )


def attach_slack(
    web_app: web.Application,
    *,
    settings: Settings,
    drumbeat: Drumbeat,
    gateway: SlackGateway,
    socket_mode: SocketModeFactory | None = None,
) -> None:
    if not settings.slack_signing_secret:
        raise SettingsError("Slack needs SLACK_SIGNING_SECRET to verify its requests")
    admission = slack_admission(settings)
    people = SlackPeople(
        drumbeat=drumbeat, directory=gateway.recipients.directory, workspaces=gateway.workspaces,
        admission=admission,
    )  # fmt: skip
    services = SlackServices(drumbeat=drumbeat, gateway=gateway, people=people)
    oauth = None
    if isinstance(gateway.workspaces, InstalledWorkspaces):
        assert settings.slack_client_id
        assert settings.slack_client_secret
        oauth = oauth_settings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            installations=gateway.workspaces.installations,  # type: ignore[arg-type]
            states=state_store(_engine(drumbeat.store)),
            drumbeat=drumbeat,
            admission=admission,
        )
    bolt = build_app(
        services=services,
        signing_secret=settings.slack_signing_secret,
        base_url=settings.slack_api_url,
        bot_token=None if oauth else settings.slack_bot_token,
        oauth=oauth,
    )
    endpoint = SlackEndpoint(bolt=bolt, signing_secret=settings.slack_signing_secret)
    web_app[BOLT_APP] = bolt
    web_app.router.add_post(EVENTS_PATH, endpoint.handle)
    if oauth is not None:
        web_app.router.add_get(INSTALL_PATH, _install(bolt))
        web_app.router.add_get(OAUTH_REDIRECT_PATH, _redirect(bolt))
    if settings.slack_app_token:
        factory = socket_mode or _socket_mode_handler
        web_app.cleanup_ctx.append(_socket_mode(bolt, settings.slack_app_token, factory))
    web_app.cleanup_ctx.append(_closing(endpoint, drumbeat, gateway))


def slack_admission(settings: Settings) -> Admission:
    """Which workspaces join an organisation without `drumbeat workspace link`: the one of
    SLACK_BOT_TOKEN (the admin configured it), and those SLACK_ALLOWED_TEAMS lists. An OAuth
    install is anybody's to complete, so it joins nothing by itself."""
    return Admission(
        join_only_organisation=not uses_oauth(settings),
        allowed=allow_list(settings.slack_allowed_teams),
    )


def _engine(store: Store) -> AsyncEngine:
    """The store's engine for slack_sdk's stores, which keep installations and OAuth states
    in our database: one whose transactions wait for SQLite's write lock (they read, then
    write; see SqlStore.shared_engine)."""
    engine: AsyncEngine = store.shared_engine  # type: ignore[attr-defined]
    return engine


def _install(bolt: AsyncApp) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        assert bolt.oauth_flow is not None
        response = await bolt.oauth_flow.handle_installation(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle


def _redirect(bolt: AsyncApp) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        assert bolt.oauth_flow is not None
        response = await bolt.oauth_flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    return handle


def _socket_mode_handler(bolt: AsyncApp, app_token: str) -> SocketMode:
    return AsyncSocketModeHandler(bolt, app_token)


def _socket_mode(
    bolt: AsyncApp, app_token: str, factory: SocketModeFactory
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def connected(web_app: web.Application) -> AsyncIterator[None]:
        handler = factory(bolt, app_token)
        await handler.connect_async()
        log.info("Slack Socket Mode connected")
        yield
        await handler.close_async()

    return connected


def _closing(
    endpoint: SlackEndpoint, drumbeat: Drumbeat, gateway: SlackGateway
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def close(web_app: web.Application) -> AsyncIterator[None]:
        yield
        await endpoint.drain()
        # A click's news is delivered in the background (`Courier.deliver_soon`): let it
        # finish before the session closes, or it would open another nobody closes.
        await drumbeat.courier.settle()
        await gateway.aclose()

    return close
