"""Answer streaks: how many prompts of one kind a person answered in a row.

Counting a streak means walking back through history, which a digest for a whole organisation
cannot afford (a year of weekly prompts is half a million rows). So each answered prompt keeps
the length of the run it ends in (`prompt.streak`), written when it is answered and repaired
forward when an older prompt is answered late or a prompt turns out undeliverable. A digest
then needs only each person's latest answered prompt and latest miss (two index look-ups).

Failed prompts are not part of the chain: an undeliverable prompt is nobody's miss.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, func, null, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import prompt_t

p = prompt_t.c


async def refresh_from(
    conn: AsyncConnection, org: str, person: str, kind: str, period: str
) -> None:
    """Recompute the streaks of the person's prompts of `kind` from `period` on, after one of
    them was answered or failed. Usually touches one or two rows."""
    mine = (p.org == org, p.kind == kind, p.person == person, p.failed_at.is_(None))
    before = (
        await conn.execute(
            select(p.answered_at, p.streak)
            .where(*mine, p.period < period)
            .order_by(p.period.desc(), p.id.desc())
            .limit(1)
        )
    ).first()
    run = (before.streak or 0) if before is not None and before.answered_at is not None else 0
    rows = await conn.execute(
        select(p.id, p.answered_at, p.streak)
        .where(*mine, p.period >= period)
        .order_by(p.period, p.id)
    )
    changes: dict[int, int | None] = {}
    for prompt_id, answered_at, streak in rows.all():
        run = run + 1 if answered_at is not None else 0
        wanted = run if answered_at is not None else None
        if streak != wanted:
            changes[prompt_id] = wanted
        if answered_at is None:
            break  # a miss restarts the count: later streaks do not depend on what changed
    await _write(conn, changes)


async def rebuild(conn: AsyncConnection, org: str) -> int:
    """Recompute every streak of `org` (after a bulk import that bypassed the repository);
    returns how many rows changed.

    Set-based, in the database: among each person's unfailed prompts of a kind, in period
    order, the misses so far number the runs ("gaps and islands"), and an answered prompt's
    streak is the count of answered prompts in its run up to it. Two UPDATE statements,
    whatever the size of the history (a year of a big organisation: seconds, not minutes)."""
    chain = (
        select(
            p.id,
            p.kind,
            p.person,
            p.period,
            p.answered_at,
            p.streak,
            func.sum(case((p.answered_at.is_(None), 1), else_=0))
            .over(partition_by=(p.kind, p.person), order_by=(p.period, p.id))
            .label("misses"),
        )
        .where(p.org == org, p.failed_at.is_(None))
        .subquery("chain")
    )
    c = chain.c
    runs = select(
        c.id,
        c.streak,
        case(
            (c.answered_at.is_(None), null()),
            else_=func.count(c.answered_at).over(
                partition_by=(c.kind, c.person, c.misses), order_by=(c.period, c.id)
            ),
        ).label("wanted"),
    ).subquery("runs")
    r = runs.c
    grown = await conn.execute(
        update(prompt_t)
        .where(p.id == r.id, r.wanted.is_distinct_from(r.streak))
        .values(streak=r.wanted)
    )
    failed = await conn.execute(  # an undeliverable prompt is in no chain
        update(prompt_t)
        .where(p.org == org, p.failed_at.is_not(None), p.streak.is_not(None))
        .values(streak=None)
    )
    return int(grown.rowcount) + int(failed.rowcount)


async def _write(conn: AsyncConnection, changes: dict[int, int | None]) -> None:
    if changes:
        await conn.execute(
            update(prompt_t)
            .where(p.id == bindparam("prompt_id"))
            .values(streak=bindparam("new_streak")),
            [{"prompt_id": k, "new_streak": v} for k, v in changes.items()],
        )
