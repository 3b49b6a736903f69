"""Slack's request signing (v0), as Slack does it: HMAC-SHA256 of `v0:<timestamp>:<body>` with
the app's signing secret, sent in X-Slack-Signature with the timestamp in
X-Slack-Request-Timestamp. `SignedPoster` sends real-shaped, signed payloads to the app."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

FORM = "application/x-www-form-urlencoded"


def signature(secret: str, timestamp: int | str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: str, *, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": signature(secret, stamp, body),
    }


def command_body(fields: Mapping[str, str]) -> str:
    return urlencode(fields)


def interactive_body(payload: Mapping[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def event_body(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload)


class SignedPoster:
    """Posts signed requests to the app's request URL, as Slack's servers do."""

    def __init__(self, *, session: aiohttp.ClientSession, url: str, secret: str) -> None:
        self.session = session
        self.url = url
        self.secret = secret

    async def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        sent = signed_headers(
            secret or self.secret, body, content_type=content_type, timestamp=timestamp
        )
        sent.update(headers or {})
        response = await self.session.post(self.url, data=body.encode(), headers=sent)
        await response.read()
        return response

    async def command(self, fields: Mapping[str, str], **options: Any) -> aiohttp.ClientResponse:
        return await self.post(command_body(fields), content_type=FORM, **options)

    async def interactive(
        self, payload: Mapping[str, Any], **options: Any
    ) -> aiohttp.ClientResponse:
        return await self.post(interactive_body(payload), content_type=FORM, **options)

    async def event(
        self, payload: Mapping[str, Any], *, retry: int = 0, **options: Any
    ) -> aiohttp.ClientResponse:
        headers = dict(options.pop("headers", None) or {})
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(
            event_body(payload), content_type="application/json", headers=headers, **options
        )
