"""The bolt `AsyncApp`: request verification, authorization (the bot token, or the workspace's
installation with OAuth), the event de-duplication middleware, and every listener.

`process_before_response=False`: bolt answers Slack as soon as a listener acknowledges, and the
listener goes on in the background. Listeners acknowledge first and work after, except view
submissions, whose acknowledgement carries the answer (errors, next page, close).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import actions, commands, events, views
from bot.slack.dedupe import RecentEvents, skip_repeated_events
from bot.slack.logs import slack_logger
from bot.slack.services import SlackServices

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
    app.error(_log_error)
    return app


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    """The adapter's one error handler: what went wrong, with its traceback and payload type."""
    log.error(
        "Slack %s failed: %s", body.get("type") or body.get("command") or "request", error,
        exc_info=error,
    )  # fmt: skip
