"""Signed, expiring links to charts, for platforms that show an image only from a URL.

Teams shows a chart either inline, as a data URI inside the card (when the card stays under
Teams' message size), or from a URL it can fetch. `ChartLinks.publish` keeps the PNG in the
database with its expiry and returns

    {public_url}/charts/{id}.png?expires=<unix seconds>&signature=<hex HMAC-SHA256>

where the id is random (unguessable) and the signature covers "id.expires" with the
database's chart secret, made once per database: any replica signs and checks alike, and
any replica serves any chart (the bytes are in the database). `open` checks a link the way
the `/charts/` route receives it and refuses (`ChartLinkRefused`) a wrong signature, an
expired link and an unknown chart alike.

Expired charts are pruned by `publish`, at most once an hour per process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from rhythm.errors import ChartLinkRefused
from rhythm.ports import ChartRepository, Clock
from rhythm.sections import Image

LIFETIME = timedelta(days=30)  # a digest is read for a while after it is posted
PRUNE_EVERY = timedelta(hours=1)
ID_BYTES = 16  # 128 random bits: 22 URL-safe characters
_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_EXPIRES = re.compile(r"[0-9]{1,12}")
_PLACEHOLDER_ID = "x" * len(secrets.token_urlsafe(ID_BYTES))
_SIGNATURE_LENGTH = hashlib.sha256().digest_size * 2


def data_uri(image: Image) -> str:
    """The image inline: `data:image/png;base64,...`."""
    return "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")


def is_chart_id(text: str) -> bool:
    """Whether `text` has the shape of a chart id (anything else is no chart's path)."""
    return _ID.fullmatch(text) is not None


class ChartLinks:
    """Publishes charts behind signed links and opens those links (see the module)."""

    def __init__(
        self,
        *,
        store: ChartRepository,
        clock: Clock,
        public_url: str | None,
        lifetime: timedelta = LIFETIME,
        prune_every: timedelta = PRUNE_EVERY,
    ) -> None:
        self._store = store
        self._clock = clock
        self.public_url = public_url.rstrip("/") if public_url else None
        self.lifetime = lifetime
        self._prune_every = prune_every
        self._pruned_at: datetime | None = None
        self._secret: bytes | None = None  # made once per database, never changed

    async def publish(self, org: str, image: Image) -> str | None:
        """Keep `image` until the link expires and return the link; None without a public
        URL (nothing is stored then)."""
        if self.public_url is None:
            return None
        now = self._clock.now()
        await self._prune(now)
        chart_id = secrets.token_urlsafe(ID_BYTES)
        expires = int((now + self.lifetime).timestamp())
        await self._store.save_chart(
            org, chart_id, image.png, expires_at=datetime.fromtimestamp(expires, UTC)
        )
        signature = self._sign(await self.secret(), chart_id, expires)
        return self._link(chart_id, expires, signature)

    def placeholder(self) -> str | None:
        """A link as long as a published one will be (for measuring a card before publishing
        anything); None without a public URL."""
        if self.public_url is None:
            return None
        expires = int((self._clock.now() + self.lifetime).timestamp())
        return self._link(_PLACEHOLDER_ID, expires, "0" * _SIGNATURE_LENGTH)

    async def open(self, chart_id: str, expires: str, signature: str) -> bytes:
        """The PNG a link names, as the link's parts arrive (`expires` and `signature` are
        the query's text); `ChartLinkRefused` when the signature is wrong, the link expired,
        or the chart is unknown."""
        if not is_chart_id(chart_id) or _EXPIRES.fullmatch(expires) is None:
            raise ChartLinkRefused()
        expected = self._sign(await self.secret(), chart_id, int(expires))
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode("ascii"), given):
            raise ChartLinkRefused()
        now = self._clock.now()
        if int(expires) <= now.timestamp():
            raise ChartLinkRefused()
        png = await self._store.chart_png(chart_id, now=now)
        if png is None:
            raise ChartLinkRefused()
        return png

    def seconds_left(self, expires: str) -> int:
        """How long a link that `open` accepted stays valid: what a cache may keep it for."""
        return max(0, int(expires) - int(self._clock.now().timestamp()))

    async def secret(self) -> bytes:
        if self._secret is None:
            self._secret = await self._store.chart_secret()
        return self._secret

    async def prune(self) -> int:
        """Forget expired charts now; returns how many."""
        now = self._clock.now()
        self._pruned_at = now
        return await self._store.prune_charts(now=now)

    async def _prune(self, now: datetime) -> None:
        if self._pruned_at is None or now - self._pruned_at >= self._prune_every:
            await self.prune()

    def _link(self, chart_id: str, expires: int, signature: str) -> str:
        query = urlencode({"expires": expires, "signature": signature})
        return f"{self.public_url}/charts/{chart_id}.png?{query}"

    @staticmethod
    def _sign(secret: bytes, chart_id: str, expires: int) -> str:
        message = f"{chart_id}.{expires}".encode("ascii")
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
