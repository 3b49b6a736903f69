"""Direct messages sent once, and the weekly allowance of nudges that some of them spend.

A message is written under a key unique in its organisation, in the transaction that decided
it, so writing it again writes nothing. It is then claimed with a lease and sent as prompts
are (`storage.prompts`): `claim_outbox` mirrors `claim_unsent`, `release_outbox` mirrors
`release`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.messages import Action, Notice
from rhythm.records import OutboxRecord, Outgoing, Spend, Spent
from storage.db import Repository, chunks, insert_ignoring
from storage.tables import blocker_event_t, nudge_t, outbox_t

o = outbox_t.c
n = nudge_t.c


class SqlOutboxRepository(Repository):
    """Implements `rhythm.ports.OutboxRepository`."""

    async def enqueue(
        self,
        org: str,
        messages: Sequence[Outgoing],
        *,
        announced: Sequence[int] = (),
        at: datetime,
    ) -> int:
        if not messages and not announced:
            return 0
        async with self._db.write() as conn:
            written = await _enqueue(conn, org, messages, at)
            if announced:
                ev = blocker_event_t.c
                await conn.execute(
                    update(blocker_event_t)
                    .where(ev.org == org, ev.id.in_(sorted(set(announced))),
                           ev.announced_at.is_(None))
                    .values(announced_at=at)
                )  # fmt: skip
        return written

    async def nudge(self, org: str, spend: Spend, message: Outgoing | None = None) -> Spent:
        """One write transaction: on PostgreSQL it first takes an advisory lock on the
        person's week, so two spenders of different keys count one after the other (SQLite's
        BEGIN IMMEDIATE already lets one writer in at a time)."""
        async with self._db.write() as conn:
            if self._db.is_postgresql:
                name = f"drumbeat.nudge:{org}:{spend.person}:{spend.week}"
                lock = func.pg_advisory_xact_lock(func.hashtextextended(name, 0))
                await conn.execute(select(lock))
            spent_before = (
                await conn.execute(select(n.key).where(n.org == org, n.key == spend.key))
            ).first()
            if spent_before is not None:
                return Spent.ALREADY
            if await _spent(conn, org, spend.person, spend.week) >= spend.cap:
                return Spent.CAPPED
            inserted = (
                await conn.execute(
                    insert_ignoring(conn.dialect.name, nudge_t, ["org", "key"])
                    .values(org=org, key=spend.key, person=spend.person, week=spend.week,
                            at=spend.at)
                    .returning(n.key)
                )
            ).first()  # fmt: skip
            if inserted is None:  # spent meanwhile under another person or week: no lock in common
                return Spent.ALREADY
            if message is not None:
                await _enqueue(conn, org, [message], spend.at)
        return Spent.SPENT

    async def claim_outbox(
        self, org: str, *, now: datetime, worker: str, limit: int, lease: timedelta
    ) -> list[OutboxRecord]:
        """One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) ... RETURNING, as
        `SqlPromptRepository.claim_unsent`: concurrent claimers on PostgreSQL skip each
        other's rows; on SQLite they take turns (BEGIN IMMEDIATE)."""
        if limit <= 0:
            return []
        ready = (
            o.org == org,
            o.sent_at.is_(None),
            o.failure.is_(None),
            or_(o.not_before.is_(None), o.not_before <= now),
            or_(o.claim_until.is_(None), o.claim_until <= now),
        )
        claimable = (
            select(o.id).where(*ready).order_by(o.id).limit(limit).with_for_update(skip_locked=True)
        )
        stmt = (
            update(outbox_t)
            .where(o.id.in_(claimable.scalar_subquery()))
            .values(
                claimed_by=worker,
                claim_until=now + lease,
            )
            .returning(*outbox_t.c)
        )
        # Nearly every tick finds nothing to send: a read says so without taking SQLite's
        # write lock (or a PostgreSQL write transaction) each minute.
        async with self._db.read() as conn:
            waiting = (await conn.execute(select(o.id).where(*ready).limit(1))).first()
        if waiting is None:
            return []
        async with self._db.write() as conn:
            claimed = [outbox_record(r) for r in (await conn.execute(stmt)).mappings()]
        claimed.sort(key=lambda r: r.id)  # RETURNING has no order: oldest first
        return claimed

    async def mark_outbox_attempt(self, message_id: int, *, at: datetime, worker: str) -> bool:
        async with self._db.write() as conn:
            done = await conn.execute(
                update(outbox_t)
                .where(o.id == message_id, o.claimed_by == worker, o.claim_until >= at,
                       o.sent_at.is_(None), o.failure.is_(None))
                .values(attempted_at=at, attempts=o.attempts + 1)
            )  # fmt: skip
            return bool(done.rowcount)

    async def release_outbox_claims(self, org: str, *, worker: str) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(outbox_t)
                .where(o.org == org, o.claimed_by == worker, o.sent_at.is_(None))
                .values(claimed_by=None, claim_until=None)
            )
            return int(result.rowcount)

    async def renew_outbox(
        self, message_ids: Sequence[int], *, worker: str, until: datetime
    ) -> None:
        if not message_ids:
            return
        async with self._db.write() as conn:
            for chunk in chunks(sorted(set(message_ids))):
                await conn.execute(
                    update(outbox_t)
                    .where(o.id.in_(chunk), o.claimed_by == worker, o.sent_at.is_(None))
                    .values(claim_until=until)
                )

    async def mark_outbox_sent(self, message_id: int, *, at: datetime, message_ref: str) -> None:
        await self._set_outbox(message_id, sent_at=at, message_ref=message_ref)

    async def mark_outbox_failed(self, message_id: int, *, at: datetime, error: str) -> None:
        await self._set_outbox(message_id, failure=error, failed_at=at)

    async def release_outbox(self, message_id: int, *, retry_at: datetime, in_doubt: bool) -> None:
        # The lease now ends at retry_at: claim_outbox picks the message up again from then.
        forget: dict[str, object] = {} if in_doubt else {"attempted_at": None}
        await self._set_outbox(message_id, claimed_by=None, claim_until=retry_at, **forget)

    async def _set_outbox(self, message_id: int, **values: object) -> None:
        async with self._db.write() as conn:
            await conn.execute(update(outbox_t).where(o.id == message_id).values(**values))


async def _enqueue(
    conn: AsyncConnection, org: str, messages: Sequence[Outgoing], at: datetime
) -> int:
    """Insert the messages whose (org, key) is new; returns how many were."""
    if not messages:
        return 0
    rows = [
        {"org": org, "key": m.key, "person": m.person, "notice": notice_json(m.notice),
         "created_at": at}
        for m in messages
    ]  # fmt: skip
    # Only rows actually inserted come back, so their count is the number of new messages.
    stmt = insert_ignoring(conn.dialect.name, outbox_t, ["org", "key"]).returning(o.id)
    return len((await conn.execute(stmt, rows)).all())


async def _spent(conn: AsyncConnection, org: str, person: str, week: str) -> int:
    found = await conn.execute(
        select(func.count()).where(n.org == org, n.person == person, n.week == week)
    )
    return int(found.scalar_one())


def outbox_record(r: RowMapping) -> OutboxRecord:
    return OutboxRecord(
        id=r["id"],
        key=r["key"],
        person=r["person"],
        notice=notice_from_json(r["notice"]),
        created_at=r["created_at"],
        attempted_at=r["attempted_at"],
        sent_at=r["sent_at"],
        attempts=r["attempts"],
    )


# ---- the notice as JSON -------------------------------------------------------------------


def notice_json(notice: Notice) -> dict[str, Any]:
    return {
        "title": notice.title,
        "lines": list(notice.lines),
        "actions": [
            {"id": a.id, "label": a.label, "value": a.value, "primary": a.primary}
            for a in notice.actions
        ],
        "footer": notice.footer,
    }


def notice_from_json(data: dict[str, Any]) -> Notice:
    return Notice(
        title=data["title"],
        lines=tuple(data.get("lines", ())),
        actions=tuple(
            Action(a["id"], a["label"], a.get("value", ""), bool(a.get("primary", False)))
            for a in data.get("actions", ())
        ),
        footer=data.get("footer", ""),
    )
