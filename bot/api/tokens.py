"""The API's bearer tokens: made, listed and revoked by `drumbeat token`, checked per request.

A token is 32 random bytes (256 bits) after a `dbt_` prefix that says what it is (and lets
secret scanners spot one in a leaked file). Only its SHA-256 is stored: with that much entropy
a fast hash is as good as a slow one, and a request costs one indexed lookup by hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from rhythm.errors import DrumbeatError
from rhythm.ports import ApiScope, ApiToken, ApiTokenRepository

PREFIX = "dbt_"
# A name is the default source of the values a token pushes: `rhythm.values.SOURCE` allows it.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class BadTokenName(DrumbeatError):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"“{name[:80]}” cannot name a token: use 1 to 40 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (it is what digests show: “updated "
            "automatically from ci”)."
        )


class TokenNameTaken(DrumbeatError):
    def __init__(self, token: ApiToken) -> None:
        revoked = f", revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else ""
        super().__init__(
            f"{token.org} has a token named {token.name} already ({token.scope.value}{revoked}): "
            "choose another name."
        )


class UnknownToken(DrumbeatError):
    def __init__(self, org: str, name: str, known: list[str]) -> None:
        names = f" Its tokens: {', '.join(known)}." if known else " It has none."
        super().__init__(f"{org} has no token named {name[:80]}.{names}")


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(
    store: ApiTokenRepository, org: str, name: str, scope: ApiScope, *, at: datetime
) -> tuple[str, ApiToken]:
    """A new token for `org`: the token itself (shown once, never stored) and its record."""
    if NAME.fullmatch(name) is None:
        raise BadTokenName(name)
    token = new_token()
    added = await store.add_api_token(
        org, name=name, scope=scope, token_hash=token_hash(token), at=at
    )
    if added is None:
        taken = next(t for t in await store.api_tokens(org) if t.name == name)
        raise TokenNameTaken(taken)
    return token, added


async def revoke_token(store: ApiTokenRepository, org: str, name: str, *, at: datetime) -> ApiToken:
    """Revoke `name`: its next request is refused (401). One revoked already stays so."""
    revoked = await store.revoke_api_token(org, name, at=at)
    if revoked is None:
        raise UnknownToken(org, name, [t.name for t in await store.api_tokens(org)])
    return revoked
