"""The bolt `AsyncApp`: request verification, authorization (the bot token, or the workspace's
installation with OAuth), the event de-duplication middleware, and every listener.

`process_before_response=False`: bolt answers Slack as soon as a listener acknowledges, and the
listener goes on in the background. Listeners acknowledge first and work after, except view
submissions, whose acknowledgement carries the answer (errors, next page, close).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import actions, commands, events, views
from bot.slack.dedupe import RecentEvents, skip_repeated_events
from bot.slack.inbound import team_id_of
from bot.slack.logs import slack_logger
from bot.slack.services import SORRY, SlackServices
from bot.slack.webapi import SlackError
from rhythm.messages import Text

log = logging.getLogger(__name__)


def build_app(
    *,
    services: SlackServices,
    signing_secret: str,
    base_url: str | None = None,
    bot_token: str | None = None,
    oauth: AsyncOAuthSettings | None = None,
    recent: RecentEvents | None = None,
) -> AsyncApp:
    """Single workspace with `bot_token`, several with `oauth`."""
    if (bot_token is None) == (oauth is None):
        raise ValueError("give a bot token (one workspace) or OAuth settings (several)")
    logger = slack_logger()
    # bolt takes the single workspace's token from the client it is given
    client = AsyncWebClient(
        token=bot_token, base_url=base_url or AsyncWebClient.BASE_URL, logger=logger
    )
    authorize = None
    if oauth is not None and oauth.installation_store is not None:
        # bolt's default calls auth.test on every request; the answer for a token never
        # changes, and a revoked installation is gone from the store, which is still asked.
        authorize = AsyncInstallationStoreAuthorize(
            logger=logger,
            installation_store=oauth.installation_store,
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )
    app = AsyncApp(
        name="drumbeat",
        logger=logger,
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,  # type: ignore[arg-type]  # bolt takes an AsyncAuthorize too
        oauth_settings=oauth,
        process_before_response=False,
    )
    app.use(skip_repeated_events(recent or RecentEvents()))
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    installations: AsyncInstallationStore | None = oauth.installation_store if oauth else None
    events.register(app, services, installations=installations)
    app.error(_error_handler(services))
    return app


ErrorHandler = Callable[
    [Exception, dict[str, Any], AsyncRespond, BoltResponse | None],
    Awaitable[BoltResponse | None],
]


def _error_handler(services: SlackServices) -> ErrorHandler:
    """The adapter's one error handler, for whatever a listener did not expect (a bug, an
    outage): logged with its traceback, and the person gets a short apology, never the
    error's text. A modal still waiting for its answer shows the apology on its form."""

    async def handle(
        error: Exception, body: dict[str, Any], respond: AsyncRespond, response: BoltResponse | None
    ) -> BoltResponse | None:
        what = body.get("type") or body.get("command") or "request"
        log.error("Slack %s failed: %s", what, error, exc_info=error)
        if what == "view_submission" and response is not None:
            return _apology_on_the_form(body)
        await _apologise(services, body, respond)
        return None

    return handle


def _apology_on_the_form(body: dict[str, Any]) -> BoltResponse:
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    blocks = view.get("blocks") if isinstance(view, dict) else None
    first = next(
        (
            b.get("block_id")
            for b in blocks or ()
            if isinstance(b, dict) and b.get("type") == "input"
        ),
        None,
    )
    if not isinstance(first, str):
        return BoltResponse(status=200, body="")
    answer = {"response_action": "errors", "errors": {first: SORRY}}
    return BoltResponse(
        status=200, body=json.dumps(answer), headers={"Content-Type": "application/json"}
    )


async def _apologise(services: SlackServices, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Through the response URL when there is one, else in the person's DM."""
    try:
        if respond is not None and respond.response_url is not None:
            await respond(text=SORRY, response_type="ephemeral", replace_original=False)
            return
        user = body.get("user") if isinstance(body.get("user"), dict) else None
        user_id = (user or {}).get("id") or body.get("user_id")
        team = team_id_of(body)
        if isinstance(user_id, str) and team:
            workspace = await services.gateway.workspaces.for_team(team)
            await services.gateway.post(workspace, user_id, Text(SORRY))
    except (SlackError, aiohttp.ClientError, TimeoutError) as failure:
        log.warning("could not apologise for a failed request: %s", failure)
