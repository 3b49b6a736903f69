"""Digests: one per (rhythm, period), claimed by exactly one poster."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import RowMapping, or_, select, update

from rhythm.due import DueDigest
from rhythm.records import DigestRecord
from storage.db import Repository
from storage.tables import digest_t

d = digest_t.c


class SqlDigestRepository(Repository):
    """Implements `rhythm.ports.DigestRepository`."""

    async def add_digests(self, org: str, due: Sequence[DueDigest]) -> int:
        if not due:
            return 0
        rows = [
            {"org": org, "rhythm": x.rhythm, "team": x.team, "period": x.period,
             "scheduled_for": x.scheduled_for}
            for x in due
        ]  # fmt: skip
        stmt = self._db.insert_ignoring(digest_t, ["org", "rhythm", "period"]).returning(d.id)
        async with self._db.write() as conn:
            return len((await conn.execute(stmt, rows)).all())

    async def claim_digests(
        self, org: str, *, now: datetime, worker: str, lease: timedelta
    ) -> list[DigestRecord]:
        """Claim every due, unposted, unfailed digest whose lease is free (see
        `SqlPromptRepository.claim_unsent` for why this is safe on both backends)."""
        claimable = (
            select(d.id)
            .where(
                d.org == org,
                d.posted_at.is_(None),
                d.failed_at.is_(None),
                d.scheduled_for <= now,
                or_(d.claimed_until.is_(None), d.claimed_until <= now),
            )
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(digest_t)
            .where(d.id.in_(claimable.scalar_subquery()))
            .values(claimed_by=worker, claimed_until=now + lease)
            .returning(*digest_t.c)
        )
        async with self._db.write() as conn:
            claimed = [_record(r) for r in (await conn.execute(stmt)).mappings()]
        claimed.sort(key=lambda r: (r.scheduled_for, r.id))
        return claimed

    async def mark_posted(self, digest_id: int, *, at: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(update(digest_t).where(d.id == digest_id).values(posted_at=at))

    async def mark_digest_failed(self, digest_id: int, *, at: datetime, error: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(digest_t).where(d.id == digest_id).values(failure=error, failed_at=at)
            )


def _record(r: RowMapping) -> DigestRecord:
    return DigestRecord(
        id=r["id"],
        rhythm=r["rhythm"],
        team=r["team"],
        period=r["period"],
        scheduled_for=r["scheduled_for"],
        posted_at=r["posted_at"],
        failure=r["failure"],
    )
