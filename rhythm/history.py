"""`history KEY` and `history @person`: the last check-ins, as a table anyone can read; a key
result's shows the values other systems pushed too, as rows of their own ("(automatic: ci)")."""

from __future__ import annotations

from collections.abc import Sequence

from rhythm.messages import Table
from rhythm.okr import KeyResult, Organisation
from rhythm.present import fmt_value
from rhythm.records import HistoryEntry
from rhythm.wording import shorten

SHOWN = 10
WORDS = 140  # of what moved and of blockers, per row


def key_result_history(org: Organisation, kr: KeyResult, entries: Sequence[HistoryEntry]) -> Table:
    columns = ("When", "Who", "Value", "Confidence", "Status", "What moved", "Blockers")
    rows = tuple((_when(org, e), _who(org, e), *_answers(org, e)) for e in entries)
    footer = _footer(entries, f"No check-in on {kr.title} yet.")
    return Table(f"{kr.title} · last check-ins", columns, rows, footer)


def person_history(org: Organisation, person: str, entries: Sequence[HistoryEntry]) -> Table:
    columns = ("Key result", "When", "Value", "Confidence", "Status", "What moved", "Blockers")
    rows = tuple((_title(org, e.key_result), _when(org, e), *_answers(org, e)) for e in entries)
    name = org.person[person].name
    footer = _footer(entries, f"{name} has not checked in on a key result yet.")
    return Table(f"{name} · last check-ins", columns, rows, footer)


def _footer(entries: Sequence[HistoryEntry], empty: str) -> str:
    if not entries:
        return empty
    edited = sum(1 for e in entries if e.revision > 1)
    note = f" ({edited} edited after submitting: the latest revision is shown)" if edited else ""
    return f"The latest {len(entries)}, newest first{note}."


def _title(org: Organisation, key: str) -> str:
    kr = org.key_result.get(key)
    return kr.title if kr else key


def _who(org: Organisation, entry: HistoryEntry) -> str:
    if entry.source is not None:
        return f"(automatic: {entry.source})"
    person = org.person.get(entry.update.person)
    return person.name if person else entry.update.person


def _when(org: Organisation, entry: HistoryEntry) -> str:
    # A push has no person: the day is the key result's owner's.
    kr = org.key_result.get(entry.key_result)
    who = entry.update.person if entry.source is None else (kr.owner if kr else None)
    person = org.person.get(who or "")
    at = entry.update.submitted_at.astimezone(person.zone) if person else entry.update.submitted_at
    return f"{at:%a %d %b} · {entry.period}" if entry.period else f"{at:%a %d %b %H:%M}"


def _answers(org: Organisation, entry: HistoryEntry) -> tuple[str, str, str, str, str]:
    u = entry.update
    kr = org.key_result.get(entry.key_result)
    metric = kr.metric if kr else None
    span = metric.target - metric.start if metric else None
    value = (
        fmt_value(u.value, metric.unit if metric else "", span=span, locale=org.locale)
        if u.value is not None
        else "–"
    )
    blocked = org.team.get(u.blocked_by_team or "")
    blockers = u.blockers + (f" (waiting on {blocked.name})" if blocked else "")
    return (
        value,
        f"{u.confidence}/10" if u.confidence is not None else "–",
        u.status.label if u.status else "–",
        shorten(u.moved, WORDS) or "–",
        shorten(blockers.strip(), WORDS) or "–",
    )
