"""Check-ins: stored append-only and idempotently, one transaction per submission."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft
from rhythm.ports import Answering
from rhythm.records import DigestFacts, KrState, PromptRecord, SavedCheckIn
from rhythm.status import Status
from storage import streaks
from storage.blockers import keep_blockers
from storage.db import Repository, chunks, insert_ignoring
from storage.digest_facts import query_digest_facts
from storage.prompts import prompt_record, prompt_row
from storage.tables import (
    checkin_t,
    initiative_t,
    initiative_update_t,
    key_result_t,
    kr_update_t,
    organisation_t,
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
        answering: Answering,
        submitted_at: datetime,
        idempotency_key: str,
    ) -> SavedCheckIn:
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                async with self._db.write() as conn:
                    if self._db.is_postgresql:
                        await _lock_for_checkin(conn, org, draft.person, draft.kind, period)
                    # A submission stored already is found by its unique key: the insert
                    # below fails and the handler returns the stored one.
                    prompt = await _answered_prompt(conn, org, answering)
                    return await _insert(
                        conn, org, draft, period, prompt, submitted_at, idempotency_key
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

    async def kr_states(self, org: str, person: str) -> dict[str, KrState]:
        return (await self.kr_states_many(org, [person])).get(person, {})

    async def kr_states_many(
        self, org: str, people: Sequence[str]
    ) -> dict[str, dict[str, KrState]]:
        """Per key result each person owns: its current value, and the latest update that
        carried a confidence. The owned keys are looked up first: joining instead lets
        SQLite's planner drive the query from the whole update history (seconds on a year of
        a large org)."""
        kr = key_result_t.c
        owned: dict[str, tuple[str, float | None]] = {}
        async with self._db.read() as conn:
            for chunk in chunks(sorted(set(people))):
                rows = await conn.execute(
                    select(kr.key, kr.owner, kr.current_value).where(
                        kr.org == org, kr.owner.in_(chunk)
                    )
                )
                owned.update((key, (owner, value)) for key, owner, value in rows)
            latest: dict[str, RowMapping] = {}
            for chunk in chunks(sorted(owned)):
                latest.update((r["key_result"], r) for r in await _latest_answers(conn, org, chunk))
        states: dict[str, dict[str, KrState]] = {}
        for key, (owner, value) in owned.items():
            answer = latest.get(key)
            states.setdefault(owner, {})[key] = (
                KrState(
                    value,
                    answer["confidence"],
                    Status(answer["status"]) if answer["status"] else None,
                    answer["next_step"],
                )
                if answer is not None
                else KrState(value)
            )
        return states

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
        window: tuple[datetime, datetime] | None = None,
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
                window=window,
            )


async def _lock_for_checkin(
    conn: AsyncConnection, org: str, person: str, kind: RhythmKind, period: str
) -> None:
    """On PostgreSQL: hold the organisation row in key-share mode, so an import (which locks
    it for update) never interleaves with this check-in's value updates; and make concurrent
    saves of the same (org, person, kind, period) take turns until commit, so each reads the
    revision and idempotency key the previous one wrote. (SQLite needs neither: BEGIN
    IMMEDIATE already lets one writer in at a time.)"""
    name = f"drumbeat.checkin:{org}:{person}:{kind.value}:{period}"
    await conn.execute(
        # One round trip for both locks. FOR KEY SHARE: `key_share` alone would be FOR NO KEY
        # UPDATE, which check-ins of one organisation conflict on: they would take turns.
        select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0)))
        .where(organisation_t.c.key == org)
        .with_for_update(read=True, key_share=True)
    )


async def _answered_prompt(
    conn: AsyncConnection, org: str, answering: Answering
) -> PromptRecord | None:
    """The prompt the check-in answers, as it was: by id, else by its rhythm, person and
    period (written now when no tick wrote it yet, so no tick will)."""
    p = prompt_t.c
    if answering.prompt_id is not None:
        where = [p.org == org, p.id == answering.prompt_id]
    elif answering.due is not None:
        due = answering.due
        await conn.execute(
            insert_ignoring(
                conn.dialect.name, prompt_t, ["org", "rhythm", "person", "period"]
            ).values(prompt_row(org, due))
        )
        where = [p.org == org, p.rhythm == due.rhythm, p.person == due.person,
                 p.period == due.period]  # fmt: skip
    else:
        return None
    row = (await conn.execute(select(prompt_t).where(*where))).mappings().first()
    return prompt_record(row) if row else None


async def _find(conn: AsyncConnection, org: str, idempotency_key: str) -> SavedCheckIn | None:
    c = checkin_t.c
    row = (
        await conn.execute(
            select(c.id, c.revision, c.submitted_at).where(
                c.org == org, c.idempotency_key == idempotency_key
            )
        )
    ).first()
    if row is None:
        return None
    return SavedCheckIn(row.id, row.revision, created=False, submitted_at=row.submitted_at)


async def _values_at_period_start(
    conn: AsyncConnection, org: str, kind: str, period: str, keys: Sequence[str]
) -> dict[str, float | None]:
    """Where each key result stood before `period`'s first update of it: what that update
    recorded, or, for the first one, the value the key result has until this one lands."""
    u, kr = kr_update_t.c, key_result_t.c
    found: dict[str, float | None] = {}
    earlier = await conn.execute(
        select(u.key_result, u.value_before)
        .where(u.org == org, u.kind == kind, u.period == period, u.key_result.in_(keys))
        .order_by(u.submitted_at.desc(), u.id.desc())
    )
    found.update((key, value) for key, value in earlier)  # the earliest comes last, and stays
    rest = [key for key in keys if key not in found]
    if rest:
        now = await conn.execute(
            select(kr.key, kr.current_value).where(kr.org == org, kr.key.in_(rest))
        )
        found.update((key, value) for key, value in now)
    return found


async def _insert(
    conn: AsyncConnection,
    org: str,
    draft: CheckInDraft,
    period: str,
    prompt: PromptRecord | None,
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
    # Spontaneous: the period's first check-in, and nobody had been asked.
    spontaneous = revision == 1 and (prompt is None or prompt.sent_at is None)
    has_notes = any(answer.strip() for answer in draft.notes.values())
    checkin_id = (
        await conn.execute(
            insert(checkin_t)
            .values(
                org=org,
                person=draft.person,
                kind=kind,
                period=period,
                prompt_id=prompt.id if prompt else None,
                spontaneous=spontaneous,
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
        before = await _values_at_period_start(
            conn, org, kind, period, [u.key_result for u in draft.kr_updates]
        )
        await conn.execute(
            insert(kr_update_t),
            [
                {
                    **shared,
                    "kind": kind,
                    "revision": revision,
                    "key_result": u.key_result,
                    "value": u.value,
                    "value_before": before.get(u.key_result),
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
        # The reporter's blockers on these key results, raised, restated or resolved.
        await keep_blockers(conn, org, draft, checkin_id, submitted_at)
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
    if prompt is not None and prompt.answered_at is None:
        # The period is answered: no send, reminder or later tick asks again. An answer also
        # undoes "I'm off" and a delivery failure: the person is evidently here.
        p = prompt_t.c
        await conn.execute(
            update(prompt_t)
            .where(p.id == prompt.id, p.answered_at.is_(None))
            .values(answered_at=submitted_at, failure=None, failed_at=None)
        )
        await streaks.refresh_from(conn, org, prompt.person, prompt.kind.value, prompt.period)
    return SavedCheckIn(checkin_id, revision, True, prompt, spontaneous)


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


async def _latest_answers(
    conn: AsyncConnection, org: str, key_results: Sequence[str]
) -> Sequence[RowMapping]:
    """Per key result, its latest update that carried a confidence."""
    u = kr_update_t.c
    ranked = (
        select(
            u.key_result,
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
        .where(u.org == org, u.key_result.in_(key_results), u.confidence.is_not(None))
        .subquery()
    )
    return (await conn.execute(select(ranked).where(ranked.c.rank == 1))).mappings().all()
