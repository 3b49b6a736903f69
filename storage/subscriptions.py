"""Channels subscribed to teams' digests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from rhythm.records import Subscription
from storage.db import Repository
from storage.tables import subscription_t

s = subscription_t.c


class SqlSubscriptionRepository(Repository):
    """Implements `rhythm.ports.SubscriptionRepository`."""

    async def subscribe(self, org: str, team: str, channel: str, *, by: str) -> bool:
        async with self._db.write() as conn:
            existing = (
                await conn.execute(
                    select(s.failure).where(s.org == org, s.team == team, s.channel == channel)
                )
            ).first()
            if existing is not None and existing.failure is None:
                return False
            row = {
                "org": org, "team": team, "channel": channel, "created_by": by,
                "created_at": datetime.now(UTC), "failure": None, "failed_at": None,
            }  # fmt: skip
            await conn.execute(self._db.upsert(subscription_t, ["org", "team", "channel"], row))
            return True

    async def unsubscribe(self, org: str, team: str, channel: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(subscription_t).where(s.org == org, s.team == team, s.channel == channel)
            )
            return bool(result.rowcount)

    async def subscriptions(self, org: str, team: str | None = None) -> list[Subscription]:
        query = select(s.team, s.channel, s.created_by, s.failure).where(s.org == org)
        if team is not None:
            query = query.where(s.team == team)
        async with self._db.read() as conn:
            rows = (await conn.execute(query.order_by(s.team, s.channel))).all()
        return [Subscription(*row) for row in rows]

    async def mark_subscription_failed(
        self, org: str, team: str, channel: str, *, error: str, at: datetime
    ) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(subscription_t)
                .where(s.org == org, s.team == team, s.channel == channel)
                .values(failure=error, failed_at=at)
            )
