"""The chat commands every adapter offers (`/okr mine` in Slack, `mine` in Teams or a console).

Text is parsed as a command name followed by arguments, never by substring: an unknown command
or a wrong number of arguments gets the usage text, not a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from rhythm.cadences import RhythmKind
from rhythm.digest import progress_bar, trend_arrow
from rhythm.messages import DigestMessage, Form, Message, Table, Text, Tree, TreeNode
from rhythm.okr import KeyResult, Objective, Organisation
from rhythm.prompting import fmt_value
from rhythm.service import Drumbeat


@dataclass(frozen=True, slots=True)
class Usage:
    name: str
    args: str
    summary: str
    max_args: int


USAGES: Mapping[str, Usage] = {
    u.name: u
    for u in (
        Usage("help", "", "what I can do", 1),
        Usage("mine", "", "your key results: progress, confidence, open check-ins", 0),
        Usage("status", "[team | person@email]", "where a team (or a person) stands", 1),
        Usage("tree", "[team]", "the OKR tree, from company objectives down to initiatives", 1),
        Usage("checkin", "[daily | weekly | monthly | refresh]", "check in now", 1),
        Usage("digest", "[team]", "a private preview of a team's digest for this period", 1),
    )
}

CHECKIN_KINDS = {
    "daily": RhythmKind.DAILY,
    "pulse": RhythmKind.DAILY,
    "weekly": RhythmKind.WEEKLY,
    "monthly": RhythmKind.MONTHLY,
    "refresh": RhythmKind.END_OF_CYCLE,
}


class CommandError(ValueError):
    """A command a person got wrong; the message tells them how to get it right."""


@dataclass(frozen=True, slots=True)
class Reply:
    message: Message | None = None
    form: Form | None = None  # adapters open it (modal, card, terminal prompts)


def help_text(prefix: str = "", problem: str = "") -> Text:
    lines = [problem, ""] if problem else []
    lines.append("Commands:")
    for u in USAGES.values():
        lines.append(f"  {prefix}{u.name} {u.args}".rstrip() + f"  — {u.summary}")
    return Text("\n".join(lines))


def parse(text: str) -> tuple[str, list[str]]:
    words = text.split()
    if not words:
        return "help", []
    return words[0].lower(), words[1:]


async def run_command(
    drumbeat: Drumbeat, org_key: str, who: str, text: str, *, prefix: str = ""
) -> Reply:
    """Run one command typed by `who`; `prefix` is how the adapter spells commands (`/okr `)."""
    name, args = parse(text)
    usage = USAGES.get(name)
    if usage is None:
        return Reply(help_text(prefix, f"I don't know “{name[:40]}”."))
    if len(args) > usage.max_args:
        return Reply(Text(f"Usage: {prefix}{usage.name} {usage.args}".rstrip()))
    handler = _HANDLERS[name]
    try:
        return await handler(drumbeat, org_key, who, " ".join(args))
    except (CommandError, LookupError) as error:
        return Reply(Text(str(error.args[0]) if error.args else str(error)))


async def _help(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    return Reply(help_text())


async def _mine(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    org, person = await drumbeat.person(org_key, who)
    last = await drumbeat.store.last_answers(org.key, person)
    rows = []
    for kr in org.key_results_of(person):
        answer = last.get(kr.key)
        rows.append(_kr_row(kr, answer.confidence if answer else None,
                            answer.status.label if answer and answer.status else ""))  # fmt: skip
    now = drumbeat.clock.now()
    open_prompts = await drumbeat.store.open_prompts(org.key, person, now=now)
    footer = (
        "Open check-ins: " + ", ".join(f"{p.kind.value} {p.period}" for p in open_prompts)
        if open_prompts
        else "No open check-ins. `checkin` to update anyway."
    )
    title = f"{org.person[person].name}'s key results"
    columns = ("Key result", "Progress", "Value", "Confidence", "Status")
    if not rows:
        return Reply(Text(f"You own no key results in {org.name}'s OKR tree."))
    return Reply(Table(title, columns, tuple(rows), footer))


def _kr_row(kr: KeyResult, confidence: int | None, status: str) -> tuple[str, ...]:
    metric = kr.metric
    value = (
        f"{fmt_value(metric.current, metric.unit)} / {fmt_value(metric.target, metric.unit)}"
        if metric
        else "no metric"
    )
    progress = f"{progress_bar(kr.progress())} {kr.progress():.0%}"
    conf = f"{confidence}/10" if confidence is not None else "–"
    return kr.title, progress, value, conf, status


async def _status(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    org, person = await drumbeat.person(org_key, who)
    if "@" in arg:
        return await _mine(drumbeat, org_key, arg.lstrip("@"), "")
    team = org.find_team(arg) if arg else org.team.get(org.team_of(person) or "")
    if team is None:
        raise CommandError(f"No team “{arg}”. Teams: {', '.join(t.key for t in org.teams)}")
    digest = await drumbeat.digest(org.key, team.key)
    rows = []
    for objective in digest.objectives:
        conf = f"{objective.confidence:.1f}" if objective.confidence is not None else "–"
        rows.append((
            objective.title,
            f"{progress_bar(objective.progress)} {objective.progress:.0%}",
            f"{conf} {trend_arrow(objective.confidence_trend)}",
            str(sum(1 for k in objective.key_results if k.checked_in)) + "/"
            + str(len(objective.key_results)),
        ))  # fmt: skip
    part = digest.participation
    footer = f"{part.answered}/{part.prompted} checked in for {digest.period}"
    if digest.warnings:
        footer += f" · {len(digest.warnings)} early warning(s): `digest {team.key}` for details"
    columns = ("Objective", "Progress", "Confidence", "Updated")
    return Reply(Table(f"{team.name} · {digest.cycle}", columns, tuple(rows), footer))


async def _tree(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    org = await drumbeat.organisation(org_key)
    cycle = org.current_cycle(drumbeat.clock.now().date()).key
    objectives = [o for o in org.objectives if o.cycle == cycle]
    if arg:
        team = org.find_team(arg)
        if team is None:
            raise CommandError(f"No team “{arg}”. Teams: {', '.join(t.key for t in org.teams)}")
        objectives = list(org.objectives_of_teams(org.subtree(team.key), cycle))
    keys = {o.key for o in objectives}
    roots = [o for o in objectives if o.parent not in keys]
    title = f"{org.name} · OKR tree {cycle}"
    return Reply(Tree(title, tuple(_objective_node(org, o, keys) for o in roots)))


def _objective_node(org: Organisation, objective: Objective, keys: set[str]) -> TreeNode:
    krs = org.key_results_in(objective.key)
    progress = sum(kr.progress() for kr in krs) / len(krs) if krs else 0.0
    team = org.team.get(objective.owner_team or "")
    person = org.person.get(objective.owner_person or "")
    owner = team.name if team else person.name if person else ""
    children = [_kr_node(org, kr) for kr in krs]
    children += [
        _objective_node(org, child, keys)
        for child in org.child_objectives(objective.key)
        if child.key in keys
    ]
    detail = f"{owner} · {progress_bar(progress)} {progress:.0%}"
    return TreeNode(f"🎯 {objective.title}", detail, tuple(children))


def _kr_node(org: Organisation, kr: KeyResult) -> TreeNode:
    person = org.person.get(kr.owner or "")
    owner = person.name if person else "no owner"
    metric = kr.metric
    value = (
        f"{fmt_value(metric.current, metric.unit)} → {fmt_value(metric.target, metric.unit)}"
        if metric
        else "no metric"
    )
    detail = f"{owner} · {value} · {kr.progress():.0%}"
    initiatives = tuple(
        TreeNode(f"🛠 {i.title}", i.status.value.replace("_", " "))
        for i in org.initiatives_of(kr.key)
    )
    return TreeNode(f"📈 {kr.title}", detail, initiatives)


async def _checkin(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    kind = CHECKIN_KINDS.get(arg.lower() or "weekly")
    if kind is None:
        raise CommandError("Usage: checkin [daily | weekly | monthly | refresh]")
    org, person = await drumbeat.person(org_key, who)
    now = drumbeat.clock.now()
    open_prompt = next(
        (p for p in await drumbeat.store.open_prompts(org.key, person, now=now) if p.kind is kind),
        None,
    )
    if kind is not RhythmKind.DAILY and not org.key_results_of(person):
        raise CommandError("You own no key results, so there is nothing to check in on.")
    form = await drumbeat.open_form(
        org.key, person, prompt_id=open_prompt.id if open_prompt else None, kind=kind
    )
    return Reply(form=form)


async def _digest(drumbeat: Drumbeat, org_key: str, who: str, arg: str) -> Reply:
    org, person = await drumbeat.person(org_key, who)
    team = arg or org.team_of(person) or ""
    return Reply(DigestMessage(await drumbeat.digest(org.key, team)))


Handler = Callable[[Drumbeat, str, str, str], Awaitable[Reply]]
_HANDLERS: Mapping[str, Handler] = {
    "help": _help,
    "mine": _mine,
    "status": _status,
    "tree": _tree,
    "checkin": _checkin,
    "digest": _digest,
}
