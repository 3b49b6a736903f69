"""A year of weekly history for the benchmark organisation, loaded straight into the tables.

The OKR tree goes through the repository (`save_organisation`); the history (about 520,000
prompts, 520,000 check-ins and a million key-result updates) is generated week by week and
bulk-inserted around it, executemany on SQLite and COPY on PostgreSQL, then the derived
streaks are rebuilt with `rebuild_streaks`, as the repository documents for bulk imports.

The history is plausible rather than exact: each person is prompted at 09:30 in their own
timezone (an hour early for the company lead) on the first day of the week they work and are
neither on leave nor on a public holiday (`rhythm.due.firing_day`, as the scheduler does),
answers with their own reliability (most people nearly always, some often, a few half the
time), sometimes late, sometimes edits the check-in, sometimes updates it again later in the
week and sometimes checks in before being asked. The rows are what the product writes since
migration 0004 (`storage.prompts`, `storage.checkins`): a send records its attempt, every
check-in answers the period's prompt (one answered before it was sent is never sent), an edit
is the next revision, and only a period's first revision with no prompt sent is spontaneous.
Nothing after `bench.org.NOW` has happened yet: no prompt scheduled later is written.
"""

from __future__ import annotations

import gc
import json
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Table
from sqlalchemy.engine import make_url

from bench.org import FIRST_WEEK, NOW, ORG, SEED, WEEKS, Plan
from rhythm.cadences import RhythmKind, period_of
from rhythm.due import firing_day, local_instant
from rhythm.okr import Organisation
from rhythm.status import Status
from storage.engine import normalise_url
from storage.migrate import upgrade
from storage.store import open_store
from storage.tables import checkin_t, kr_update_t, prompt_t

WEEKLY = RhythmKind.WEEKLY.value
# Every column, so each row has them all; what the product writes for a prompt never sent.
_EMPTY_PROMPT: dict[str, Any] = {
    **dict.fromkeys(c.name for c in prompt_t.columns),
    "attempts": 0,
    "reminders_sent": 0,
}
_EMPTY_CHECKIN: dict[str, Any] = dict.fromkeys(c.name for c in checkin_t.columns)
_EMPTY_UPDATE: dict[str, Any] = dict.fromkeys(c.name for c in kr_update_t.columns)
HOUR = timedelta(hours=1)


@dataclass
class Chunk:
    """One week of history, as rows (dicts keyed by column name) for each table."""

    prompts: list[dict[str, Any]] = field(default_factory=list)
    checkins: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Counts:
    prompts: int = 0
    checkins: int = 0
    updates: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class _KrState:
    """A key result's value and confidence as they drift week by week."""

    __slots__ = ("confidence", "step", "value")

    def __init__(self, value: float, step: float, confidence: int) -> None:
        self.value, self.step, self.confidence = value, step, confidence


def history(plan: Plan, latest: dict[str, tuple[datetime, float]] | None = None) -> Iterator[Chunk]:
    """The weekly history, oldest week first; ids are assigned here (1, 2, ...). `latest`, if
    given, collects each key result's latest (submitted_at, value)."""
    org = plan.org
    rng = random.Random(SEED + 1)
    teams = [t.key for t in org.teams]
    owned = {p.email: [kr.key for kr in org.key_results_of(p.email)] for p in org.people}
    state: dict[str, _KrState] = {}
    for kr in org.key_results:
        m = kr.metric
        if m is None or m.milestone:
            state[kr.key] = _KrState(0.0, 0.0, 7)
        else:
            state[kr.key] = _KrState(m.start, (m.target - m.start) / 60, rng.randint(5, 9))
    weekly = next(r for r in org.rhythms if r.kind is RhythmKind.WEEKLY)
    leads = {p.email for p in org.people if org.is_lead(p.email, weekly.team)}
    zones = {zone: ZoneInfo(zone) for zone in {p.timezone for p in org.people}}
    ids = _Ids()
    for week in range(WEEKS):
        monday = FIRST_WEEK + timedelta(weeks=week)
        period = period_of(RhythmKind.WEEKLY, monday)
        nominal: dict[tuple[str, date], datetime] = {}  # 09:30 local, per zone and day
        chunk = Chunk()
        for person in org.people:
            email = person.email
            day = firing_day(org, weekly, person, monday, None)
            if day is None:  # off all week: nobody asks, nobody answers
                continue
            at = nominal.get((person.timezone, day))
            if at is None:
                at = nominal[person.timezone, day] = local_instant(
                    day, weekly, zones[person.timezone]
                )
            is_lead = email in leads
            scheduled = at - weekly.lead_time if is_lead else at
            # Checking in before being asked writes the period's prompt, answered: it is
            # never sent (the product's `Answering(due=...)`), and the check-in is spontaneous.
            before = scheduled - timedelta(minutes=rng.randrange(5, 120))
            early = before if rng.random() < EARLY else None
            if (early or scheduled) > NOW:  # the tick has not written it yet
                continue
            prompt: dict[str, Any] = {
                **_EMPTY_PROMPT, "id": ids.prompt(), "org": ORG, "rhythm": weekly.key,
                "kind": WEEKLY, "person": email, "period": period, "scheduled_for": scheduled,
                "deadline": at + weekly.deadline, "is_lead": is_lead,
            }  # fmt: skip
            chunk.prompts.append(prompt)
            answers = _Answers(
                rng, ids, chunk, prompt, owned[email], state, teams, zones[person.timezone],
                monday + timedelta(days=6),
            )  # fmt: skip
            if early is not None:
                answers.first(early)
            elif rng.random() < 0.001:  # the send began and the platform refused it
                prompt.update(
                    attempted_at=scheduled,
                    attempts=1,
                    failure="user_not_found",
                    failed_at=scheduled,
                )
            else:
                prompt.update(
                    attempted_at=scheduled,
                    attempts=1,
                    sent_at=scheduled,
                    message_ref=f"m{prompt['id']}",
                )
                if rng.random() < plan.reliability[email]:
                    answers.first(scheduled + timedelta(hours=min(100.0, rng.expovariate(1 / 10))))
                elif scheduled + weekly.reminder_after <= NOW:
                    prompt["reminders_sent"] = 1
                    prompt["last_reminded_at"] = scheduled + weekly.reminder_after
            if rng.random() < 0.08:  # an update later in the week, by command
                answers.later(at + timedelta(days=3, hours=rng.randrange(8)))
            answers.store()
        if latest is not None:
            for u in chunk.updates:
                seen = latest.get(u["key_result"])
                if seen is None or seen[0] <= u["submitted_at"]:
                    latest[u["key_result"]] = (u["submitted_at"], u["value"])
        yield chunk


EARLY = 0.04  # the share of prompts answered before they are sent


class _Ids:
    """The next id of each table."""

    __slots__ = ("checkins", "prompts", "updates")

    def __init__(self) -> None:
        self.prompts = self.checkins = self.updates = 0

    def prompt(self) -> int:
        self.prompts += 1
        return self.prompts

    def checkin(self) -> int:
        self.checkins += 1
        return self.checkins

    def update(self) -> int:
        self.updates += 1
        return self.updates


class _Answers:
    """One person's check-ins of one week, stored as the product stores them
    (`storage.checkins`): every check-in answers the period's prompt, an edit is the next
    revision, and only a first revision when no prompt had been sent is spontaneous."""

    def __init__(
        self, rng: random.Random, ids: _Ids, chunk: Chunk, prompt: dict[str, Any],
        owned: Sequence[str], state: dict[str, _KrState], teams: Sequence[str],
        zone: ZoneInfo, last_day: date,
    ) -> None:  # fmt: skip
        self.rng, self.ids, self.chunk, self.prompt = rng, ids, chunk, prompt
        self.owned, self.state, self.teams = owned, state, teams
        self.zone, self.last_day = zone, last_day  # the period's last day, in the person's zone
        self.moments: list[tuple[datetime, bool]] = []  # when, and whether by command
        self.revision = 0

    def first(self, answered: datetime) -> None:
        """The answer to the prompt, edited once an hour later now and then."""
        self.moments.append((answered, False))
        if self.rng.random() < 0.03:
            self.moments.append((answered + HOUR, False))

    def later(self, when: datetime) -> None:
        """A check-in by command: an edit if the prompt was answered by then, else its answer."""
        self.moments.append((when, True))

    def store(self) -> None:
        """The check-ins up to `bench.org.NOW`, in the order they were made, that the product
        takes: in the period, or (from the prompt's own form) until its deadline."""
        for when, by_command in sorted(self.moments):
            in_period = when.astimezone(self.zone).date() <= self.last_day
            if when <= NOW and (in_period or (not by_command and when <= self.prompt["deadline"])):
                self.checkin(when)

    def checkin(self, when: datetime) -> None:
        prompt, rng = self.prompt, self.rng
        self.revision += 1
        checkin_id = self.ids.checkin()
        person, period = prompt["person"], prompt["period"]
        notes = {"learned": f"Learned something in {period}"} if rng.random() < 0.1 else None
        self.chunk.checkins.append({
            **_EMPTY_CHECKIN, "id": checkin_id, "org": ORG, "person": person, "kind": WEEKLY,
            "period": period, "prompt_id": prompt["id"],
            "spontaneous": self.revision == 1 and prompt["sent_at"] is None,
            "revision": self.revision, "submitted_at": when,
            "idempotency_key": f"bench-{checkin_id}", "notes": notes,
        })  # fmt: skip
        if prompt["answered_at"] is None:  # answered: also undoes a delivery failure
            prompt.update(answered_at=when, failure=None, failed_at=None)
        for key in self.owned:
            self.chunk.updates.append(_update(
                rng, self.ids.update(), checkin_id, key, person, period, self.revision, when,
                self.state[key], self.teams,
            ))  # fmt: skip


def _update(
    rng: random.Random, update_id: int, checkin_id: int, kr: str, person: str, period: str,
    revision: int, at: datetime, state: _KrState, teams: Sequence[str],
) -> dict[str, Any]:  # fmt: skip
    state.value += state.step * rng.uniform(-0.5, 2.0)
    state.confidence = max(1, min(10, state.confidence + rng.choice((-2, -1, 0, 0, 0, 1, 1))))
    confidence = state.confidence
    status = Status.ON_TRACK if confidence >= 7 else (
        Status.AT_RISK if confidence >= 4 else Status.OFF_TRACK)  # fmt: skip
    blockers, blocked_by = "", None
    if rng.random() < 0.05:
        blockers = "Waiting on a dependency"
        if rng.random() < 0.5:
            blocked_by = rng.choice(teams)
    return {
        **_EMPTY_UPDATE, "id": update_id, "org": ORG, "checkin_id": checkin_id, "key_result": kr,
        "person": person, "kind": WEEKLY, "period": period, "submitted_at": at,
        "revision": revision, "value": round(state.value, 2), "confidence": confidence,
        "status": status.value, "moved": "Moved it forward" if rng.random() < 0.3 else "",
        "blockers": blockers, "blocked_by_team": blocked_by,
        "next_step": "Keep going" if rng.random() < 0.2 else "",
    }  # fmt: skip


def _columns(table: Table) -> list[str]:
    return [c.name for c in table.columns]


# ---- writers --------------------------------------------------------------------------------


def _sqlite_instant(value: datetime) -> str:
    """UTCDateTime on SQLite: naive UTC text, fixed width (what SQLAlchemy writes); the
    generated instants are all in UTC already."""
    return value.isoformat(" ", "microseconds")[:26]


def _converters(table: Table, backend: str) -> list[tuple[str, Any]]:
    """Per column its name and the function that turns a Python value into the driver's, or
    None when the value goes in as it is."""
    out: list[tuple[str, Any]] = []
    for column in table.columns:
        kind = type(column.type).__name__
        convert: Any = None
        if kind == "JSON":
            convert = json.dumps
        elif backend == "sqlite" and kind == "UTCDateTime":
            convert = _sqlite_instant
        elif backend == "sqlite" and kind == "Boolean":
            convert = int
        out.append((column.name, convert))
    return out


TABLES = ((prompt_t, "prompts"), (checkin_t, "checkins"), (kr_update_t, "updates"))


def _rows(table: Table, rows: list[dict[str, Any]], backend: str) -> list[Any]:
    """The rows as sequences in the table's column order, converted for the driver."""
    out: list[Any] = list(map(itemgetter(*_columns(table)), rows))
    converting = [(i, f) for i, (_, f) in enumerate(_converters(table, backend)) if f]
    if not converting:
        return out
    converted = []
    for values in out:
        row = list(values)
        for i, convert in converting:
            if row[i] is not None:
                row[i] = convert(row[i])
        converted.append(row)
    return converted


def _load_sqlite(path: str, chunks: Iterator[Chunk], counts: Counts) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        # Building the indexes once at the end is much faster than keeping them up to date.
        tables = ", ".join(f"'{table.name}'" for table, _ in TABLES)
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        for chunk in chunks:
            for table, attr in TABLES:
                rows: list[dict[str, Any]] = getattr(chunk, attr)
                if not rows:
                    continue
                names = _columns(table)
                conn.executemany(
                    f"INSERT INTO {table.name} ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))})",
                    _rows(table, rows, "sqlite"),
                )
                setattr(counts, attr, getattr(counts, attr) + len(rows))
        for _, sql in indexes:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


async def _load_postgresql(dsn: str, chunks: Iterator[Chunk], counts: Counts) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # As on SQLite: build the indexes (not the constraints') once, after the rows.
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY($1::text[]) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [table.name for table, _ in TABLES],
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        for chunk in chunks:
            for table, attr in TABLES:
                rows: list[dict[str, Any]] = getattr(chunk, attr)
                if not rows:
                    continue
                await conn.copy_records_to_table(
                    table.name, records=_rows(table, rows, "postgresql"), columns=_columns(table)
                )
                setattr(counts, attr, getattr(counts, attr) + len(rows))
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        for table, _ in TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
    finally:
        await conn.close()


async def load(url: str, plan: Plan) -> Counts:
    """Migrate an empty database at `url`, save the tree, bulk-load the history, rebuild the
    streaks (and ANALYZE on PostgreSQL, as autovacuum would have by now)."""
    counts = Counts()
    started = time.perf_counter()
    await upgrade(url)
    org: Organisation = plan.org
    async with open_store(url) as store:
        await store.save_organisation(org)
    counts.seconds["tree"] = time.perf_counter() - started

    started = time.perf_counter()
    target = normalise_url(url)
    latest: dict[str, tuple[datetime, float]] = {}
    chunks = history(plan, latest)
    gc.disable()  # millions of young objects that all live until their week is written
    try:
        if target.get_backend_name() == "sqlite":
            assert target.database
            _load_sqlite(target.database, chunks, counts)
        else:
            await _load_postgresql(_dsn(url), chunks, counts)
    finally:
        gc.enable()
    counts.seconds["history"] = time.perf_counter() - started

    started = time.perf_counter()
    async with open_store(url) as store:
        await store.set_current_values(ORG, {kr: value for kr, (_, value) in latest.items()})
        await store.rebuild_streaks(ORG)
    counts.seconds["streaks"] = time.perf_counter() - started
    if target.get_backend_name() != "sqlite":
        started = time.perf_counter()
        conn = await asyncpg.connect(_dsn(url))
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        counts.seconds["analyze"] = time.perf_counter() - started
    return counts


def _dsn(url: str) -> str:
    """asyncpg's libpq-style URL for a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
