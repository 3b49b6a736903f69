"""How the composition root plugs Teams in: a gateway for the core, POST /api/messages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from botbuilder.core import Bot, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.metrics import CallCounts
from bot.settings import Settings
from bot.teams.adapter import is_local, teams_adapter
from bot.teams.bot import MemberDirectory, TeamsBot, answer_invoke, invoke_error, say
from bot.teams.gateway import TeamsGateway, TeamsLimits
from bot.teams.ingress import MalformedActivity, parse_activity
from rhythm.chart_links import ChartLinks
from rhythm.messages import Text
from rhythm.people import Admission, allow_list
from rhythm.ports import DeliveryError, Store
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

SORRY = Text("Sorry, something went wrong on my side. Please try again in a minute.")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def teams_gateway(
    settings: Settings,
    store: Store,
    *,
    adapter: CloudAdapter | None = None,
    chart_links: ChartLinks | None = None,
    calls: CallCounts | None = None,
) -> TeamsGateway:
    """The Teams ChatGateway; `adapter` defaults to the one these settings describe; charts
    too big for a card are shown from `chart_links`; `calls` counts 429s and retries."""
    return TeamsGateway(
        adapter=adapter or teams_adapter(settings),
        store=store,
        app_id=settings.microsoft_app_id or "",
        limits=TeamsLimits.for_tenant_rate(settings.teams_messages_per_second),
        chart_links=chart_links,
        calls=calls,
    )


def attach_teams(
    web_app: web.Application,
    *,
    settings: Settings,
    drumbeat: Drumbeat,
    gateway: TeamsGateway,
    members: MemberDirectory | None = None,
) -> None:
    """POST /api/messages: Teams' activities, through the gateway's adapter (the same
    credentials for replies and proactive messages)."""
    bot = TeamsBot(
        drumbeat=drumbeat, conversations=gateway.store, admission=teams_admission(settings),
        members=members, pacing=gateway,
    )  # fmt: skip
    serve_activities(web_app, gateway.adapter, bot)
    web_app.cleanup_ctx.append(_draining(gateway))


def _draining(gateway: TeamsGateway) -> Callable[[web.Application], AsyncIterator[None]]:
    async def drain(web_app: web.Application) -> AsyncIterator[None]:
        yield
        await gateway.drain()

    return drain


def teams_admission(settings: Settings) -> Admission:
    """Which tenants join an organisation without `drumbeat workspace link`: a single-tenant
    app's own (only its tenant's tokens are accepted) and local mode's, and those
    TEAMS_ALLOWED_TENANTS lists. A multi-tenant bot hears from any tenant: none joins by
    itself."""
    single = settings.microsoft_app_type.lower() == "singletenant" or is_local(settings)
    return Admission(
        join_only_organisation=single, allowed=allow_list(settings.teams_allowed_tenants)
    )


def serve_activities(web_app: web.Application, adapter: CloudAdapter, bot: Bot) -> None:
    """POST /api/messages for this bot: 401 without a valid token (when the adapter has
    credentials), 400 for what botbuilder cannot handle, botbuilder for the rest."""
    adapter.on_turn_error = _on_turn_error
    web_app.router.add_post("/api/messages", activity_endpoint(adapter, bot))


def activity_endpoint(adapter: CloudAdapter, bot: Bot) -> Handler:
    async def messages(request: web.Request) -> web.StreamResponse:
        await _authenticate(adapter, request.headers.get("Authorization", ""))
        try:
            parse_activity(await request.read(), request.headers.get("Content-Type"))
        except MalformedActivity as refusal:
            log.warning("Teams activity malformed (%d): %s", refusal.status, refusal.reason)
            return web.json_response({"error": refusal.reason}, status=refusal.status)
        # The raw request, as before: botbuilder reads the body (aiohttp kept it) and checks
        # the token again, this time with the activity's channel and service URL.
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    return messages


async def _authenticate(adapter: CloudAdapter, authorization: str) -> None:
    """The token before the body: botbuilder's own check of it (signature, issuer, audience,
    expiry), given an empty activity, which claims no channel (endorsements) and no service
    URL; CloudAdapter checks those two against the activity later. Without credentials the
    check lets a request without a token through, as CloudAdapter does."""
    try:
        await adapter.bot_framework_authentication.authenticate_request(Activity(), authorization)
    except PermissionError as error:  # SingleAttemptAuthentication's "bad token", for all kinds
        raise web.HTTPUnauthorized() from error


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    """The one error handler of the Teams adapter: log with the traceback, tell the person
    (in the answer to a button's invoke, else in a message)."""
    log.error("Teams turn failed: %s", error, exc_info=error)
    if context.activity.type == ActivityTypes.invoke:
        await answer_invoke(context, invoke_error(SORRY.text))
        return
    try:
        await say(context, SORRY)
    except (DeliveryError, HttpOperationError, ClientRequestError) as failed:  # Teams refuses
        log.warning("Teams: could not tell the person about it either: %s", failed)
