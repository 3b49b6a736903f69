"""How the composition root plugs Teams in: a gateway for the core, POST /api/messages."""

from __future__ import annotations

import logging

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter

from bot.settings import Settings
from bot.teams.adapter import teams_adapter
from bot.teams.bot import MemberDirectory, TeamsBot, say
from bot.teams.gateway import TeamsGateway, TeamsLimits
from rhythm.messages import Text
from rhythm.ports import Store
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

SORRY = Text("Sorry, something went wrong on my side. Please try again in a minute.")


def teams_gateway(
    settings: Settings, store: Store, *, adapter: CloudAdapter | None = None
) -> TeamsGateway:
    """The Teams ChatGateway; `adapter` defaults to the one these settings describe."""
    return TeamsGateway(
        adapter=adapter or teams_adapter(settings),
        store=store,
        app_id=settings.microsoft_app_id or "",
        limits=TeamsLimits.for_tenant_rate(settings.teams_messages_per_second),
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
    adapter = gateway.adapter
    adapter.on_turn_error = _on_turn_error
    bot = TeamsBot(drumbeat=drumbeat, members=members)

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    web_app.router.add_post("/api/messages", messages)


async def _on_turn_error(context: TurnContext, error: Exception) -> None:
    """The one error handler of the Teams adapter: log with the traceback, tell the person."""
    log.error("Teams turn failed: %s", error, exc_info=error)
    await say(context, SORRY)
