"""Every check-in with its answers as CSV (one row per key-result update) or JSON lines (one
check-in per line), for spreadsheets and BI tools: written page by page as the store hands
them out, so an export of years of history holds one page in memory.

The CSV's columns are stable (a BI tool maps them once), its instants ISO 8601 in UTC, its
text guarded against formula injection: a spreadsheet would run a cell that starts with
= + - @ (or a tab or carriage return) as a formula, so such a cell gets a leading apostrophe,
as OWASP advises. Numbers are written as numbers, a negative value included.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from rhythm.forms import KrUpdate
from rhythm.ports import HistoryRepository, StoredCheckIn

PAGE = 500  # check-ins per page read from the store

CSV_COLUMNS = (
    "checkin_id", "revision", "person", "kind", "period", "submitted_at", "spontaneous",
    "key_result", "value", "confidence", "status", "moved", "blockers", "blocked_by_team",
    "blocked_by_kr", "next_step", "final_score", "decision", "notes", "initiatives",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


async def write_checkins(
    store: HistoryRepository,
    org: str,
    out: TextIO,
    *,
    format: ExportFormat,
    since: datetime | None = None,
    revisions: bool = True,
) -> int:
    """Write the organisation's check-ins submitted since `since` (every revision, each with
    its number, unless not `revisions`) to `out`, oldest first; returns how many."""
    writer = csv.writer(out) if format is ExportFormat.CSV else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    written, after = 0, 0
    while True:
        page = await store.checkins_page(
            org, since=since, after=after, limit=PAGE, revisions=revisions
        )
        for checkin in page:
            if writer is not None:
                writer.writerows(csv_rows(checkin))
            else:
                out.write(json_line(checkin) + "\n")
        written += len(page)
        if len(page) < PAGE:
            return written
        after = page[-1].id


def csv_rows(checkin: StoredCheckIn) -> Iterator[list[str]]:
    """One row per key-result update; a check-in without any (a daily pulse's notes) is one
    row with the key-result columns empty and its own blocker, if it named one."""
    draft = checkin.draft
    shared = [
        str(checkin.id), str(checkin.revision), guarded(checkin.person), checkin.kind.value,
        guarded(checkin.period), instant(checkin.submitted_at),
        "true" if checkin.spontaneous else "false",
    ]  # fmt: skip
    tail = [_json(draft.notes), _json(dict(draft.initiatives))]
    if not draft.kr_updates:
        nothing = [""] * 6
        yield [*shared, *nothing, guarded(draft.blocked_by_team or ""),
               guarded(draft.blocked_by_kr or ""), "", "", "", *tail]  # fmt: skip
    for u in draft.kr_updates:
        yield [*shared, *_kr_cells(u), *tail]


def _kr_cells(u: KrUpdate) -> list[str]:
    return [
        guarded(u.key_result), number(u.value), number(u.confidence),
        u.status.value if u.status else "", guarded(u.moved), guarded(u.blockers),
        guarded(u.blocked_by_team or ""), guarded(u.blocked_by_kr or ""), guarded(u.next_step),
        number(u.final_score), u.decision.value if u.decision else "",
    ]  # fmt: skip


def json_line(checkin: StoredCheckIn) -> str:
    """One check-in, nested: its answers per key result and per initiative."""
    draft = checkin.draft
    return _json({
        "checkin_id": checkin.id,
        "revision": checkin.revision,
        "person": checkin.person,
        "kind": checkin.kind.value,
        "period": checkin.period,
        "submitted_at": instant(checkin.submitted_at),
        "spontaneous": checkin.spontaneous,
        "prompt_id": checkin.prompt_id,
        "notes": dict(draft.notes),
        "blocked_by_team": draft.blocked_by_team,
        "blocked_by_kr": draft.blocked_by_kr,
        "key_results": [
            {
                "key_result": u.key_result, "value": u.value, "confidence": u.confidence,
                "status": u.status.value if u.status else None, "moved": u.moved,
                "blockers": u.blockers, "blocked_by_team": u.blocked_by_team,
                "blocked_by_kr": u.blocked_by_kr, "next_step": u.next_step,
                "final_score": u.final_score,
                "decision": u.decision.value if u.decision else None,
            }
            for u in draft.kr_updates
        ],
        "initiatives": {key: status.value for key, status in draft.initiatives},
    })  # fmt: skip


def guarded(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
