"""The Bot Framework adapter: who may call POST /api/messages, and how replies leave.

With MICROSOFT_APP_ID (and its password or tenant), every request must carry a Bot Framework
token that botbuilder validates; anything else gets 401 before the bot sees it. Without
credentials the bot only runs when local mode is asked for: that is how the Microsoft 365
Agents Playground talks to it, with no token at all.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
    UserTokenClient,
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
    """botbuilder's authentication, with connector clients that try each call once and are
    made once.

    msrest retries 5xx answers itself, inside a worker thread, with its own backoff and no
    regard for Retry-After or for Teams' rate limits; the gateway paces and retries instead,
    so it must see every answer.

    botbuilder builds a new ConnectorClient (and a TokenApiClient) for every turn and every
    proactive send: a few milliseconds of msrest configuration each (its retry policy most of
    all), and new app credentials each time, whose MSAL token cache starts empty. Clients
    are kept instead, one per (app id, service URL, audience) as the old BotFrameworkAdapter
    did; their credentials sign each request with a token from MSAL's cache, which MSAL
    renews before it expires (5 minutes ahead), so a kept client never sends a stale one."""

    def __init__(self, configuration: Any, **options: Any) -> None:
        super().__init__(configuration, **options)
        self._connectors: Clients[ConnectorClient] = Clients()
        self._token_clients: Clients[UserTokenClient] = Clients()

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
            result.connector_factory = self._kept(result.connector_factory, result.claims_identity)
        return result

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return self._kept(super().create_connector_factory(claims_identity), claims_identity)

    def _kept(self, factory: ConnectorFactory, claims: ClaimsIdentity) -> KeptConnectors:
        # A turn asks for the audience of its token, a proactive send for none (botbuilder's
        # default, the channel's audience): the same client.
        audience = self.get_originating_audience()
        return KeptConnectors(factory, app_id_of(claims), audience, self._connectors)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        """The OAuth token service's client (unused by Drumbeat, made by botbuilder for every
        turn all the same), kept per app id."""
        key = (app_id_of(claims_identity),)
        kept = self._token_clients.get(key)
        if kept is None:
            made = await super().create_user_token_client(claims_identity)
            kept = self._token_clients.keep(key, made)
        return kept


def _check_issuer_claim(token: str) -> None:
    """botbuilder picks the validation for a token by its issuer before it verifies anything,
    and reads `claims["iss"]` (a KeyError) from a token that has none."""
    claims = jwt.decode(token, options={"verify_signature": False})  # a bad JWT: PyJWTError
    if "iss" not in claims:
        raise PermissionError("the token names no issuer")


Client = TypeVar("Client")
MAX_KEPT = 64  # service URLs are a few per cloud region; this bounds anything odd


class Clients(Generic[Client]):
    """Clients kept by key, the least recently used dropped beyond MAX_KEPT (a dropped client
    still serves the turns holding it)."""

    def __init__(self, limit: int = MAX_KEPT) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple[str | None, ...], Client] = OrderedDict()

    def get(self, key: tuple[str | None, ...]) -> Client | None:
        client = self._kept.get(key)
        if client is not None:
            self._kept.move_to_end(key)
        return client

    def keep(self, key: tuple[str | None, ...], client: Client) -> Client:
        """`client`, or the one kept meanwhile under `key` (two turns made one at once)."""
        kept = self._kept.setdefault(key, client)
        self._kept.move_to_end(key)
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return kept

    def __len__(self) -> int:
        return len(self._kept)


def app_id_of(claims_identity: ClaimsIdentity) -> str:
    """The bot's app id in a turn's claims, as botbuilder reads it: the audience of a
    channel's token, the appid claim of others; "" without credentials (an anonymous turn
    has neither, a proactive one has "")."""
    app_id: str | None = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if app_id is None:
        app_id = claims_identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return app_id or ""


class KeptConnectors(ConnectorFactory):
    """botbuilder's connector factory, making each (app id, service URL, audience)'s client
    once, and each client trying every call once."""

    def __init__(
        self,
        inner: ConnectorFactory,
        app_id: str,
        default_audience: str,
        kept: Clients[ConnectorClient],
    ) -> None:
        self._inner = inner
        self._app_id = app_id
        self._default_audience = default_audience
        self._kept = kept

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (self._app_id, service_url, audience or self._default_audience)
        client = self._kept.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            policy = client.config.retry_policy
            policy.retries = 0
            policy.policy.status_forcelist = frozenset()
            client = self._kept.keep(key, client)
        return client
