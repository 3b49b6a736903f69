"""The `teams:` and `people:` sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from bot.okrfile.context import Context, Located
from bot.okrfile.nodes import Fields
from bot.okrfile.tree import Mapping as MappingNode
from bot.okrfile.tree import Node
from bot.okrfile.tree import Sequence as SequenceNode
from bot.okrfile.values import (
    parse_aad_id,
    parse_choice,
    parse_date,
    parse_email,
    parse_key,
    parse_quiet_hours,
    parse_slack_id,
    parse_text,
    parse_timezone,
    parse_weekday,
)
from rhythm.okr import MONDAY_TO_FRIDAY, DateRange, Membership, Person, Role, Team

TEAM_FIELDS = ("key", "name", "parent", "timezone")
PERSON_FIELDS = (
    "email",
    "name",
    "timezone",
    "working_days",
    "holidays",
    "time_off",
    "teams",
    "slack_id",
    "teams_id",
    "quiet_hours",
)
MEMBERSHIP_FIELDS = ("team", "role")
TIME_OFF_FIELDS = ("start", "end")
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True, slots=True)
class TeamDraft:
    """A team before its timezone is known: an unset one is inherited from the parent."""

    key: str
    name: str
    parent: str | None
    timezone: str | None


def read_teams(ctx: Context, items: list[tuple[str, Node]]) -> list[TeamDraft]:
    drafts = []
    parents = ctx.parents.setdefault("team", {})
    for path, node in items:
        ctx.progress.step()
        fields = ctx.reader.mapping(node, path, TEAM_FIELDS)
        if fields is None:
            continue
        key = fields.value("key", parse_key, required=True)
        name = fields.value("name", parse_text, required=True)
        parent = fields.value("parent", parse_key)
        timezone = fields.value("timezone", parse_timezone)
        if key is not None:
            ctx.registry.define("team", key, fields.line("key"), fields.at("key"))
        if parent is not None:
            ctx.refer("team", parent, fields.line("parent"), fields.at("parent"))
            if key is not None:
                parents[key] = Located(parent, fields.line("parent"), fields.at("parent"))
        if key is not None and name is not None:
            drafts.append(TeamDraft(key, name, parent, timezone))
    return drafts


def resolve_teams(drafts: list[TeamDraft]) -> tuple[Team, ...]:
    """Teams with their timezone: their own, else the nearest ancestor's, else UTC."""
    by_key = {d.key: d for d in drafts}
    inherited: dict[str, str] = {}  # found so far: a long chain of teams is walked up once

    def zone_of(draft: TeamDraft) -> str:
        if by_key[draft.key] is not draft:  # a second team of that key (an error): on its own
            return _zone_up(draft, by_key, {})
        return _zone_up(draft, by_key, inherited)

    return tuple(Team(d.key, d.name, d.parent, zone_of(d)) for d in drafts)


def _zone_up(draft: TeamDraft, by_key: Mapping[str, TeamDraft], inherited: dict[str, str]) -> str:
    """The timezone of the first team up from `draft` that has one, else UTC (also when the
    parents loop); remembered in `inherited` for each team on the way."""
    walked: set[str] = set()
    current: TeamDraft | None = draft
    zone = DEFAULT_TIMEZONE
    while current is not None and current.key not in walked:
        if current.timezone is not None:
            zone = current.timezone
            break
        if current.key in inherited:
            zone = inherited[current.key]
            break
        walked.add(current.key)
        current = by_key.get(current.parent) if current.parent else None
    inherited.update(dict.fromkeys(walked, zone))
    return zone


def inherited_timezone(memberships: tuple[Membership, ...], zones: Mapping[str, str]) -> str:
    """A person's timezone when the file leaves it out: that of their first team."""
    return zones.get(memberships[0].team, DEFAULT_TIMEZONE) if memberships else DEFAULT_TIMEZONE


def _working_days(ctx: Context, fields: Fields) -> frozenset[int]:
    days: list[int] = []
    items = fields.items("working_days")
    for path, node in items:
        day = ctx.reader.value(node, path, parse_weekday)
        if day is not None and day in days:
            ctx.reader.report(node, path, "listed twice")
        elif day is not None:
            days.append(day)
    listed = fields.get("working_days")
    if isinstance(listed, SequenceNode) and not listed.count:
        ctx.reader.report(listed, fields.at("working_days"), "name at least one day")
    return frozenset(days) if days else MONDAY_TO_FRIDAY


def _leave(ctx: Context, path: str, node: Node) -> DateRange | None:
    if not isinstance(node, MappingNode):
        day = ctx.reader.value(node, path, parse_date)
        return DateRange(day, day) if day else None
    fields = ctx.reader.mapping(node, path, TIME_OFF_FIELDS)
    if fields is None:
        return None
    start = fields.value("start", parse_date, required=True)
    end: date | None = fields.value("end", parse_date) or start
    if start is None or end is None:
        return None
    if end < start:
        ctx.reader.report(fields.get("end"), fields.at("end"), f"{end} is before start {start}")
        return None
    return DateRange(start, end)


def _membership(ctx: Context, path: str, node: Node) -> Membership | None:
    if isinstance(node, MappingNode):
        fields = ctx.reader.mapping(node, path, MEMBERSHIP_FIELDS)
        if fields is None:
            return None
        team = fields.value("team", parse_key, required=True)
        role = fields.value("role", lambda text: parse_choice(text, Role)) or Role.MEMBER
        team_line, team_path = fields.line("team"), fields.at("team")
    else:
        team = ctx.reader.value(node, path, parse_key)
        role, team_line, team_path = Role.MEMBER, node.line, path
    if team is None:
        return None
    ctx.refer("team", team, team_line, team_path)
    return Membership(team, role)


def _memberships(ctx: Context, fields: Fields) -> tuple[Membership, ...]:
    memberships: dict[str, Membership] = {}
    for path, node in fields.items("teams"):
        membership = _membership(ctx, path, node)
        if membership is None:
            continue
        if membership.team in memberships:
            ctx.reader.report(node, path, f"already a member of {membership.team!r}")
        else:
            memberships[membership.team] = membership
    return tuple(memberships.values())


def _chat_accounts(ctx: Context, fields: Fields) -> tuple[str | None, str | None]:
    """The Slack and Teams user ids; each may belong to one person only, or one person's
    prompts would go to another."""
    slack_id = fields.value("slack_id", parse_slack_id)
    teams_id = fields.value("teams_id", parse_aad_id)
    for kind, name, account in (
        ("Slack user", "slack_id", slack_id),
        ("Teams user", "teams_id", teams_id),
    ):
        if account is not None:
            ctx.registry.define(kind, account, fields.line(name), fields.at(name))
    return slack_id, teams_id


def _person(ctx: Context, fields: Fields, zones: Mapping[str, str]) -> Person | None:
    email = fields.value("email", parse_email, required=True)
    name = fields.value("name", parse_text, required=True)
    if email is not None:
        ctx.registry.define("person", email, fields.line("email"), fields.at("email"))
    calendar = fields.value("holidays", parse_key)
    if calendar is not None:
        ctx.refer("holiday calendar", calendar, fields.line("holidays"), fields.at("holidays"))
    memberships = _memberships(ctx, fields)
    timezone = fields.value("timezone", parse_timezone) or inherited_timezone(memberships, zones)
    working_days = _working_days(ctx, fields)
    time_off = [_leave(ctx, path, node) for path, node in fields.items("time_off")]
    quiet = fields.value("quiet_hours", parse_quiet_hours)
    slack_id, teams_id = _chat_accounts(ctx, fields)
    if email is None or name is None:
        return None
    person = Person(
        email=email,
        name=name,
        timezone=timezone,
        working_days=working_days,
        holiday_calendar=calendar,
        time_off=tuple(leave for leave in time_off if leave is not None),
        memberships=memberships,
        slack_user_id=slack_id,
        teams_user_id=teams_id,
    )
    if quiet is None:
        return person  # the model's default quiet hours
    return replace(person, quiet_start=quiet[0], quiet_end=quiet[1])


def read_people(
    ctx: Context, items: list[tuple[str, Node]], zones: Mapping[str, str]
) -> list[Person]:
    people = []
    for path, node in items:
        ctx.progress.step()
        fields = ctx.reader.mapping(node, path, PERSON_FIELDS)
        person = _person(ctx, fields, zones) if fields is not None else None
        if person is not None:
            people.append(person)
    return people
