"""The Teams adapter makes its Bot Framework clients once: every turn and every proactive send
to one service URL uses the same ConnectorClient (and botbuilder's user token client), built
for single attempts; the credentials in it still sign each request with a token asked for
then, so a token that expires is replaced (MSAL's cache renews it).

Real botbuilder CloudAdapter turns, against a local HTTP server standing in for the Bot
Framework connector that records each request's Authorization header."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from botframework.connector.auth import MicrosoftAppCredentials

from bot.server import serving
from bot.settings import Settings
from bot.teams.adapter import Clients, teams_adapter
from tests.bot.teams.test_playground import free_port

APP_ID = "5f0c2a7e-1b4d-4e8f-9a3c-6d2e1f0b7a95"


@dataclass
class Connector:
    """Answers every send and reply, noting the Authorization header of each."""

    url: str = ""
    authorizations: list[str | None] = field(default_factory=list)


@pytest.fixture
async def connector() -> AsyncIterator[Connector]:
    seen = Connector()
    ids = itertools.count(1)

    async def activity(request: web.Request) -> web.Response:
        seen.authorizations.append(request.headers.get("Authorization"))
        return web.json_response({"id": str(next(ids))}, status=201)

    app = web.Application()
    app.router.add_post("/v3/conversations/{conversation}/activities", activity)
    app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", activity)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        seen.url = f"http://127.0.0.1:{port}"
        yield seen


def message(service_url: str, n: int) -> Activity:
    return Activity().deserialize({
        "type": "message", "id": f"in-{n}", "channelId": "msteams", "text": "hi",
        "serviceUrl": service_url, "from": {"id": "29:lucas"}, "recipient": {"id": "28:bot"},
        "conversation": {"id": "a:lucas", "conversationType": "personal"},
    })  # fmt: skip


@dataclass
class Turns:
    """The clients each turn was given, and a reply sent from each."""

    connectors: list[object] = field(default_factory=list)
    token_clients: list[object] = field(default_factory=list)

    async def __call__(self, context: TurnContext) -> None:
        self.connectors.append(context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY])
        self.token_clients.append(context.turn_state[CloudAdapterBase.USER_TOKEN_CLIENT_KEY])
        await context.send_activity("hello")


async def proactive(adapter: CloudAdapter, service_url: str, turns: Turns, app_id: str) -> None:
    reference = ConversationReference(
        conversation=ConversationAccount(id="a:lucas"), bot=ChannelAccount(id="28:bot"),
        user=ChannelAccount(id="29:lucas"), channel_id="msteams", service_url=service_url,
    )  # fmt: skip
    await adapter.continue_conversation(reference, turns, app_id)


async def test_turns_and_proactive_sends_share_one_client_per_service_url(connector: Connector):
    adapter = teams_adapter(Settings(teams_local=True))
    turns = Turns()

    for n in range(3):
        await adapter.process_activity("", message(connector.url, n), turns)
    await proactive(adapter, connector.url, turns, "")

    first, *others = turns.connectors
    assert all(other is first for other in others)
    assert len({id(client) for client in turns.token_clients}) == 1
    assert first.config.retry_policy.retries == 0  # type: ignore[attr-defined]
    assert len(connector.authorizations) == 4  # every reply reached the connector
    # Another service URL (another region's, here the same server by another name): another
    # client.
    another = connector.url.replace("127.0.0.1", "localhost")
    await adapter.process_activity("", message(another, 9), turns)
    assert turns.connectors[-1] is not first
    assert turns.connectors[-1].config.retry_policy.retries == 0  # type: ignore[attr-defined]


async def test_a_kept_client_signs_each_request_with_a_fresh_token(
    connector: Connector, monkeypatch: pytest.MonkeyPatch
):
    """With credentials, each request asks them for a token (MSAL answers from its cache
    until the token is 5 minutes from expiry, then gets a new one): a token that changed
    in between is the one sent, although the client is the same."""
    issued = itertools.count(1)
    asked: list[MicrosoftAppCredentials] = []

    def access_token(self: MicrosoftAppCredentials, force_refresh: bool = False) -> str:
        asked.append(self)
        return f"token-{next(issued)}"

    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", access_token)
    settings = Settings(microsoft_app_id=APP_ID, microsoft_app_password="not-a-real-secret")
    adapter = teams_adapter(settings)
    turns = Turns()

    for _ in range(3):
        await proactive(adapter, connector.url, turns, APP_ID)

    assert connector.authorizations == ["Bearer token-1", "Bearer token-2", "Bearer token-3"]
    first, *others = turns.connectors
    assert all(other is first for other in others)
    assert len(set(map(id, asked))) == 1  # one credentials object, whose MSAL cache lives on


def test_clients_are_kept_up_to_a_limit_the_least_recently_used_going_first():
    kept: Clients[str] = Clients(limit=2)
    assert kept.keep(("a",), "client a") == "client a"
    assert kept.keep(("a",), "another a") == "client a"  # made twice at once: one is kept
    kept.keep(("b",), "client b")
    assert kept.get(("a",)) == "client a"  # a is now the most recently used
    kept.keep(("c",), "client c")
    assert (kept.get(("a",)), kept.get(("b",)), kept.get(("c",))) == ("client a", None, "client c")
    assert len(kept) == 2
