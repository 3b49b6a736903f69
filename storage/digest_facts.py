"""The SQL behind a digest: aggregates sized by the team and the period, never by history.

Each fact is one set-based query. Keys are filtered in SQL with an IN list while the list is
small (a team); past `IN_LIST_LIMIT` (the whole organisation) the query is scoped by
organisation and period only and the few surplus rows are dropped in Python, which keeps
statements small and lets the (org, period, ...) indexes do the work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import RhythmKind
from rhythm.forms import Status
from rhythm.ports import DigestFacts, NoteFact, PromptFact, Snapshot
from storage.tables import (
    checkin_t,
    key_result_t,
    kr_update_t,
    membership_t,
    objective_t,
    person_t,
    prompt_t,
)

IN_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class _Keys:
    """A set of keys to filter on: in SQL when small, in Python when large."""

    keys: frozenset[str]

    @classmethod
    def of(cls, keys: Iterable[str]) -> _Keys:
        return cls(frozenset(keys))

    @property
    def in_sql(self) -> bool:
        return len(self.keys) <= IN_LIST_LIMIT

    def clause(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        return column.in_(sorted(self.keys)) if self.in_sql else true()

    def __contains__(self, key: object) -> bool:
        return key in self.keys


async def query_digest_facts(
    conn: AsyncConnection,
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
    krs, persons, team_keys = _Keys.of(key_results), _Keys.of(people), _Keys.of(teams)
    return DigestFacts(
        current=await _latest_updates(conn, org, kind, period, krs),
        previous=await _latest_updates(conn, org, kind, previous, krs),
        prompts=await _prompts(conn, org, kind, period, persons),
        spontaneous=await _spontaneous(conn, org, kind, period, persons),
        streaks=await _streaks(conn, org, kind, period, persons, now),
        notes=await _notes(conn, org, kind, period, persons),
        blocking_others=await _blocking_others(conn, org, kind, period, team_keys),
    )


u = kr_update_t.c
SNAPSHOT_COLUMNS = (
    u.key_result, u.person, u.submitted_at, u.value, u.confidence, u.status, u.moved, u.blockers,
    u.blocked_by_team, u.blocked_by_kr, u.next_step,
)  # fmt: skip
LATEST_FIRST = (u.submitted_at.desc(), u.revision.desc(), u.id.desc())


STATUS = {s.value: s for s in Status}  # a dict lookup: Status(value) is slow per row


def _snapshot(row: Sequence[Any]) -> Snapshot:
    """A Snapshot from a row of SNAPSHOT_COLUMNS (key result first, skipped)."""
    _, person, at, value, confidence, status, moved, blockers, team, kr, next_step = row[:11]
    return Snapshot(
        person=person,
        submitted_at=at,
        value=value,
        confidence=confidence,
        status=STATUS[status] if status else None,
        moved=moved,
        blockers=blockers,
        blocked_by_team=team,
        blocked_by_kr=kr,
        next_step=next_step,
    )


async def _latest_updates(
    conn: AsyncConnection, org: str, kind: RhythmKind, period: str, krs: _Keys
) -> dict[str, Snapshot]:
    """Per key result, its latest update of the period (latest submission, then revision)."""
    if not krs.keys:
        return {}
    ranked = (
        select(
            *SNAPSHOT_COLUMNS,
            func.row_number().over(partition_by=u.key_result, order_by=LATEST_FIRST).label("rank"),
        )
        .where(u.org == org, u.period == period, u.kind == kind.value, krs.clause(u.key_result))
        .subquery()
    )
    rows = (await conn.execute(select(ranked).where(ranked.c.rank == 1))).all()
    return {row[0]: _snapshot(row) for row in rows if row[0] in krs}


async def _prompts(
    conn: AsyncConnection, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> tuple[PromptFact, ...]:
    if not persons.keys:
        return ()
    p = prompt_t.c
    rows = await conn.execute(
        select(p.person, p.is_lead, p.deadline, p.answered_at, p.failure)
        .where(p.org == org, p.kind == kind.value, p.period == period, persons.clause(p.person))
        .order_by(p.is_lead.desc(), p.person, p.id)
    )
    return tuple(
        PromptFact(
            person=person,
            is_lead=is_lead,
            deadline=deadline,
            answered_at=answered_at,
            failure=failure,
        )
        for person, is_lead, deadline, answered_at, failure in rows.all()
        if person in persons
    )


async def _spontaneous(
    conn: AsyncConnection, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> dict[str, int]:
    if not persons.keys:
        return {}
    c = checkin_t.c
    rows = await conn.execute(
        select(c.person, func.count())
        .where(
            c.org == org,
            c.kind == kind.value,
            c.period == period,
            c.spontaneous.is_(True),
            persons.clause(c.person),
        )
        .group_by(c.person)
    )
    return {person: count for person, count in rows if person in persons}


async def _streaks(
    conn: AsyncConnection,
    org: str,
    kind: RhythmKind,
    period: str,
    persons: _Keys,
    now: datetime | None,
) -> dict[str, int]:
    """Per person, the answered prompts of `kind` up to `period` since their last miss.

    A miss is an unanswered prompt whose time is up: one of an earlier period or, given `now`,
    one whose deadline has passed; a prompt of this period still open is neither, nor is an
    undeliverable (failed) one. Read from the streak kept on each person's latest answered
    prompt (see storage.streaks), zero when a miss came after it: two index look-ups per
    person instead of a walk through their history.
    """
    if not persons.keys:
        return {}
    p, who = prompt_t.c, person_t.c.email
    mine = (p.org == org, p.kind == kind.value, p.person == who, p.period <= period)
    answered = (*mine, p.answered_at.is_not(None), p.failed_at.is_(None))
    time_up = p.period < period if now is None else or_(p.period < period, p.deadline < now)
    missed = (*mine, p.answered_at.is_(None), p.failed_at.is_(None), time_up)

    def latest(column: ColumnElement[Any], *where: ColumnElement[bool]) -> Any:
        # Ordered by period alone, so the look-up is a backward index-only scan stopping at
        # the first entry (two prompts of one kind in one period are interchangeable here).
        return select(column).where(*where).order_by(p.period.desc()).limit(1).scalar_subquery()

    rows = await conn.execute(
        select(
            who,
            latest(p.period, *answered),
            latest(p.streak, *answered),
            latest(p.period, *missed),
        ).where(person_t.c.org == org, persons.clause(who))
    )
    found: dict[str, int] = {}
    uncounted: list[str] = []
    for person, answered_period, streak, missed_period in rows.all():
        if person not in persons or answered_period is None:
            continue
        if missed_period is not None and missed_period > answered_period:
            continue
        if streak is None:  # loaded around the repository: count it the slow way
            uncounted.append(person)
        else:
            found[person] = streak
    if uncounted:
        found.update(await _counted_streaks(conn, org, kind, period, _Keys.of(uncounted), now))
    return found


async def _counted_streaks(
    conn: AsyncConnection,
    org: str,
    kind: RhythmKind,
    period: str,
    persons: _Keys,
    now: datetime | None,
) -> dict[str, int]:
    """`_streaks` by counting answered prompts after each person's last miss: the whole
    history of these people, so only for rows without a kept streak."""
    p = prompt_t.c
    mine = (p.org == org, p.kind == kind.value, p.period <= period, persons.clause(p.person))
    time_up = p.period < period if now is None else or_(p.period < period, p.deadline < now)
    last_miss = (
        select(p.person, func.max(p.period).label("period"))
        .where(*mine, p.answered_at.is_(None), p.failed_at.is_(None), time_up)
        .group_by(p.person)
        .subquery()
    )
    rows = await conn.execute(
        select(p.person, func.count())
        .select_from(prompt_t.outerjoin(last_miss, last_miss.c.person == p.person))
        .where(
            *mine,
            p.answered_at.is_not(None),
            p.failed_at.is_(None),
            or_(last_miss.c.period.is_(None), p.period > last_miss.c.period),
        )
        .group_by(p.person)
    )
    return {person: count for person, count in rows if person in persons}


async def _notes(
    conn: AsyncConnection, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> tuple[NoteFact, ...]:
    """Each person's latest check-in of the period, when it has notes with text."""
    if not persons.keys:
        return ()
    c = checkin_t.c
    ranked = (
        select(
            c.person,
            c.submitted_at,
            c.notes,
            c.blocked_by_team,
            func.row_number()
            .over(partition_by=c.person, order_by=(c.revision.desc(), c.id.desc()))
            .label("rank"),
        )
        .where(c.org == org, c.kind == kind.value, c.period == period, persons.clause(c.person))
        .subquery()
    )
    rows = await conn.execute(
        select(ranked)
        .where(ranked.c.rank == 1, ranked.c.notes.is_not(None))
        .order_by(ranked.c.submitted_at, ranked.c.person)
    )
    return tuple(
        NoteFact(
            person=r["person"],
            submitted_at=r["submitted_at"],
            notes=r["notes"],
            blocked_by_team=r["blocked_by_team"],
        )
        for r in rows.mappings()
        if r["person"] in persons
    )


async def _blocking_others(
    conn: AsyncConnection, org: str, kind: RhythmKind, period: str, teams: _Keys
) -> tuple[tuple[str, str, Snapshot], ...]:
    """Key results whose latest update of the period says one of `teams` blocks them, with the
    team of each key result (its objective's owner team, else the owner person's first team)."""
    if not teams.keys:
        return ()
    in_period = (u.org == org, u.period == period, u.kind == kind.value)
    named = (
        select(u.key_result)
        .where(*in_period, u.blocked_by_team.is_not(None), teams.clause(u.blocked_by_team))
        .distinct()
    )
    ranked = (
        select(
            *SNAPSHOT_COLUMNS,
            func.row_number().over(partition_by=u.key_result, order_by=LATEST_FIRST).label("rank"),
        )
        .where(*in_period, u.key_result.in_(named))
        .subquery()
    )
    kr, ob, m = key_result_t.c, objective_t.c, membership_t.c
    first_team = (
        select(m.team)
        .where(m.org == org, m.person == ob.owner_person)
        .order_by(m.position)
        .limit(1)
        .scalar_subquery()
    )
    rows = await conn.execute(
        select(
            *(ranked.c[column.name] for column in SNAPSHOT_COLUMNS),
            func.coalesce(ob.owner_team, first_team, "").label("kr_team"),
        )
        .select_from(
            ranked.outerjoin(
                key_result_t, and_(kr.org == org, kr.key == ranked.c.key_result)
            ).outerjoin(objective_t, and_(ob.org == org, ob.key == kr.objective))
        )
        .where(ranked.c.rank == 1, ranked.c.blocked_by_team.is_not(None))
        .order_by(ranked.c.submitted_at, ranked.c.key_result)
    )
    return tuple(
        (row[0], row[-1], snapshot)
        for row in rows.all()
        if (snapshot := _snapshot(row)).blocked_by_team in teams
    )
