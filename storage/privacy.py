"""Everything stored about one person: exported as plain data, or erased in one transaction.

To the database a person is their email (as the OKR file has it, lower case) and the ids
Slack and Teams know them by (from the OKR file or learnt since: person, chat_profile). Rows
*about* them are found by the columns that name them (`_about`). Any other row that only
*mentions* one of those identifiers in a text or JSON column (a colleague's note quoting
their email, a delivery error quoting their Slack id) is found by reading every text column
of every table in the database, other libraries' tables (slack_sdk's installations) and
tables added after this module included: what `person_data` lists under "mentions" and what
`erase_person` replaces with "[erased]" last, so that afterwards no row names them.

Names are not identifiers (two people may share one, and a name can be an ordinary word), so
free text is not searched for them, with one exception: the direct messages waiting in, or
recorded by, the outbox for other people ("Ben Martin resolved their blocker") have the
person's full name replaced, and their Nudge buttons for the person's prompts removed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    CursorResult,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    delete,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Delete, Update

from rhythm.nudges import NUDGE
from rhythm.records import ON_LEAVE
from storage.db import Repository
from storage.tables import (
    blocker_event_t,
    blocker_t,
    chat_profile_t,
    checkin_t,
    conversation_t,
    form_draft_t,
    initiative_t,
    initiative_update_t,
    key_result_t,
    kr_update_t,
    membership_t,
    nudge_t,
    objective_t,
    organisation_t,
    outbox_t,
    person_setting_t,
    person_t,
    prompt_t,
    subscription_t,
    time_off_t,
    workspace_t,
)

ERASED = "[erased]"  # what replaces a mention of an erased person
SLACK_INSTALLATIONS = "slack_installations"  # slack_sdk's table (migration 0003)
# Its columns that say who installed the app where; the others hold tokens.
INSTALLATION_COLUMNS = ("id", "enterprise_id", "team_id", "team_name", "user_id", "user_scopes",
                        "installed_at")  # fmt: skip
INSTALLER_SECRETS = ("user_token", "user_refresh_token", "user_token_expires_at", "user_scopes")

pe, ms, to = person_t.c, membership_t.c, time_off_t.c
cp, ps, fd, cv = chat_profile_t.c, person_setting_t.c, form_draft_t.c, conversation_t.c
pr, ck, ku, iu = prompt_t.c, checkin_t.c, kr_update_t.c, initiative_update_t.c
bl, ev, ob, nu, sb = blocker_t.c, blocker_event_t.c, outbox_t.c, nudge_t.c, subscription_t.c
kr, oj, it, og = key_result_t.c, objective_t.c, initiative_t.c, organisation_t.c


@dataclass(frozen=True, slots=True)
class Who:
    """One person as the database knows them."""

    org: str
    email: str
    name: str | None  # None: no longer in the OKR tree
    slack_ids: tuple[str, ...]
    teams_ids: tuple[str, ...]

    @property
    def identifiers(self) -> tuple[str, ...]:
        return (self.email, *self.slack_ids, *self.teams_ids)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Any identifier, in any case, standing on its own: erasing ana@acme.test leaves
        diana@acme.test alone, and a Slack id inside a longer id is another id."""
        ids = "|".join(re.escape(x) for x in sorted(self.identifiers, key=len, reverse=True))
        return re.compile(rf"(?<![\w.%+-])(?:{ids})(?![\w-]|\.\w)", re.IGNORECASE)


class SqlPrivacyRepository(Repository):
    """Implements `rhythm.ports.PrivacyRepository`."""

    async def person_data(self, org: str, email: str) -> dict[str, Any]:
        """One consistent read: the rows about the person by table (every table that can
        hold some, empty ones too), and where else they are mentioned (table, key, columns).
        Values are JSON's: instants as ISO 8601 in UTC, dates and times as ISO 8601."""
        async with self._db.snapshot() as conn:
            who = await _who(conn, org, email)
            tables: dict[str, list[dict[str, Any]]] = {}
            listed: set[tuple[str, tuple[Any, ...]]] = set()
            for name, table, query in _about(who):
                rows = [dict(r) for r in (await conn.execute(query)).mappings()]
                tables[name] = [_plain_row(r) for r in rows]
                keys = [col.name for col in table.primary_key.columns]
                listed.update((table.name, tuple(r[k] for k in keys)) for r in rows)
            everything = await conn.run_sync(_reflect)
            installations = _installations(everything, who)
            if installations is not None:
                rows = [dict(r) for r in (await conn.execute(installations)).mappings()]
                tables[SLACK_INSTALLATIONS] = [_plain_row(r) for r in rows]
                listed.update((SLACK_INSTALLATIONS, (r["id"],)) for r in rows)
            admins = (await conn.execute(select(og.admins).where(og.key == org))).scalar()
            admin = any(a.strip().lower() == who.email for a in admins or [])
            if admin:  # said as "admin" below
                listed.add((organisation_t.name, (org,)))
            mentions = [
                {"table": m.table.name, "key": _plain_row(m.key), "columns": sorted(m.values)}
                for m in await _mentions(conn, who, everything)
                if (m.table.name, tuple(m.key.values())) not in listed
            ]
        return {
            "organisation": org,
            "email": who.email,
            "admin": admin,
            "tables": tables,
            "mentions": mentions,
        }

    async def erase_person(
        self, org: str, email: str, *, keep_aggregates: bool = False
    ) -> dict[str, int]:
        """One write transaction (on PostgreSQL with the organisation row locked, so no
        check-in or import interleaves). Returns the rows changed, as "table deleted",
        "table anonymised" or "table mentions erased", leaving out those with none."""
        pseudonym = f"erased-{secrets.token_hex(6)}"
        counts: dict[str, int] = {}

        def counted(label: str, rows: int) -> None:
            if rows > 0:
                counts[label] = counts.get(label, 0) + rows

        async with self._db.write() as conn:
            if self._db.is_postgresql:
                await conn.execute(select(og.key).where(og.key == org).with_for_update())
            who = await _who(conn, org, email)
            mine = await conn.execute(select(pr.id).where(pr.org == org, pr.person == who.email))
            prompts = {str(prompt_id) for prompt_id in mine.scalars()}
            if await _drop_admin(conn, who):
                counted("organisation anonymised", 1)
            for label, statement in _erasing(who, pseudonym, keep_aggregates=keep_aggregates):
                result: CursorResult[Any] = await conn.execute(statement)
                counted(label, result.rowcount)
            if who.name:
                counted("outbox mentions erased", await _scrub_notices(conn, who, prompts))
            tables = await conn.run_sync(_reflect)
            installations = tables.get(SLACK_INSTALLATIONS)
            if installations is not None and who.slack_ids:
                installer = (
                    update(installations)
                    .where(*_installed_by(installations, who))
                    .values(user_id=pseudonym, **dict.fromkeys(INSTALLER_SECRETS))
                )
                counted(
                    f"{SLACK_INSTALLATIONS} anonymised", (await conn.execute(installer)).rowcount
                )
            # Last, whatever else still mentions them.
            for mention in await _mentions(conn, who, tables):
                table = mention.table
                await conn.execute(
                    update(table)
                    .where(*(table.c[k] == v for k, v in mention.key.items()))
                    .values({k: _scrub(who.pattern, v) for k, v in mention.values.items()})
                )
                counted(f"{table.name} mentions erased", 1)
        return counts


def _erasing(
    who: Who, pseudonym: str, *, keep_aggregates: bool
) -> list[tuple[str, Delete | Update]]:
    """The statements that erase the rows about the person, children before parents, each
    with what it counts as."""
    org, e = who.org, who.email

    def deleting(table: Table, column: ColumnElement[Any]) -> tuple[str, Delete]:
        return f"{table.name} deleted", delete(table).where(table.c.org == org, column == e)

    def renaming(table: Table, column: ColumnElement[Any], to: str | None) -> tuple[str, Update]:
        statement = update(table).where(table.c.org == org, column == e)
        return f"{table.name} anonymised", statement.values({column.key: to})

    theirs = and_(bl.org == org, bl.raised_by == e)
    steps: list[tuple[str, Delete | Update]] = [
        # What chat taught us about them, what they chose, what waits for them.
        deleting(chat_profile_t, cp.person),
        deleting(person_setting_t, ps.person),
        deleting(form_draft_t, fd.person),
        deleting(nudge_t, nu.person),
        deleting(outbox_t, ob.person),
        ("conversation deleted", delete(conversation_t).where(_conversations(who))),
        # The tree: their row goes; what they owned stays, with no owner.
        deleting(membership_t, ms.person),
        deleting(time_off_t, to.person),
        deleting(person_t, pe.email),
        renaming(key_result_t, kr.owner, None),
        renaming(objective_t, oj.owner_person, None),
        renaming(initiative_t, it.owner, None),
        # What they did about other people's blockers stays, anonymous.
        renaming(blocker_t, bl.acknowledged_by, pseudonym),
        renaming(blocker_t, bl.resolved_by, pseudonym),
        renaming(blocker_event_t, ev.by, pseudonym),
        renaming(subscription_t, sb.created_by, pseudonym),
    ]
    if keep_aggregates:
        return steps + _anonymising(who, pseudonym)
    # Their blockers, then their check-ins, then the prompts those answered.
    raised = select(bl.id).where(theirs)
    return [
        *steps,
        ("blocker_event deleted",
         delete(blocker_event_t).where(ev.org == org, ev.blocker_id.in_(raised))),
        ("blocker deleted", delete(blocker_t).where(theirs)),
        deleting(kr_update_t, ku.person),
        deleting(initiative_update_t, iu.person),
        deleting(checkin_t, ck.person),
        deleting(prompt_t, pr.person),
    ]  # fmt: skip


def _anonymising(who: Who, pseudonym: str) -> list[tuple[str, Delete | Update]]:
    """The person's check-ins stay, under the pseudonym, with their values, confidences,
    statuses and scores (what digests, forecasts and calibration count) and without their
    words; so do their blockers, without their text, and their prompts, the participation
    they were, but for those never sent."""
    org, e = who.org, who.email
    # The idempotency key is a hash of the person and their answers: replaced, unique still.
    idempotency_key = literal(f"{pseudonym}:").concat(cast(ck.id, String))
    answered = select(ck.id).where(ck.org == org, ck.prompt_id == pr.id).exists()
    # A delivery error may quote the person's ids; "I'm off" says nothing about them.
    failure = case(
        (pr.failure == ON_LEAVE, pr.failure),
        (pr.failure.is_(None), None),
        else_=literal("erased"),
    )
    return [
        ("blocker anonymised", update(blocker_t)
         .where(bl.org == org, bl.raised_by == e).values(raised_by=pseudonym, text="")),
        ("kr_update anonymised", update(kr_update_t)
         .where(ku.org == org, ku.person == e)
         .values(person=pseudonym, moved="", blockers="", next_step="")),
        ("initiative_update anonymised", update(initiative_update_t)
         .where(iu.org == org, iu.person == e).values(person=pseudonym)),
        ("checkin anonymised", update(checkin_t)
         .where(ck.org == org, ck.person == e)
         .values(person=pseudonym, notes=None, idempotency_key=idempotency_key)),
        ("prompt deleted", delete(prompt_t).where(
            pr.org == org, pr.person == e, pr.sent_at.is_(None), pr.answered_at.is_(None),
            ~answered)),
        ("prompt anonymised", update(prompt_t)
         .where(pr.org == org, pr.person == e)
         .values(person=pseudonym, message_ref=None, failure=failure)),
    ]  # fmt: skip


async def _drop_admin(conn: AsyncConnection, who: Who) -> bool:
    """Take the person off the organisation's admins, and bump its tree revision so that
    every process reads the tree again on its next use (see rhythm.orgcache). True when
    they were an admin."""
    admins = (await conn.execute(select(og.admins).where(og.key == who.org))).scalar() or []
    kept = [a for a in admins if a.strip().lower() != who.email]
    await conn.execute(
        update(organisation_t)
        .where(og.key == who.org)
        .values(admins=kept, tree_revision=og.tree_revision + 1)
    )
    return kept != admins


# ---- who they are, and where -------------------------------------------------------------


async def _who(conn: AsyncConnection, org: str, email: str) -> Who:
    email = email.strip().lower()
    person = (await conn.execute(
        select(pe.name, pe.slack_user_id, pe.teams_user_id).where(pe.org == org, pe.email == email)
    )).first()  # fmt: skip
    profile = (await conn.execute(
        select(cp.slack_user_id, cp.teams_user_id).where(cp.org == org, cp.person == email)
    )).first()  # fmt: skip
    found = [row for row in (person and person[1:], profile) if row]
    return Who(
        org=org,
        email=email,
        name=person.name if person else None,
        slack_ids=_distinct(row[0] for row in found),
        teams_ids=_distinct(row[1] for row in found),
    )


def _distinct(ids: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(sorted({x for x in ids if x}, key=str.lower))


def _conversations(who: Who) -> ColumnElement[bool]:
    """Their Teams conversation references: saved under their email, or under their AAD
    object id (the address bot.teams keeps a person's reference at, lower case)."""
    mine = and_(cv.person == who.email, or_(cv.org == who.org, cv.org.is_(None)))
    if not who.teams_ids:
        return mine
    addresses = sorted({x.lower() for x in who.teams_ids})
    return or_(mine, and_(cv.platform == "teams", cv.address.in_(addresses),
                          or_(cv.org == who.org, cv.org.is_(None))))  # fmt: skip


def _about(who: Who) -> list[tuple[str, Table, Select[Any]]]:
    """Per table, the rows about the person."""
    org, e = who.org, who.email
    raised = select(bl.id).where(bl.org == org, bl.raised_by == e)
    wheres: list[tuple[Table, ColumnElement[bool]]] = [
        (person_t, and_(pe.org == org, pe.email == e)),
        (membership_t, and_(ms.org == org, ms.person == e)),
        (time_off_t, and_(to.org == org, to.person == e)),
        (chat_profile_t, and_(cp.org == org, cp.person == e)),  # ids, timezones, unreachable
        (person_setting_t, and_(ps.org == org, ps.person == e)),
        (form_draft_t, and_(fd.org == org, fd.person == e)),
        (conversation_t, _conversations(who)),
        (prompt_t, and_(pr.org == org, pr.person == e)),
        (checkin_t, and_(ck.org == org, ck.person == e)),
        (kr_update_t, and_(ku.org == org, ku.person == e)),
        (initiative_update_t, and_(iu.org == org, iu.person == e)),
        (
            blocker_t,
            and_(
                bl.org == org, or_(bl.raised_by == e, bl.acknowledged_by == e, bl.resolved_by == e)
            ),
        ),
        (blocker_event_t, and_(ev.org == org, or_(ev.by == e, ev.blocker_id.in_(raised)))),
        (outbox_t, and_(ob.org == org, ob.person == e)),  # direct messages to them
        (nudge_t, and_(nu.org == org, nu.person == e)),
        (subscription_t, and_(sb.org == org, sb.created_by == e)),
        (key_result_t, and_(kr.org == org, kr.owner == e)),
        (objective_t, and_(oj.org == org, oj.owner_person == e)),
        (initiative_t, and_(it.org == org, it.owner == e)),
    ]
    return [(table.name, table, select(table).where(where).order_by(*_order(table)))
            for table, where in wheres]  # fmt: skip


def _order(table: Table) -> list[ColumnElement[Any]]:
    """The tree's rows in the OKR file's order, the others as they were written."""
    return [table.c.position] if "position" in table.c else list(table.primary_key.columns)


def _installations(tables: Mapping[str, Table], who: Who) -> Select[Any] | None:
    """The Slack installations the person made in the organisation's workspaces, without
    their tokens; None when the database has no such table or the person no Slack id."""
    table = tables.get(SLACK_INSTALLATIONS)
    if table is None or not who.slack_ids:
        return None
    columns = [table.c[name] for name in INSTALLATION_COLUMNS if name in table.c]
    return select(*columns).where(*_installed_by(table, who)).order_by(table.c.id)


def _installed_by(table: Table, who: Who) -> list[ColumnElement[bool]]:
    ws = workspace_t.c
    workspaces = select(ws.workspace).where(ws.org == who.org, ws.platform == "slack")
    return [table.c.user_id.in_(who.slack_ids), table.c.team_id.in_(workspaces)]


# ---- mentions anywhere -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mention:
    table: Table
    key: Mapping[str, Any]  # the row's primary key
    values: Mapping[str, Any]  # the columns that mention the person, as they are


def _reflect(sync: Connection) -> dict[str, Table]:
    """Every table in the database as it is, whoever made it."""
    found = MetaData()
    found.reflect(bind=sync)
    return dict(found.tables)


async def _mentions(conn: AsyncConnection, who: Who, tables: Mapping[str, Table]) -> list[Mention]:
    """Rows of the organisation (and rows of no organisation) whose text or JSON columns
    mention one of the person's identifiers: each table is read once, filtered by LIKE in
    the database and checked exactly here. Another organisation's rows are its own: the
    same person there is erased from there."""
    pattern = who.pattern
    found: list[Mention] = []
    for table in tables.values():
        keys = list(table.primary_key.columns)
        textual = [col for col in table.columns if isinstance(col.type, String | JSON)]
        if not keys or not textual:
            continue
        scope: list[ColumnElement[bool]] = []
        if table.name == organisation_t.name:
            scope.append(table.c.key == who.org)
        elif "org" in table.c:
            scope.append(or_(table.c.org == who.org, table.c.org.is_(None)))
        likes = [
            (cast(col, Text) if isinstance(col.type, JSON) else col).ilike(
                f"%{_like_escaped(x)}%", escape="\\"
            )
            for col in textual
            for x in who.identifiers
        ]
        columns = [*keys, *(col for col in textual if col not in keys)]
        query = select(*columns).where(*scope, or_(*likes))
        for row in (await conn.execute(query)).mappings():
            hits = {
                col.name: row[col.name] for col in textual if _mentioned(pattern, row[col.name])
            }
            if hits:
                found.append(Mention(table, {k.name: row[k.name] for k in keys}, hits))
    return found


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _mentioned(pattern: re.Pattern[str], value: Any) -> bool:
    if isinstance(value, str):
        return pattern.search(value) is not None
    if isinstance(value, Mapping):
        return any(_mentioned(pattern, k) or _mentioned(pattern, v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_mentioned(pattern, v) for v in value)
    return False


def _scrub(pattern: re.Pattern[str], value: Any) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, Mapping):
        return {_scrub(pattern, k): _scrub(pattern, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(pattern, v) for v in value]
    return value


async def _scrub_notices(conn: AsyncConnection, who: Who, prompts: set[str]) -> int:
    """Other people's direct messages that name the person (blocker news, leads' lists of
    who missed a check-in): the full name replaced, the Nudge buttons for them removed.
    Returns how many were changed."""
    assert who.name
    name = re.compile(rf"(?<!\w){re.escape(who.name)}(?!\w)")
    # JSON may keep a name with accents as \u escapes.
    likes = [
        cast(ob.notice, Text).like(f"%{_like_escaped(spelling)}%", escape="\\")
        for spelling in {who.name, _json_escaped(who.name)}
    ]
    query = select(ob.id, ob.notice).where(ob.org == who.org, ob.person != who.email, or_(*likes))
    changed = 0
    for message_id, notice in (await conn.execute(query)).all():
        scrubbed = _scrub_notice(name, prompts, notice)
        if scrubbed != notice:
            await conn.execute(update(outbox_t).where(ob.id == message_id).values(notice=scrubbed))
            changed += 1
    return changed


def _scrub_notice(name: re.Pattern[str], prompts: set[str], notice: Any) -> Any:
    """A notice as `storage.outbox` encodes it, without the name or Nudges of the person."""

    def words(text: Any) -> Any:
        return name.sub(ERASED, text) if isinstance(text, str) else text

    changed = dict(notice)
    for key in ("title", "footer"):
        if key in changed:
            changed[key] = words(changed[key])
    if "lines" in changed:
        changed["lines"] = [words(line) for line in changed["lines"]]
    if "actions" in changed:
        changed["actions"] = [
            {**action, "label": words(action.get("label"))}
            for action in changed["actions"]
            if not (action.get("id") == NUDGE and action.get("value") in prompts)
        ]
    return changed


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


# ---- plain values ------------------------------------------------------------------------


def _plain_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    """A database value as JSON has it."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return None  # no table about a person holds binary data; charts are not theirs
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value
