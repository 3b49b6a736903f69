"""The scheduler's per-organisation watermark."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.db import Repository
from storage.tables import tick_state_t


class SqlTickRepository(Repository):
    """Implements `rhythm.ports.TickRepository`."""

    async def last_tick(self, org: str) -> datetime | None:
        async with self._db.read() as conn:
            result = await conn.execute(
                select(tick_state_t.c.last_tick).where(tick_state_t.c.org == org)
            )
            return result.scalar_one_or_none()

    async def record_tick(self, org: str, at: datetime) -> None:
        # The upsert's WHERE keeps the later instant when an overlapping tick (another replica,
        # a slow one) records an earlier one after us.
        stmt = self._db.upsert(
            tick_state_t, ["org"], {"org": org, "last_tick": at}, only_if_greater="last_tick"
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
