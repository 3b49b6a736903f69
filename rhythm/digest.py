"""Team digests: what leaders read in their channel after each check-in period.

SQL hands over `DigestFacts` (the latest update per key result in this period and the one
before, participation counts); this module does the arithmetic and the early warnings over the
team tree. It is pure: the same facts and organisation always give the same digest.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from math import fsum
from statistics import fmean
from zoneinfo import ZoneInfo

from rhythm.cadences import RhythmKind
from rhythm.digest_model import (
    AttentionItem,
    BlockerLine,
    Concern,
    Digest,
    DigestScope,
    KrLine,
    LeaderNote,
    ObjectiveLine,
    Participation,
    Reason,
    StatusChange,
    SubteamLine,
    Warning,
    WarningKind,
)
from rhythm.forecast import (
    Forecast,
    fmt_day,
    fmt_score,
    forecast_key_result,
    forecast_objective,
)
from rhythm.okr import KeyResult, Objective, Organisation
from rhythm.records import ON_LEAVE, AutoUpdateFact, DigestFacts, KrPoint, PromptFact, Snapshot
from rhythm.status import Status
from rhythm.trends import chart_name, progress_chart
from rhythm.wording import joined

BEHIND_THRESHOLD = 0.25  # progress this far behind the elapsed share of the cycle is a warning
CONFIDENCE_DROP = 2
ATTENTION_LIMIT = 5  # a handful of top risks open the digest; the rest are in its body
# Key results whose update says why and what next, for everyone to read (not only leaders').
STORY_STATUSES = frozenset({Status.AT_RISK, Status.OFF_TRACK})
# How much each concern weighs when ranking the top risks: a blocker or an owner's own "off
# track" is news for a leader; a key result that went flat while "on track" only a hint.
CONCERN_WEIGHT: Mapping[Concern, int] = {
    Concern.BLOCKED: 3,
    Concern.OFF_TRACK: 3,
    Concern.BEHIND: 2,
    Concern.CONFIDENCE_DROP: 2,
    Concern.SILENT: 2,
    Concern.FLAT_ON_TRACK: 1,
    Concern.FORECAST: 2,
}
# Reasons are listed heaviest first, then in the order `Concern` declares them.
_REASON_ORDER = {c: (-CONCERN_WEIGHT[c], i) for i, c in enumerate(Concern)}
_OF_WARNING = {kind: Concern(kind.value) for kind in WarningKind}


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


def _kr_line_of(
    kr: KeyResult,
    cur: Snapshot | None,
    prev: Snapshot | None,
    current_value: float | None,
    name: Callable[[str | None], str],
    locale: str,
    forecast: Forecast | None = None,
    pushed: AutoUpdateFact | None = None,
) -> KrLine:
    """`current_value` (what the key result stands at now) stands in for a period without
    updates; `pushed`, the period's automatic updates, set the value when the latest came
    after the period's check-in (or the check-in gave none)."""
    latest = cur or prev
    value = latest.value if latest and latest.value is not None else current_value
    automatic = _automatic_source(cur, pushed)
    if automatic is not None and pushed is not None:
        value = pushed.value
    metric = kr.metric
    delta = None
    if cur and prev and cur.confidence is not None and prev.confidence is not None:
        delta = cur.confidence - prev.confidence
    if metric:
        progress, target, unit = metric.progress(value), metric.target, metric.unit
    else:
        progress, target, unit = 0.0, None, ""
    moved = next_step = None
    if cur is not None and cur.status in STORY_STATUSES:
        moved, next_step = cur.moved.strip(), cur.next_step.strip()
    # The previous value only when this period has an update: only then has anything moved.
    # Where the key result stood before it (recorded with the update: right in the first
    # period after an import too), else the period before's last value (older rows).
    before = None
    if cur is not None:
        before = cur.value_before if cur.value_before is not None else prev.value if prev else None
    if pushed is not None and (
        pushed.first_checkin_at is None or pushed.first_at < pushed.first_checkin_at
    ):
        before = pushed.value_before  # the period's first change was a push
    # Positional: twenty thousand of these in an organisation-wide digest.
    return KrLine(
        kr.key, kr.title, name(kr.owner), progress, value, target, unit,
        latest.confidence if latest else None, delta, latest.status if latest else None,
        cur is not None, before,
        metric.milestone if metric else False, metric.target - metric.start if metric else None,
        locale, moved, next_step, forecast, automatic,
    )  # fmt: skip


def _automatic_source(cur: Snapshot | None, pushed: AutoUpdateFact | None) -> str | None:
    """Who pushed the value a key result shows for the period, when a push set it: the
    period's latest push came after its check-in, or the check-in gave no value."""
    if pushed is None:
        return None
    if cur is None or cur.value is None or pushed.at >= cur.submitted_at:
        return pushed.source
    return None


def _objective_line(
    org: Organisation, objective: Objective, lines: tuple[KrLine, ...], by: date | None
) -> ObjectiveLine:
    confidences = [line.confidence for line in lines if line.confidence is not None]
    deltas = [line.confidence_delta for line in lines if line.confidence_delta is not None]
    return ObjectiveLine(
        key=objective.key,
        title=objective.title,
        team=org.objective_team(objective) or "",
        # fsum(...) / len(...) is what fmean computes, without its per-item generator.
        progress=fsum([line.progress for line in lines]) / len(lines) if lines else 0.0,
        confidence=fsum(confidences) / len(confidences) if confidences else None,
        confidence_trend=fsum(deltas) / len(deltas) if deltas else None,
        key_results=lines,
        forecast=forecast_objective(objective.key, lines, by=by) if by else None,
    )


def _on_leave(org: Organisation, person: str, days: tuple[date, date]) -> bool:
    who = org.person.get(person)
    return who is not None and any(
        leave.start <= days[1] and leave.end >= days[0] for leave in who.time_off
    )


def _kr_warnings(
    kr: KeyResult,
    cur: Snapshot | None,
    prev: Snapshot | None,
    progress: float,
    elapsed: float,
    scope: DigestScope,
    name: Callable[[str | None], str],
    on_leave: Callable[[str], bool],
    asked_before: frozenset[str] = frozenset(),
    pushed: float | None = None,
) -> list[Warning]:
    """The warnings of one key result (its update this period and the one before, and its
    progress), in the order `early_warnings` lists them before sorting by kind. Silence is
    two periods without an update of which the owner was asked in the first: in the first
    week after an import nobody has been silent yet. An automatic update does not end the
    owner's silence (it says nothing of their confidence), but a value `pushed` after the
    check-in is where the key result stands when telling whether it moved."""
    found: list[Warning] = []
    if kr.metric and progress + BEHIND_THRESHOLD < elapsed:
        found.append(Warning(WarningKind.BEHIND, kr.key, (
            f"{kr.title} is at {progress:.0%} with {elapsed:.0%} of {scope.cycle} gone"
        ), f"{progress:.0%} done with {elapsed:.0%} of {scope.cycle} gone"))  # fmt: skip
    if cur is None:
        if (
            prev is None
            and scope.kind is not RhythmKind.DAILY  # a daily pulse has no key-result updates
            and kr.owner
            and kr.owner in asked_before
            and not on_leave(kr.owner)
        ):
            found.append(Warning(WarningKind.SILENT, kr.key, (
                f"No check-in on {kr.title} for two periods ({name(kr.owner)})"
            ), "no check-in for two periods"))  # fmt: skip
        return found
    if prev is None:
        return found
    if (
        cur.confidence is not None and prev.confidence is not None
        and prev.confidence - cur.confidence >= CONFIDENCE_DROP
    ):  # fmt: skip
        found.append(Warning(WarningKind.CONFIDENCE_DROP, kr.key, (
            f"{name(kr.owner)}'s confidence in {kr.title} fell from {prev.confidence} "
            f"to {cur.confidence}"
        ), f"confidence {prev.confidence} → {cur.confidence}"))  # fmt: skip
    now = pushed if pushed is not None else cur.value
    if (
        cur.status is Status.ON_TRACK and now is not None
        and now == prev.value and progress < 1.0
    ):  # fmt: skip
        found.append(Warning(WarningKind.FLAT_ON_TRACK, kr.key, (
            f"{kr.title} is reported on track but has not moved since {scope.previous_period}"
        ), f"“on track” but flat since {scope.previous_period}"))  # fmt: skip
    return found


def _forecast_warning(kr: KeyResult, line: KrLine, owner: str) -> Warning | None:
    """The trend and the owner disagree: projected below 0.4 although confidence is 7+."""
    f = line.forecast
    if f is None or not f.disagrees:
        return None
    score, by = fmt_score(f.score, line.locale), fmt_day(f.by, line.locale, f.by)
    return Warning(WarningKind.FORECAST, kr.key, (
        f"{kr.title} is projected at {score} by {by} although {owner}'s "
        f"confidence is {f.confidence}/10"
    ), f"projected {score} although confidence {f.confidence}/10")  # fmt: skip


def forecast_words(line: KrLine) -> str:
    f = line.forecast
    if f is None:
        return ""
    return f.words(unit=line.unit, span=line.span, locale=line.locale, today=f.by)


@dataclass(frozen=True, slots=True)
class _Concerned:
    """A key result that needs attention, with what ranks it among the others. Its
    `AttentionItem` is made only where it is shown: an organisation-wide digest has thousands
    of these and shows five at each level."""

    line: KrLine
    warnings: tuple[Warning, ...]
    blocked_by: str | None  # None when not blocked; "" when blocked by nobody named
    weight: int  # its reasons' weights, summed
    shortfall: float  # how far its progress trails the cycle's elapsed share

    def item(self) -> AttentionItem:
        reasons = [Reason(_OF_WARNING[w.kind], w.reason) for w in self.warnings]
        if self.blocked_by is not None:
            by = self.blocked_by
            reasons.append(Reason(Concern.BLOCKED, f"blocked by {by}" if by else "blocked"))
        if self.line.status is Status.OFF_TRACK:
            reasons.append(Reason(Concern.OFF_TRACK, "reported off track"))
        reasons.sort(key=lambda r: _REASON_ORDER[r.concern])
        line = self.line
        return AttentionItem(
            line.key, line.title, line.owner, line.status, tuple(reasons), forecast_words(line)
        )


def _concerned(
    line: KrLine,
    cur: Snapshot | None,
    warnings: Sequence[Warning],
    blocked_by: str,
    elapsed: float,
) -> _Concerned | None:
    """Why the key result of `line` needs attention, if it does: its blocker, its owner's "off
    track" and its early warnings, together."""
    blocked = cur is not None and bool(cur.blockers)
    off_track = line.status is Status.OFF_TRACK
    if not (warnings or blocked or off_track):
        return None  # most key results, in an organisation-wide digest: nothing to build
    weight = sum(CONCERN_WEIGHT[_OF_WARNING[w.kind]] for w in warnings)
    if blocked:
        weight += CONCERN_WEIGHT[Concern.BLOCKED]
    if off_track:
        weight += CONCERN_WEIGHT[Concern.OFF_TRACK]
    shortfall = elapsed - line.progress if line.target is not None else 0.0
    return _Concerned(line, tuple(warnings), blocked_by if blocked else None, weight, shortfall)


def _top_risks(concerned: Collection[_Concerned]) -> tuple[tuple[AttentionItem, ...], int]:
    """The `ATTENTION_LIMIT` most pressing key results (heaviest reasons first, then the
    furthest behind, then in the tree's order), and how many more there are."""
    # nsmallest is sorted(...)[:n], ties in order included, without sorting all of them.
    shown = heapq.nsmallest(ATTENTION_LIMIT, concerned, key=lambda c: (-c.weight, -c.shortfall))
    return tuple(c.item() for c in shown), len(concerned) - len(shown)


class Attendance(StrEnum):
    """How one person took part in one period: exactly one of these, or not expected."""

    ON_TIME = "on time"
    LATE = "late"
    SPONTANEOUS = "spontaneous"
    MISSING = "missing"
    PENDING = "still to answer"
    NOT_LINKED = "waiting to be linked"
    UNREACHABLE = "unreachable"
    ON_LEAVE = "on leave"


# Those a participation line names: everyone not checked in.
NAMED = frozenset({Attendance.MISSING, Attendance.PENDING, Attendance.NOT_LINKED,
                   Attendance.UNREACHABLE, Attendance.ON_LEAVE})  # fmt: skip


def attendance(
    prompts: Sequence[PromptFact],
    *,
    spontaneous: bool,
    checked_in: bool,
    on_leave: bool,
    now: datetime,
) -> Attendance | None:
    """The one definition behind every participation count.

    `prompts` are the person's prompts of the period, `spontaneous` whether a check-in of
    theirs was flagged so (nobody had asked them), `checked_in` whether the period holds any
    other check-in of theirs (an update, a note), `on_leave` whether their time off overlaps
    the period. A check-in always counts, whatever the prompts say: on time or late when it
    answered a prompt that was sent, spontaneous otherwise."""
    if spontaneous:
        return Attendance.SPONTANEOUS
    answered = [p for p in prompts if p.answered_at is not None]
    if answered:
        on_time = any(p.answered_at is not None and p.answered_at <= p.deadline for p in answered)
        return Attendance.ON_TIME if on_time else Attendance.LATE
    if checked_in:
        return Attendance.SPONTANEOUS
    asked = [p for p in prompts if p.failure != ON_LEAVE]
    if not asked:
        return Attendance.ON_LEAVE if prompts or on_leave else None
    delivered = [p for p in asked if p.failure is None]
    if not delivered:
        return Attendance.UNREACHABLE
    if all(p.waiting for p in delivered):  # never asked: no chat account known for them yet
        return Attendance.NOT_LINKED
    return Attendance.PENDING if any(p.deadline > now for p in delivered) else Attendance.MISSING


def build_digest(
    org: Organisation,
    scope: DigestScope,
    facts: DigestFacts,
    *,
    now: datetime,
    series: Mapping[str, Sequence[KrPoint]] | None = None,
) -> Digest:
    """The digest of `scope.team` with one nested digest per direct sub-team.

    Every level of the tree covers its whole subtree, so a naive build filters every fact once
    per team. Instead the facts are indexed once (by person, by team, per key result) and each
    team's share is gathered from its subtree: the work grows with the organisation times the
    depth of the tree, not with the number of teams times everything.

    With the cycle's `series` of reported values, key results and objectives carry their
    forecasts and the digest its chart.
    """
    with collector_paused():
        return _Builder(org, scope, facts, now, series or {}).build(scope.team)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large, acyclic result.

    An organisation-wide digest creates a hundred thousand small objects that all live on in
    the result; the collector's passes over them (young generations every few hundred
    allocations, and full passes over the whole heap as they pile up) find nothing and took a
    third of the build. Reference counting still frees garbage as usual, and the result is
    freed the same way once dropped.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Builder:
    """Memoised, per-team views of one digest's facts (see `build_digest`)."""

    def __init__(
        self,
        org: Organisation,
        scope: DigestScope,
        facts: DigestFacts,
        now: datetime,
        series: Mapping[str, Sequence[KrPoint]],
    ):
        self.org, self.scope, self.facts, self.now, self.series = org, scope, facts, now, series
        self.cycle = cycle = org.cycle.get(scope.cycle)
        self.elapsed = cycle.elapsed_share(scope.today) if cycle else 0.0
        self.tz = ZoneInfo(org.team[scope.team].timezone)
        # Forecasts need the series: a daily digest (no key-result updates) has none.
        self.forecast_by = cycle.end if cycle and series else None
        self._people: dict[str, frozenset[str]] = {}
        self._objectives: dict[str, list[int]] = {}
        self._names: dict[str, str] = {}
        self._on_leave: dict[str, bool] = {}
        self._attendance: dict[str, Attendance | None] = {}
        self._streaks: dict[str, list[tuple[int, str, str]]] = {}
        # The cycle's objectives by the team they belong to, as positions in org.objectives;
        # what each contributes is worked out once, whichever levels show it.
        self.cycle_objectives = [o for o in org.objectives if o.cycle == scope.cycle]
        self.own_objectives: dict[str | None, list[int]] = {}
        for i, o in enumerate(self.cycle_objectives):
            self.own_objectives.setdefault(org.objective_team(o), []).append(i)
        self._per_objective: list[_ObjectiveFacts | None] = [None] * len(self.cycle_objectives)
        # Facts by person (positions in the facts' own order) and by blocking team.
        self.prompts_of = _positions(p.person for p in facts.prompts)
        # Whoever updated a key result or left a note this period checked in.
        self.checked_in = {snap.person for snap in facts.current.values()}
        self.checked_in.update(note.person for note in facts.notes)
        self.sorted_notes = sorted(facts.notes, key=lambda n: n.submitted_at)
        self.notes_of = _positions(n.person for n in self.sorted_notes)
        self.note_lines: list[LeaderNote | None] = [None] * len(self.sorted_notes)
        for i, note in enumerate(self.sorted_notes):
            text = joined(v.strip() for k, v in note.notes.items() if k != "blockers")
            if text:
                self.note_lines[i] = LeaderNote(
                    self.name(note.person), org.team_of(note.person) or "", text
                )
        self.pulse_blockers_of = _positions(n.person for n in facts.notes)
        self.blocking_by_team = _positions(
            snap.blocked_by_team for _, _, snap in facts.blocking_others
        )

    # ---- per person / per objective, once ----------------------------------------------------

    def name(self, email: str | None) -> str:
        key = email or ""
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = _name(self.org, email)
        return found

    def attendance(self, person: str) -> Attendance | None:
        """How `person` took part: the same at every level of the tree, so worked out once."""
        if person in self._attendance:
            return self._attendance[person]
        prompts = [self.facts.prompts[i] for i in self.prompts_of.get(person, ())]
        found = self._attendance[person] = attendance(
            prompts,
            spontaneous=self.facts.spontaneous.get(person, 0) > 0,
            checked_in=person in self.checked_in,
            on_leave=not prompts and self.on_leave(person),
            now=self.now,
        )
        return found

    def on_leave(self, person: str) -> bool:
        found = self._on_leave.get(person)
        if found is None:
            found = self._on_leave[person] = _on_leave(self.org, person, self.scope.period_days)
        return found

    def objective_facts(self, position: int) -> _ObjectiveFacts:
        found = self._per_objective[position]
        if found is None:
            found = _ObjectiveFacts.of(self, self.cycle_objectives[position])
            self._per_objective[position] = found
        return found

    # ---- per team, over its subtree -----------------------------------------------------------

    def people(self, team: str) -> frozenset[str]:
        """Everyone in `team`'s subtree (the set `scope_people` lists)."""
        found = self._people.get(team)
        if found is None:
            members = {p.email for p in self.org.members(team)}
            for child in self.org.child_teams(team):
                if child != team:
                    members.update(self.people(child))
            found = self._people[team] = frozenset(members)
        return found

    def objectives(self, team: str) -> list[int]:
        """Positions of the cycle's objectives of `team`'s subtree, in the organisation's
        order (what `objectives_of_teams(subtree)` returns)."""
        found = self._objectives.get(team)
        if found is None:
            positions = set(self.own_objectives.get(team, ()))
            for child in self.org.child_teams(team):
                if child != team:
                    positions.update(self.objectives(child))
            found = self._objectives[team] = sorted(positions)
        return found

    def build(self, team_key: str) -> Digest:
        org, scope, facts = self.org, self.scope, self.facts
        team = org.team[team_key]
        people = self.people(team_key)
        # The key results in scope are those of the subtree's objectives, in order: each
        # objective's share of the changes, blockers and warnings comes in that order too.
        in_subtree = [self.objective_facts(i) for i in self.objectives(team_key)]
        own = [self.objective_facts(i) for i in self.own_objectives.get(team_key, ())]
        objectives = tuple(o.line for o in (own or in_subtree))

        changes = tuple(c for o in in_subtree for c in o.changes)
        notes = [
            line for i in _gather(self.notes_of, people) if (line := self.note_lines[i]) is not None
        ]
        lead_people = org.leads(team_key)
        leads = {p.name for p in lead_people}
        leaders = tuple(n for n in notes if n.person in leads)
        lead_emails = {p.email for p in lead_people}
        kr_leads = [
            LeaderNote(self.name(person), team_key, text)
            for o in in_subtree
            for person, text in o.moved
            if person in lead_emails
        ]
        subtree = set(org.subtree(team_key))
        # Other parts of the organisation waiting on this one (inside the subtree they are
        # plain blockers, listed below).
        blocking = []
        for i in sorted(i for t in subtree for i in self.blocking_by_team.get(t, ())):
            kr, their_team, snap = facts.blocking_others[i]
            if their_team not in subtree:
                blocking.append(BlockerLine(
                    self.name(snap.person),
                    org.key_result[kr].title if kr in org.key_result else kr,
                    snap.blockers, _blocked_by_text(org, snap) or team.name,
                ))  # fmt: skip

        blockers = [b for o in in_subtree for b in o.blockers]
        for i in _gather(self.pulse_blockers_of, people):
            note = facts.notes[i]
            text = note.notes.get("blockers", "")
            if text:
                cause_team = org.team.get(note.blocked_by_team or "")
                cause = cause_team.name if cause_team else ""
                blockers.append(BlockerLine(self.name(note.person), "daily pulse", text, cause))

        # Sorted by kind, then in key-result order: what `early_warnings` returns.
        warnings = tuple(w for kind in WarningKind for o in in_subtree for w in o.warnings[kind])
        attention, attention_more = _top_risks([c for o in in_subtree for c in o.concerned])

        details = tuple(self.build(child) for child in org.child_teams(team_key))
        chart = None
        if team_key == scope.team and self.forecast_by and self.cycle and objectives:
            chart = progress_chart(
                org, objectives, self.series, cycle=self.cycle, today=scope.today, tz=self.tz,
                name=chart_name(team_key, scope.period), title=f"{team.name} · {scope.cycle}",
            )  # fmt: skip
        return Digest(
            team=team_key,
            team_name=team.name,
            kind=scope.kind,
            period=scope.period,
            previous_period=scope.previous_period,
            cycle=scope.cycle,
            elapsed_share=self.elapsed,
            attention=attention,
            attention_more=attention_more,
            leaders=leaders + tuple(kr_leads),
            objectives=objectives,
            status_changes=changes,
            blockers=tuple(blockers),
            blocking_others=tuple(blocking),
            warnings=warnings,
            participation=self.participation(team_key, people),
            subteams=tuple(_subteam_line(d) for d in details),
            details=details,
            notes=tuple(n for n in notes if n.person not in leads),
            chart=chart,
        )

    def best_streaks(self, team: str) -> list[tuple[int, str, str]]:
        """The five best streaks (of two or more) in `team`'s subtree as (-length, name,
        email), best first: the best of the members' and of each sub-team's best five."""
        found = self._streaks.get(team)
        if found is None:
            streaks, name = self.facts.streaks, self.name
            best = {}
            for p in self.org.members(team):
                n = streaks.get(p.email, 0)
                if n >= 2:
                    best[p.email] = (-n, name(p.email), p.email)
            for child in self.org.child_teams(team):
                if child != team:
                    for entry in self.best_streaks(child):
                        best.setdefault(entry[2], entry)
            found = self._streaks[team] = sorted(best.values())[:5]
        return found

    def participation(self, team: str, people: frozenset[str]) -> Participation:
        """Each of `people` counted once, by `attendance`; only those not checked in are
        named."""
        name, of = self.name, self.attendance
        counts = dict.fromkeys(Attendance, 0)
        named: dict[Attendance, list[str]] = {state: [] for state in NAMED}
        for person in people:
            state = of(person)
            if state is None:
                continue
            counts[state] += 1
            if state in NAMED:
                named[state].append(name(person))
        streaks = [(name, -minus_n) for minus_n, name, _ in self.best_streaks(team)]
        return Participation(
            on_time=counts[Attendance.ON_TIME],
            late=counts[Attendance.LATE],
            spontaneous=counts[Attendance.SPONTANEOUS],
            missing=tuple(sorted(named[Attendance.MISSING])),
            pending=tuple(sorted(named[Attendance.PENDING])),
            not_linked=tuple(sorted(named[Attendance.NOT_LINKED])),
            on_leave=tuple(sorted(named[Attendance.ON_LEAVE])),
            unreachable=tuple(sorted(named[Attendance.UNREACHABLE])),
            streaks=tuple(streaks),
        )


@dataclass(frozen=True, slots=True)
class _ObjectiveFacts:
    """What one objective and its key results contribute to every digest that covers it."""

    line: ObjectiveLine
    changes: tuple[StatusChange, ...]
    moved: tuple[tuple[str, str], ...]  # (person, "title: what moved") for leaders' notes
    blockers: tuple[BlockerLine, ...]
    warnings: Mapping[WarningKind, tuple[Warning, ...]]
    concerned: tuple[_Concerned, ...]  # its key results that need attention, in order

    @classmethod
    def of(cls, builder: _Builder, objective: Objective) -> _ObjectiveFacts:
        org, scope, name, on_leave = builder.org, builder.scope, builder.name, builder.on_leave
        current, previous, values, elapsed = (
            builder.facts.current.get,
            builder.facts.previous.get,
            builder.facts.values,
            builder.elapsed,
        )
        automatic = builder.facts.automatic
        changes, moved, blockers, lines, concerned = [], [], [], [], []
        warnings: dict[WarningKind, list[Warning]] = {kind: [] for kind in WarningKind}
        by, series = builder.forecast_by, builder.series
        for kr in org.key_results_in(objective.key):
            cur, prev = current(kr.key), previous(kr.key)
            forecast = None
            if by is not None and kr.key in series:
                forecast = forecast_key_result(
                    kr, series[kr.key], today=scope.today, end=by, tz=builder.tz
                )
            push = automatic.get(kr.key) if automatic else None
            line = _kr_line_of(kr, cur, prev, values.get(kr.key), name, org.locale, forecast, push)
            lines.append(line)
            found = _kr_warnings(
                kr, cur, prev, line.progress, elapsed, scope, name, on_leave,
                builder.facts.asked_before, line.value if line.automatic is not None else None,
            )  # fmt: skip
            if (disagreement := _forecast_warning(kr, line, name(kr.owner))) is not None:
                found.append(disagreement)
            for w in found:
                warnings[w.kind].append(w)
            blocked_by = _blocked_by_text(org, cur) if cur and cur.blockers else ""
            if (concern := _concerned(line, cur, found, blocked_by, elapsed)) is not None:
                concerned.append(concern)
            if cur is None:
                continue
            if prev and cur.status and prev.status and cur.status is not prev.status:
                changes.append(StatusChange(kr.key, kr.title, name(kr.owner), prev.status,
                                            cur.status))  # fmt: skip
            # A key result at risk tells its story on its own line; leaders' notes skip it.
            if cur.moved.strip() and not line.has_story:
                moved.append((cur.person, f"{kr.title}: {cur.moved}"))
            if cur.blockers:
                blockers.append(BlockerLine(name(cur.person), kr.title, cur.blockers,
                                            blocked_by))  # fmt: skip
        return cls(
            line=_objective_line(org, objective, tuple(lines), by),
            changes=tuple(changes),
            moved=tuple(moved),
            blockers=tuple(blockers),
            warnings={kind: tuple(found) for kind, found in warnings.items()},
            concerned=tuple(concerned),
        )


def _positions(keys: Iterable[str | None]) -> dict[str | None, list[int]]:
    """Positions of each key in a sequence."""
    out: dict[str | None, list[int]] = {}
    for i, key in enumerate(keys):
        out.setdefault(key, []).append(i)
    return out


def _gather(positions: Mapping[str | None, list[int]], keys: Collection[str]) -> list[int]:
    """The positions of all `keys`, in sequence order: a filter over the sequence by key
    without walking the whole sequence."""
    if len(positions) < len(keys):
        return sorted(i for k, found in positions.items() if k in keys for i in found)
    return sorted(i for k in keys for i in positions.get(k, ()))


def _subteam_line(digest: Digest) -> SubteamLine:
    confidences = [o.confidence for o in digest.objectives if o.confidence is not None]
    return SubteamLine(
        team=digest.team,
        name=digest.team_name,
        progress=digest.progress,
        confidence=fmean(confidences) if confidences else None,
        checked_in=digest.participation.checked_in,
        expected=digest.participation.expected,
        attention=len(digest.attention) + digest.attention_more,
    )
