"""Blockers that name a team or a key result, and the events their changes write.

A check-in's key-result updates raise, restate and auto-resolve the reporter's blockers in
`save_checkin`'s own transaction (`keep_blockers`); the buttons of whoever a blocker waits
on move it with compare-and-set (`change_blocker`). Every change writes a `blocker_event` in
the transaction that made it, announced once the messages telling about it are written
(`storage.outbox`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    insert,
    literal_column,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.forms import ASKS_BLOCKERS, CheckInDraft
from rhythm.records import (
    BlockerEvent,
    BlockerEventKind,
    BlockerRecord,
    BlockerState,
)
from storage.db import Repository
from storage.tables import blocker_event_t, blocker_t

b = blocker_t.c
e = blocker_event_t.c

RESOLVED = BlockerState.RESOLVED.value
# Live: the condition of ix_blocker_live, spelled with the constant (not a parameter) so that
# a prepared statement's generic plan may still use the partial index.
LIVE = b.state != literal_column(f"'{RESOLVED}'")
# The event each button's target state writes.
EVENT_OF = {
    BlockerState.ACKNOWLEDGED: BlockerEventKind.ACKNOWLEDGED,
    BlockerState.REROUTED: BlockerEventKind.REROUTED,
    BlockerState.RESOLVED: BlockerEventKind.RESOLVED,
}


class SqlBlockerRepository(Repository):
    """Implements `rhythm.ports.BlockerRepository`."""

    async def blocker(self, org: str, blocker_id: int) -> BlockerRecord | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(select(blocker_t).where(b.org == org, b.id == blocker_id)))
                .mappings()
                .first()
            )
        return blocker_record(row) if row else None

    async def blockers(
        self,
        org: str,
        *,
        key_results: Sequence[str] = (),
        waiting_on: Sequence[str] = (),
        resolved_since: datetime | None = None,
    ) -> list[BlockerRecord]:
        """One statement: a UNION of the blockers on the key results (ix_blocker_key_result)
        and those waiting on the teams (ix_blocker_waiting_on_team); an OR of the two would
        walk every blocker the organisation ever had."""
        wanted: ColumnElement[bool] = LIVE
        if resolved_since is not None:
            wanted = or_(wanted, b.resolved_at >= resolved_since)
        parts = [
            select(blocker_t).where(b.org == org, column.in_(sorted(set(keys))), wanted)
            for column, keys in ((b.key_result, key_results), (b.waiting_on_team, waiting_on))
            if keys
        ]
        if not parts:
            return []
        found = (union(*parts) if len(parts) > 1 else parts[0]).subquery()
        ordered = select(found).order_by(found.c.raised_at, found.c.id)
        async with self._db.read() as conn:
            return [blocker_record(r) for r in (await conn.execute(ordered)).mappings()]

    async def change_blocker(
        self,
        org: str,
        blocker_id: int,
        *,
        expect: Sequence[BlockerState],
        to: BlockerState,
        by: str,
        at: datetime,
        waiting_on_team: str | None = None,
    ) -> BlockerRecord | None:
        """The row is read FOR UPDATE first (SQLite: BEGIN IMMEDIATE already lets one writer
        in): a second press waits for the first to commit, then finds the state it left and
        is refused."""
        kind = EVENT_OF.get(to)
        if kind is None:
            raise ValueError(f"a blocker is not moved to {to!r} by a button")
        if to is BlockerState.REROUTED and waiting_on_team is None:
            raise ValueError("rerouting a blocker needs the team it waits on next")
        states = [state.value for state in expect]
        async with self._db.write() as conn:
            current = (
                await conn.execute(
                    select(b.state, b.waiting_on_team)
                    .where(b.org == org, b.id == blocker_id)
                    .with_for_update()
                )
            ).first()
            if current is None or current.state not in states:
                return None
            changes: dict[str, Any] = {"state": to.value, "changed_at": at}
            if to is BlockerState.ACKNOWLEDGED:
                changes["acknowledged_by"] = by
            elif to is BlockerState.REROUTED:
                changes.update(
                    waiting_on_team=waiting_on_team, waiting_on_kr=None, acknowledged_by=None
                )
            else:
                changes.update(resolved_at=at, resolved_by=by)
            row = (
                (
                    await conn.execute(
                        update(blocker_t)
                        .where(b.org == org, b.id == blocker_id, b.state.in_(states))
                        .values(changes)
                        .returning(*blocker_t.c)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            from_team = current.waiting_on_team if to is BlockerState.REROUTED else None
            await _event(conn, org, blocker_id, kind, at, by=by, from_team=from_team)
        return blocker_record(row)

    async def unannounced_events(self, org: str, *, limit: int) -> list[BlockerEvent]:
        if limit <= 0:
            return []
        query = (
            select(
                e.id.label("event_id"),
                e.kind,
                e.at,
                e.by,
                e.from_team,
                e.auto,
                *blocker_t.c,
            )
            .join_from(blocker_event_t, blocker_t, b.id == e.blocker_id)
            .where(e.org == org, e.announced_at.is_(None))
            .order_by(e.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            BlockerEvent(
                id=r["event_id"],
                blocker=blocker_record(r),
                kind=BlockerEventKind(r["kind"]),
                at=r["at"],
                by=r["by"],
                from_team=r["from_team"],
                auto=r["auto"],
            )
            for r in rows
        ]


async def keep_blockers(
    conn: AsyncConnection, org: str, draft: CheckInDraft, checkin_id: int, at: datetime
) -> None:
    """What one check-in's key-result updates do to its reporter's blockers (in the
    check-in's transaction): an update naming a team or key result raises one, or restates
    the live one (same target: its text and check-in; another: raised again, open); an update
    with no blocker at all resolves the live one; one with only text leaves it."""
    updates = draft.kr_updates
    if not updates or draft.kind not in ASKS_BLOCKERS:
        return
    # Per key result, the reporter's live blocker: (id, waiting on team, waiting on kr).
    live: dict[str, tuple[int, str | None, str | None]] = {
        kr: (blocker_id, team, by_kr)
        for blocker_id, kr, team, by_kr in await conn.execute(
            select(b.id, b.key_result, b.waiting_on_team, b.waiting_on_kr).where(
                b.org == org,
                b.raised_by == draft.person,
                b.key_result.in_(sorted({u.key_result for u in updates})),
                LIVE,
            )
        )
    }
    for u in updates:
        found = live.get(u.key_result)
        target = (u.blocked_by_team, u.blocked_by_kr)
        if target != (None, None):
            restated = {"text": u.blockers, "checkin_id": checkin_id, "changed_at": at}
            if found is None:
                blocker_id = (
                    await conn.execute(
                        insert(blocker_t)
                        .values(
                            org=org,
                            raised_by=draft.person,
                            key_result=u.key_result,
                            waiting_on_team=u.blocked_by_team,
                            waiting_on_kr=u.blocked_by_kr,
                            state=BlockerState.OPEN.value,
                            raised_at=at,
                            **restated,
                        )
                        .returning(b.id)
                    )
                ).scalar_one()
                await _event(conn, org, blocker_id, BlockerEventKind.RAISED, at)
            elif found[1:] == target:
                blocker_id = found[0]
                await _set(conn, blocker_id, restated)
            else:
                blocker_id = found[0]
                await _set(conn, blocker_id, {
                    **restated, "waiting_on_team": u.blocked_by_team,
                    "waiting_on_kr": u.blocked_by_kr, "state": BlockerState.OPEN.value,
                    "acknowledged_by": None,
                })  # fmt: skip
                await _event(conn, org, blocker_id, BlockerEventKind.RAISED, at)
            live[u.key_result] = (blocker_id, *target)
        elif found is not None and not u.blockers.strip():
            await _set(conn, found[0], {
                "state": RESOLVED, "resolved_at": at, "resolved_by": draft.person,
                "changed_at": at,
            })  # fmt: skip
            await _event(conn, org, found[0], BlockerEventKind.RESOLVED, at, auto=True)
            del live[u.key_result]


async def _set(conn: AsyncConnection, blocker_id: int, values: dict[str, Any]) -> None:
    await conn.execute(update(blocker_t).where(b.id == blocker_id).values(values))


async def _event(
    conn: AsyncConnection,
    org: str,
    blocker_id: int,
    kind: BlockerEventKind,
    at: datetime,
    *,
    by: str | None = None,
    from_team: str | None = None,
    auto: bool = False,
) -> None:
    await conn.execute(
        insert(blocker_event_t).values(
            org=org,
            blocker_id=blocker_id,
            kind=kind.value,
            at=at,
            by=by,
            from_team=from_team,
            auto=auto,
        )
    )


def blocker_record(r: RowMapping | dict[str, Any]) -> BlockerRecord:
    return BlockerRecord(
        id=r["id"],
        raised_by=r["raised_by"],
        key_result=r["key_result"],
        text=r["text"],
        waiting_on_team=r["waiting_on_team"],
        waiting_on_kr=r["waiting_on_kr"],
        state=BlockerState(r["state"]),
        raised_at=r["raised_at"],
        changed_at=r["changed_at"],
        checkin_id=r["checkin_id"],
        acknowledged_by=r["acknowledged_by"],
        resolved_at=r["resolved_at"],
        resolved_by=r["resolved_by"],
    )
