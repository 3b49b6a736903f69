"""What a person sees when they are prompted, reminded, or have checked in."""

from __future__ import annotations

from datetime import datetime

from rhythm.cadences import RhythmKind
from rhythm.digest import progress_bar
from rhythm.forms import Status
from rhythm.messages import Action, Notice
from rhythm.okr import KeyResult, Organisation
from rhythm.ports import PromptRecord, SavedCheckIn

OPEN = "checkin:open"
SNOOZE = "checkin:snooze"
OFF = "checkin:off"

TITLES = {
    RhythmKind.DAILY: "Daily pulse",
    RhythmKind.WEEKLY: "Weekly check-in",
    RhythmKind.MONTHLY: "Monthly review",
    RhythmKind.END_OF_CYCLE: "End-of-cycle strategy refresh",
}


def fmt_value(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = str(int(value)) if float(value).is_integer() else f"{value:.4g}"
    return f"{text}{unit}"


def kr_summary(kr: KeyResult, confidence: int | None = None) -> str:
    metric = kr.metric
    if metric is None:
        return f"{kr.title} · no metric"
    conf = f" · confidence {confidence}/10" if confidence is not None else ""
    return (
        f"{kr.title} · {fmt_value(metric.current, metric.unit)} of "
        f"{fmt_value(metric.target, metric.unit)} {progress_bar(kr.progress())}{conf}"
    )


def prompt_actions(prompt_id: int) -> tuple[Action, ...]:
    return (
        Action(OPEN, "Check in", str(prompt_id), primary=True),
        Action(SNOOZE, "Snooze 2h", str(prompt_id)),
        Action(OFF, "I'm off this week", str(prompt_id)),
    )


def prompt_notice(
    org: Organisation, prompt: PromptRecord, confidences: dict[str, int | None]
) -> Notice:
    person = org.person[prompt.person]
    krs = org.key_results_of(prompt.person)
    lines: tuple[str, ...]
    if prompt.kind is RhythmKind.DAILY:
        lines = ("What is your focus today, and is anything blocking you?",)
    else:
        lines = tuple(kr_summary(kr, confidences.get(kr.key)) for kr in krs)
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
        lines=(f"Your team is waiting for your update. It takes a minute; due {due}.",),
        actions=prompt_actions(prompt.id),
    )


def done_notice(
    org: Organisation,
    person: str,
    kind: RhythmKind,
    period: str,
    at: datetime,
    saved: SavedCheckIn,
    statuses: dict[str, Status | None],
) -> Notice:
    who = org.person[person]
    local = at.astimezone(who.zone).strftime("%H:%M")
    counts: dict[str, int] = {}
    for status in statuses.values():
        if status:
            counts[status.label] = counts.get(status.label, 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in counts.items())
    edit = f" (revision {saved.revision})" if saved.revision > 1 else ""
    return Notice(
        title=f"✅ Checked in at {local}{edit}",
        lines=(f"{TITLES[kind]} · {period}" + (f": {summary}" if summary else ""),),
    )
