"""The chat commands every adapter offers (`/okr mine` in Slack, `mine` in Teams or a console).

Text is parsed as a command name followed by arguments, never by substring: an unknown command
or a wrong number of arguments gets the usage text, not a guess.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from zoneinfo import available_timezones

from rhythm.blocker_lines import blockers_report
from rhythm.cadences import RhythmKind
from rhythm.checkin import FormPage
from rhythm.digest_model import Digest, ObjectiveLine
from rhythm.errors import CommandError, DrumbeatError, UnknownTeam
from rhythm.forecast import Forecast
from rhythm.history import SHOWN, key_result_history, person_history
from rhythm.markup import literal
from rhythm.messages import Message, Table, Text, Tree, TreeNode
from rhythm.okr import InitiativeStatus, KeyResult, Objective, Organisation, Team
from rhythm.present import fmt_standing, progress_bar
from rhythm.records import KrState
from rhythm.sections import Line, Report, Section, Tone
from rhythm.service import Drumbeat
from rhythm.spelling import closest
from rhythm.wording import joined


@dataclass(frozen=True, slots=True)
class Usage:
    name: str
    args: str
    summary: str
    max_args: int


TEAM_WORDS = 6  # team names may have spaces: "Customer Support"

USAGES: Mapping[str, Usage] = {
    u.name: u
    for u in (
        Usage("help", "", "what I can do", 1),
        Usage("mine", "", "your key results: progress, confidence, open check-ins", 0),
        Usage("status", "[team | person@email]", "where a team (or a person) stands", TEAM_WORDS),
        Usage(
            "tree",
            "[team]",
            "the OKR tree, from company objectives down to initiatives",
            TEAM_WORDS,
        ),
        Usage("checkin", "[daily | weekly | monthly | refresh]", "check in now", 1),
        Usage(
            "digest", "[team]", "a private preview of a team's digest for this period", TEAM_WORDS
        ),
        Usage("chart", "KEY", "a key result's values and where they are heading", 1),
        Usage(
            "calibration",
            "[team]",
            "how well owners' confidence foretold scores (leads)",
            TEAM_WORDS,
        ),
        Usage(
            "subscribe",
            "[team]",
            "post a team's digests in this channel (leads, admins)",
            TEAM_WORDS,
        ),
        Usage("unsubscribe", "[team]", "stop posting a team's digests in this channel", TEAM_WORDS),
        Usage(
            "history",
            "KEY | @person",
            "a key result's (or a person's) last check-ins",
            TEAM_WORDS,
        ),
        Usage(
            "blockers",
            "[team]",
            "the open blockers a team raised, and those waiting on it",
            TEAM_WORDS,
        ),
        Usage("settings", "", "what Drumbeat sends you (leads: the missed check-ins list)", 0),
        Usage("snooze", "", "put off your open check-ins' reminders for 2 hours", 0),
        Usage("timezone", "[Area/City | reset]", "show or set the timezone you are prompted in", 1),
    )
}

CHECKIN_KINDS = {
    "daily": RhythmKind.DAILY,
    "pulse": RhythmKind.DAILY,
    "weekly": RhythmKind.WEEKLY,
    "monthly": RhythmKind.MONTHLY,
    "refresh": RhythmKind.END_OF_CYCLE,
}


@dataclass(frozen=True, slots=True)
class Reply:
    message: Message | None = None
    form: FormPage | None = None  # adapters open it (modal, card, terminal prompts)


@dataclass(frozen=True, slots=True)
class Request:
    drumbeat: Drumbeat
    org_key: str
    who: str
    arg: str
    channel: str | None = None
    prefix: str = ""


def _typed(prefix: str, usage: Usage) -> str:
    """How the command is typed: its name as code, its arguments as a pattern."""
    return f"`{prefix}{usage.name}`" + (f" {usage.args}" if usage.args else "")


def help_text(prefix: str = "", problem: str = "") -> Text:
    """Every command, one per line, as a chat message (`prefix`: `/okr ` in Slack)."""
    lines = [problem, ""] if problem else []
    lines.append("Commands:")
    lines += [f"{_typed(prefix, u)} — {u.summary}" for u in USAGES.values()]
    return Text("\n".join(lines))


def usage_text(prefix: str, usage: Usage) -> Text:
    return Text(f"Usage: {_typed(prefix, usage)}")


def unknown_command(prefix: str, name: str) -> Text:
    """What a command nobody knows gets: the one it was probably meant to be, else the help.
    Nothing is run on a guess."""
    problem = f"I don't know “{name[:40]}”."
    guess = closest(name, USAGES)
    if guess is None:
        return help_text(prefix, problem)
    return Text(
        f"{problem} Did you mean `{prefix}{guess}`?\n`{prefix}help` lists everything I can do."
    )


def parse(text: str) -> tuple[str, list[str]]:
    words = text.split()
    if not words:
        return "help", []
    return words[0].lower(), words[1:]


async def run_command(
    drumbeat: Drumbeat,
    org_key: str,
    who: str,
    text: str,
    *,
    prefix: str = "",
    channel: str | None = None,
) -> Reply:
    """Run one command typed by `who`; `prefix` is how the adapter spells commands (`/okr `),
    `channel` where it was typed ("platform:address"; None in a direct message)."""
    name, args = parse(text)
    usage = USAGES.get(name)
    if usage is None:
        return Reply(unknown_command(prefix, name))
    if len(args) > usage.max_args:
        return Reply(usage_text(prefix, usage))
    request = Request(drumbeat, org_key, who, " ".join(args), channel, prefix)
    try:
        return await _HANDLERS[name](request)
    except DrumbeatError as error:
        return Reply(Text(error.message))


async def _help(r: Request) -> Reply:
    return Reply(help_text(r.prefix))


async def _mine(r: Request) -> Reply:
    return Reply(await key_results_table(r.drumbeat, r.org_key, r.who))


async def key_results_table(drumbeat: Drumbeat, org_key: str, who: str) -> Table | Text:
    """A person's key results with progress, value, confidence and status."""
    org, person = await drumbeat.people.person(org_key, who)
    states = await drumbeat.store.kr_states(org.key, person)
    mine = org.key_results_of(person)
    forecasts = await drumbeat.reports.forecasts(org.key, [kr.key for kr in mine])
    rows = [
        (*_kr_row(kr, states.get(kr.key), org.locale), _projected(kr, forecasts.get(kr.key), org))
        for kr in mine
    ]
    open_prompts = await drumbeat.people.open_prompts(org.key, person)
    footer = (
        "Open check-ins: " + ", ".join(f"{p.kind.value} {p.period}" for p in open_prompts)
        if open_prompts
        else "No open check-ins. `checkin` to update anyway."
    )
    title = f"{org.person[person].name}'s key results"
    columns = ("Key result", "Progress", "Value", "Confidence", "Status", "Projected")
    if not rows:
        return Text(f"You own no key results in {org.name}'s OKR tree.")
    return Table(title, columns, tuple(rows), footer)


def _kr_row(kr: KeyResult, state: KrState | None, locale: str) -> tuple[str, ...]:
    metric = kr.metric
    now = state.value if state else None
    value = (
        fmt_standing(now, metric.start, metric.target, metric.unit, locale=locale)
        if metric
        else "no metric"
    )
    share = kr.progress(now)
    progress = f"{progress_bar(share)} {share:.0%}"
    conf = f"{state.confidence}/10" if state and state.confidence is not None else "–"
    status = state.status.label if state and state.status else ""
    return kr.title, progress, value, conf, status


def _projected(kr: KeyResult, forecast: Forecast | None, org: Organisation) -> str:
    if forecast is None or kr.metric is None:
        return "–"
    span = kr.metric.target - kr.metric.start
    return forecast.words(unit=kr.metric.unit, span=span, locale=org.locale, today=forecast.by)


async def _status(r: Request) -> Reply:
    drumbeat, org_key, who, arg = r.drumbeat, r.org_key, r.who, r.arg
    org, person = await drumbeat.people.person(org_key, who)
    if "@" in arg:
        return await _mine(Request(drumbeat, org_key, arg.lstrip("@"), ""))
    team = org.find_team(arg) if arg else org.team.get(org.team_of(person) or "")
    if team is None:
        raise UnknownTeam(arg, (t.key for t in org.teams))
    return Reply(status_table(team.name, await drumbeat.digests.digest(org.key, team.key)))


def status_table(team_name: str, digest: Digest) -> Table:
    """Where a team stands, read off its digest: the same objectives and the same counts."""
    rows = tuple(_objective_row(objective) for objective in digest.objectives)
    columns = ("Objective", "Progress", "Confidence", "Updated", "Projected")
    return Table(f"{team_name} · {digest.cycle}", columns, rows, _status_footer(digest))


def _objective_row(objective: ObjectiveLine) -> tuple[str, ...]:
    """An objective's progress, confidence and how many of its key results were updated this
    period (by the check-ins the footer counts)."""
    confidence = objective.confidence_text().removeprefix("confidence ")
    updated = sum(1 for k in objective.key_results if k.checked_in)
    return (
        objective.title,
        f"{progress_bar(objective.progress)} {objective.progress:.0%}",
        confidence if objective.confidence is not None else "–",
        f"{updated}/{len(objective.key_results)}",
        objective.forecast.words() if objective.forecast else "–",
    )


def _status_footer(digest: Digest) -> str:
    """Who checked in, from the digest's own participation (the counts it shows too), and
    where to read about what needs attention."""
    concerned = len(digest.attention) + digest.attention_more
    attention = ""
    if concerned:
        noun = "key result needs" if concerned == 1 else "key results need"
        attention = f"{concerned} {noun} attention: `digest {digest.team}` for details"
    return joined([f"{digest.participation.tally} for {digest.period}", attention])


async def _tree(r: Request) -> Reply:
    drumbeat, org_key, arg = r.drumbeat, r.org_key, r.arg
    org = await drumbeat.organisation(org_key)
    cycle = org.current_cycle(drumbeat.clock.now().date()).key
    objectives = [o for o in org.objectives if o.cycle == cycle]
    if arg:
        team = org.find_team(arg)
        if team is None:
            raise UnknownTeam(arg, (t.key for t in org.teams))
        objectives = list(org.objectives_of_teams(org.subtree(team.key), cycle))
    krs = [kr.key for o in objectives for kr in org.key_results_in(o.key)]
    now = _TreeValues(
        await drumbeat.store.current_values(org.key, krs),
        await drumbeat.store.initiative_statuses(org.key, krs),
    )
    keys = {o.key for o in objectives}
    roots = [o for o in objectives if o.parent not in keys]
    title = f"{org.name} · OKR tree {cycle}"
    return Reply(Tree(title, tuple(_objective_node(org, o, keys, now) for o in roots)))


@dataclass(frozen=True, slots=True)
class _TreeValues:
    """Where the tree's key results and initiatives stand now, as read for this command."""

    values: Mapping[str, float | None]
    statuses: Mapping[str, InitiativeStatus]


def _objective_node(
    org: Organisation, objective: Objective, keys: set[str], now: _TreeValues
) -> TreeNode:
    krs = org.key_results_in(objective.key)
    progress = sum(kr.progress(now.values.get(kr.key)) for kr in krs) / len(krs) if krs else 0.0
    team = org.team.get(objective.owner_team or "")
    person = org.person.get(objective.owner_person or "")
    owner = team.name if team else person.name if person else ""
    children = [_kr_node(org, kr, now) for kr in krs]
    children += [
        _objective_node(org, child, keys, now)
        for child in org.child_objectives(objective.key)
        if child.key in keys
    ]
    detail = f"{owner} · {progress_bar(progress)} {progress:.0%}"
    return TreeNode(f"🎯 {objective.title}", detail, tuple(children))


def _kr_node(org: Organisation, kr: KeyResult, now: _TreeValues) -> TreeNode:
    person = org.person.get(kr.owner or "")
    owner = person.name if person else "no owner"
    metric = kr.metric
    current = now.values.get(kr.key)
    value = (
        fmt_standing(current, metric.start, metric.target, metric.unit, locale=org.locale)
        if metric
        else "no metric"
    )
    detail = f"{owner} · {value} · {kr.progress(current):.0%}"
    initiatives = tuple(
        TreeNode(f"🛠 {i.title}", now.statuses.get(i.key, i.status).value.replace("_", " "))
        for i in org.initiatives_of(kr.key)
    )
    return TreeNode(f"📈 {kr.title}", detail, initiatives)


async def _checkin(r: Request) -> Reply:
    kind = CHECKIN_KINDS.get(r.arg.lower() or "weekly")
    if kind is None:
        usage = usage_text(r.prefix, USAGES["checkin"]).text
        guess = closest(r.arg, CHECKIN_KINDS)
        raise CommandError(f"Did you mean `{r.prefix}checkin {guess}`?" if guess else usage)
    return Reply(form=await r.drumbeat.checkins.open(r.org_key, r.who, kind=kind))


async def _digest(r: Request) -> Reply:
    drumbeat, org_key, who, arg = r.drumbeat, r.org_key, r.who, r.arg
    org, person = await drumbeat.people.person(org_key, who)
    team = arg or org.team_of(person) or ""
    return Reply(await drumbeat.reports.digest(await drumbeat.digests.digest(org.key, team)))


async def _calibration(r: Request) -> Reply:
    org, person = await r.drumbeat.people.person(r.org_key, r.who)
    team = r.arg or org.team_of(person) or ""
    found = await r.drumbeat.digests.owner_calibration(org.key, team, person)
    lines = [Line(literal(c.sentence), "🎯") for c in found] or [
        Line("No confidence given yet this cycle: nothing to compare.", tone=Tone.SUBTLE)
    ]
    shown = org.find_team(team)  # found: an unknown team was refused above
    title = f"Calibration · {literal(shown.name if shown else team)}"
    note = "Only this team's leads see these: each owner against their key results' scores."
    return Reply(Report(title, note, (Section("", tuple(lines), separated=False),), private=True))


async def _chart(r: Request) -> Reply:
    if not r.arg:
        raise CommandError(usage_text(r.prefix, USAGES["chart"]).text)
    return Reply(await r.drumbeat.reports.key_result_chart(r.org_key, r.arg))


async def _subscribe(r: Request) -> Reply:
    org, team = await _channel_team(r, "subscribe")
    done = await r.drumbeat.store.subscribe(org.key, team.key, r.channel or "", by=r.who)
    if not done:
        return Reply(Text(f"This channel already receives {team.name}'s digests."))
    return Reply(Text(f"✅ This channel now receives {team.name}'s digests."))


async def _unsubscribe(r: Request) -> Reply:
    org, team = await _channel_team(r, "unsubscribe")
    if not await r.drumbeat.store.unsubscribe(org.key, team.key, r.channel or ""):
        return Reply(Text(f"This channel was not subscribed to {team.name}'s digests."))
    return Reply(Text(f"This channel no longer receives {team.name}'s digests."))


async def _channel_team(r: Request, command: str) -> tuple[Organisation, Team]:
    if r.channel is None:
        raise CommandError(
            f"Type `{r.prefix}{command} [team]` in the channel that should get the digests."
        )
    org, person = await r.drumbeat.people.person(r.org_key, r.who)
    team = org.find_team(r.arg) if r.arg else org.team.get(org.team_of(person) or "")
    if team is None:
        raise UnknownTeam(r.arg, (t.key for t in org.teams))
    if not org.leads_or_admin(person, team.key):
        raise CommandError(
            f"Only {team.name}'s leads (or an admin) can change where its digests go."
        )
    return org, team


async def _history(r: Request) -> Reply:
    if not r.arg:
        raise CommandError(usage_text(r.prefix, USAGES["history"]).text)
    org, _ = await r.drumbeat.people.person(r.org_key, r.who)
    store = r.drumbeat.store
    kr = org.key_result.get(r.arg)
    if kr is not None:
        entries = await store.checkin_history(org.key, key_result=kr.key, limit=SHOWN)
        return Reply(key_result_history(org, kr, entries))
    person = _person_named(org, r.arg.removeprefix("@"))
    if person is None:
        keys = [kr.key for kr in org.key_results]
        guess = closest(r.arg, [*keys, *(p.email for p in org.people)])
        hint = f" Did you mean `{r.prefix}history {guess}`?" if guess else ""
        raise CommandError(
            f"No key result or person “{r.arg[:60]}”.{hint} `{r.prefix}mine` lists your keys."
        )
    entries = await store.checkin_history(org.key, person=person, limit=SHOWN)
    return Reply(person_history(org, person, entries))


def _person_named(org: Organisation, text: str) -> str | None:
    """A person by email, or by a name only one person has."""
    wanted = text.strip().casefold()
    if wanted in org.person:
        return wanted
    named = [p.email for p in org.people if p.name.casefold() == wanted]
    return named[0] if len(named) == 1 else None


async def _blockers(r: Request) -> Reply:
    org, person = await r.drumbeat.people.person(r.org_key, r.who)
    team = org.find_team(r.arg) if r.arg else org.team.get(org.team_of(person) or "")
    if team is None:
        if not r.arg:
            raise CommandError(f"You are in no team: `{r.prefix}blockers TEAM` names one.")
        raise UnknownTeam(r.arg, (t.key for t in org.teams))
    found = await r.drumbeat.blockers.of_team(org, team.key)
    return Reply(blockers_report(org, team.key, found, r.drumbeat.clock.now()))


async def _settings(r: Request) -> Reply:
    return Reply(form=await r.drumbeat.preferences.form(r.org_key, r.who))


async def _snooze(r: Request) -> Reply:
    return Reply(await r.drumbeat.checkins.snooze_open(r.org_key, r.who))


async def _timezone(r: Request) -> Reply:
    org, person = await r.drumbeat.people.person(r.org_key, r.who)
    if not r.arg:
        zone = org.person[person].timezone
        return Reply(Text(
            f"You are prompted in {zone}. Change it with `{r.prefix}timezone Area/City` "
            f"(e.g. Europe/Paris), or `{r.prefix}timezone reset` to use your profile's."
        ))  # fmt: skip
    if r.arg.lower() == "reset":
        await r.drumbeat.people.set_timezone(org.key, person, None)
        return Reply(Text("Your timezone follows your chat profile or team again."))
    zone = _zone_named(r.arg)
    await r.drumbeat.people.set_timezone(org.key, person, zone)
    return Reply(Text(f"✅ You will be prompted in {zone} from now on."))


def _zone_named(name: str) -> str:
    wanted = name.strip().lower()
    for zone in available_timezones():
        if zone.lower() == wanted:
            return zone
    raise CommandError(f"“{name[:60]}” is not a timezone I know. Use a name like Europe/Paris.")


Handler = Callable[[Request], Awaitable[Reply]]
_HANDLERS: Mapping[str, Handler] = {
    "help": _help,
    "mine": _mine,
    "status": _status,
    "tree": _tree,
    "checkin": _checkin,
    "digest": _digest,
    "chart": _chart,
    "calibration": _calibration,
    "subscribe": _subscribe,
    "unsubscribe": _unsubscribe,
    "history": _history,
    "blockers": _blockers,
    "settings": _settings,
    "snooze": _snooze,
    "timezone": _timezone,
}
