"""The one structured check-in form, the same for everyone, and its validation.

`build_form` turns a person's key results into a neutral `Form`; `validate` turns what an adapter
collected (field id -> raw text) into a `CheckInDraft` or a mapping of per-field errors. It never
returns half a record: either every field is valid or nothing is.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TypeVar

from rhythm.cadences import RhythmKind
from rhythm.messages import TEXT_LIMIT, FieldKind, Form, FormField, FormSection, Option
from rhythm.okr import InitiativeStatus, KeyResult, Metric, Organisation, Team
from rhythm.present import DEFAULT_LOCALE, fmt_metric, fmt_range
from rhythm.records import BlockerRecord, KrState
from rhythm.spelling import closest
from rhythm.status import Decision, Status

E = TypeVar("E", bound=StrEnum)

# Beyond this magnitude a number is a typo or an attack, not a key result's value: it would
# print as a wall of digits and lose precision in every sum.
MAX_MAGNITUDE = 1e12


STATUS_OPTIONS = tuple(Option(s.value, s.label.capitalize()) for s in Status)
INITIATIVE_OPTIONS = tuple(
    Option(s.value, s.value.replace("_", " ").capitalize()) for s in InitiativeStatus
)
DECISION_OPTIONS = (
    Option(Decision.CARRY_OVER, "Carry over to next cycle"),
    Option(Decision.DROP, "Drop"),
    Option(Decision.DONE, "Done, nothing to carry"),
)
# The monthly review of someone who owns no key result this cycle: its reflection questions
# alone, which every team member can answer and the digest shows to the leads.
REFLECTION_ONLY = "You own no key results in {cycle}: two questions on the month, that's all."
MILESTONE_OPTIONS = (Option("0", "Not done"), Option("1", "Done"))

# A form field id is "kr:<key>:<part>", "init:<key>:status" or "note:<name>". Keys never hold ":".
KR_PARTS = ("value", "confidence", "status", "moved", "blockers", "blocked_by", "next", "score")
NOTES = ("focus", "blockers", "blocked_by", "reflection", "reprioritise", "learnings")


def kr_field(key: str, part: str) -> str:
    return f"kr:{key}:{part}"


def initiative_field(key: str) -> str:
    return f"init:{key}:status"


def note_field(name: str) -> str:
    return f"note:{name}"


def _is_blocker_field(fid: str) -> bool:
    parts = fid.split(":")
    return fid == note_field("blocked_by") or (
        len(parts) == 3 and parts[0] == "kr" and parts[2] == "blocked_by"
    )


# ---- who blocks: a picker of teams and key results -----------------------------------------

# A picker cannot be emptied once something is chosen in every client (Slack's selects
# cannot), so "nobody" is one of its options. Its value is tried before team keys: a team
# keyed "none" is still found as "team:none".
NOT_BLOCKED = Option("none", "None", "No blocker")
TEAMS_GROUP = "Teams"
OTHER_KRS_GROUP = "Other key results"
BLOCKED_BY_LABEL = "Blocked by (team or key result)"
BLOCKED_BY_HINT = "The team or key result you are waiting on, if any: its name or key."
# A team and a key result may share a key: a picked value says which one it is.
TEAM_PREFIX, KR_PREFIX = "team:", "kr:"


def _teams_in_tree_order(org: Organisation) -> Iterator[Team]:
    """Every team, each under its parent: the order people read the tree in."""
    seen: set[str] = set()
    for root in (*org.root_teams(), *(t.key for t in org.teams)):
        for key in org.subtree(root) if root not in seen else ():
            if key not in seen and key in org.team:
                seen.add(key)
                yield org.team[key]


def blocker_options(org: Organisation, cycle: str) -> tuple[Option, ...]:
    """What "Blocked by" offers: nobody, every team, then the cycle's key results grouped by
    the team that owns their objective (in the tree's order; key results of no team last)."""
    by_team: dict[str, list[KeyResult]] = {}
    for kr in org.key_results:
        objective = org.objective.get(kr.objective)
        if objective is not None and objective.cycle == cycle:
            by_team.setdefault(org.objective_team(objective) or "", []).append(kr)
    teams = list(_teams_in_tree_order(org))
    options = [NOT_BLOCKED]
    options += [Option(TEAM_PREFIX + t.key, t.name, TEAMS_GROUP) for t in teams]
    groups = [(t.key, f"{t.name} key results") for t in teams]
    groups += [(key, OTHER_KRS_GROUP) for key in by_team if key not in org.team]
    for team_key, group in groups:
        options += [Option(KR_PREFIX + kr.key, kr.title, group) for kr in by_team.get(team_key, ())]
    return tuple(options)


# The check-ins whose form asks each key result's blockers: only they raise or resolve
# blockers (a monthly review says nothing about them, so it resolves none).
ASKS_BLOCKERS = frozenset({RhythmKind.WEEKLY})

# A blocker's "Not us": the team it should wait on instead.
REROUTE_FIELD = "reroute:team"


def team_options(org: Organisation) -> tuple[Option, ...]:
    teams = _teams_in_tree_order(org)
    return tuple(Option(TEAM_PREFIX + t.key, t.name, TEAMS_GROUP) for t in teams)


def picker_options(org: Organisation, field_id: str, cycle: str) -> tuple[Option, ...]:
    """The options of a form's picker `field_id` (every "Blocked by", a re-route's team);
    () for any other field, so nothing is suggested for what the form does not ask."""
    if field_id == REROUTE_FIELD:
        return team_options(org)
    return blocker_options(org, cycle) if _is_blocker_field(field_id) else ()


def _folded(text: str) -> str:
    """`text` for matching what people type: case and accents aside ("Équipe" is "equipe")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _rank(label: str, words: Sequence[str]) -> int:
    if label.startswith(" ".join(words)):
        return 0
    if any(part.startswith(words[0]) for part in label.split()):
        return 1
    return 2


def matching_options(options: Sequence[Option], typed: str, *, limit: int) -> tuple[Option, ...]:
    """The options holding every word of `typed` in their label, group or value, at most
    `limit`, in their listed order (so groups stay together). When more match, the best are
    kept: a label starting with what was typed, then one with a word that starts with it."""
    words = _folded(typed).split()
    found = []
    for position, option in enumerate(options):
        label = _folded(option.label)
        where = f"{label} {_folded(option.group)} {_folded(option.value)}"
        if all(word in where for word in words):
            found.append((_rank(label, words), position))
    best = sorted(found)[:limit]
    return tuple(options[position] for _, position in sorted(best, key=lambda r: r[1]))


def find_blocker(org: Organisation, raw: str) -> tuple[str | None, str | None] | None:
    """What an answer to "Blocked by" names, as (team, key result): a picker's value, a team's
    key or name, a key result's key, or a key result's title when no other has it. (None,
    None) for nobody; None when it names nothing this organisation has."""
    text = raw.strip()
    folded = text.casefold()
    if folded in (NOT_BLOCKED.value, NOT_BLOCKED.label.casefold()):
        return None, None
    if text.startswith(TEAM_PREFIX) and text[len(TEAM_PREFIX) :] in org.team:
        return text[len(TEAM_PREFIX) :], None
    if text.startswith(KR_PREFIX) and text[len(KR_PREFIX) :] in org.key_result:
        return _kr_blocker(org, text[len(KR_PREFIX) :])
    team = org.find_team(text)
    if team is not None:
        return team.key, None
    if text in org.key_result:
        return _kr_blocker(org, text)
    titled = [kr for kr in org.key_results if kr.title.casefold() == folded]
    return _kr_blocker(org, titled[0].key) if len(titled) == 1 else None


def _kr_blocker(org: Organisation, key: str) -> tuple[str | None, str]:
    kr = org.key_result[key]
    return org.objective_team(org.objective[kr.objective]), kr.key


def _unknown_blocker(org: Organisation, raw: str) -> str:
    name = raw.removeprefix(TEAM_PREFIX).removeprefix(KR_PREFIX)
    names = [*(t.name for t in org.teams), *(t.key for t in org.teams), *org.key_result]
    guess = closest(name, names)
    hint = f" Did you mean `{guess}`?" if guess else ""
    return f"No team or key result called “{name[:60]}”.{hint}"


def _blocked_by_field(fid: str, options: tuple[Option, ...]) -> FormField:
    return FormField(fid, BLOCKED_BY_LABEL, FieldKind.PICK, options=options, max_length=255,
                     hint=BLOCKED_BY_HINT)  # fmt: skip


def suggest_status(progress: float, expected: float, confidence: int | None) -> Status:
    """A status from how far the metric is behind the elapsed share of the cycle and from
    confidence; the person may change it."""
    gap = expected - progress
    if (confidence is not None and confidence <= 3) or gap > 0.3:
        return Status.OFF_TRACK
    if (confidence is not None and confidence <= 6) or gap > 0.15:
        return Status.AT_RISK
    return Status.ON_TRACK


@dataclass(frozen=True, slots=True)
class KrUpdate:
    key_result: str
    value: float | None = None
    confidence: int | None = None
    status: Status | None = None
    moved: str = ""
    blockers: str = ""
    blocked_by_team: str | None = None
    blocked_by_kr: str | None = None
    next_step: str = ""
    final_score: float | None = None
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class CheckInDraft:
    """A complete, valid check-in, ready to store."""

    person: str
    kind: RhythmKind
    kr_updates: tuple[KrUpdate, ...] = ()
    initiatives: tuple[tuple[str, InitiativeStatus], ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    blocked_by_team: str | None = None
    blocked_by_kr: str | None = None


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Why a form cannot be stored yet: `errors` must be fixed; `warnings` flag values that
    look like typos and are accepted when submitted again unchanged."""

    errors: Mapping[str, str] = field(default_factory=dict)
    warnings: Mapping[str, str] = field(default_factory=dict)


def _fmt(value: float | None) -> str | None:
    if value is None:
        return None
    # str() is the shortest text that reads back as the same float: a prefilled value
    # submitted unchanged stays the same (":g" rounded 12345.67 to 12345.7).
    return str(int(value)) if float(value).is_integer() else str(float(value))


def _status_hint(state: KrState) -> str:
    # The status is never carried over: a key result stuck at 0% must not stay "on track"
    # because nobody touched the select. Last time's is only mentioned.
    last = f" Last time: {state.status.label}." if state.status else ""
    return f"Left empty, it is suggested from this update's progress and confidence.{last}"


def _kr_fields(
    kr: KeyResult,
    kind: RhythmKind,
    state: KrState,
    blockers: tuple[Option, ...],
    locale: str = DEFAULT_LOCALE,
) -> tuple[FormField, ...]:
    metric = kr.metric
    key = kr.key
    last_conf = str(state.confidence) if state.confidence is not None else None
    confidence = FormField(
        kr_field(key, "confidence"), "Confidence (0-10)", FieldKind.INTEGER,
        required=True, initial=last_conf, minimum=0, maximum=10,
        hint="How sure are you that this key result will be reached?",
    )  # fmt: skip
    status = FormField(
        kr_field(key, "status"), "Status", FieldKind.CHOICE, options=STATUS_OPTIONS,
        hint=_status_hint(state),
    )  # fmt: skip
    if kind is RhythmKind.END_OF_CYCLE:
        return (
            FormField(kr_field(key, "score"), "Final score (0.0-1.0)", FieldKind.NUMBER,
                      required=True, minimum=0.0, maximum=1.0,
                      initial=_fmt(round(kr.progress(state.value), 1))),
            FormField(kr_field(key, "next"), "Carry over or drop?", FieldKind.CHOICE,
                      required=True, options=DECISION_OPTIONS),
        )  # fmt: skip
    if kind is RhythmKind.MONTHLY:
        return confidence, status
    if metric is not None and metric.milestone:
        value = FormField(
            kr_field(key, "value"), "Done?", FieldKind.CHOICE, required=True,
            initial=_fmt(state.value), options=MILESTONE_OPTIONS,
        )  # fmt: skip
    else:
        # No bounds on the input: a value outside the key result's range is asked to be
        # confirmed (see `implausible`), never clamped by a client.
        unit = f" ({metric.unit})" if metric and metric.unit else ""
        target = f"target {fmt_metric(metric, metric.target, locale)}" if metric else "no metric"
        value = FormField(
            kr_field(key, "value"), f"New value{unit}", FieldKind.NUMBER, required=True,
            initial=_fmt(state.value), hint=target,
        )  # fmt: skip
    return (
        value,
        confidence,
        status,
        FormField(kr_field(key, "moved"), "What moved it?", FieldKind.LONG_TEXT),
        FormField(kr_field(key, "blockers"), "Blockers", FieldKind.LONG_TEXT),
        _blocked_by_field(kr_field(key, "blocked_by"), blockers),
        FormField(kr_field(key, "next"), "Next step", FieldKind.TEXT,
                  initial=state.next_step or None),
    )  # fmt: skip


def build_form(
    org: Organisation,
    person: str,
    kind: RhythmKind,
    *,
    cycle: str,
    context: str,
    states: Mapping[str, KrState],
    initiatives: Mapping[str, InitiativeStatus],
) -> Form:
    """The form `person` fills in for a check-in of `kind` in `cycle`, prefilled with where
    each key result stands (`states`) and each initiative's status."""
    who = org.person[person]
    krs = org.key_results_of(person, cycle)
    blockers = blocker_options(org, cycle)
    sections: list[FormSection] = []
    if kind is RhythmKind.DAILY:
        sections.append(FormSection("Today", (
            FormField(note_field("focus"), "Focus today", FieldKind.LONG_TEXT, required=True),
            FormField(note_field("blockers"), "Blockers", FieldKind.LONG_TEXT),
            _blocked_by_field(note_field("blocked_by"), blockers),
        )))  # fmt: skip
        return Form(f"Daily pulse · {who.name}", "Two lines on today.", tuple(sections), context)
    for kr in krs:
        metric = kr.metric
        state = states.get(kr.key) or KrState(metric.current if metric else None)
        subtitle = (
            f"{fmt_range(metric.start, metric.target, metric.unit, locale=org.locale)}, "
            f"now {fmt_metric(metric, state.value, org.locale)}"
            if metric
            else "no metric"
        )
        sections.append(
            FormSection(kr.title, _kr_fields(kr, kind, state, blockers, org.locale), subtitle)
        )
        owned = org.initiatives_of(kr.key)
        if owned and kind is RhythmKind.WEEKLY:
            sections.append(FormSection(f"Initiatives · {kr.title}", tuple(
                FormField(initiative_field(i.key), i.title, FieldKind.CHOICE, required=True,
                          initial=initiatives.get(i.key, i.status).value,
                          options=INITIATIVE_OPTIONS)
                for i in owned
            )))  # fmt: skip
    if kind is RhythmKind.MONTHLY:
        sections.append(FormSection("Reflection", (
            FormField(note_field("reflection"), "What did this month teach you?",
                      FieldKind.LONG_TEXT, required=True),
            FormField(note_field("reprioritise"), "What should we stop, start or re-prioritise?",
                      FieldKind.LONG_TEXT),
        )))  # fmt: skip
    if kind is RhythmKind.END_OF_CYCLE:
        sections.append(FormSection("Learnings", (
            FormField(note_field("learnings"), "What did this cycle teach you?",
                      FieldKind.LONG_TEXT, required=True),
        )))  # fmt: skip
    titles = {
        RhythmKind.WEEKLY: "Weekly check-in",
        RhythmKind.MONTHLY: "Monthly review",
        RhythmKind.END_OF_CYCLE: "Strategy refresh",
    }
    intro = f"{len(krs)} key result{'s' if len(krs) != 1 else ''} in {cycle}."
    if kind is RhythmKind.MONTHLY and not krs:
        intro = REFLECTION_ONLY.format(cycle=cycle)
    return Form(f"{titles[kind]} · {who.name}", intro, tuple(sections), context)


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(raw: str) -> float | None:
    """A number as people type it: '1,234.5', '12 %', '€ 300', ' 7 '. None when it is not one."""
    text = raw.strip().replace(",", "").replace("\u00a0", "").replace(" ", "")
    text = text.strip("%$€£¥")
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def normalised(raw: str | None) -> str:
    """An answer as the number it reads as, or as typed: "1,200" and "1200" are one value."""
    value = parse_number(raw or "")
    if value is None:
        return (raw or "").strip()
    return str(int(value)) if value.is_integer() else str(value)


def _check_text(fid: str, raw: str, limit: int, errors: dict[str, str]) -> str:
    text = raw.strip()
    if len(text) > limit:
        errors[fid] = f"Keep this under {limit} characters (it has {len(text)})."
    return text


class _Reader:
    """Reads raw answers field by field, collecting errors instead of raising."""

    def __init__(self, org: Organisation, answers: Mapping[str, str | None]) -> None:
        self.org = org
        self.answers = answers
        self.errors: dict[str, str] = {}

    def raw(self, fid: str) -> str:
        # Lone surrogates (a JSON "\ud800") would fail on their way into the database, and
        # PostgreSQL refuses NUL in text: neither is anything a person meant to type.
        text = (self.answers.get(fid) or "").encode("utf-8", "replace").decode("utf-8")
        return text.replace("\x00", "").strip()

    def text(self, fid: str, *, required: bool = False, limit: int = TEXT_LIMIT) -> str:
        value = _check_text(fid, self.raw(fid), limit, self.errors)
        if required and not value:
            self.errors[fid] = "Please fill this in."
        return value

    def number(self, fid: str, *, lo: float | None = None, hi: float | None = None) -> float | None:
        raw = self.raw(fid)
        if not raw:
            self.errors[fid] = "Please enter a value."
            return None
        value = parse_number(raw)
        if value is None:
            self.errors[fid] = f"“{raw[:40]}” is not a number. Enter digits, like 42 or 3.5."
        elif abs(value) > MAX_MAGNITUDE:
            self.errors[fid] = "That number is too large: keep it within ±1,000,000,000,000."
        elif lo is not None and value < lo:
            self.errors[fid] = f"Must be at least {_fmt(lo)}."
        elif hi is not None and value > hi:
            self.errors[fid] = f"Must be at most {_fmt(hi)}."
        else:
            return value
        return None

    def confidence(self, fid: str) -> int | None:
        value = self.number(fid)
        if value is not None and (not value.is_integer() or not 0 <= value <= 10):
            self.errors[fid] = "Confidence is a whole number from 0 to 10."
            return None
        return int(value) if value is not None else None

    def choice(self, fid: str, enum: type[E], *, required: bool = False) -> E | None:
        raw = self.raw(fid)
        if not raw:
            if required:
                self.errors[fid] = "Please choose one."
            return None
        try:
            return enum(raw)
        except ValueError:
            self.errors[fid] = f"Choose one of: {', '.join(e.value for e in enum)}."
            return None

    def blocked_by(self, fid: str) -> tuple[str | None, str | None]:
        raw = self.text(fid, limit=255)
        if not raw or fid in self.errors:  # empty, or too long: keep that error
            return None, None
        found = find_blocker(self.org, raw)
        if found is None:
            self.errors[fid] = _unknown_blocker(self.org, raw)
            return None, None
        return found


def validate(
    org: Organisation,
    person: str,
    kind: RhythmKind,
    answers: Mapping[str, str | None],
    *,
    cycle: str,
    expected_progress: float,
    states: Mapping[str, KrState],
    confirmed: Mapping[str, str] | None = None,
) -> CheckInDraft | FormErrors:
    """Check every answer; return the complete draft, or every field error at once.

    `states` are where the key results stand now (the monthly review's suggested status is
    worked out from them); `confirmed` maps value fields to the values the person already
    confirmed after a warning, which are then taken as they are."""
    if person not in org.person:
        return FormErrors({"": f"{person} is not part of {org.name}'s OKR tree."})
    read = _Reader(org, answers)
    confirmed = confirmed or {}
    warnings: dict[str, str] = {}
    owned = {kr.key: kr for kr in org.key_results_of(person, cycle)}
    for fid in answers:
        kind_, _, rest = fid.partition(":")
        key = rest.partition(":")[0]
        if kind_ == "kr" and key not in owned:
            read.errors[fid] = f"Unknown key result “{key}”: it is not one of yours in {cycle}."
        elif kind_ == "init" and not any(
            i.key == key for kr in owned for i in org.initiatives_of(kr)
        ):
            read.errors[fid] = f"Unknown initiative “{key}”."

    if kind is RhythmKind.DAILY:
        notes = {
            "focus": read.text(note_field("focus"), required=True),
            "blockers": read.text(note_field("blockers")),
        }
        team, kr_key = read.blocked_by(note_field("blocked_by"))
        if read.errors:
            return FormErrors(read.errors)
        return CheckInDraft(person, kind, notes=notes, blocked_by_team=team, blocked_by_kr=kr_key)

    updates: list[KrUpdate] = []
    initiatives: list[tuple[str, InitiativeStatus]] = []
    for key, kr in owned.items():
        if kind is RhythmKind.END_OF_CYCLE:
            score = read.number(kr_field(key, "score"), lo=0.0, hi=1.0)
            decision = read.choice(kr_field(key, "next"), Decision, required=True)
            updates.append(KrUpdate(key, final_score=score, decision=decision))
            continue
        confidence = read.confidence(kr_field(key, "confidence"))
        status = read.choice(kr_field(key, "status"), Status)
        if kind is RhythmKind.MONTHLY:
            if status is None:
                now = states.get(key)
                status = suggest_status(
                    kr.progress(now.value if now else None), expected_progress, confidence
                )
            updates.append(KrUpdate(key, confidence=confidence, status=status))
            continue
        metric = kr.metric
        value = read.number(kr_field(key, "value"))
        if metric is not None and metric.milestone and value not in (None, 0.0, 1.0):
            read.errors[kr_field(key, "value")] = "A milestone is done or not: answer 1 or 0."
            value = None
        fid = kr_field(key, "value")
        doubt = implausible(metric, value, org.locale) if metric and value is not None else None
        if doubt and confirmed.get(fid) != normalised(answers.get(fid)):
            warnings[fid] = doubt
        if status is None and value is not None:
            status = suggest_status(kr.progress(value), expected_progress, confidence)
        team, blocked_kr = read.blocked_by(kr_field(key, "blocked_by"))
        updates.append(
            KrUpdate(
                key,
                value=value,
                confidence=confidence,
                status=status,
                moved=read.text(kr_field(key, "moved")),
                blockers=read.text(kr_field(key, "blockers")),
                blocked_by_team=team,
                blocked_by_kr=blocked_kr,
                next_step=read.text(kr_field(key, "next")),
            )
        )
        for ini in org.initiatives_of(key):
            ini_status = read.choice(initiative_field(ini.key), InitiativeStatus)
            if ini_status is not None:  # left unanswered, an initiative keeps its status
                initiatives.append((ini.key, ini_status))
    notes = {}
    if kind is RhythmKind.MONTHLY:
        notes["reflection"] = read.text(note_field("reflection"), required=True)
        notes["reprioritise"] = read.text(note_field("reprioritise"))
    if kind is RhythmKind.END_OF_CYCLE:
        notes["learnings"] = read.text(note_field("learnings"), required=True)
    if read.errors or warnings:
        return FormErrors(read.errors, warnings)
    return CheckInDraft(person, kind, tuple(updates), tuple(initiatives), notes)


def implausible(metric: Metric, value: float, locale: str = DEFAULT_LOCALE) -> str | None:
    """Why `value` looks like a typo for this metric, or None: more than the start-to-target
    distance beyond either end of the range, or on the other side of zero from both ends."""
    if metric.milestone:
        return None
    low, high = sorted((metric.start, metric.target))
    span = high - low
    shown = fmt_metric(metric, value, locale)
    where = fmt_range(metric.start, metric.target, metric.unit, locale=locale)
    again = "Submit again to keep it, or correct it."
    if span and not low - span <= value <= high + span:
        return f"{shown} is far outside this key result's range ({where}). {again}"
    if (value < 0 <= low) or (value > 0 >= high):
        return f"{shown} has the other sign than this key result's range ({where}). {again}"
    return None


def answers_of(draft: CheckInDraft) -> dict[str, str | None]:
    """A stored check-in as the answers of its form: what an Edit opens prefilled with."""
    answers: dict[str, str | None] = {}
    for u in draft.kr_updates:
        key = u.key_result
        if draft.kind is RhythmKind.END_OF_CYCLE:
            answers[kr_field(key, "score")] = _fmt(u.final_score)
            answers[kr_field(key, "next")] = u.decision.value if u.decision else None
            continue
        answers[kr_field(key, "confidence")] = (
            str(u.confidence) if u.confidence is not None else None
        )
        answers[kr_field(key, "status")] = u.status.value if u.status else None
        if draft.kind is RhythmKind.MONTHLY:
            continue
        answers[kr_field(key, "value")] = _fmt(u.value)
        answers[kr_field(key, "moved")] = u.moved or None
        answers[kr_field(key, "blockers")] = u.blockers or None
        answers[kr_field(key, "blocked_by")] = _blocker_answer(u.blocked_by_team, u.blocked_by_kr)
        answers[kr_field(key, "next")] = u.next_step or None
    for initiative, status in draft.initiatives:
        answers[initiative_field(initiative)] = status.value
    for name, text in draft.notes.items():
        answers[note_field(name)] = text or None
    if draft.kind is RhythmKind.DAILY:
        answers[note_field("blocked_by")] = _blocker_answer(
            draft.blocked_by_team, draft.blocked_by_kr
        )
    return answers


def _blocker_answer(team: str | None, kr: str | None) -> str | None:
    if kr is not None:
        return KR_PREFIX + kr
    return TEAM_PREFIX + team if team is not None else None


def with_live_blockers(form: Form, live: Mapping[str, BlockerRecord]) -> Form:
    """The form with each key result's live blocker (by key result) in its Blockers and
    Blocked by: kept as it is, the blocker stays; cleared, it is resolved and its team told."""
    prefills: dict[str, str] = {}
    hints: dict[str, str] = {}
    for key, blocker in live.items():
        prefills[kr_field(key, "blockers")] = blocker.text
        named = _blocker_answer(blocker.waiting_on_team, blocker.waiting_on_kr)
        if named is not None:
            prefills[kr_field(key, "blocked_by")] = named
            hints[kr_field(key, "blocked_by")] = (
                "Still blocked? Keep it. Solved? Clear Blockers and choose None here: "
                "whoever it waits on is told."
            )
    sections = tuple(
        replace(s, fields=tuple(
            replace(f, initial=prefills[f.id], hint=hints.get(f.id, f.hint))
            if f.id in prefills else f
            for f in s.fields
        ))
        for s in form.sections
    )  # fmt: skip
    return replace(form, sections=sections)
