"""Tokens made, listed and revoked with `drumbeat token`, and what the API lets each do."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.api.tokens import PREFIX
from storage.store import open_store
from tests.bot.api.conftest import Api

ORGANISATION = "/api/v1/organisation"
PUSH = "/api/v1/key-results/onboarding-completion/values"


def assert_problem(status: int, body: object, expected: int, *phrases: str) -> None:
    assert status == expected, body
    assert isinstance(body, dict)
    assert body["status"] == expected
    assert body["type"] == "about:blank"
    for phrase in phrases:
        assert phrase in body["detail"]


async def test_a_token_is_printed_once_and_only_its_hash_is_stored(api: Api):
    token = await api.token("warehouse", "read")

    assert token.startswith(PREFIX)
    assert len(token) > 40
    async with open_store(api.database_url) as store:
        [stored] = await store.api_tokens("acme")
    assert stored.name == "warehouse"
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored)
    code, out, _ = await api.cli("token", "list")
    assert code == 0
    assert "warehouse" in out
    assert "read" in out
    assert token not in out


async def test_a_taken_name_or_an_unusable_one_is_refused_and_nothing_is_stored(api: Api):
    await api.token("ci", "write")
    code, _, err = await api.cli("token", "create", "--name", "ci", "--scope", "read")
    assert code == 1
    assert "has a token named ci already (write)" in err
    code, _, err = await api.cli("token", "create", "--name", "my ci!")
    assert code == 1
    assert "cannot name a token" in err
    code, _, err = await api.cli("token", "create", "--name", "x", "--scope", "admin")
    assert code == 2
    async with open_store(api.database_url) as store:
        assert [t.name for t in await store.api_tokens("acme")] == ["ci"]


async def test_a_token_belongs_to_the_organisation_it_was_made_for(api: Api):
    async with open_store(api.database_url) as store:
        tree = await store.load_organisation("acme")
        assert tree is not None
        await store.save_organisation(replace(tree, key="beta", name="Beta"))
    code, _, err = await api.cli("token", "create", "--name", "ci")
    assert code == 1
    assert "Several organisations" in err
    token = await api.token("ci", "read", "--org", "beta")

    status, body, _ = await api.call("GET", ORGANISATION, token)
    assert status == 200
    assert body["key"] == "beta"


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        (None, "This needs a token"),
        ("Bearer", "must be `Bearer <token>`"),
        ("Basic dXNlcjpwYXNz", "must be `Bearer <token>`"),
        ("Bearer not-ours", "not a Drumbeat token"),
        (f"Bearer {PREFIX}made-up-0123456789", "not valid"),
        ("Bearer dbt_é", "not a Drumbeat token"),
    ],
)
async def test_no_token_or_a_wrong_one_is_a_401_with_a_bearer_challenge(
    api: Api, authorization: str | None, says: str
):
    headers = {"Authorization": authorization} if authorization else {}

    status, body, response = await api.call("GET", ORGANISATION, headers=headers)

    assert_problem(status, body, 401, says)
    assert response.content_type == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="drumbeat"')


async def test_a_revoked_token_is_refused_from_its_next_request(api: Api):
    token = await api.token("ci", "write")
    assert (await api.call("GET", ORGANISATION, token))[0] == 200

    code, out, _ = await api.cli("token", "revoke", "ci")
    assert code == 0
    assert "Revoked ci" in out

    status, body, response = await api.call("GET", ORGANISATION, token)
    assert_problem(status, body, 401, "(ci) was revoked")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    code, out, _ = await api.cli("token", "revoke", "ci")
    assert code == 0
    assert "ci was revoked already" in out
    code, _, err = await api.cli("token", "revoke", "cj")
    assert code == 1
    assert "no token named cj. Its tokens: ci." in err


async def test_a_read_token_reads_and_gets_403_on_the_write_route(api: Api):
    token = await api.token("dashboard", "read")

    assert (await api.call("GET", ORGANISATION, token))[0] == 200
    status, body, response = await api.call("POST", PUSH, token, json={"value": 50})

    assert_problem(status, body, 403, "may only read", "--scope write")
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    async with open_store(api.database_url) as store:
        assert (await store.current_values("acme", ["onboarding-completion"])) == {
            "onboarding-completion": 52.0
        }


async def test_the_last_use_is_noted_at_most_once_a_minute(api: Api):
    token = await api.token("ci", "read")
    first = api.clock.now()
    await api.call("GET", ORGANISATION, token)
    api.clock.advance(timedelta(seconds=30))
    await api.call("GET", ORGANISATION, token)
    async with open_store(api.database_url) as store:
        [stored] = await store.api_tokens("acme")
        assert stored.last_used_at == first
        api.clock.advance(timedelta(seconds=31))
        await api.call("GET", ORGANISATION, token)
        [stored] = await store.api_tokens("acme")
        assert stored.last_used_at == first + timedelta(seconds=61)
    code, out, _ = await api.cli("token", "list")
    assert code == 0
    assert f"{stored.last_used_at:%Y-%m-%d %H:%M} UTC" in out
