"""The SQL behind a digest: aggregates sized by the team and the period, never by history.

Each fact is one set-based query. Keys are filtered in SQL with an IN list while the list is
small (a team); past `IN_LIST_LIMIT` (the whole organisation) the query is scoped by
organisation and period only and the few surplus rows are dropped in Python, which keeps
statements small and lets the (org, period, ...) indexes do the work.

An organisation-wide digest reads tens of thousands of rows (every key result's latest update
in two periods, everybody's prompts), and SQLAlchemy's per-row result processing and async
adaptation cost more than the queries themselves there. The facts' statements (built with
SQLAlchemy) therefore run straight on the driver connection, inside the same snapshot
transaction, and the few columns that need it are converted here (`_Driver`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from rhythm.cadences import RhythmKind
from rhythm.digest import collector_paused
from rhythm.records import AutoUpdateFact, DigestFacts, NoteFact, PromptFact, Snapshot
from rhythm.status import Status
from storage.tables import (
    auto_update_t,
    checkin_t,
    key_result_t,
    kr_update_t,
    membership_t,
    objective_t,
    person_t,
    prompt_t,
)

IN_LIST_LIMIT = 500
T = TypeVar("T")


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
    window: tuple[datetime, datetime] | None = None,
) -> DigestFacts:
    """`window`: the period as instants [start, end), in which its automatic updates were
    stored (None: none are read)."""
    krs, persons, team_keys = _Keys.of(key_results), _Keys.of(people), _Keys.of(teams)
    # Tens of thousands of snapshots and prompts, all kept (see collector_paused). Across the
    # awaits too: whatever else runs meanwhile only goes without cycle collection as long.
    with collector_paused():
        return await _query(conn, org, kind, period, previous, krs, persons, team_keys, now, window)


async def _query(
    conn: AsyncConnection,
    org: str,
    kind: RhythmKind,
    period: str,
    previous: str,
    krs: _Keys,
    persons: _Keys,
    team_keys: _Keys,
    now: datetime | None,
    window: tuple[datetime, datetime] | None,
) -> DigestFacts:
    async with _Driver.over(conn) as driver:
        # Everything is asked for first and read back in the same order (see _Driver).
        prompts = _prompts_and_streaks(driver, org, kind, period, previous, persons, now)
        pushes = _automatic_updates(driver, org, window, krs)
        updates = _latest_updates(driver, org, kind, (period, previous), krs, first_of=period)
        spontaneous = _spontaneous(driver, org, kind, period, persons)
        asked_before = _asked(driver, org, kind, previous, persons)
        notes = _notes(driver, org, kind, period, persons)
        blocking = _blocking_others(driver, org, kind, period, team_keys)
        values = _current_values(driver, org, krs)
        participation, streaks = await prompts
        pushed = await pushes
        latest, first_checkins = await updates(pushed)
        return DigestFacts(
            current=latest.get(period, {}),
            previous=latest.get(previous, {}),
            prompts=participation,
            spontaneous=await spontaneous,
            notes=await notes,
            blocking_others=await blocking,
            streaks=await streaks(),
            values=await values,
            asked_before=await asked_before,
            automatic={kr: push.fact(first_checkins.get(kr)) for kr, push in pushed.items()},
        )


Rows = Sequence[Sequence[Any]]


class _Driver:
    """Statements run straight on the driver connection under `conn`'s transaction.

    Rows come back as the driver returns them: instants as `instant` reads them, booleans as
    0/1 on SQLite, JSON as text on SQLite. aiosqlite runs statements one after the other in a
    thread of its own, so on SQLite every statement is queued when asked for and SQLite can
    step through the next ones while Python converts the rows of the previous ones (only
    partly in parallel: building rows needs the GIL too). asyncpg runs one statement at a
    time, so there each runs when its rows are awaited. Either way everything runs in one
    transaction, in the order asked.
    """

    def __init__(self, conn: AsyncConnection, raw: Any) -> None:
        self.conn, self.raw = conn, raw
        self.sqlite = conn.dialect.name == "sqlite"
        self.instant: Callable[[Any], Any] = _from_sqlite_text if self.sqlite else _as_utc
        self._queued: list[asyncio.Future[Any]] = []

    @classmethod
    @asynccontextmanager
    async def over(cls, conn: AsyncConnection) -> AsyncIterator[_Driver]:
        # asyncpg opens the snapshot transaction on SQLAlchemy's first statement: make sure
        # that came before anything is sent to the driver directly.
        await conn.execute(select(literal(1)))
        driver = cls(conn, (await conn.get_raw_connection()).driver_connection)
        try:
            yield driver
        finally:
            for queued in driver._queued:
                queued.cancel()
            await asyncio.gather(*driver._queued, return_exceptions=True)

    def ask(self, stmt: Select[Any]) -> Callable[[], Awaitable[Rows]]:
        """Send `stmt` (parameters: plain strings and numbers); await the returned function's
        result for its rows."""
        compiled = stmt.compile(
            dialect=self.conn.dialect, compile_kwargs={"render_postcompile": True}
        )
        params = [compiled.params[name] for name in compiled.positiontup or ()]
        if not all(isinstance(v, str | int | float | datetime) for v in params):
            raise TypeError(f"only plain parameters go straight to the driver: {params!r}")
        sql = compiled.string
        if self.sqlite:
            queued = asyncio.ensure_future(self.raw.execute_fetchall(sql, params))
            self._queued.append(queued)

            async def rows() -> Rows:
                self._queued.remove(queued)
                found: Rows = await queued
                return found

            return rows

        async def fetch() -> Rows:
            found: Rows = await self.raw.fetch(sql, *params)
            return found

        return fetch

    def instant_param(self, moment: datetime) -> Any:
        """`moment` as a parameter the driver compares with stored instants: UTCDateTime's
        naive UTC text on SQLite, an aware datetime for asyncpg."""
        utc = moment.astimezone(UTC)
        return utc.replace(tzinfo=None).isoformat(" ", "microseconds") if self.sqlite else utc

    def json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


def _from_sqlite_text(value: str | None) -> datetime | None:
    """UTCDateTime's SQLite storage (naive UTC text) to an aware instant."""
    return None if value is None else _fromisoformat(value).replace(tzinfo=UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    """asyncpg's timestamptz (already aware, in UTC) as UTCDateTime returns it."""
    return value if value is None or value.tzinfo is UTC else value.astimezone(UTC)


_fromisoformat = datetime.fromisoformat


u = kr_update_t.c
w = auto_update_t.c
SNAPSHOT_COLUMNS = (
    u.key_result, u.person, u.submitted_at, u.value, u.confidence, u.status, u.moved, u.blockers,
    u.blocked_by_team, u.blocked_by_kr, u.next_step, u.value_before,
)  # fmt: skip
LATEST_FIRST = (u.submitted_at.desc(), u.revision.desc(), u.id.desc())


STATUS = {s.value: s for s in Status}  # a dict lookup: Status(value) is slow per row


def _snapshot(row: Sequence[Any], instant: Callable[[Any], Any]) -> Snapshot:
    """A Snapshot from a driver's row of SNAPSHOT_COLUMNS (key result first, skipped)."""
    _, person, at, value, confidence, status, moved, blockers, team, kr, step, before = row[:12]
    return Snapshot(
        person, instant(at), value, confidence, STATUS[status] if status else None, moved, blockers,
        team, kr, step, before,
    )  # fmt: skip


async def _done(value: T) -> T:
    return value


Latest = dict[str, dict[str, Snapshot]]
FirstAt = dict[str, datetime]


def _latest_updates(
    driver: _Driver,
    org: str,
    kind: RhythmKind,
    periods: Sequence[str],
    krs: _Keys,
    *,
    first_of: str,
) -> Callable[[Collection[str]], Awaitable[tuple[Latest, FirstAt]]]:
    """Per period and key result, its latest update of the period (latest submission, then
    revision, then id), for each of `periods`; and, of the key results given to the returned
    function (those pushed in the period: few, often none), when period `first_of`'s first
    update of each came.

    The period's updates are read (one statement per period, on ix_kr_update_period) and the
    latest per key result kept here: edits are rare, so that is a few percent more rows than
    the answer, and cheaper than having the database probe for a newer update row by row
    (NOT EXISTS: 107 against 78 ms a period on SQLite for 10,000 people) or number them all
    (a window: 102 ms); on PostgreSQL the anti-join also costs more than the plain read."""
    wanted = sorted({p for p in periods if p})
    if not krs.keys or not wanted:
        return lambda _: _done(({}, {}))
    asked = [
        (
            period,
            driver.ask(
                select(*SNAPSHOT_COLUMNS, u.revision, u.id).where(
                    u.org == org,
                    u.period == period,
                    u.kind == kind.value,
                    krs.clause(u.key_result),
                )
            ),
        )
        for period in wanted
    ]

    async def read(pushed: Collection[str]) -> tuple[Latest, FirstAt]:
        found: Latest = {}
        first: dict[str, Any] = {}
        keys, instant, status_of = krs.keys, driver.instant, STATUS.get
        for period, rows in asked:
            # The latest row per key result. Instants compare as the driver gives them:
            # datetimes, or on SQLite fixed-width UTC text, which sorts the same way.
            best: dict[str, Sequence[Any]] = {}
            read_rows = await rows()
            for row in read_rows:
                seen = best.get(row[0])
                if seen is None or (row[2], row[12], row[13]) > (seen[2], seen[12], seen[13]):
                    best[row[0]] = row
            if pushed and period == first_of:
                for row in read_rows:
                    if row[0] in pushed and (row[0] not in first or row[2] < first[row[0]]):
                        first[row[0]] = row[2]
            found[period] = latest = {}
            for kr, row in best.items():
                if kr in keys:
                    (_, person, at, value, confidence, status, moved, blockers, team, by_kr, step,
                     before) = row[:12]  # fmt: skip
                    latest[kr] = Snapshot(
                        person, instant(at), value, confidence, status_of(status), moved,
                        blockers, team, by_kr, step, before,
                    )  # fmt: skip
        return found, {kr: instant(at) for kr, at in first.items()}

    return read


@dataclass(frozen=True, slots=True)
class _Pushed:
    """A key result's pushes in the period, as read: the latest and the first."""

    source: str
    at: datetime
    value: float
    first_at: datetime
    value_before: float | None

    def fact(self, first_checkin_at: datetime | None) -> AutoUpdateFact:
        return AutoUpdateFact(
            self.source, self.at, self.value, self.first_at, self.value_before, first_checkin_at
        )


def _automatic_updates(
    driver: _Driver, org: str, window: tuple[datetime, datetime] | None, krs: _Keys
) -> Awaitable[dict[str, _Pushed]]:
    """Per key result pushed in `window`, its latest push and its first (where the key result
    stood before the period's pushes), in one statement: both ranked in SQL, so at most two
    rows per key result come back however often a system pushes. A team's key results are
    walked on ix_auto_update_key_result, the whole organisation's window on
    ix_auto_update_submitted_at."""
    if window is None or not krs.keys or window[0] >= window[1]:
        return _done({})
    at = driver.instant_param
    newest = (w.submitted_at.desc(), w.id.desc())
    ranked = (
        select(
            w.key_result, w.source, w.submitted_at, w.value, w.value_before,
            func.row_number().over(partition_by=w.key_result, order_by=newest).label("latest"),
            func.row_number()
            .over(partition_by=w.key_result, order_by=(w.submitted_at, w.id))
            .label("first"),
        )
        .where(
            w.org == org, w.submitted_at >= at(window[0]), w.submitted_at < at(window[1]),
            krs.clause(w.key_result),
        )
        .subquery()
    )  # fmt: skip
    r = ranked.c
    rows = driver.ask(
        select(
            r.key_result, r.source, r.submitted_at, r.value, r.value_before, r.latest, r.first
        ).where(or_(r.latest == 1, r.first == 1))
    )

    async def read() -> dict[str, _Pushed]:
        latest: dict[str, Sequence[Any]] = {}
        first: dict[str, Sequence[Any]] = {}
        for row in await rows():
            if row[0] in krs:
                if row[5] == 1:
                    latest[row[0]] = row
                if row[6] == 1:
                    first[row[0]] = row
        instant = driver.instant
        return {
            key: _Pushed(row[1], instant(row[2]), row[3], instant(first[key][2]), first[key][4])
            for key, row in latest.items()
        }

    return read()


def _prompts_and_streaks(
    driver: _Driver,
    org: str,
    kind: RhythmKind,
    period: str,
    previous: str,
    persons: _Keys,
    now: datetime | None,
) -> Awaitable[tuple[tuple[PromptFact, ...], Callable[[], Awaitable[dict[str, int]]]]]:
    """The period's prompts (participation) and each person's streak (see `_streaks`), the
    latter from a function to await last.

    The streak is read set-based from the prompts of this period, which participation needs
    anyway, then of the previous one for the people these leave undecided (nothing answered
    or missed yet, say), and only for those still undecided with `_streaks`' per-person
    look-ups."""
    if not persons.keys:
        return _done(((), lambda: _done({})))
    p = prompt_t.c
    this_period = driver.ask(
        select(
            p.person,
            p.is_lead,
            p.deadline,
            p.answered_at,
            p.failure,
            p.failed_at.is_not(None),
            p.streak,
            and_(p.waiting_since.is_not(None), p.sent_at.is_(None)),
        )
        .where(p.org == org, p.kind == kind.value, p.period == period, persons.clause(p.person))
        .order_by(p.is_lead.desc(), p.person, p.id)
    )
    low = previous if previous and previous < period else period
    earlier = None
    if low < period:
        earlier = driver.ask(
            select(
                p.person, p.period, p.answered_at.is_not(None), p.failed_at.is_not(None), p.streak
            )
            .where(
                p.org == org,
                p.kind == kind.value,
                p.period >= low,
                p.period < period,
                persons.clause(p.person),
            )
            .order_by(p.period.desc(), p.id.desc())
        )

    async def read() -> tuple[tuple[PromptFact, ...], Callable[[], Awaitable[dict[str, int]]]]:
        keys, instant = persons.keys, driver.instant
        prompts: list[PromptFact] = []
        # Per person the prompts seen, latest period first, as (period, answered, failed
        # (undeliverable: in no chain), missed (time up), kept streak).
        seen: dict[str, list[tuple[str, bool, bool, bool, int | None]]] = {}
        streaks: dict[str, int] = {}
        uncounted: list[str] = []
        with collector_paused():
            for (
                person,
                is_lead,
                deadline,
                answered_at,
                failure,
                failed,
                streak,
                waiting,
            ) in await this_period():
                if person not in keys:
                    continue
                fact = PromptFact(
                    person, bool(is_lead), instant(deadline), instant(answered_at), failure,
                    bool(waiting),
                )  # fmt: skip
                prompts.append(fact)
                missed = answered_at is None and now is not None and fact.deadline < now
                seen.setdefault(person, []).append(
                    (period, answered_at is not None, bool(failed), missed, streak)
                )
            undecided = _decide(keys, seen, streaks, uncounted)
        if earlier is not None:
            rows = await earlier()
            wanted = set(undecided)
            seen = {}
            for person, of, answered, failed, streak in rows:
                if person in wanted:  # an earlier period's unanswered prompt is a miss
                    seen.setdefault(person, []).append(
                        (of, bool(answered), bool(failed), not answered, streak)
                    )
            undecided = _decide(undecided, seen, streaks, uncounted)

        # Nothing telling from `low` on (no prompt, failed ones, one still open): look further
        # back, person by person, through SQLAlchemy, once the driver's queue is read (on
        # SQLite these statements would wait behind it).
        async def finish() -> dict[str, int]:
            size = max(IN_LIST_LIMIT, 1)
            for start in range(0, len(undecided), size):
                batch = _Keys.of(undecided[start : start + size])
                streaks.update(await _streaks(driver.conn, org, kind, low, batch, now, before=True))
            if uncounted:
                counted = _Keys.of(uncounted)
                streaks.update(await _counted_streaks(driver.conn, org, kind, period, counted, now))
            return streaks

        return tuple(prompts), finish

    return read()


def _decide(
    persons: Iterable[str],
    seen: Mapping[str, Sequence[tuple[str, bool, bool, bool, int | None]]],
    streaks: dict[str, int],
    uncounted: list[str],
) -> list[str]:
    """Settle the streak of each of `persons` from the prompts `seen` (latest period first):
    the kept streak of the latest period with an answer (into `streaks`, or `uncounted` when
    none was kept), no streak when a miss comes first; returns those still undecided."""
    undecided = []
    for person in persons:
        prompts = seen.get(person, ())
        i = 0
        while i < len(prompts):
            this = prompts[i][0]
            kept: int | None = None
            answered = missed = False
            while i < len(prompts) and prompts[i][0] == this:
                _, was_answered, failed, was_missed, streak = prompts[i]
                i += 1
                if failed:
                    continue
                if was_answered and not answered:
                    answered, kept = True, streak
                missed = missed or was_missed
            if answered:
                if kept is None:
                    uncounted.append(person)
                else:
                    streaks[person] = kept
                break
            if missed:
                break
        else:
            undecided.append(person)
    return undecided


def _spontaneous(
    driver: _Driver, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> Awaitable[dict[str, int]]:
    if not persons.keys:
        return _done({})
    c = checkin_t.c
    rows = driver.ask(
        select(c.person, func.count())
        .where(
            c.org == org,
            c.kind == kind.value,
            c.period == period,
            c.spontaneous.is_(True),
            c.revision == 1,  # an edit is the same contribution, never one more
            persons.clause(c.person),
        )
        .group_by(c.person)
    )

    async def read() -> dict[str, int]:
        return {person: count for person, count in await rows() if person in persons}

    return read()


def _asked(
    driver: _Driver, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> Awaitable[frozenset[str]]:
    """Who had a prompt of `period` (the one before the digest's): who could have answered."""
    if not persons.keys or not period:
        return _done(frozenset())
    p = prompt_t.c
    rows = driver.ask(
        select(p.person)
        .distinct()
        .where(p.org == org, p.kind == kind.value, p.period == period, persons.clause(p.person))
    )

    async def read() -> frozenset[str]:
        return frozenset(person for (person,) in await rows() if person in persons)

    return read()


def _current_values(driver: _Driver, org: str, krs: _Keys) -> Awaitable[dict[str, float | None]]:
    """Where each key result stands now: what a period without updates shows."""
    if not krs.keys:
        return _done({})
    k = key_result_t.c
    rows = driver.ask(select(k.key, k.current_value).where(k.org == org, krs.clause(k.key)))

    async def read() -> dict[str, float | None]:
        return {key: value for key, value in await rows() if key in krs}

    return read()


async def _streaks(
    conn: AsyncConnection,
    org: str,
    kind: RhythmKind,
    period: str,
    persons: _Keys,
    now: datetime | None,
    *,
    before: bool = False,
) -> dict[str, int]:
    """Per person, the answered prompts of `kind` up to `period` (with `before`: up to the
    period before it) since their last miss.

    A miss is an unanswered prompt whose time is up: one of an earlier period or, given `now`,
    one whose deadline has passed; a prompt of this period still open is neither, nor is an
    undeliverable (failed) one. Read from the streak kept on each person's latest answered
    prompt (see storage.streaks), zero when a miss came after it: two index look-ups per
    person instead of a walk through their history.
    """
    if not persons.keys:
        return {}
    p, who = prompt_t.c, person_t.c.email
    up_to = p.period < period if before else p.period <= period
    mine = (p.org == org, p.kind == kind.value, p.person == who, up_to)
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


def _notes(
    driver: _Driver, org: str, kind: RhythmKind, period: str, persons: _Keys
) -> Awaitable[tuple[NoteFact, ...]]:
    """Each person's latest check-in of the period, when it has notes with text."""
    if not persons.keys:
        return _done(())
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
    rows = driver.ask(
        select(ranked.c.person, ranked.c.submitted_at, ranked.c.notes, ranked.c.blocked_by_team)
        .where(ranked.c.rank == 1, ranked.c.notes.is_not(None))
        .order_by(ranked.c.submitted_at, ranked.c.person)
    )

    async def read() -> tuple[NoteFact, ...]:
        return tuple(
            NoteFact(person, driver.instant(at), driver.json(notes), blocked_by_team)
            for person, at, notes, blocked_by_team in await rows()
            if person in persons
        )

    return read()


def _blocking_others(
    driver: _Driver, org: str, kind: RhythmKind, period: str, teams: _Keys
) -> Awaitable[tuple[tuple[str, str, Snapshot], ...]]:
    """Key results whose latest update of the period says one of `teams` blocks them, with the
    team of each key result (its objective's owner team, else the owner person's first team)."""
    if not teams.keys:
        return _done(())
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
    rows = driver.ask(
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

    async def read() -> tuple[tuple[str, str, Snapshot], ...]:
        return tuple(
            (row[0], row[-1], snapshot)
            for row in await rows()
            if (snapshot := _snapshot(row, driver.instant)).blocked_by_team in teams
        )

    return read()
