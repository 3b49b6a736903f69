"""The `rhythms:` section: each team's cadences."""

from __future__ import annotations

from datetime import timedelta

from bot.okrfile.context import Context
from bot.okrfile.nodes import Fields, line_of
from bot.okrfile.tree import Node
from bot.okrfile.tree import Sequence as SequenceNode
from bot.okrfile.values import (
    parse_channel,
    parse_choice,
    parse_clock,
    parse_count,
    parse_duration,
    parse_key,
    parse_weekday,
)
from rhythm.cadences import Rhythm, RhythmKind

RHYTHM_FIELDS = (
    "key",
    "team",
    "kind",
    "time",
    "weekday",
    "day_of_month",
    "days_before_end",
    "reminder_after",
    "max_reminders",
    "deadline",
    "lead_time",
    "digest",
)
# Fields that only mean something for one kind: given for another, they are a mistake.
KIND_FIELDS = {
    "weekday": RhythmKind.WEEKLY,
    "day_of_month": RhythmKind.MONTHLY,
    "days_before_end": RhythmKind.END_OF_CYCLE,
}


def default_key(team: str, kind: RhythmKind) -> str:
    return f"{team}-{kind.value.replace('_', '-')}"


def _kind(text: str) -> RhythmKind:
    return parse_choice(text, RhythmKind)


def _day_of_month(text: str) -> int:
    return parse_count(text, lowest=1, highest=31)


def _days_before_end(text: str) -> int:
    return parse_count(text, lowest=0, highest=90)


def _max_reminders(text: str) -> int:
    return parse_count(text, lowest=0, highest=10)


def _positive_duration(text: str) -> timedelta:
    value = parse_duration(text)
    if not value:
        raise ValueError("must be longer than zero")
    return value


def _channels(ctx: Context, fields: Fields) -> tuple[str, ...]:
    """`digest: console:#eng` or a list of channels."""
    node = fields.get("digest")
    if node is None:
        return ()
    if not isinstance(node, SequenceNode):
        one = ctx.reader.value(node, fields.at("digest"), parse_channel)
        return (one,) if one else ()
    found = (ctx.reader.value(item, path, parse_channel) for path, item in fields.items("digest"))
    return tuple(channel for channel in found if channel)


def _rhythm(
    ctx: Context, fields: Fields, seen: dict[tuple[str, RhythmKind], Node]
) -> Rhythm | None:
    team = fields.value("team", parse_key, required=True)
    kind = fields.value("kind", _kind, required=True)
    local_time = fields.value("time", parse_clock, required=True)
    if team is not None:
        ctx.refer("team", team, fields.line("team"), fields.at("team"))
    for name, only in KIND_FIELDS.items():
        if kind is not None and kind is not only and fields.has(name):
            ctx.reader.report(fields.get(name), fields.at(name), f"only for {only} rhythms")
    weekday = fields.value("weekday", parse_weekday)
    day_of_month = fields.value("day_of_month", _day_of_month)
    days_before_end = fields.value("days_before_end", _days_before_end)
    reminder_after = fields.value("reminder_after", _positive_duration)
    max_reminders = fields.value("max_reminders", _max_reminders)
    deadline = fields.value("deadline", _positive_duration)
    lead_time = fields.value("lead_time", parse_duration)
    channels = _channels(ctx, fields)
    key = fields.value("key", parse_key)
    if team is None or kind is None or local_time is None:
        return None
    key = key or default_key(team, kind)
    ctx.registry.define("rhythm", key, fields.line("key"), fields.at("key"))
    first = seen.setdefault((team, kind), fields.node)
    if first is not fields.node:
        ctx.reader.report(
            fields.get("kind"),
            fields.at("kind"),
            f"team {team!r} already has a {kind} rhythm (line {line_of(first)}): "
            "a team has one rhythm of each kind",
        )
    defaults = Rhythm(key, team, kind, local_time)
    return Rhythm(
        key=key,
        team=team,
        kind=kind,
        local_time=local_time,
        weekday=defaults.weekday if weekday is None else weekday,
        day_of_month=day_of_month or defaults.day_of_month,
        days_before_end=defaults.days_before_end if days_before_end is None else days_before_end,
        reminder_after=reminder_after or defaults.reminder_after,
        max_reminders=defaults.max_reminders if max_reminders is None else max_reminders,
        deadline_after=deadline,
        lead_time=defaults.lead_time if lead_time is None else lead_time,
        digest_channels=channels,
    )


def read_rhythms(ctx: Context, items: list[tuple[str, Node]]) -> list[Rhythm]:
    rhythms = []
    seen: dict[tuple[str, RhythmKind], Node] = {}
    for path, node in items:
        ctx.progress.step()
        fields = ctx.reader.mapping(node, path, RHYTHM_FIELDS)
        rhythm = _rhythm(ctx, fields, seen) if fields else None
        if rhythm is not None:
            rhythms.append(rhythm)
    return rhythms
