"""Events API: the App Home is published whenever a person opens it. The installation events
(app_uninstalled, tokens_revoked) delete the workspace's tokens from the installation store
with OAuth (bolt's token revocation listeners) and drop them from the gateway's cache; with a
single bot token they are only acknowledged and logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.slack.home import home_view
from bot.slack.services import SlackServices
from rhythm.errors import DrumbeatError
from rhythm.home import build_home
from rhythm.messages import Text

log = logging.getLogger(__name__)


async def publish_home(services: SlackServices, event: dict[str, Any], team: str | None) -> None:
    if event.get("tab", "home") != "home":
        return
    user_id = str(event["user"])
    try:
        caller = await services.people.caller(team, user_id)
    except DrumbeatError as refusal:
        workspace = await services.gateway.workspaces.for_team(team)
        view = home_view(
            title="Drumbeat", key_results=Text(refusal.message), next_due="–", digest=None
        )
        await services.api.call(workspace, "views.publish", user_id=user_id, view=view)
        return
    home = await build_home(services.drumbeat, caller.org, caller.person)
    view = home_view(
        title=home.title,
        key_results=home.key_results,
        next_due=home.next_due,
        digest=home.digest,
        is_admin=home.is_admin,
        problems=home.problems,
    )
    await services.api.call(caller.workspace, "views.publish", user_id=user_id, view=view)
    await services.drumbeat.people.reachable(caller.org, caller.person)


def register(
    app: AsyncApp, services: SlackServices, *, installations: AsyncInstallationStore | None
) -> None:
    @app.event("app_home_opened")
    async def app_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
        async with services.work:
            await publish_home(services, event, context.get("team_id"))

    if installations is None:

        @app.event("app_uninstalled")
        @app.event("tokens_revoked")
        async def acknowledge(event: dict[str, Any]) -> None:
            log.warning("Slack says %s: SLACK_BOT_TOKEN no longer works", event.get("type"))

        return
    revocation = AsyncTokenRevocationListeners(installations)

    @app.event("app_uninstalled")
    async def uninstalled(context: AsyncBoltContext) -> None:
        await revocation.handle_app_uninstalled_events(context)
        services.gateway.workspaces.forget(str(context.team_id))

    @app.event("tokens_revoked")
    async def revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        await revocation.handle_tokens_revoked_events(event, context)
        services.gateway.workspaces.forget(str(context.team_id))
