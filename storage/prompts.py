"""Prompts: written once per (rhythm, person, period), claimed by exactly one sender."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, RowMapping, Select, and_, func, or_, select, update

from rhythm.cadences import RhythmKind, period_of
from rhythm.due import DuePrompt
from rhythm.records import ON_LEAVE, PromptRecord
from storage import streaks
from storage.db import Repository, chunks
from storage.tables import cycle_t, person_t, prompt_t

p = prompt_t.c


class SqlPromptRepository(Repository):
    """Implements `rhythm.ports.PromptRepository`."""

    async def add_prompts(self, org: str, due: Sequence[DuePrompt]) -> int:
        if not due:
            return 0
        rows = [prompt_row(org, d) for d in due]
        # Only rows actually inserted come back, so their count is the number of new prompts.
        stmt = self._db.insert_ignoring(prompt_t, ["org", "rhythm", "person", "period"])
        async with self._db.write() as conn:
            result = await conn.execute(stmt.returning(p.id), rows)
            return len(result.all())

    async def claim_unsent(
        self, org: str, *, now: datetime, worker: str, limit: int, lease: timedelta
    ) -> list[PromptRecord]:
        """One UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) ... RETURNING.

        On PostgreSQL the row locks make concurrent claimers skip each other's rows, and a row
        claimed and committed meanwhile is re-checked against the WHERE and dropped. SQLite
        ignores FOR UPDATE; there the write transaction starts with BEGIN IMMEDIATE, so claimers
        run one after the other and each sees the previous one's claims.
        """
        if limit <= 0:
            return []
        claimable = (
            select(p.id)
            .where(
                p.org == org,
                p.sent_at.is_(None),
                p.failed_at.is_(None),
                p.answered_at.is_(None),  # answered spontaneously before it went out
                p.scheduled_for <= now,
                or_(p.claimed_until.is_(None), p.claimed_until <= now),
                # A prompt that waited for a chat account goes out only while it can be
                # answered: linked after its deadline, the person is not asked any more.
                or_(p.waiting_since.is_(None), p.deadline > now),
            )
            .order_by(p.is_lead.desc(), p.scheduled_for, p.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(prompt_t)
            .where(p.id.in_(claimable.scalar_subquery()))
            .values(claimed_by=worker, claimed_until=now + lease)
            .returning(*prompt_t.c)
        )
        async with self._db.write() as conn:
            claimed = [prompt_record(r) for r in (await conn.execute(stmt)).mappings()]
        # RETURNING has no order: restore leads first, then by schedule.
        claimed.sort(key=lambda r: (not r.is_lead, r.scheduled_for, r.id))
        return claimed

    async def renew_claims(
        self, prompt_ids: Sequence[int], *, worker: str, until: datetime
    ) -> None:
        if not prompt_ids:
            return
        async with self._db.write() as conn:
            for chunk in chunks(sorted(set(prompt_ids))):
                await conn.execute(
                    update(prompt_t)
                    .where(p.id.in_(chunk), p.claimed_by == worker, p.sent_at.is_(None))
                    .values(claimed_until=until)
                )

    async def release_claims(self, org: str, *, worker: str) -> int:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(prompt_t)
                .where(p.org == org, p.claimed_by == worker, p.sent_at.is_(None))
                .values(claimed_by=None, claimed_until=None)
            )
            return int(result.rowcount)

    async def mark_attempt(self, prompt_id: int, *, at: datetime) -> None:
        await self._update(prompt_id, attempted_at=at, attempts=p.attempts + 1)

    async def mark_sent(self, prompt_id: int, *, at: datetime, message_ref: str) -> bool:
        async with self._db.write() as conn:
            answered = (
                await conn.execute(
                    update(prompt_t)
                    .where(p.id == prompt_id)
                    .values(sent_at=at, message_ref=message_ref)
                    .returning(p.answered_at)
                )
            ).first()
        return answered is None or answered.answered_at is None

    async def mark_failed(self, prompt_id: int, *, at: datetime, error: str) -> None:
        async with self._db.write() as conn:
            failed = (
                await conn.execute(
                    update(prompt_t)
                    .where(p.id == prompt_id)
                    .values(failure=error, failed_at=at)
                    .returning(p.org, p.person, p.kind, p.period)
                )
            ).first()
            if failed is not None:  # no longer anyone's miss: later streaks may grow
                await streaks.refresh_from(conn, *failed)

    async def retry_failed(self, org: str, person: str, *, now: datetime) -> int:
        async with self._db.write() as conn:
            revived = (
                await conn.execute(
                    update(prompt_t)
                    .where(
                        p.org == org, p.person == person, p.failed_at.is_not(None),
                        p.failure != ON_LEAVE, p.sent_at.is_(None), p.answered_at.is_(None),
                        p.deadline > now,
                    )
                    .values(failure=None, failed_at=None, claimed_by=None, claimed_until=None,
                            attempts=0, attempted_at=None)
                    .returning(p.kind, p.period)
                )
            ).all()  # fmt: skip
            for kind, period in revived:  # counted again: a miss if it stays unanswered
                await streaks.refresh_from(conn, org, person, kind, period)
        return len(revived)

    async def rebuild_streaks(self, org: str) -> int:
        """Recompute the derived `prompt.streak` column of `org`; only needed after loading
        prompts or answers around this repository (a bulk import, a benchmark)."""
        async with self._db.write() as conn:
            return await streaks.rebuild(conn, org)

    async def release(self, prompt_id: int, *, retry_at: datetime, in_doubt: bool) -> None:
        # The lease now ends at retry_at: claim_unsent picks the prompt up again from then on.
        forget: dict[str, object] = {} if in_doubt else {"attempted_at": None}
        await self._update(prompt_id, claimed_by=None, claimed_until=retry_at, **forget)

    async def wait_for_link(self, prompt_id: int, *, at: datetime, look_again: datetime) -> None:
        await self._update(
            prompt_id, waiting_since=func.coalesce(p.waiting_since, at), claimed_by=None,
            claimed_until=look_again, attempted_at=None,
        )  # fmt: skip

    async def wake_waiting(self, org: str) -> int:
        async with self._db.write() as conn:
            woken = await conn.execute(
                update(prompt_t)
                .where(p.org == org, p.waiting_since.is_not(None), p.sent_at.is_(None),
                       p.claimed_by.is_(None))
                .values(claimed_until=None)
            )  # fmt: skip
        return int(woken.rowcount)

    async def snooze(self, prompt_id: int, *, until: datetime) -> None:
        await self._update(prompt_id, snoozed_until=until)

    async def reminder_candidates(
        self, org: str, *, now: datetime, quiet_since: datetime | None = None
    ) -> list[PromptRecord]:
        quiet = (
            [func.coalesce(p.last_reminded_at, p.sent_at) <= quiet_since]
            if quiet_since is not None
            else []
        )
        query = (
            select(prompt_t)
            .where(
                p.org == org,
                p.sent_at.is_not(None),
                p.answered_at.is_(None),
                p.failed_at.is_(None),
                p.deadline > now,
                or_(p.snoozed_until.is_(None), p.snoozed_until <= now),
                *quiet,
            )
            .order_by(p.is_lead.desc(), p.sent_at, p.id)
        )
        return await self._records(query)

    async def mark_reminded(self, prompt_id: int, *, at: datetime, count_before: int) -> bool:
        """Compare-and-set on reminders_sent; also False when the prompt got answered since
        the candidate was read, so no reminder goes out after an answer."""
        stmt = (
            update(prompt_t)
            .where(
                p.id == prompt_id,
                p.reminders_sent == count_before,
                p.answered_at.is_(None),
            )
            .values(reminders_sent=count_before + 1, last_reminded_at=at)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def get_prompt(self, org: str, prompt_id: int) -> PromptRecord | None:
        found = await self._records(select(prompt_t).where(p.org == org, p.id == prompt_id))
        return found[0] if found else None

    async def find_prompt(
        self, org: str, *, rhythm: str, person: str, period: str
    ) -> PromptRecord | None:
        found = await self._records(
            select(prompt_t).where(
                p.org == org, p.rhythm == rhythm, p.person == person, p.period == period
            )
        )
        return found[0] if found else None

    async def rhythms_prompted(self, org: str, rhythms: Sequence[str]) -> set[str]:
        found: set[str] = set()
        async with self._db.read() as conn:
            for rhythm in sorted(set(rhythms)):
                asked = select(p.id).where(p.org == org, p.rhythm == rhythm).limit(1)
                if (await conn.execute(asked)).first() is not None:
                    found.add(rhythm)
        return found

    async def prompted_periods(
        self, org: str, wanted: Sequence[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        pairs = set(wanted)
        if not pairs:
            return set()
        query = (
            select(p.rhythm, p.period)
            .where(
                p.org == org,
                p.rhythm.in_(sorted({r for r, _ in pairs})),
                p.period.in_(sorted({q for _, q in pairs})),
            )
            .distinct()
        )
        async with self._db.read() as conn:
            found = {(rhythm, period) for rhythm, period in await conn.execute(query)}
        return found & pairs

    async def open_prompts(
        self, org: str, person: str, *, now: datetime, timezone: str | None = None
    ) -> list[PromptRecord]:
        """Unanswered, unfailed prompts whose period has not ended in the person's timezone:
        for the calendar kinds, a period key at least the current one (keys sort by date);
        for end-of-cycle, a cycle that has not ended."""
        async with self._db.snapshot() as conn:
            zone_name = (
                timezone
                or (
                    await conn.execute(
                        select(person_t.c.timezone).where(
                            person_t.c.org == org, person_t.c.email == person
                        )
                    )
                ).scalar_one_or_none()
            )
            today = now.astimezone(_zone(zone_name)).date()
            # Every branch names org, kind and person in full: SQLite then looks each kind up
            # in ix_prompt_missed; with the person outside the OR it searched the index on the
            # org alone, through every unanswered prompt of the organisation (600 ms at 10,000).
            mine = (
                p.org == org,
                p.person == person,
                p.answered_at.is_(None),
                p.failed_at.is_(None),
            )
            still_open: list[ColumnElement[bool]] = [
                and_(*mine, p.kind == kind.value, p.period >= period_of(kind, today))
                for kind in (RhythmKind.DAILY, RhythmKind.WEEKLY, RhythmKind.MONTHLY)
            ]
            open_cycles = select(cycle_t.c.key).where(cycle_t.c.org == org, cycle_t.c.end >= today)
            still_open.append(
                and_(*mine, p.kind == RhythmKind.END_OF_CYCLE.value, p.period.in_(open_cycles))
            )
            query = (
                select(prompt_t)
                .where(or_(*still_open))
                .order_by(p.scheduled_for.desc(), p.id.desc())
            )
            return [prompt_record(r) for r in (await conn.execute(query)).mappings()]

    async def failed_prompts(self, org: str) -> list[PromptRecord]:
        query = (
            select(prompt_t)
            .where(p.org == org, p.failed_at.is_not(None), p.failure != ON_LEAVE)
            .order_by(p.failed_at.desc(), p.id.desc())
        )
        return await self._records(query)

    async def _update(self, prompt_id: int, **values: object) -> None:
        async with self._db.write() as conn:
            await conn.execute(update(prompt_t).where(p.id == prompt_id).values(**values))

    async def _records(self, query: Select[Any]) -> list[PromptRecord]:
        async with self._db.read() as conn:
            result = await conn.execute(query)
            return [prompt_record(r) for r in result.mappings()]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # a bad name in an import must not hide prompts
        return ZoneInfo("UTC")


def prompt_record(r: RowMapping) -> PromptRecord:
    return PromptRecord(
        id=r["id"],
        rhythm=r["rhythm"],
        kind=RhythmKind(r["kind"]),
        person=r["person"],
        period=r["period"],
        scheduled_for=r["scheduled_for"],
        deadline=r["deadline"],
        is_lead=r["is_lead"],
        sent_at=r["sent_at"],
        message_ref=r["message_ref"],
        answered_at=r["answered_at"],
        reminders_sent=r["reminders_sent"],
        last_reminded_at=r["last_reminded_at"],
        snoozed_until=r["snoozed_until"],
        failure=r["failure"],
        attempted_at=r["attempted_at"],
        attempts=r["attempts"],
        waiting_since=r["waiting_since"],
    )


def prompt_row(org: str, due: DuePrompt) -> dict[str, object]:
    return {
        "org": org,
        "rhythm": due.rhythm,
        "kind": due.kind.value,
        "person": due.person,
        "period": due.period,
        "scheduled_for": due.scheduled_for,
        "deadline": due.deadline,
        "is_lead": due.is_lead,
    }
