"""Installing Drumbeat in several Slack workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).

`/slack/install` starts Slack's OAuth flow and `/slack/oauth_redirect` finishes it (bolt's
OAuth flow); installations and the flow's state are kept in our database with slack_sdk's
SQLAlchemy stores (their tables come with migration 0003). An installed workspace belongs to an
organisation only once an admin links it (`drumbeat workspace link`, or SLACK_ALLOWED_TEAMS):
anybody can complete the install of a distributed app, so until then its people see nothing
of any organisation, and the admins are told about it once.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.slack.logs import slack_logger
from bot.slack.manifest import EVENTS_PATH, OAUTH_REDIRECT_PATH, manifest_template
from bot.slack.workspaces import PLATFORM
from rhythm.errors import UnknownWorkspace
from rhythm.people import Admission
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
STATE_SECONDS = 600

__all__ = ["EVENTS_PATH", "INSTALL_PATH", "OAUTH_REDIRECT_PATH", "installation_store"]


def installation_store(engine: AsyncEngine, *, client_id: str) -> AsyncSQLAlchemyInstallationStore:
    return AsyncSQLAlchemyInstallationStore(
        client_id=client_id, engine=engine, logger=slack_logger()
    )


def state_store(engine: AsyncEngine) -> AsyncSQLAlchemyOAuthStateStore:
    return AsyncSQLAlchemyOAuthStateStore(
        expiration_seconds=STATE_SECONDS, engine=engine, logger=slack_logger()
    )


def bot_scopes() -> list[str]:
    """The manifest's bot scopes: one list for the app's configuration and its install link."""
    return list(manifest_template()["oauth_config"]["scopes"]["bot"])


def oauth_settings(
    *,
    client_id: str,
    client_secret: str,
    installations: AsyncSQLAlchemyInstallationStore,
    states: AsyncSQLAlchemyOAuthStateStore,
    drumbeat: Drumbeat,
    admission: Admission,
) -> AsyncOAuthSettings:
    return AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=bot_scopes(),
        install_path=INSTALL_PATH,
        redirect_uri_path=OAUTH_REDIRECT_PATH,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(
            success=_linked(drumbeat, admission), failure=_failed
        ),
        logger=slack_logger(),
    )


def _linked(
    drumbeat: Drumbeat, admission: Admission
) -> Callable[[AsyncSuccessArgs], Awaitable[BoltResponse]]:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        team = args.installation.team_id or ""
        try:
            org = await drumbeat.people.workspace_org(PLATFORM, team, admission=admission)
        except UnknownWorkspace:
            log.warning("Slack workspace %s installed Drumbeat; no admin has linked it", team)
            return _page(
                200,
                "Drumbeat is installed",
                "Drumbeat's admins have been told. Until one of them connects this workspace "
                "to your organisation, Drumbeat will answer that it is not connected yet.",
            )
        log.info("Slack workspace %s installed for organisation %s", team, org)
        return await args.default.success(args)

    return success


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    log.warning("Slack installation failed: %s", args.reason)
    return await args.default.failure(args)


def _page(status: int, title: str, text: str) -> BoltResponse:
    body = (
        f"<html><head><title>{html.escape(title)}</title></head>"
        f"<body><h2>{html.escape(title)}</h2><p>{html.escape(text)}</p></body></html>"
    )
    return BoltResponse(
        status=status, body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )
