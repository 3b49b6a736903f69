"""With Microsoft credentials, POST /api/messages accepts only Bot Framework tokens: signed by
a key the Bot Framework publishes for Teams, for this app, from the service URL the activity
names. Anything else gets 401 and the bot never sees it.

The keys are this test's own, published by a local OpenID metadata server (botbuilder reads
it with blocking `requests`, so it runs in a thread), and the bot is pointed at it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.server import serving
from bot.settings import Settings
from bot.teams.adapter import teams_adapter
from bot.teams.gateway import TeamsGateway
from bot.teams.plugin import attach_teams
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore
from tests.bot.teams.test_playground import free_port

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
APP_ID = "5f0c2a7e-1b4d-4e8f-9a3c-6d2e1f0b7a95"
TENANT = "72f988bf-tenant"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
ISSUER = "https://api.botframework.com"
KID = "drumbeat-test-key"
PUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FORGED = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Metadata(ThreadingHTTPServer):
    """The OpenID metadata document and the keys it points to."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _MetadataHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        key = json.loads(RSAAlgorithm.to_jwk(PUBLISHED.public_key()))
        self.documents = {
            "/openid": {
                "issuer": ISSUER,
                "jwks_uri": f"{self.url}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            "/keys": {"keys": [{**key, "kid": KID, "use": "sig", "endorsements": ["msteams"]}]},
        }


class _MetadataHandler(BaseHTTPRequestHandler):
    server: Metadata

    def do_GET(self) -> None:
        document = self.server.documents.get(self.path)
        body = json.dumps(document).encode()
        self.send_response(200 if document else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def metadata() -> Iterator[Metadata]:
    server = Metadata()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def token(
    key: rsa.RSAPrivateKey = PUBLISHED, *, kid: str = KID, audience: str = APP_ID,
    service_url: str = SERVICE_URL, expires_in: float = 600,
) -> str:  # fmt: skip
    now = int(time.time())
    claims = {
        "iss": ISSUER, "aud": audience, "serviceurl": service_url,
        "nbf": now - 60, "iat": now - 60, "exp": now + int(expires_in),
    }  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def message(kind: str = "message") -> dict[str, Any]:
    return {
        "type": kind,
        "id": "1700000000001",
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": "29:lucas", "name": "Lucas Bernard", "aadObjectId": "aad-lucas"},
        "recipient": {"id": f"28:{APP_ID}", "name": "Drumbeat"},
        "conversation": {"id": "a:lucas", "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
        "text": "mine",
    }


@pytest.fixture
async def endpoint(store: SqlStore, metadata: Metadata) -> AsyncIterator[str]:
    await store.save_organisation(load_organisation(ACME))
    settings = Settings(
        microsoft_app_id=APP_ID, microsoft_app_password="not-a-real-secret", teams_local=True
    )
    adapter = teams_adapter(settings, openid_metadata_url=f"{metadata.url}/openid")
    gateway = TeamsGateway(adapter=adapter, store=store, app_id=APP_ID)
    drumbeat = Drumbeat(
        store=store, chat=ChatRouter(gateways={"teams": gateway}, fallback="teams"),
        clock=FixedClock(datetime.now(UTC)),
    )  # fmt: skip
    app = web.Application()
    attach_teams(app, settings=settings, drumbeat=drumbeat, gateway=gateway)
    port = free_port()
    async with serving(app, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}/api/messages"


async def post(url: str, activity: dict[str, Any], authorization: str | None) -> int:
    headers = {"Authorization": authorization} if authorization else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=activity, headers=headers) as r:
        return r.status


async def nothing_stored(store: SqlStore) -> bool:
    return (
        await store.workspace_org("teams", TENANT) is None
        and await store.conversation("teams", f"tenant:{TENANT}") is None
        and await store.conversation("teams", "aad-lucas") is None
    )


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no token"),
        pytest.param("Bearer not.a.token", id="garbage"),
        pytest.param(f"Bearer {token(FORGED)}", id="signed with an unpublished key"),
        pytest.param(f"Bearer {token(kid='someone-else')}", id="a key id nobody published"),
        pytest.param(f"Bearer {token(audience='another-app')}", id="for another app"),
        pytest.param(f"Bearer {token(service_url='https://evil.example/')}", id="other service"),
        pytest.param(f"Bearer {token(expires_in=-3600)}", id="expired"),
    ],
)
async def test_a_request_without_a_valid_token_is_refused_and_nothing_happens(
    endpoint: str, store: SqlStore, authorization: str | None
):
    assert await post(endpoint, message(), authorization) == 401
    assert await nothing_stored(store)


async def test_a_valid_token_gets_through(endpoint: str, store: SqlStore):
    """The positive control: the same checks let Teams' own requests in (a typing activity,
    which the bot answers with nothing, so the test needs no Azure AD for replies)."""
    assert await post(endpoint, message("typing"), f"Bearer {token()}") in (200, 201)
