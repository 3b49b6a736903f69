"""Charts kept for their links: PNG bytes with an expiry, and the key that signs the links."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select

from storage.db import Repository
from storage.tables import chart_secret_t, chart_t

c = chart_t.c
k = chart_secret_t.c
SECRET_BYTES = 32  # as long as an HMAC-SHA256 digest


class SqlChartRepository(Repository):
    """Implements `rhythm.ports.ChartRepository`."""

    async def save_chart(
        self, org: str, chart_id: str, png: bytes, *, expires_at: datetime
    ) -> None:
        row = {
            "id": chart_id, "org": org, "png": png,
            "created_at": datetime.now(UTC), "expires_at": expires_at,
        }  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(insert(chart_t).values(row))

    async def chart_png(self, chart_id: str, *, now: datetime) -> bytes | None:
        query = select(c.png).where(c.id == chart_id, c.expires_at > now)
        async with self._db.read() as conn:
            png = (await conn.execute(query)).scalar_one_or_none()
        return bytes(png) if png is not None else None  # asyncpg may hand back a memoryview

    async def chart_secret(self) -> bytes:
        """Made by the first caller: concurrent first callers (replicas starting together)
        insert-or-ignore the one row and all read back the same secret."""
        query = select(k.secret).where(k.id == 1)
        async with self._db.read() as conn:
            found = (await conn.execute(query)).scalar_one_or_none()
        if found is not None:
            return bytes(found)
        fresh = {
            "id": 1,
            "secret": secrets.token_bytes(SECRET_BYTES),
            "created_at": datetime.now(UTC),
        }
        async with self._db.write() as conn:
            await conn.execute(self._db.insert_ignoring(chart_secret_t, ["id"]).values(fresh))
            return bytes((await conn.execute(query)).scalar_one())

    async def prune_charts(self, *, now: datetime) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(delete(chart_t).where(c.expires_at <= now))
        return int(result.rowcount or 0)
