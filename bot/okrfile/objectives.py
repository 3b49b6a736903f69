"""The `objectives:` section, with key results and initiatives nested in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.okrfile.context import Context, Located
from bot.okrfile.nodes import Fields
from bot.okrfile.tree import Node
from bot.okrfile.values import (
    parse_bool,
    parse_choice,
    parse_email,
    parse_key,
    parse_number,
    parse_text,
)
from rhythm.okr import Direction, Initiative, InitiativeStatus, KeyResult, Metric, Objective

OBJECTIVE_FIELDS = ("key", "title", "cycle", "team", "owner", "parent", "key_results")
KEY_RESULT_FIELDS = ("key", "title", "owner", "metric", "milestone", "done", "initiatives")
METRIC_FIELDS = ("start", "target", "current", "unit", "direction")
INITIATIVE_FIELDS = ("key", "title", "owner", "status")


@dataclass
class OkrTree:
    objectives: list[Objective] = field(default_factory=list)
    key_results: list[KeyResult] = field(default_factory=list)
    initiatives: list[Initiative] = field(default_factory=list)


def implied_direction(start: float, target: float) -> Direction:
    return Direction.DOWN if target < start else Direction.UP


def _direction(text: str) -> Direction:
    return parse_choice(text, Direction)


def _status(text: str) -> InitiativeStatus:
    return parse_choice(text, InitiativeStatus)


def _unit(text: str) -> str:
    return text.strip()


def _key(ctx: Context, fields: Fields, kind: str) -> str | None:
    key = fields.value("key", parse_key, required=True)
    if key is not None:
        ctx.registry.define(kind, key, fields.line("key"), fields.at("key"))
    return key


def _reference(ctx: Context, fields: Fields, name: str, kind: str) -> str | None:
    """The key (or email) in field `name`, queued to be checked once the whole file is read."""
    value = fields.value(name, parse_email if kind == "person" else parse_key)
    if value is not None:
        ctx.refer(kind, value, fields.line(name), fields.at(name))
    return value


def read_metric(ctx: Context, fields: Fields) -> Metric | None:
    start = fields.value("start", parse_number, required=True)
    target = fields.value("target", parse_number, required=True)
    current = fields.value("current", parse_number)
    unit = fields.value("unit", _unit) or ""
    direction = fields.value("direction", _direction)
    if start is None or target is None:
        return None
    implied = implied_direction(start, target)
    if direction is not None and start != target and direction is not implied:
        ctx.reader.report(
            fields.get("direction"),
            fields.at("direction"),
            f"direction {direction} contradicts start {start:g} and target {target:g} "
            f"(that is {implied}): fix the numbers or drop the direction",
        )
        return None
    return Metric(
        start=start,
        target=target,
        current=start if current is None else current,
        unit=unit,
        direction=direction or implied,
    )


def _metric(ctx: Context, fields: Fields) -> Metric | None:
    """The metric, the 0/1 metric of a milestone, or None."""
    metric = fields.mapping("metric", METRIC_FIELDS)
    milestone = fields.value("milestone", parse_bool)
    done = fields.value("done", parse_bool)
    if milestone and fields.has("metric"):
        ctx.reader.report(
            fields.get("milestone"),
            fields.at("milestone"),
            "a key result has either a metric or milestone: true, not both",
        )
        return None
    if done is not None and not milestone:
        ctx.reader.report(
            fields.get("done"), fields.at("done"), "only milestones (milestone: true) are done"
        )
    if metric is not None:
        return read_metric(ctx, metric)
    if milestone:
        return Metric(start=0.0, target=1.0, current=1.0 if done else 0.0, milestone=True)
    return None


def _initiative(ctx: Context, fields: Fields, key_result: str | None) -> Initiative | None:
    key = _key(ctx, fields, "initiative")
    title = fields.value("title", parse_text, required=True)
    owner = _reference(ctx, fields, "owner", "person")
    status = fields.value("status", _status) or InitiativeStatus.NOT_STARTED
    if key is None or title is None or key_result is None:
        return None
    return Initiative(key, key_result, title, owner, status)


def _key_result(
    ctx: Context, fields: Fields, objective: str | None, tree: OkrTree
) -> KeyResult | None:
    key = _key(ctx, fields, "key result")
    title = fields.value("title", parse_text, required=True)
    owner = _reference(ctx, fields, "owner", "person")
    metric = _metric(ctx, fields)
    for path, node in fields.items("initiatives"):
        found = ctx.reader.mapping(node, path, INITIATIVE_FIELDS)
        initiative = _initiative(ctx, found, key) if found else None
        if initiative is not None:
            tree.initiatives.append(initiative)
    if key is None or title is None or objective is None:
        return None
    return KeyResult(key, objective, title, owner, metric)


def _objective(
    ctx: Context, fields: Fields, default_cycle: str | None, tree: OkrTree
) -> Objective | None:
    key = _key(ctx, fields, "objective")
    title = fields.value("title", parse_text, required=True)
    cycle = _reference(ctx, fields, "cycle", "cycle")
    if cycle is None and not fields.has("cycle"):
        cycle = default_cycle
        if cycle is None:
            ctx.reader.report(
                fields.node, fields.at("cycle"), "required unless the file has exactly one cycle"
            )
    team = _reference(ctx, fields, "team", "team")
    owner = _reference(ctx, fields, "owner", "person")
    if not fields.has("team") and not fields.has("owner"):
        ctx.reader.report(
            fields.node, fields.at("team"), "an objective needs a team, an owner (email) or both"
        )
    parent = _reference(ctx, fields, "parent", "objective")
    if key is not None and parent is not None:
        ctx.parents.setdefault("objective", {})[key] = Located(
            parent, fields.line("parent"), fields.at("parent")
        )
    for path, node in fields.items("key_results"):
        found = ctx.reader.mapping(node, path, KEY_RESULT_FIELDS)
        kr = _key_result(ctx, found, key, tree) if found else None
        if kr is not None:
            tree.key_results.append(kr)
    if key is None or title is None or cycle is None:
        return None
    return Objective(key, title, cycle, team, owner, parent)


def read_objectives(
    ctx: Context, items: list[tuple[str, Node]], default_cycle: str | None
) -> OkrTree:
    tree = OkrTree()
    for path, node in items:
        ctx.progress.step()
        fields = ctx.reader.mapping(node, path, OBJECTIVE_FIELDS)
        objective = _objective(ctx, fields, default_cycle, tree) if fields else None
        if objective is not None:
            tree.objectives.append(objective)
    return tree
