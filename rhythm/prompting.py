"""What a person sees when they are prompted, reminded, or have checked in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.messages import Action, Notice
from rhythm.okr import KeyResult, Organisation
from rhythm.present import DEFAULT_LOCALE, fmt_standing, fmt_value, progress_bar
from rhythm.records import KrState, PromptRecord, SavedCheckIn

OPEN = "checkin:open"
SNOOZE = "checkin:snooze"
OFF = "checkin:off"
EDIT = "checkin:edit"  # a confirmation's: its value is the check-in's id

TITLES = {
    RhythmKind.DAILY: "Daily pulse",
    RhythmKind.WEEKLY: "Weekly check-in",
    RhythmKind.MONTHLY: "Monthly review",
    RhythmKind.END_OF_CYCLE: "End-of-cycle strategy refresh",
}

# The monthly review of someone who owns no key results this cycle: its two reflection
# questions, said as what they are rather than an empty list of key results.
REFLECTION_PROMPT = (
    "You own no key results this cycle, so just two questions: what did this month teach "
    "you, and what should we stop, start or re-prioritise?"
)


def prompt_tag(prompt_id: int) -> str:
    """How a prompt's message is named on the platform, to find it again after a crash."""
    return f"prompt:{prompt_id}"


def kr_summary(kr: KeyResult, state: KrState | None, locale: str = DEFAULT_LOCALE) -> str:
    metric = kr.metric
    if metric is None:
        return f"{kr.title} · no metric"
    value = state.value if state else None
    conf = f" · confidence {state.confidence}/10" if state and state.confidence is not None else ""
    standing = fmt_standing(value, metric.start, metric.target, metric.unit, locale=locale)
    return f"{kr.title} · {standing} {progress_bar(kr.progress(value))}{conf}"


def prompt_actions(prompt_id: int) -> tuple[Action, ...]:
    return (
        Action(OPEN, "Check in", str(prompt_id), primary=True),
        Action(SNOOZE, "Snooze 2h", str(prompt_id)),
        Action(OFF, "I'm off this week", str(prompt_id)),
    )


def prompt_notice(org: Organisation, prompt: PromptRecord, states: Mapping[str, KrState]) -> Notice:
    person = org.person[prompt.person]
    lines: tuple[str, ...]
    if prompt.kind is RhythmKind.DAILY:
        lines = ("What is your focus today, and is anything blocking you?",)
    else:
        cycle = org.cycle_on(prompt.scheduled_for.astimezone(person.zone).date())
        krs = org.key_results_of(prompt.person, cycle.key) if cycle else ()
        lines = tuple(kr_summary(kr, states.get(kr.key), org.locale) for kr in krs)
        if not lines and prompt.kind is RhythmKind.MONTHLY:
            lines = (REFLECTION_PROMPT,)
    lead = " You lead this team: your answers open the digest." if prompt.is_lead else ""
    due = prompt.deadline.astimezone(person.zone).strftime("%a %d %b %H:%M")
    return Notice(
        title=f"{TITLES[prompt.kind]} · {prompt.period}",
        lines=lines,
        actions=prompt_actions(prompt.id),
        footer=f"Please answer by {due} ({person.timezone}).{lead}",
    )


def reminder_notice(org: Organisation, prompt: PromptRecord, number: int) -> Notice:
    person = org.person[prompt.person]
    due = prompt.deadline.astimezone(person.zone).strftime("%a %H:%M")
    return Notice(
        title=f"Reminder {number}: {TITLES[prompt.kind].lower()} · {prompt.period}",
        lines=(
            "Your team is waiting for your update. It takes a minute; "
            f"due {due} ({person.timezone}).",
        ),
        actions=prompt_actions(prompt.id),
    )


def done_notice(
    org: Organisation,
    person: str,
    kind: RhythmKind,
    period: str,
    at: datetime,
    saved: SavedCheckIn,
    draft: CheckInDraft | None = None,
    before: Mapping[str, KrState] | None = None,
) -> Notice:
    """The confirmation: when, for which period, and what was stored for each key result
    ("Revenue: 58% (was 52%) · confidence 7 · at risk"), with an Edit button (which stores
    a revision while the period takes answers)."""
    who = org.person[person]
    local = at.astimezone(who.zone).strftime("%H:%M")
    edit = f" · revision {saved.revision}" if saved.revision > 1 else ""
    lines = [f"{TITLES[kind]} · {period}{edit}"]
    if draft is not None:
        before = before or {}
        lines += [
            _stored_line(org.key_result[u.key_result], u, before.get(u.key_result), org.locale)
            for u in draft.kr_updates
            if u.key_result in org.key_result
        ]
    return Notice(
        title=f"✅ Checked in at {local} ({who.timezone})",
        lines=tuple(lines),
        actions=(Action(EDIT, "Edit", str(saved.id)),),
    )


def _stored_line(kr: KeyResult, update: KrUpdate, before: KrState | None, locale: str) -> str:
    parts = []
    metric = kr.metric
    span = metric.target - metric.start if metric else None
    unit = metric.unit if metric else ""

    def shown(value: float | None) -> str:
        return fmt_value(value, unit, span=span, locale=locale)

    if update.value is not None:
        was = before.value if before else None
        change = (
            "unchanged" if was == update.value else f"was {shown(was)}" if was is not None else ""
        )
        parts.append(shown(update.value) + (f" ({change})" if change else ""))
    if update.confidence is not None:
        parts.append(f"confidence {update.confidence}")
    if update.status is not None:
        parts.append(update.status.label)
    if update.final_score is not None:
        parts.append(f"final score {update.final_score:g}")
    if update.decision is not None:
        parts.append(update.decision.value.replace("_", " "))
    return f"{kr.title}: " + " · ".join(parts)
