"""The Bot Framework adapter: who may call POST /api/messages, and how replies leave.

With MICROSOFT_APP_ID (and its password or tenant), every request must carry a Bot Framework
token that botbuilder validates; anything else gets 401 before the bot sees it. Without
credentials the bot only runs when local mode is asked for: that is how the Microsoft 365
Agents Playground talks to it, with no token at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import jwt
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, CallerIdConstants
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
)

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

# Where the public cloud publishes its keys; tests point the bot at a local copy instead.
BOT_FRAMEWORK_OPENID_METADATA = "https://login.botframework.com/v1/.well-known/openidconfiguration"
EMULATOR_OPENID_METADATA = (
    "https://login.microsoftonline.com/botframework.com/v2.0/.well-known/openid-configuration"
)


class TeamsNotConfigured(SettingsError):
    def __init__(self) -> None:
        super().__init__(
            "Teams needs MICROSOFT_APP_ID with MICROSOFT_APP_PASSWORD (and MICROSOFT_APP_TENANT_ID "
            "for a single-tenant app), or TEAMS_LOCAL=true to run against the Agents Playground."
        )


@dataclass(frozen=True, slots=True)
class BotFrameworkConfig:
    """The configuration object botbuilder's ConfigurationBotFrameworkAuthentication reads:
    attribute names are botbuilder's."""

    APP_ID: str = ""
    APP_PASSWORD: str = ""
    APP_TENANTID: str = ""
    APP_TYPE: str = "MultiTenant"
    # Set together, only to validate tokens against other keys than the public cloud's.
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None = None
    TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL: str | None = None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None = None
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None = None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None = None
    OAUTH_URL: str | None = None
    CALLER_ID: str | None = None

    @property
    def local(self) -> bool:
        return not self.APP_ID


def is_local(settings: Settings) -> bool:
    """No credentials and local mode asked for: the Agents Playground's unauthenticated calls."""
    return not settings.microsoft_app_id and settings.teams_local


def bot_config(settings: Settings, *, openid_metadata_url: str | None = None) -> BotFrameworkConfig:
    """The Bot Framework configuration of these settings. `openid_metadata_url` replaces the
    public cloud's signing keys (tests sign their own tokens); everything else stays public."""
    if not settings.microsoft_app_id:
        if is_local(settings):
            return BotFrameworkConfig()
        raise TeamsNotConfigured()
    credentials = BotFrameworkConfig(
        APP_ID=settings.microsoft_app_id,
        APP_PASSWORD=settings.microsoft_app_password or "",
        APP_TENANTID=settings.microsoft_app_tenant_id or "",
        APP_TYPE=settings.microsoft_app_type,
    )
    if openid_metadata_url is None:
        return credentials
    return BotFrameworkConfig(
        APP_ID=credentials.APP_ID,
        APP_PASSWORD=credentials.APP_PASSWORD,
        APP_TENANTID=credentials.APP_TENANTID,
        APP_TYPE=credentials.APP_TYPE,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=openid_metadata_url,
        TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL=openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
        + AuthenticationConstants.DEFAULT_CHANNEL_AUTH_TENANT,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        OAUTH_URL=AuthenticationConstants.OAUTH_URL,
        CALLER_ID=CallerIdConstants.public_azure_channel,
    )


def teams_adapter(settings: Settings, *, openid_metadata_url: str | None = None) -> CloudAdapter:
    """The CloudAdapter for these settings (raises TeamsNotConfigured when there are none)."""
    return CloudAdapter(
        SingleAttemptAuthentication(bot_config(settings, openid_metadata_url=openid_metadata_url))
    )


class SingleAttemptAuthentication(ConfigurationBotFrameworkAuthentication):
    """botbuilder's authentication, with connector clients that try each call once.

    msrest retries 5xx answers itself, inside a worker thread, with its own backoff and no
    regard for Retry-After or for Teams' rate limits; the gateway paces and retries instead,
    so it must see every answer."""

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        """botbuilder's checks; every way a token can be wrong is a PermissionError (401)."""
        if auth_header and len(auth_header.split(" ")) != 2:
            raise PermissionError("the Authorization header is not 'Bearer <token>'")
        try:
            if auth_header:
                _check_issuer_claim(auth_header.split(" ")[1])
            # None, not "": the parameterized checks take "" for a token and crash on it.
            result = await super().authenticate_request(activity, auth_header or None)
        except (jwt.PyJWTError, IndexError) as error:  # a bad token, a key nobody published
            log.warning("Teams request refused: %s", error)
            raise PermissionError(f"invalid token: {error}") from error
        except Exception as error:
            # botbuilder raises a plain Exception for keys not endorsed for the channel and for
            # signing algorithms it does not allow: bad tokens too. Anything else is a failure.
            if type(error) is not Exception:
                raise
            log.warning("Teams request refused: %s", error)
            raise PermissionError(f"invalid token: {error}") from error
        if result.connector_factory is not None:
            result.connector_factory = SingleAttemptConnectors(result.connector_factory)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return SingleAttemptConnectors(super().create_connector_factory(claims_identity))


def _check_issuer_claim(token: str) -> None:
    """botbuilder picks the validation for a token by its issuer before it verifies anything,
    and reads `claims["iss"]` (a KeyError) from a token that has none."""
    claims = jwt.decode(token, options={"verify_signature": False})  # a bad JWT: PyJWTError
    if "iss" not in claims:
        raise PermissionError("the token names no issuer")


class SingleAttemptConnectors(ConnectorFactory):
    def __init__(self, inner: ConnectorFactory) -> None:
        self._inner = inner

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        client = await self._inner.create(service_url, audience)
        policy = client.config.retry_policy
        policy.retries = 0
        policy.policy.status_forcelist = frozenset()
        return client
