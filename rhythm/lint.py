"""Alignment lint: what makes an OKR tree hard to follow, or impossible to check in on.

`lint` never raises and never changes anything; it returns findings for people to fix. Errors are
broken references that the bot cannot work with (an owner nobody can prompt, a team loop);
warnings are OKR practice (orphan objectives, activity-worded key results, missing metrics).

Activity wording is detected on words, never on substrings: a title is split into tokens and a
verb only counts as a whole word, so "relaunch" is its own verb, "launchpad" is no verb at all,
and "completion rate" is a measure, not the activity "complete".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from rhythm.okr import Direction, KeyResult, Objective, Organisation


class Severity(StrEnum):
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    subject: str  # the key (or email) of the team, person, objective... the finding is about
    code: str  # stable, kebab-case: safe to filter on
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.subject}: {self.message} [{self.code}]"


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Every inflection is spelled out: a tiny stemmer would turn "completion" into "complete".
_ACTIVITY_VERBS = """
    launch launches launched launching
    relaunch relaunches relaunched relaunching
    complete completes completed completing
    ship ships shipped shipping
    hold holds held holding
    deliver delivers delivered delivering
    implement implements implemented implementing
    build builds built building
    rebuild rebuilds rebuilt rebuilding
    create creates created creating
    write writes wrote written writing
    rewrite rewrites rewrote rewritten rewriting
    run runs ran running
    organise organises organised organising organize organizes organized organizing
    conduct conducts conducted conducting
    attend attends attended attending
    finish finishes finished finishing
    finalise finalises finalised finalising finalize finalizes finalized finalizing
    migrate migrates migrated migrating
    release releases released releasing
    deploy deploys deployed deploying
    develop develops developed developing
    design designs designed designing
    redesign redesigns redesigned redesigning
    refactor refactors refactored refactoring
    publish publishes published publishing
    host hosts hosted hosting
    introduce introduces introduced introducing
    integrate integrates integrated integrating
    upgrade upgrades upgraded upgrading
    prepare prepares prepared preparing
    execute executes executed executing
    perform performs performed performing
    draft drafts drafted drafting
    roll rolls rolled rolling
    set sets setting
    kick kicks kicked kicking
    carry carries carried carrying
"""
_VERB_FORMS = _word_set(_ACTIVITY_VERBS)

# These only name an activity with their particle: "roll out", "set up", "kick off".
_PARTICLES: Mapping[str, frozenset[str]] = {
    **dict.fromkeys(("roll", "rolls", "rolled", "rolling"), frozenset({"out"})),
    **dict.fromkeys(("set", "sets", "setting"), frozenset({"up"})),
    **dict.fromkeys(("kick", "kicks", "kicked", "kicking"), frozenset({"off"})),
    **dict.fromkeys(("carry", "carries", "carried", "carrying"), frozenset({"out"})),
}

# Past forms make a title "built around" the activity wherever they stand ("Offline mode
# shipped"). "run" and "set" are left out: as participles they read as nouns.
_PARTICIPLES = frozenset(w for w in _VERB_FORMS if w.endswith("ed")) | {
    "built",
    "rebuilt",
    "held",
    "written",
    "rewritten",
}

# Nouns naming work to do: an activity at the head of a clause or before "of" ("Launch of X").
_ACTIVITY_NOUNS = _word_set(
    """launch completion delivery implementation migration rollout release creation
    deployment introduction redesign rewrite execution"""
)

# A verb or activity noun followed by one of these is the name of a measure: "build time",
# "release frequency", "completion rate", "run rate".
_MEASURES = _word_set(
    """rate rates time times ratio frequency success speed duration velocity count volume
    cadence cost costs quality latency coverage failures errors conversion adoption revenue
    share score size lead"""
)

# Words that may come before the verb without changing what the title is about.
_LEADING = _word_set(
    "successfully fully finally first we will to must should shall also then and i"
)

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_CLAUSE_BREAK = re.compile(r"[:;|—–]|\s-\s")


def _words(text: str) -> list[str]:
    return [re.sub(r"['’-]", "", w) for w in _WORD.findall(text.lower())]


def _names_measure(words: list[str], at: int) -> bool:
    return at + 1 < len(words) and words[at + 1] in _MEASURES


def _head_activity(words: list[str]) -> str | None:
    at = 0
    while at < len(words) and words[at] in _LEADING:
        at += 1
    if at == len(words) or _names_measure(words, at):
        return None
    head = words[at]
    if head in _PARTICLES:
        follows = words[at + 1] if at + 1 < len(words) else ""
        return f"{head} {follows}" if follows in _PARTICLES[head] else None
    if head in _VERB_FORMS or head in _ACTIVITY_NOUNS:
        return head
    return None


def _activity_inside(words: list[str]) -> str | None:
    for at, word in enumerate(words):
        following = words[at + 1] if at + 1 < len(words) else ""
        if word in _ACTIVITY_NOUNS and following == "of":
            return word
        if word in _PARTICIPLES and not _names_measure(words, at):
            if word in _PARTICLES:
                if following in _PARTICLES[word]:
                    return f"{word} {following}"
                continue
            return word
    return None


def activity_wording(title: str) -> str | None:
    """The activity word(s) a key-result title is built around ("launch", "roll out"), if any."""
    for clause in _CLAUSE_BREAK.split(title):
        found = _head_activity(_words(clause))
        if found:
            return found
    return _activity_inside(_words(title))


def _why_not_measurable(kr: KeyResult) -> str | None:
    if kr.metric is None:
        return "it has no metric"
    if kr.metric.milestone:
        return "it is a done/not-done milestone"
    if not any(ch.isdigit() for word in _words(kr.title) for ch in word):
        return "its title has no number to reach"
    return None


def parent_loops(parent_of: Mapping[str, str | None]) -> Iterator[list[str]]:
    """Each loop in a child -> parent relation once, as its members in walking order."""
    reported: set[frozenset[str]] = set()
    for start in parent_of:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current in parent_of and current not in on_path:
            path.append(current)
            on_path.add(current)
            current = parent_of[current]
        if current is None or current not in on_path:
            continue
        loop = path[path.index(current) :]
        if frozenset(loop) not in reported:
            reported.add(frozenset(loop))
            yield loop


def _error(subject: str, code: str, message: str) -> Finding:
    return Finding(Severity.ERROR, subject, code, message)


def _warning(subject: str, code: str, message: str) -> Finding:
    return Finding(Severity.WARNING, subject, code, message)


def _duplicates(org: Organisation) -> Iterator[Finding]:
    groups: dict[str, Iterable[str]] = {
        "team": (t.key for t in org.teams),
        "person": (p.email for p in org.people),
        "cycle": (c.key for c in org.cycles),
        "objective": (o.key for o in org.objectives),
        "key result": (k.key for k in org.key_results),
        "initiative": (i.key for i in org.initiatives),
        "rhythm": (r.key for r in org.rhythms),
    }
    for what, keys in groups.items():
        for key, count in Counter(keys).items():
            if count > 1:
                yield _error(key, "duplicate-key", f"{count} of the {what}s share the key {key!r}")


def _teams(org: Organisation) -> Iterator[Finding]:
    for team in org.teams:
        if team.parent is not None and team.parent not in org.team:
            yield _error(
                team.key, "unknown-parent-team", f"parent team {team.parent!r} does not exist"
            )
        if not org.leads(team.key):
            yield _warning(
                team.key, "team-without-lead", f"{team.name} has no lead to check in first"
            )
    for loop in parent_loops({t.key: t.parent for t in org.teams}):
        chain = " → ".join([*loop, loop[0]])
        yield _error(loop[0], "team-loop", f"teams form a loop: {chain}")
    for person in org.people:
        for membership in person.memberships:
            if membership.team not in org.team:
                yield _error(
                    person.email, "unknown-team", f"member of unknown team {membership.team!r}"
                )
    for rhythm in org.rhythms:
        if rhythm.team not in org.team:
            yield _error(rhythm.key, "unknown-team", f"rhythm of unknown team {rhythm.team!r}")


def _cycles(org: Organisation) -> Iterator[Finding]:
    for cycle in org.cycles:
        if cycle.end < cycle.start:
            yield _error(
                cycle.key, "invalid-cycle", f"ends on {cycle.end} before it starts on {cycle.start}"
            )


def _is_below_top(org: Organisation, objective: Objective) -> bool:
    team = org.objective_team(objective)
    return team is not None and team in org.team and org.team[team].parent is not None


def _objective(org: Organisation, objective: Objective) -> Iterator[Finding]:
    key = objective.key
    if objective.cycle not in org.cycle:
        yield _error(key, "unknown-cycle", f"cycle {objective.cycle!r} does not exist")
    if objective.owner_team is not None and objective.owner_team not in org.team:
        yield _error(key, "unknown-team", f"owned by unknown team {objective.owner_team!r}")
    if objective.owner_person is not None and objective.owner_person not in org.person:
        yield _error(key, "unknown-owner", f"owner {objective.owner_person} is not in the people")
    if objective.owner_team is None and objective.owner_person is None:
        yield _warning(key, "objective-without-owner", "neither a team nor a person owns it")
    parent = org.objective.get(objective.parent) if objective.parent else None
    if objective.parent is not None and parent is None:
        yield _error(
            key, "unknown-parent-objective", f"aligned to unknown objective {objective.parent!r}"
        )
    elif parent is None and _is_below_top(org, objective):
        yield _warning(
            key,
            "orphan-objective",
            f"{objective.title!r} is not aligned to any objective above its team",
        )
    elif parent is not None and parent.cycle != objective.cycle and objective.cycle in org.cycle:
        yield _warning(
            key,
            "parent-in-other-cycle",
            f"aligned to {parent.key!r} of cycle {parent.cycle}, not {objective.cycle}",
        )
    if not org.key_results_in(key):
        yield _warning(
            key, "objective-without-key-results", f"{objective.title!r} has no key results"
        )


def _objectives(org: Organisation) -> Iterator[Finding]:
    for objective in org.objectives:
        yield from _objective(org, objective)
    for loop in parent_loops({o.key: o.parent for o in org.objectives}):
        chain = " → ".join([*loop, loop[0]])
        yield _error(loop[0], "objective-loop", f"objectives are aligned in a loop: {chain}")


def _metric_findings(kr: KeyResult) -> Iterator[Finding]:
    metric = kr.metric
    if metric is None or metric.milestone:
        return
    if metric.start == metric.target:
        yield _warning(
            kr.key, "metric-without-change", f"start and target are both {metric.target:g}"
        )
    elif (metric.direction is Direction.DOWN) != (metric.target < metric.start):
        yield _warning(
            kr.key,
            "metric-direction",
            f"direction is {metric.direction} but the target {metric.target:g} is "
            f"{'above' if metric.target > metric.start else 'below'} the start {metric.start:g}",
        )


def _key_result(org: Organisation, kr: KeyResult) -> Iterator[Finding]:
    if kr.objective not in org.objective:
        yield _error(kr.key, "unknown-objective", f"belongs to unknown objective {kr.objective!r}")
    if kr.owner is None:
        yield _warning(kr.key, "kr-without-owner", f"nobody owns {kr.title!r}, nobody checks in")
    elif kr.owner not in org.person:
        yield _error(kr.key, "unknown-owner", f"owner {kr.owner} is not in the people")
    if kr.metric is None:
        yield _warning(kr.key, "kr-without-metric", f"{kr.title!r} has no metric to report")
    yield from _metric_findings(kr)
    activity = activity_wording(kr.title)
    why = _why_not_measurable(kr)
    if activity and why:
        yield _warning(
            kr.key,
            "activity-key-result",
            f"{kr.title!r} reads as an activity ({activity!r}) and {why}: state the change it "
            "should cause as a number to reach, and track the work as an initiative",
        )


def _key_results(org: Organisation) -> Iterator[Finding]:
    for kr in org.key_results:
        yield from _key_result(org, kr)


def _initiatives(org: Organisation) -> Iterator[Finding]:
    for initiative in org.initiatives:
        if initiative.key_result not in org.key_result:
            yield _error(
                initiative.key,
                "unknown-key-result",
                f"linked to unknown key result {initiative.key_result!r}",
            )
        if initiative.owner is not None and initiative.owner not in org.person:
            yield _error(
                initiative.key, "unknown-owner", f"owner {initiative.owner} is not in the people"
            )


CHECKS: tuple[Callable[[Organisation], Iterable[Finding]], ...] = (
    _duplicates,
    _teams,
    _cycles,
    _objectives,
    _key_results,
    _initiatives,
)


def lint(org: Organisation) -> list[Finding]:
    """Every finding about `org`, errors first, then in the order of the tree."""
    findings = [finding for check in CHECKS for finding in check(org)]
    return sorted(findings, key=lambda f: f.severity is not Severity.ERROR)
