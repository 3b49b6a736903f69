"""The OKR tree: `Organisation` dataclasses to rows and back, saved wholesale and in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import RowMapping, Table, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.okr import (
    Cycle,
    DateRange,
    Direction,
    Initiative,
    InitiativeStatus,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
    carry_progress,
)
from rhythm.ports import TreeSnapshot
from rhythm.profiles import ChatProfile, with_profiles
from rhythm.records import Stamp
from storage.db import Repository, chunks
from storage.tables import (
    TREE_TABLES_CHILDREN_FIRST,
    chat_profile_t,
    cycle_t,
    holiday_calendar_t,
    holiday_t,
    initiative_t,
    key_result_t,
    membership_t,
    objective_t,
    organisation_t,
    person_t,
    rhythm_t,
    team_t,
    time_off_t,
)

Rows = list[dict[str, Any]]


class SqlOrgRepository(Repository):
    """Implements `rhythm.ports.OrgRepository`."""

    async def save_organisation(
        self, org: Organisation, *, keep_progress: bool = True
    ) -> Organisation:
        """Replace the tree in one transaction: delete every tree row of the organisation, then
        bulk-insert the new ones (executemany, not one ORM object at a time), and bump the tree
        revision. Prompts, check-ins and digests are not tree rows and stay.

        The progress to keep is read inside the same transaction, with the organisation row
        locked: a check-in that commits while a file is imported is either kept or waited for,
        never overwritten by the value read before it (check-ins lock the row in share mode)."""
        async with self._db.write() as conn:
            if self._db.is_postgresql:
                await conn.execute(
                    select(organisation_t.c.key)
                    .where(organisation_t.c.key == org.key)
                    .with_for_update()
                )
            if keep_progress:
                values, statuses = await _progress(conn, org.key)
                org = carry_progress(org, _kept_values(org, values), statuses)
            await conn.execute(self._head(org))
            for table in TREE_TABLES_CHILDREN_FIRST:
                await conn.execute(delete(table).where(table.c.org == org.key))
            for table, rows in _tree_rows(org):
                if rows:
                    await conn.execute(insert(table), rows)
        return org

    def _head(self, org: Organisation) -> Insert:
        """The organisation's row, inserted or updated with its tree revision bumped."""
        o = organisation_t.c
        stmt = (postgresql.insert if self._db.is_postgresql else sqlite.insert)(
            organisation_t
        ).values(
            key=org.key, name=org.name, admins=list(org.admins), locale=org.locale,
            nudges_per_week=org.nudges_per_week, tree_revision=1,
        )  # fmt: skip
        return stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "name": stmt.excluded.name,
                "admins": stmt.excluded.admins,
                "locale": stmt.excluded.locale,
                "nudges_per_week": stmt.excluded.nudges_per_week,
                "tree_revision": o.tree_revision + 1,
            },
        )

    async def load_organisation(self, org: str) -> Organisation | None:
        snapshot = await self.load_tree(org)
        if snapshot is None:
            return None
        return with_profiles(snapshot.tree, snapshot.profiles.values())

    async def load_tree(self, org: str) -> TreeSnapshot | None:
        async with self._db.snapshot() as conn:
            head = (
                (await conn.execute(select(organisation_t).where(organisation_t.c.key == org)))
                .mappings()
                .first()
            )
            if head is None:
                return None

            async def rows(table: Table) -> list[RowMapping]:
                order = [table.c.position] if "position" in table.c else []
                query = select(table).where(table.c.org == org).order_by(*order)
                return list((await conn.execute(query)).mappings())

            teams = await rows(team_t)
            people = await rows(person_t)
            memberships = await rows(membership_t)
            time_off = await rows(time_off_t)
            cycles = await rows(cycle_t)
            objectives = await rows(objective_t)
            key_results = await rows(key_result_t)
            initiatives = await rows(initiative_t)
            rhythms = await rows(rhythm_t)
            calendars = await rows(holiday_calendar_t)
            holidays = await rows(holiday_t)
            profiles = await rows(chat_profile_t)

        tree = Organisation(
            key=head["key"],
            name=head["name"],
            teams=tuple(_team(r) for r in teams),
            people=_people(people, memberships, time_off),
            cycles=tuple(Cycle(r["key"], r["start"], r["end"]) for r in cycles),
            objectives=tuple(_objective(r) for r in objectives),
            key_results=tuple(_key_result(r) for r in key_results),
            initiatives=tuple(_initiative(r) for r in initiatives),
            rhythms=tuple(_rhythm(r) for r in rhythms),
            holidays=_holidays(calendars, holidays),
            admins=tuple(head["admins"] or ()),
            locale=head["locale"],
            nudges_per_week=head["nudges_per_week"],
        )
        stamp = Stamp(head["tree_revision"], head["people_revision"])
        return TreeSnapshot(tree, {r["person"]: _profile(r) for r in profiles}, stamp)

    async def organisation_stamp(self, org: str) -> Stamp | None:
        o = organisation_t.c
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(o.tree_revision, o.people_revision).where(o.key == org))
            ).first()
        return Stamp(row.tree_revision, row.people_revision) if row else None

    async def profiles_since(self, org: str, revision: int) -> list[ChatProfile]:
        c = chat_profile_t.c
        query = select(chat_profile_t).where(c.org == org, c.revision > revision)
        async with self._db.read() as conn:
            return [_profile(r) for r in (await conn.execute(query)).mappings()]

    async def organisation_keys(self) -> list[str]:
        async with self._db.read() as conn:
            result = await conn.execute(select(organisation_t.c.key).order_by(organisation_t.c.key))
            return list(result.scalars())

    async def current_values(
        self, org: str, key_results: Sequence[str] | None = None
    ) -> dict[str, float | None]:
        k = key_result_t.c
        query = select(k.key, k.current_value).where(k.org == org)
        async with self._db.read() as conn:
            if key_results is None:
                return {key: value for key, value in await conn.execute(query)}
            found: dict[str, float | None] = {}
            for chunk in chunks(sorted(set(key_results))):
                rows = await conn.execute(query.where(k.key.in_(chunk)))
                found.update((key, value) for key, value in rows)
            return found

    async def set_current_values(self, org: str, values: Mapping[str, float]) -> None:
        if not values:
            return
        async with self._db.write() as conn:
            await conn.execute(
                update(key_result_t)
                .where(key_result_t.c.org == org, key_result_t.c.key == bindparam("kr_key"))
                .values(current_value=bindparam("kr_value")),
                [{"kr_key": key, "kr_value": value} for key, value in values.items()],
            )

    async def initiative_statuses(
        self, org: str, key_results: Sequence[str] | None = None
    ) -> dict[str, InitiativeStatus]:
        i = initiative_t.c
        query = select(i.key, i.status).where(i.org == org)
        async with self._db.read() as conn:
            if key_results is None:
                rows = list(await conn.execute(query))
            else:
                rows = []
                for chunk in chunks(sorted(set(key_results))):
                    rows += list(await conn.execute(query.where(i.key_result.in_(chunk))))
        return {key: InitiativeStatus(status) for key, status in rows}


async def _progress(
    conn: AsyncConnection, org: str
) -> tuple[dict[str, tuple[float | None, bool]], dict[str, InitiativeStatus]]:
    """What check-ins made of the stored tree: key results' (current value, milestone) and
    initiatives' statuses."""
    k, i = key_result_t.c, initiative_t.c
    krs = await conn.execute(
        select(k.key, k.current_value, k.milestone).where(k.org == org, k.has_metric)
    )
    inits = await conn.execute(select(i.key, i.status).where(i.org == org))
    return (
        {key: (value, milestone) for key, value, milestone in krs},
        {key: InitiativeStatus(status) for key, status in inits},
    )


def _kept_values(
    org: Organisation, stored: Mapping[str, tuple[float | None, bool]]
) -> dict[str, float | None]:
    """The stored values that still mean the same: a key result that became a milestone (or
    stopped being one) starts from the file's value."""
    return {
        kr.key: stored[kr.key][0]
        for kr in org.key_results
        if kr.metric and kr.key in stored and stored[kr.key][1] == kr.metric.milestone
    }


def _profile(r: RowMapping) -> ChatProfile:
    return ChatProfile(
        r["person"], r["slack_user_id"], r["teams_user_id"], r["chat_timezone"],
        r["chosen_timezone"],
    )  # fmt: skip


# ---- dataclasses -> rows ------------------------------------------------------------------


def _tree_rows(org: Organisation) -> list[tuple[Table, Rows]]:
    """Every tree row of `org`, parents before children (the order foreign keys need)."""
    key = org.key
    people: Rows = []
    memberships: Rows = []
    time_off: Rows = []
    for pos, p in enumerate(org.people):
        people.append({
            "org": key, "email": p.email, "position": pos, "name": p.name,
            "timezone": p.timezone, "working_days": sorted(p.working_days),
            "holiday_calendar": p.holiday_calendar, "slack_user_id": p.slack_user_id,
            "teams_user_id": p.teams_user_id, "quiet_start": p.quiet_start,
            "quiet_end": p.quiet_end,
        })  # fmt: skip
        memberships.extend(
            {"org": key, "person": p.email, "position": i, "team": m.team, "role": m.role.value}
            for i, m in enumerate(p.memberships)
        )
        time_off.extend(
            {"org": key, "person": p.email, "position": i, "start": r.start, "end": r.end}
            for i, r in enumerate(p.time_off)
        )
    calendars = list(org.holidays.items())
    return [
        (team_t, [
            {"org": key, "key": t.key, "position": pos, "name": t.name, "parent": t.parent,
             "timezone": t.timezone}
            for pos, t in enumerate(org.teams)
        ]),
        (person_t, people),
        (membership_t, memberships),
        (time_off_t, time_off),
        (cycle_t, [
            {"org": key, "key": c.key, "position": pos, "start": c.start, "end": c.end}
            for pos, c in enumerate(org.cycles)
        ]),
        (objective_t, [
            {"org": key, "key": o.key, "position": pos, "title": o.title, "cycle": o.cycle,
             "owner_team": o.owner_team, "owner_person": o.owner_person, "parent": o.parent}
            for pos, o in enumerate(org.objectives)
        ]),
        (key_result_t, [_key_result_row(key, pos, kr) for pos, kr in enumerate(org.key_results)]),
        (initiative_t, [
            {"org": key, "key": i.key, "position": pos, "key_result": i.key_result,
             "title": i.title, "owner": i.owner, "status": i.status.value}
            for pos, i in enumerate(org.initiatives)
        ]),
        (rhythm_t, [_rhythm_row(key, pos, r) for pos, r in enumerate(org.rhythms)]),
        (holiday_calendar_t, [
            {"org": key, "name": name, "position": pos} for pos, (name, _) in enumerate(calendars)
        ]),
        (holiday_t, [
            {"org": key, "calendar": name, "day": day}
            for name, days in calendars
            for day in sorted(days)
        ]),
    ]  # fmt: skip


def _key_result_row(org: str, position: int, kr: KeyResult) -> dict[str, Any]:
    m = kr.metric
    return {
        "org": org, "key": kr.key, "position": position, "objective": kr.objective,
        "title": kr.title, "owner": kr.owner, "has_metric": m is not None,
        "metric_start": m.start if m else None, "metric_target": m.target if m else None,
        "current_value": m.current if m else None, "unit": m.unit if m else "",
        "direction": (m.direction if m else Direction.UP).value,
        "milestone": m.milestone if m else False,
    }  # fmt: skip


def _rhythm_row(org: str, position: int, r: Rhythm) -> dict[str, Any]:
    return {
        "org": org, "key": r.key, "position": position, "team": r.team, "kind": r.kind.value,
        "local_time": r.local_time, "weekday": r.weekday, "day_of_month": r.day_of_month,
        "days_before_end": r.days_before_end, "reminder_after": r.reminder_after,
        "max_reminders": r.max_reminders, "deadline_after": r.deadline_after,
        "lead_time": r.lead_time, "digest_channels": list(r.digest_channels),
    }  # fmt: skip


# ---- rows -> dataclasses ------------------------------------------------------------------


def _team(r: RowMapping) -> Team:
    return Team(key=r["key"], name=r["name"], parent=r["parent"], timezone=r["timezone"])


def _people(
    people: Iterable[RowMapping], memberships: Iterable[RowMapping], time_off: Iterable[RowMapping]
) -> tuple[Person, ...]:
    # Grouping rows sorted by position keeps each person's tuples in their saved order.
    member_of: dict[str, list[Membership]] = defaultdict(list)
    for m in memberships:
        member_of[m["person"]].append(Membership(team=m["team"], role=Role(m["role"])))
    away: dict[str, list[DateRange]] = defaultdict(list)
    for t in time_off:
        away[t["person"]].append(DateRange(t["start"], t["end"]))
    return tuple(
        Person(
            email=r["email"],
            name=r["name"],
            timezone=r["timezone"],
            working_days=frozenset(r["working_days"]),
            holiday_calendar=r["holiday_calendar"],
            time_off=tuple(away.get(r["email"], ())),
            memberships=tuple(member_of.get(r["email"], ())),
            slack_user_id=r["slack_user_id"],
            teams_user_id=r["teams_user_id"],
            quiet_start=r["quiet_start"],
            quiet_end=r["quiet_end"],
        )
        for r in people
    )


def _objective(r: RowMapping) -> Objective:
    return Objective(
        key=r["key"],
        title=r["title"],
        cycle=r["cycle"],
        owner_team=r["owner_team"],
        owner_person=r["owner_person"],
        parent=r["parent"],
    )


def _key_result(r: RowMapping) -> KeyResult:
    metric = None
    if r["has_metric"]:
        metric = Metric(
            start=r["metric_start"],
            target=r["metric_target"],
            current=r["current_value"],
            unit=r["unit"],
            direction=Direction(r["direction"]),
            milestone=r["milestone"],
        )
    return KeyResult(
        key=r["key"], objective=r["objective"], title=r["title"], owner=r["owner"], metric=metric
    )


def _initiative(r: RowMapping) -> Initiative:
    return Initiative(
        key=r["key"],
        key_result=r["key_result"],
        title=r["title"],
        owner=r["owner"],
        status=InitiativeStatus(r["status"]),
    )


def _rhythm(r: RowMapping) -> Rhythm:
    return Rhythm(
        key=r["key"],
        team=r["team"],
        kind=RhythmKind(r["kind"]),
        local_time=r["local_time"],
        weekday=r["weekday"],
        day_of_month=r["day_of_month"],
        days_before_end=r["days_before_end"],
        reminder_after=r["reminder_after"],
        max_reminders=r["max_reminders"],
        deadline_after=r["deadline_after"],
        lead_time=r["lead_time"],
        digest_channels=tuple(r["digest_channels"]),
    )


def _holidays(
    calendars: Iterable[RowMapping], holidays: Iterable[RowMapping]
) -> dict[str, frozenset[Any]]:
    days: dict[str, set[Any]] = {c["name"]: set() for c in calendars}
    for h in holidays:
        days[h["calendar"]].add(h["day"])
    return {name: frozenset(d) for name, d in days.items()}
