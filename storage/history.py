"""What was answered before: a key result's or a person's past updates, a stored check-in as
the draft an Edit starts from, and the prompts that went unanswered.

A check-in is one person's answer to one ritual (kind) in one period; an edit is a new
revision of it (storage.checkins), and only its latest revision counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, select

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.okr import InitiativeStatus
from rhythm.ports import StoredCheckIn
from rhythm.records import HistoryEntry, PromptRecord, Snapshot
from rhythm.status import Decision, Status
from storage.db import Repository
from storage.prompts import prompt_record
from storage.tables import auto_update_t, checkin_t, initiative_update_t, kr_update_t, prompt_t

c = checkin_t.c
u = kr_update_t.c
i = initiative_update_t.c
p = prompt_t.c
w = auto_update_t.c


class SqlHistoryRepository(Repository):
    """Implements `rhythm.ports.HistoryRepository`."""

    async def checkin_history(
        self, org: str, *, key_result: str | None = None, person: str | None = None, limit: int
    ) -> list[HistoryEntry]:
        """One statement: the key result's (ix_kr_update_key_result) or the person's
        (ix_kr_update_person) updates newest first, each kept only when no later revision of
        its check-in exists (probed on the checkin table's unique (org, person, kind, period,
        revision)), stopping at `limit`. A key result's history (no person given) takes in its
        latest `limit` pushes too (ix_auto_update_key_result), the newest `limit` of both
        kept."""
        if key_result is None and person is None:
            raise ValueError("the history of a key result or of a person")
        if limit <= 0:
            return []
        scope: list[ColumnElement[bool]] = []
        if key_result is not None:
            scope.append(u.key_result == key_result)
        if person is not None:
            scope.append(u.person == person)
        revised = (
            select(c.id)
            .where(c.org == u.org, c.person == u.person, c.kind == u.kind,
                   c.period == u.period, c.revision > u.revision)
            .exists()
        )  # fmt: skip
        query = (
            select(kr_update_t)
            .where(u.org == org, *scope, ~revised)
            .order_by(u.submitted_at.desc(), u.id.desc())
            .limit(limit)
        )
        pushes = None
        if key_result is not None and person is None:
            pushes = (
                select(w.key_result, w.value, w.source, w.submitted_at, w.id)
                .where(w.org == org, w.key_result == key_result)
                .order_by(w.submitted_at.desc(), w.id.desc())
                .limit(limit)
            )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
            pushed = (await conn.execute(pushes)).all() if pushes is not None else []
        entries = [
            HistoryEntry(
                key_result=r["key_result"],
                kind=RhythmKind(r["kind"]),
                period=r["period"],
                checkin_id=r["checkin_id"],
                revision=r["revision"],
                update=snapshot(r),
            )
            for r in rows
        ]
        if not pushed:
            return entries
        entries += [
            HistoryEntry(key, None, "", 0, 0, Snapshot("", at, value, None, None), source)
            for key, value, source, at, _ in pushed
        ]
        # Newest first; the sort is stable, so at the same instant a check-in comes first.
        entries.sort(key=lambda e: e.update.submitted_at, reverse=True)
        return entries[:limit]

    async def stored_checkin(self, org: str, checkin_id: int) -> StoredCheckIn | None:
        async with self._db.snapshot() as conn:
            asked = (
                await conn.execute(
                    select(c.person, c.kind, c.period).where(c.org == org, c.id == checkin_id)
                )
            ).first()
            if asked is None:
                return None
            revisions = (
                (
                    await conn.execute(
                        select(checkin_t)
                        .where(c.org == org, c.person == asked.person, c.kind == asked.kind,
                               c.period == asked.period)
                        .order_by(c.revision.desc())
                    )
                )
                .mappings()
                .all()
            )  # fmt: skip
            latest = revisions[0]
            # The update rows share their check-in's person and instant: ix_kr_update_person.
            updates = (
                (
                    await conn.execute(
                        select(kr_update_t)
                        .where(u.org == org, u.person == latest["person"],
                               u.submitted_at == latest["submitted_at"],
                               u.checkin_id == latest["id"])
                        .order_by(u.id)
                    )
                )
                .mappings()
                .all()
            )  # fmt: skip
            initiatives = (
                await conn.execute(
                    select(i.initiative, i.status)
                    .where(i.org == org, i.checkin_id == latest["id"])
                    .order_by(i.id)
                )
            ).all()
        draft = checkin_draft(latest, updates, initiatives)
        return StoredCheckIn(
            id=latest["id"],
            person=latest["person"],
            kind=draft.kind,
            period=latest["period"],
            # An edit may have been saved without its prompt: the check-in still answers it.
            prompt_id=next((r["prompt_id"] for r in revisions if r["prompt_id"] is not None),
                           None),
            revision=latest["revision"],
            submitted_at=latest["submitted_at"],
            draft=draft,
            spontaneous=any(r["spontaneous"] for r in revisions),
        )  # fmt: skip

    async def missed_prompts(
        self, org: str, *, deadline_from: datetime, deadline_until: datetime
    ) -> list[PromptRecord]:
        """On ix_prompt_awaiting (org, deadline), whose condition this one implies."""
        query = (
            select(prompt_t)
            .where(
                p.org == org,
                p.sent_at.is_not(None),
                p.answered_at.is_(None),
                p.failed_at.is_(None),
                p.failure.is_(None),
                p.deadline >= deadline_from,
                p.deadline < deadline_until,
            )
            .order_by(p.deadline, p.id)
        )
        async with self._db.read() as conn:
            return [prompt_record(r) for r in (await conn.execute(query)).mappings()]


def checkin_draft(
    checkin: RowMapping, updates: Iterable[RowMapping], initiatives: Iterable[tuple[str, str]]
) -> CheckInDraft:
    """A checkin row with its kr_update rows and its initiatives' (key, status), as the draft
    it was saved from (`stored_checkin`, and `storage.exports` page by page)."""
    return CheckInDraft(
        person=checkin["person"],
        kind=RhythmKind(checkin["kind"]),
        kr_updates=tuple(kr_update(r) for r in updates),
        initiatives=tuple((key, InitiativeStatus(status)) for key, status in initiatives),
        notes=dict(checkin["notes"] or {}),
        blocked_by_team=checkin["blocked_by_team"],
        blocked_by_kr=checkin["blocked_by_kr"],
    )


def snapshot(r: RowMapping) -> Snapshot:
    """A kr_update row as the digest sees it (storage.digest_facts)."""
    return Snapshot(
        person=r["person"],
        submitted_at=r["submitted_at"],
        value=r["value"],
        confidence=r["confidence"],
        status=Status(r["status"]) if r["status"] else None,
        moved=r["moved"],
        blockers=r["blockers"],
        blocked_by_team=r["blocked_by_team"],
        blocked_by_kr=r["blocked_by_kr"],
        next_step=r["next_step"],
        value_before=r["value_before"],
    )


def kr_update(r: RowMapping) -> KrUpdate:
    """A kr_update row as the answers it was saved from."""
    return KrUpdate(
        key_result=r["key_result"],
        value=r["value"],
        confidence=r["confidence"],
        status=Status(r["status"]) if r["status"] else None,
        moved=r["moved"],
        blockers=r["blockers"],
        blocked_by_team=r["blocked_by_team"],
        blocked_by_kr=r["blocked_by_kr"],
        next_step=r["next_step"],
        final_score=r["final_score"],
        decision=Decision(r["decision"]) if r["decision"] else None,
    )
