"""Who calls: the bearer token of a request, checked against the stored hashes (RFC 6750)."""

from __future__ import annotations

import hmac
from datetime import timedelta
from http import HTTPStatus

from aiohttp import web

from bot.api.problems import ApiError
from bot.api.tokens import PREFIX, token_hash
from rhythm.ports import ApiScope, ApiToken, ApiTokenRepository, Clock

USE_NOTED_EVERY = timedelta(minutes=1)  # `last used` is this precise, for one write a minute
REALM = 'Bearer realm="drumbeat"'


def _unauthorized(detail: str, *, invalid: bool = True) -> ApiError:
    challenge = f'{REALM}, error="invalid_token"' if invalid else REALM
    return ApiError(HTTPStatus.UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge})


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header:
        raise _unauthorized(
            "This needs a token: send `Authorization: Bearer <token>`; "
            "`drumbeat token create` makes one.",
            invalid=False,
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("The Authorization header must be `Bearer <token>`.")
    return token


async def authenticate(request: web.Request, store: ApiTokenRepository, clock: Clock) -> ApiToken:
    """The token the request carries, when it is one we made and it is not revoked; 401
    otherwise. Its use is noted (at most once a minute)."""
    token = bearer(request)
    if not (token.isascii() and token.startswith(PREFIX)):
        raise _unauthorized("This is not a Drumbeat token (they start with `dbt_`).")
    digest = token_hash(token)
    found = await store.api_token_by_hash(digest)
    # The lookup already matched the hash; the constant-time comparison keeps it so should
    # the lookup ever become a prefix or case-insensitive match.
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        raise _unauthorized("This token is not valid.")
    if found.revoked_at is not None:
        raise _unauthorized(f"This token ({found.name}) was revoked.")
    now = clock.now()
    if found.last_used_at is None or now - found.last_used_at >= USE_NOTED_EVERY:
        await store.touch_api_token(found.id, at=now, every=USE_NOTED_EVERY)
    return found


def require(token: ApiToken, scope: ApiScope) -> None:
    """403 for a read token on a write route."""
    if scope is ApiScope.WRITE and token.scope is not ApiScope.WRITE:
        raise ApiError(
            HTTPStatus.FORBIDDEN,
            f"The token {token.name} may only read; this needs a write token "
            "(`drumbeat token create --scope write`).",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="write"'},
        )
