"""Series: each key result's reported values over a cycle, and how teams kept their rituals.

Both are read set-based and sized by the answer, not by the organisation's whole history:

- `kr_series` walks `ix_kr_update_key_result` (org, key result, submitted_at) for an IN list
  of key results (or, for more than 500, the organisation's whole window, filtered here, as
  the digest's facts are) and keeps each check-in's latest revision: edits are rare, so that
  is barely more rows than it returns.
- `ritual_attendance` counts prompts per team, ritual and week with GROUP BY: the rows that
  come back are (team, ritual, period) groups, never prompts. Each ritual is one statement
  over the periods the window can touch, joined to the teams' members as the tree has them
  (membership): for a few teams, member by member on `ix_prompt_person` (org, kind, person,
  period, ...); for the whole organisation, one pass over the window's prompts.

Measured on 10,000 people in 1,000 teams with half a year of history (1.56 million prompts,
520,000 key-result updates), 13 weeks, PostgreSQL (SQLite within 1.5x): kr_series of 2,000
key results 0.2 s, of 20 key results 2 ms; ritual_attendance of one team 7 ms, of 100 teams
0.13 s, of all 1,000 teams 1 s (the daily ritual's 650,000 prompts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import DEFAULT_DEADLINE, RhythmKind, period_of, week_start
from rhythm.records import ON_LEAVE, AttendanceCell, KrPoint
from rhythm.status import Status
from storage.db import Repository
from storage.digest_facts import _Driver, _Keys
from storage.tables import auto_update_t, kr_update_t, membership_t, prompt_t, rhythm_t, team_t

# Past this many teams the members are not filtered by team in SQL: the whole organisation's
# memberships are joined and the groups of other teams dropped here (as storage.digest_facts
# does), which keeps the statement small and still returns groups, not prompts.
TEAM_LIST_LIMIT = 500
# How far a person's local calendar day can be from the UTC one (UTC-12 .. UTC+14), rounded up.
_ZONE_SLACK = timedelta(days=1)

STATUS = {s.value: s for s in Status}
_UTC = ZoneInfo("UTC")


class SqlSeriesRepository(Repository):
    """Implements `rhythm.ports.SeriesRepository`."""

    async def kr_series(
        self, org: str, key_results: Sequence[str], *, since: datetime, until: datetime
    ) -> dict[str, list[KrPoint]]:
        """Each key result's updates submitted in [since, until) that carry a value or a
        confidence, and the values other systems pushed in it (automatic updates: a value,
        no confidence), oldest first (by submission, then check-ins before pushes, then id).

        A check-in is one person's answer to one ritual (kind) in one period; an edit is a new
        revision of it (storage.checkins). Of each check-in's revisions submitted in the window
        only the latest counts (latest submission, then revision, then id, as the digest
        decides): an edit replaces what it edits, even when the edit leaves the value and the
        confidence empty (then the check-in adds no point).

        The rows are read straight on the driver, as `storage.digest_facts` reads its facts,
        and the latest revision kept here (edits are rare: a few rows more than the answer);
        an organisation-wide digest reads its 130,000 points in one statement, and the
        pushes in a second (on ix_auto_update_key_result, or for more than 500 key results
        ix_auto_update_submitted_at)."""
        keys = _Keys.of(key_results)
        if not keys.keys or since >= until:
            return {}
        async with self._db.read() as conn, _Driver.over(conn) as driver:
            at = driver.instant_param
            stmt = select(*POINT_COLUMNS).where(
                u.org == org, keys.clause(u.key_result),
                u.submitted_at >= at(since), u.submitted_at < at(until),
            )  # fmt: skip
            pushes = select(w.key_result, w.submitted_at, w.id, w.value).where(
                w.org == org, keys.clause(w.key_result),
                w.submitted_at >= at(since), w.submitted_at < at(until),
            )  # fmt: skip
            asked, pushed = driver.ask(stmt), driver.ask(pushes)
            rows, pushed_rows = await asked(), await pushed()
            instant = driver.instant
        latest: dict[tuple[str, str, str, str], Sequence[Any]] = {}
        for row in rows:
            if row[0] not in keys:
                continue
            check_in = (row[0], row[1], row[2], row[3])
            seen = latest.get(check_in)
            # Instants compare as the driver gives them (SQLite: fixed-width UTC text).
            if seen is None or (row[4], row[5], row[6]) > (seen[4], seen[5], seen[6]):
                latest[check_in] = row
        found: dict[str, list[KrPoint]] = {}
        for row in sorted(latest.values(), key=lambda r: (r[0], r[4], r[6])):
            if row[7] is None and row[8] is None:
                continue
            status = STATUS.get(row[9]) if row[9] else None
            found.setdefault(row[0], []).append(
                KrPoint(row[0], instant(row[4]), row[7], row[8], status)
            )
        if pushed_rows:
            _merge_pushes(found, pushed_rows, keys, instant)
        return found

    async def ritual_attendance(
        self, org: str, teams: Sequence[str], *, since: datetime, until: datetime
    ) -> list[AttendanceCell]:
        """Per team, ritual and week: prompts of the team's own members (membership, not the
        subtree) whose deadline falls in [since, until), and of those how many were answered
        by their deadline (the digest's "on time"). A prompt the person answered "I'm off" is
        not asked (the digest's "on leave"); undeliverable and never-sent prompts are asked
        and not answered. Prompts still open at `until` are not counted yet: their deadline
        is after it.

        The week is the Monday of the prompt's period in the person's own calendar (the
        period is their local day or ISO week) for daily and weekly rituals; for monthly and
        end-of-cycle ones, the Monday of the week the period's first prompt was scheduled in,
        in the team's timezone. Groups with nobody asked are absent. Sorted by team, ritual
        (daily first) and week."""
        wanted = sorted(set(teams))
        if not wanted or since >= until:
            return []
        in_sql = len(wanted) <= TEAM_LIST_LIMIT
        keep = frozenset(wanted)
        async with self._db.snapshot() as conn:
            deadlines = await _longest_deadlines(conn, org)
            zones = await _team_zones(conn, org, wanted if in_sql else None)
            totals: dict[tuple[str, RhythmKind, date], list[int]] = {}
            for kind in RhythmKind:
                rows = await _attendance_groups(
                    conn, org, kind, wanted if in_sql else None, since, until, deadlines[kind]
                )
                for team, bucket, first, asked, on_time in rows:
                    if team not in keep:
                        continue
                    week = _week(kind, bucket, first, zones.get(team, _UTC))
                    total = totals.setdefault((team, kind, week), [0, 0])
                    total[0] += asked
                    total[1] += on_time
        order = {kind: i for i, kind in enumerate(RhythmKind)}
        return [
            AttendanceCell(team, kind, week, asked, on_time)
            for (team, kind, week), (asked, on_time) in sorted(
                totals.items(), key=lambda item: (item[0][0], order[item[0][1]], item[0][2])
            )
            if asked > 0
        ]


# ---- key result series --------------------------------------------------------------------


u = kr_update_t.c
w = auto_update_t.c
# What a point is read from: the check-in it belongs to, its revision's order, its answers.
POINT_COLUMNS = (
    u.key_result, u.person, u.kind, u.period, u.submitted_at, u.revision, u.id,
    u.value, u.confidence, u.status,
)  # fmt: skip


def _merge_pushes(
    found: dict[str, list[KrPoint]],
    rows: Sequence[Sequence[Any]],
    keys: _Keys,
    instant: Callable[[Any], Any],
) -> None:
    """Add the pushed values (key result, submitted_at, id, value) to each key result's
    points, in order of submission; a check-in and a push at the same instant, the check-in
    first."""
    pushed: dict[str, list[KrPoint]] = {}
    for key, submitted_at, _, value in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        if key in keys:
            pushed.setdefault(key, []).append(KrPoint(key, instant(submitted_at), value, None))
    for key, points in pushed.items():
        # sorted() is stable: the check-ins, listed first, stay first on a tie.
        found[key] = sorted([*found.get(key, ()), *points], key=lambda p: p.at)


# ---- ritual attendance --------------------------------------------------------------------


p = prompt_t.c


async def _longest_deadlines(conn: AsyncConnection, org: str) -> dict[RhythmKind, timedelta]:
    """Per ritual, the longest time from a prompt's nominal moment to its deadline among the
    organisation's rhythms (the default when none sets one): how far before `since` a prompt
    due in the window can have been scheduled."""
    longest = dict(DEFAULT_DEADLINE)
    r = rhythm_t.c
    rows = await conn.execute(
        select(r.kind, r.deadline_after).where(r.org == org, r.deadline_after.is_not(None))
    )
    known = {kind.value: kind for kind in RhythmKind}
    for kind, deadline in rows:
        ritual = known.get(kind)
        if ritual is not None and deadline is not None:
            longest[ritual] = max(longest[ritual], deadline)
    return longest


async def _team_zones(
    conn: AsyncConnection, org: str, teams: Sequence[str] | None
) -> dict[str, ZoneInfo]:
    t = team_t.c
    zones: dict[str, ZoneInfo] = {}
    where: ColumnElement[bool] = t.key.in_(teams) if teams is not None else true()
    for key, name in await conn.execute(select(t.key, t.timezone).where(t.org == org, where)):
        try:
            zones[key] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zones[key] = _UTC
    return zones


@dataclass(frozen=True, slots=True)
class _Periods:
    """The periods of one ritual a prompt due in the window can belong to (None: any)."""

    low: str | None
    high: str | None

    @classmethod
    def of(cls, kind: RhythmKind, since: datetime, until: datetime, longest: timedelta) -> _Periods:
        if kind is RhythmKind.END_OF_CYCLE:  # named after the cycle: no order to range over
            return cls(None, None)
        first = (since - longest - _ZONE_SLACK).astimezone(UTC).date()
        last = (until + _ZONE_SLACK).astimezone(UTC).date()
        return cls(period_of(kind, first), period_of(kind, last))

    def clauses(self) -> Iterable[ColumnElement[bool]]:
        if self.low is not None:
            yield p.period >= self.low
        if self.high is not None:
            yield p.period <= self.high


def _daily_week(conn: AsyncConnection) -> ColumnElement[Any]:
    """The Monday of a daily prompt's period (its local day), as 'YYYY-MM-DD' text."""
    if conn.dialect.name == "postgresql":
        # As a timestamp without time zone: the session's zone plays no part.
        day = cast(cast(p.period, Date), DateTime(timezone=False))
        return func.to_char(func.date_trunc("week", day), "YYYY-MM-DD")
    # Six days back, then forward to the next Monday (the same day when it is one).
    return func.date(p.period, literal("-6 days"), literal("weekday 1"))


async def _attendance_groups(
    conn: AsyncConnection,
    org: str,
    kind: RhythmKind,
    teams: Sequence[str] | None,
    since: datetime,
    until: datetime,
    longest: timedelta,
) -> Sequence[Any]:
    """(team, bucket, first scheduled, asked, on time) per team and period (per team and
    Monday for daily prompts) of `kind`'s prompts due in [since, until)."""
    m = membership_t.c
    members = (
        select(m.person, m.team)
        .distinct()  # a person listed twice in one team still counts once there
        .where(m.org == org, m.team.in_(teams) if teams is not None else true())
        .subquery()
    )
    bucket = _daily_week(conn) if kind is RhythmKind.DAILY else p.period
    on_time = case((and_(p.answered_at.is_not(None), p.answered_at <= p.deadline), 1), else_=0)
    stmt = (
        select(
            members.c.team,
            bucket.label("bucket"),
            func.min(p.scheduled_for),
            func.count(),
            func.sum(on_time),
        )
        .select_from(prompt_t.join(members, members.c.person == p.person))
        .where(
            p.org == org,
            p.kind == kind.value,
            *_Periods.of(kind, since, until, longest).clauses(),
            p.deadline >= since,
            p.deadline < until,
            func.coalesce(p.failure, "") != ON_LEAVE,
        )
        .group_by(members.c.team, bucket)
    )
    return (await conn.execute(stmt)).all()


def _week(kind: RhythmKind, bucket: str, first: datetime, zone: ZoneInfo) -> date:
    if kind is RhythmKind.DAILY:
        return date.fromisoformat(bucket)
    if kind is RhythmKind.WEEKLY:  # "2026-W10"
        return date.fromisocalendar(int(bucket[:4]), int(bucket[6:]), 1)
    return week_start(first.astimezone(zone).date())
