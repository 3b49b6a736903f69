"""Check-ins: stored append-only and idempotently, one transaction per submission."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, LastAnswer, Status
from rhythm.ports import DigestFacts, SavedCheckIn
from storage import streaks
from storage.db import Repository
from storage.digest_facts import query_digest_facts
from storage.tables import (
    checkin_t,
    initiative_t,
    initiative_update_t,
    key_result_t,
    kr_update_t,
    prompt_t,
)

# Concurrent saves of one person's check-ins for one period queue on a lock (see
# `_lock_revisions`); a unique-constraint race that still slips through (same idempotency key
# under another person, say) is resolved by looking again.
SAVE_ATTEMPTS = 3


class SqlCheckInRepository(Repository):
    """Implements `rhythm.ports.CheckInRepository`."""

    async def save_checkin(
        self,
        org: str,
        draft: CheckInDraft,
        *,
        period: str,
        prompt_id: int | None,
        submitted_at: datetime,
        idempotency_key: str,
    ) -> SavedCheckIn:
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                async with self._db.write() as conn:
                    if self._db.is_postgresql:
                        await _lock_revisions(conn, org, draft.person, draft.kind, period)
                    existing = await _find(conn, org, idempotency_key)
                    if existing is not None:
                        return existing
                    return await _insert(
                        conn, org, draft, period, prompt_id, submitted_at, idempotency_key
                    )
            except IntegrityError:
                # Someone stored the same submission, or another edit took our revision number,
                # between our read and our insert.
                async with self._db.read() as conn:
                    existing = await _find(conn, org, idempotency_key)
                if existing is not None:
                    return existing
                if attempt == SAVE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def find_checkin(self, org: str, idempotency_key: str) -> SavedCheckIn | None:
        async with self._db.read() as conn:
            return await _find(conn, org, idempotency_key)

    async def last_answers(self, org: str, person: str) -> dict[str, LastAnswer]:
        return (await self.last_answers_many(org, [person])).get(person, {})

    async def last_answers_many(
        self, org: str, people: Sequence[str]
    ) -> dict[str, dict[str, LastAnswer]]:
        """Per key result each person owns, the latest update that carried a value or a
        confidence. The owned keys are looked up first: joining instead lets SQLite's planner
        drive the query from the whole update history (seconds on a year of a large org)."""
        kr = key_result_t.c
        owner_of: dict[str, str] = {}
        async with self._db.read() as conn:
            for chunk in _chunks(sorted(set(people))):
                owned = await conn.execute(
                    select(kr.key, kr.owner).where(kr.org == org, kr.owner.in_(chunk))
                )
                owner_of.update((key, owner) for key, owner in owned)
            answers: dict[str, dict[str, LastAnswer]] = {}
            for chunk in _chunks(sorted(owner_of)):
                for r in await self._latest_answers(conn, org, chunk):
                    answers.setdefault(owner_of[r["key_result"]], {})[r["key_result"]] = LastAnswer(
                        value=r["value"],
                        confidence=r["confidence"],
                        status=Status(r["status"]) if r["status"] else None,
                        next_step=r["next_step"],
                    )
        return answers

    @staticmethod
    async def _latest_answers(
        conn: AsyncConnection, org: str, key_results: Sequence[str]
    ) -> Sequence[RowMapping]:
        u = kr_update_t.c
        ranked = (
            select(
                u.key_result,
                u.value,
                u.confidence,
                u.status,
                u.next_step,
                func.row_number()
                .over(
                    partition_by=u.key_result,
                    order_by=(u.submitted_at.desc(), u.revision.desc(), u.id.desc()),
                )
                .label("rank"),
            )
            .where(
                u.org == org,
                u.key_result.in_(key_results),
                u.value.is_not(None) | u.confidence.is_not(None),
            )
            .subquery()
        )
        return (await conn.execute(select(ranked).where(ranked.c.rank == 1))).mappings().all()

    async def digest_facts(
        self,
        org: str,
        *,
        kind: RhythmKind,
        period: str,
        previous: str,
        key_results: Sequence[str],
        people: Sequence[str],
        teams: Sequence[str],
        now: datetime | None = None,
    ) -> DigestFacts:
        """See `storage.digest_facts.query_digest_facts`; `now` (optional, beyond the port)
        lets a streak end at an unanswered prompt of the current period whose deadline passed."""
        async with self._db.snapshot() as conn:
            return await query_digest_facts(
                conn,
                org,
                kind=kind,
                period=period,
                previous=previous,
                key_results=key_results,
                people=people,
                teams=teams,
                now=now,
            )


async def _lock_revisions(
    conn: AsyncConnection, org: str, person: str, kind: RhythmKind, period: str
) -> None:
    """Make concurrent saves of the same (org, person, kind, period) on PostgreSQL take turns
    until commit, so each reads the revision and idempotency key the previous one wrote.
    (SQLite needs nothing: BEGIN IMMEDIATE already lets one writer in at a time.)"""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"drumbeat.checkin:{org}:{person}:{kind.value}:{period}"},
    )


async def _find(conn: AsyncConnection, org: str, idempotency_key: str) -> SavedCheckIn | None:
    c = checkin_t.c
    row = (
        await conn.execute(
            select(c.id, c.revision).where(c.org == org, c.idempotency_key == idempotency_key)
        )
    ).first()
    return SavedCheckIn(id=row.id, revision=row.revision, created=False) if row else None


async def _insert(
    conn: AsyncConnection,
    org: str,
    draft: CheckInDraft,
    period: str,
    prompt_id: int | None,
    submitted_at: datetime,
    idempotency_key: str,
) -> SavedCheckIn:
    c = checkin_t.c
    kind = draft.kind.value
    latest = await conn.execute(
        select(func.coalesce(func.max(c.revision), 0)).where(
            c.org == org, c.person == draft.person, c.kind == kind, c.period == period
        )
    )
    revision = int(latest.scalar_one()) + 1
    has_notes = any(answer.strip() for answer in draft.notes.values())
    checkin_id = (
        await conn.execute(
            insert(checkin_t)
            .values(
                org=org,
                person=draft.person,
                kind=kind,
                period=period,
                prompt_id=prompt_id,
                spontaneous=prompt_id is None,
                revision=revision,
                submitted_at=submitted_at,
                idempotency_key=idempotency_key,
                notes=dict(draft.notes) if has_notes else None,
                blocked_by_team=draft.blocked_by_team,
                blocked_by_kr=draft.blocked_by_kr,
            )
            .returning(c.id)
        )
    ).scalar_one()

    shared = {"org": org, "checkin_id": checkin_id, "person": draft.person, "period": period,
              "submitted_at": submitted_at}  # fmt: skip
    if draft.kr_updates:
        await conn.execute(
            insert(kr_update_t),
            [
                {
                    **shared,
                    "kind": kind,
                    "revision": revision,
                    "key_result": u.key_result,
                    "value": u.value,
                    "confidence": u.confidence,
                    "status": u.status.value if u.status else None,
                    "moved": u.moved,
                    "blockers": u.blockers,
                    "blocked_by_team": u.blocked_by_team,
                    "blocked_by_kr": u.blocked_by_kr,
                    "next_step": u.next_step,
                    "final_score": u.final_score,
                    "decision": u.decision.value if u.decision else None,
                }
                for u in draft.kr_updates
            ],
        )
    if draft.initiatives:
        await conn.execute(
            insert(initiative_update_t),
            [{**shared, "initiative": key, "status": status.value}
             for key, status in draft.initiatives],
        )  # fmt: skip
        await _set_by_key(
            conn, initiative_t, org, "status",
            {key: status.value for key, status in draft.initiatives},
        )  # fmt: skip
    values = {u.key_result: u.value for u in draft.kr_updates if u.value is not None}
    if values:
        await _set_by_key(conn, key_result_t, org, "current_value", values)
    if prompt_id is not None:
        p = prompt_t.c
        answered = (
            await conn.execute(
                update(prompt_t)
                .where(p.id == prompt_id, p.org == org, p.answered_at.is_(None))
                .values(answered_at=submitted_at)
                .returning(p.person, p.kind, p.period)
            )
        ).first()
        if answered is not None:  # first answer to this prompt: its streak starts or grows
            await streaks.refresh_from(conn, org, *answered)
    return SavedCheckIn(id=checkin_id, revision=revision, created=True)


async def _set_by_key(
    conn: AsyncConnection, table: Table, org: str, column: str, values: dict[str, Any]
) -> None:
    """UPDATE one column of tree rows by key, as one executemany."""
    await conn.execute(
        update(table)
        .where(table.c.org == org, table.c.key == bindparam("row_key"))
        .values({column: bindparam("row_value")}),
        [{"row_key": key, "row_value": value} for key, value in values.items()],
    )


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """IN lists of bounded length (SQLite's variable limit, PostgreSQL's planner)."""
    return [items[i : i + size] for i in range(0, len(items), size)]
