"""Team digests: what leaders read in their channel after each check-in period.

SQL hands over `DigestFacts` (the latest update per key result in this period and the one
before, participation counts); this module does the arithmetic and the early warnings over the
team tree. It is pure: the same facts and organisation always give the same digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from statistics import fmean

from rhythm.cadences import RhythmKind
from rhythm.forms import Status
from rhythm.okr import KeyResult, Objective, Organisation
from rhythm.ports import DigestFacts, PromptFact, Snapshot

BEHIND_THRESHOLD = 0.25  # progress this far behind the elapsed share of the cycle is a warning
CONFIDENCE_DROP = 2


class WarningKind(StrEnum):
    BEHIND = "behind"
    CONFIDENCE_DROP = "confidence_drop"
    SILENT = "silent"
    FLAT_ON_TRACK = "flat_on_track"


@dataclass(frozen=True, slots=True)
class KrLine:
    key: str
    title: str
    owner: str  # display name
    progress: float
    value: float | None
    target: float | None
    unit: str
    confidence: int | None
    confidence_delta: int | None
    status: Status | None
    checked_in: bool


@dataclass(frozen=True, slots=True)
class ObjectiveLine:
    key: str
    title: str
    team: str
    progress: float
    confidence: float | None
    confidence_trend: float | None
    key_results: tuple[KrLine, ...]


@dataclass(frozen=True, slots=True)
class StatusChange:
    key_result: str
    title: str
    owner: str
    before: Status
    after: Status


@dataclass(frozen=True, slots=True)
class BlockerLine:
    person: str
    subject: str  # the key result (or "daily pulse") the blocker is about
    text: str
    blocked_by: str  # the team or key result named as the cause, display text; may be ""


@dataclass(frozen=True, slots=True)
class Warning:
    kind: WarningKind
    key_result: str
    message: str


@dataclass(frozen=True, slots=True)
class Participation:
    prompted: int
    answered: int
    on_time: int
    late: int
    missing: tuple[str, ...]  # names of people whose deadline passed without an answer
    pending: tuple[str, ...]  # names of people who can still answer
    on_leave: tuple[str, ...]
    unreachable: tuple[str, ...]
    spontaneous: int
    streaks: tuple[tuple[str, int], ...]  # best current streaks, longest first

    @property
    def rate(self) -> float | None:
        return self.answered / self.prompted if self.prompted else None


@dataclass(frozen=True, slots=True)
class LeaderNote:
    person: str
    team: str
    text: str


@dataclass(frozen=True, slots=True)
class SubteamLine:
    team: str
    name: str
    progress: float | None
    confidence: float | None
    answered: int
    prompted: int
    warnings: int


@dataclass(frozen=True, slots=True)
class Digest:
    team: str
    team_name: str
    kind: RhythmKind
    period: str
    previous_period: str
    cycle: str
    elapsed_share: float
    leaders: tuple[LeaderNote, ...]
    objectives: tuple[ObjectiveLine, ...]
    status_changes: tuple[StatusChange, ...]
    blockers: tuple[BlockerLine, ...]
    blocking_others: tuple[BlockerLine, ...]
    warnings: tuple[Warning, ...]
    participation: Participation
    subteams: tuple[SubteamLine, ...]
    details: tuple[Digest, ...]  # one per direct sub-team, for thread replies
    notes: tuple[LeaderNote, ...]  # free-text answers of everyone else (daily focus, reflection)

    @property
    def progress(self) -> float | None:
        return fmean(o.progress for o in self.objectives) if self.objectives else None


@dataclass(frozen=True, slots=True)
class DigestScope:
    """What one digest covers: a team with its whole subtree, in one period."""

    team: str
    kind: RhythmKind
    period: str
    previous_period: str
    cycle: str
    today: date  # in the team's timezone, for the elapsed share of the cycle
    period_days: tuple[date, date]


def scope_people(org: Organisation, team: str) -> list[str]:
    seen: dict[str, None] = {}
    for key in org.subtree(team):
        for person in org.members(key):
            seen.setdefault(person.email, None)
    return list(seen)


def scope_key_results(org: Organisation, team: str, cycle: str) -> list[KeyResult]:
    objectives = org.objectives_of_teams(org.subtree(team), cycle)
    return [kr for o in objectives for kr in org.key_results_in(o.key)]


def _name(org: Organisation, email: str | None) -> str:
    person = org.person.get(email or "")
    return person.name if person else (email or "nobody")


def _blocked_by_text(org: Organisation, snap: Snapshot) -> str:
    if snap.blocked_by_kr and snap.blocked_by_kr in org.key_result:
        kr = org.key_result[snap.blocked_by_kr]
        return f"{kr.title} ({_name(org, kr.owner)})"
    if snap.blocked_by_team and snap.blocked_by_team in org.team:
        return org.team[snap.blocked_by_team].name
    return ""


def _kr_line(org: Organisation, kr: KeyResult, facts: DigestFacts) -> KrLine:
    cur, prev = facts.current.get(kr.key), facts.previous.get(kr.key)
    latest = cur or prev
    value = latest.value if latest and latest.value is not None else None
    if value is None and kr.metric:
        value = kr.metric.current
    delta = None
    if cur and prev and cur.confidence is not None and prev.confidence is not None:
        delta = cur.confidence - prev.confidence
    return KrLine(
        key=kr.key,
        title=kr.title,
        owner=_name(org, kr.owner),
        progress=kr.progress(value),
        value=value,
        target=kr.metric.target if kr.metric else None,
        unit=kr.metric.unit if kr.metric else "",
        confidence=latest.confidence if latest else None,
        confidence_delta=delta,
        status=latest.status if latest else None,
        checked_in=cur is not None,
    )


def _objective_line(org: Organisation, objective: Objective, facts: DigestFacts) -> ObjectiveLine:
    lines = tuple(_kr_line(org, kr, facts) for kr in org.key_results_in(objective.key))
    confidences = [line.confidence for line in lines if line.confidence is not None]
    deltas = [line.confidence_delta for line in lines if line.confidence_delta is not None]
    return ObjectiveLine(
        key=objective.key,
        title=objective.title,
        team=org.objective_team(objective) or "",
        progress=fmean(line.progress for line in lines) if lines else 0.0,
        confidence=fmean(confidences) if confidences else None,
        confidence_trend=fmean(deltas) if deltas else None,
        key_results=lines,
    )


def _on_leave(org: Organisation, person: str, days: tuple[date, date]) -> bool:
    who = org.person.get(person)
    return who is not None and any(
        leave.start <= days[1] and leave.end >= days[0] for leave in who.time_off
    )


def early_warnings(
    org: Organisation,
    key_results: Sequence[KeyResult],
    facts: DigestFacts,
    scope: DigestScope,
    elapsed: float,
) -> list[Warning]:
    """Key results heading for trouble, most urgent kinds first."""
    found: list[Warning] = []
    for kr in key_results:
        cur, prev = facts.current.get(kr.key), facts.previous.get(kr.key)
        latest = cur or prev
        value = latest.value if latest and latest.value is not None else None
        progress = kr.progress(value)
        owner = _name(org, kr.owner)
        if kr.metric and progress + BEHIND_THRESHOLD < elapsed:
            found.append(Warning(WarningKind.BEHIND, kr.key, (
                f"{kr.title} is at {progress:.0%} with {elapsed:.0%} of {scope.cycle} gone"
            )))  # fmt: skip
        if (
            cur and prev and cur.confidence is not None and prev.confidence is not None
            and prev.confidence - cur.confidence >= CONFIDENCE_DROP
        ):  # fmt: skip
            found.append(Warning(WarningKind.CONFIDENCE_DROP, kr.key, (
                f"{owner}'s confidence in {kr.title} fell from {prev.confidence} "
                f"to {cur.confidence}"
            )))  # fmt: skip
        if (
            cur is None
            and prev is None
            and scope.kind is not RhythmKind.DAILY  # a daily pulse has no key-result updates
            and kr.owner
            and not _on_leave(org, kr.owner, scope.period_days)
        ):
            found.append(Warning(WarningKind.SILENT, kr.key, (
                f"No check-in on {kr.title} for two periods ({owner})"
            )))  # fmt: skip
        if (
            cur and prev and cur.status is Status.ON_TRACK and cur.value is not None
            and cur.value == prev.value and progress < 1.0
        ):  # fmt: skip
            found.append(Warning(WarningKind.FLAT_ON_TRACK, kr.key, (
                f"{kr.title} is reported on track but has not moved since {scope.previous_period}"
            )))  # fmt: skip
    order = list(WarningKind)
    return sorted(found, key=lambda w: order.index(w.kind))


def participation(
    org: Organisation, people: Sequence[str], facts: DigestFacts, scope: DigestScope, now: datetime
) -> Participation:
    in_scope = set(people)
    prompts: list[PromptFact] = [p for p in facts.prompts if p.person in in_scope]
    answered = [p for p in prompts if p.answered_at is not None]
    on_time = [p for p in answered if p.answered_at is not None and p.answered_at <= p.deadline]
    unanswered = [p for p in prompts if p.answered_at is None and p.failure is None]
    prompted_people = {p.person for p in prompts}
    on_leave = [
        person for person in people
        if person not in prompted_people and _on_leave(org, person, scope.period_days)
    ]  # fmt: skip
    streaks = sorted(
        ((_name(org, p), n) for p, n in facts.streaks.items() if p in in_scope and n >= 2),
        key=lambda item: (-item[1], item[0]),
    )
    return Participation(
        prompted=len(prompts),
        answered=len(answered),
        on_time=len(on_time),
        late=len(answered) - len(on_time),
        missing=tuple(sorted(_name(org, p.person) for p in unanswered if p.deadline <= now)),
        pending=tuple(sorted(_name(org, p.person) for p in unanswered if p.deadline > now)),
        on_leave=tuple(sorted(_name(org, p) for p in on_leave)),
        unreachable=tuple(sorted(_name(org, p.person) for p in prompts if p.failure)),
        spontaneous=sum(n for p, n in facts.spontaneous.items() if p in in_scope),
        streaks=tuple(streaks[:5]),
    )


def _notes(org: Organisation, people: Sequence[str], facts: DigestFacts) -> list[LeaderNote]:
    in_scope = set(people)
    out: list[LeaderNote] = []
    for note in sorted(facts.notes, key=lambda n: n.submitted_at):
        if note.person not in in_scope:
            continue
        text = " · ".join(v for k, v in note.notes.items() if v and k != "blockers")
        if text:
            out.append(LeaderNote(_name(org, note.person), org.team_of(note.person) or "", text))
    return out


def _blockers(
    org: Organisation, people: Sequence[str], key_results: Sequence[KeyResult], facts: DigestFacts
) -> list[BlockerLine]:
    out = []
    for kr in key_results:
        snap = facts.current.get(kr.key)
        if snap and snap.blockers:
            blocked_by = _blocked_by_text(org, snap)
            out.append(BlockerLine(_name(org, snap.person), kr.title, snap.blockers, blocked_by))
    in_scope = set(people)
    for note in facts.notes:
        text = note.notes.get("blockers", "")
        if note.person in in_scope and text:
            cause_team = org.team.get(note.blocked_by_team or "")
            cause = cause_team.name if cause_team else ""
            out.append(BlockerLine(_name(org, note.person), "daily pulse", text, cause))
    return out


def build_digest(
    org: Organisation, scope: DigestScope, facts: DigestFacts, *, now: datetime
) -> Digest:
    """The digest of `scope.team` with one nested digest per direct sub-team."""
    team = org.team[scope.team]
    cycle = org.cycle.get(scope.cycle)
    elapsed = cycle.elapsed_share(scope.today) if cycle else 0.0
    people = scope_people(org, scope.team)
    krs = scope_key_results(org, scope.team, scope.cycle)
    own_objectives = [o for o in org.objectives_of_teams([scope.team], scope.cycle)] or list(
        org.objectives_of_teams(org.subtree(scope.team), scope.cycle)
    )
    objectives = tuple(_objective_line(org, o, facts) for o in own_objectives)

    changes = []
    for kr in krs:
        cur, prev = facts.current.get(kr.key), facts.previous.get(kr.key)
        if cur and prev and cur.status and prev.status and cur.status is not prev.status:
            changes.append(StatusChange(kr.key, kr.title, _name(org, kr.owner), prev.status,
                                        cur.status))  # fmt: skip

    notes = _notes(org, people, facts)
    leads = {p.name for p in org.leads(scope.team)}
    leaders = tuple(n for n in notes if n.person in leads)
    kr_leads = [
        LeaderNote(_name(org, snap.person), scope.team, f"{kr.title}: {snap.moved}")
        for kr in krs
        if (snap := facts.current.get(kr.key))
        and snap.moved
        and org.is_lead(snap.person, scope.team)
    ]
    subtree = set(org.subtree(scope.team))
    # Other parts of the organisation waiting on this one (inside the subtree they are plain
    # blockers, listed above).
    blocking = tuple(
        BlockerLine(_name(org, snap.person), org.key_result[kr].title if kr in org.key_result
                    else kr, snap.blockers, _blocked_by_text(org, snap) or team.name)
        for kr, their_team, snap in facts.blocking_others
        if snap.blocked_by_team in subtree and their_team not in subtree
    )  # fmt: skip

    details = tuple(
        build_digest(org, _sub_scope(scope, child), facts, now=now)
        for child in org.child_teams(scope.team)
    )
    return Digest(
        team=scope.team,
        team_name=team.name,
        kind=scope.kind,
        period=scope.period,
        previous_period=scope.previous_period,
        cycle=scope.cycle,
        elapsed_share=elapsed,
        leaders=leaders + tuple(kr_leads),
        objectives=objectives,
        status_changes=tuple(changes),
        blockers=tuple(_blockers(org, people, krs, facts)),
        blocking_others=blocking,
        warnings=tuple(early_warnings(org, krs, facts, scope, elapsed)),
        participation=participation(org, people, facts, scope, now),
        subteams=tuple(_subteam_line(d) for d in details),
        details=details,
        notes=tuple(n for n in notes if n.person not in leads),
    )


def _sub_scope(scope: DigestScope, team: str) -> DigestScope:
    return DigestScope(team, scope.kind, scope.period, scope.previous_period, scope.cycle,
                       scope.today, scope.period_days)  # fmt: skip


def _subteam_line(digest: Digest) -> SubteamLine:
    confidences = [o.confidence for o in digest.objectives if o.confidence is not None]
    return SubteamLine(
        team=digest.team,
        name=digest.team_name,
        progress=digest.progress,
        confidence=fmean(confidences) if confidences else None,
        answered=digest.participation.answered,
        prompted=digest.participation.prompted,
        warnings=len(digest.warnings),
    )


def progress_bar(share: float, width: int = 10) -> str:
    """A text progress bar, e.g. ▓▓▓▓░░░░░░ for 0.4: adapters share it."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "▓" * filled + "░" * (width - filled)


def trend_arrow(delta: float | None) -> str:
    if delta is None:
        return "·"
    if delta >= 0.5:
        return "↑"
    if delta <= -0.5:
        return "↓"
    return "→"


STATUS_EMOJI: Mapping[Status | None, str] = {
    Status.ON_TRACK: "🟢",
    Status.AT_RISK: "🟡",
    Status.OFF_TRACK: "🔴",
    None: "⚪",
}
