"""`load_key_results_csv`: create or update key results from a spreadsheet export.

One row per key result, matched on `key`. For a key the organisation already has, only the
cells that are filled in change it (a sheet with just `key,current` updates current values); a
new key needs at least `objective` and `title`. Like the YAML loader it is all or nothing, and
every problem is reported as `file:line: column: message`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from bot.okrfile.objectives import implied_direction
from bot.okrfile.problems import OkrFileError, Problem
from bot.okrfile.values import (
    email_suggestion,
    parse_bool,
    parse_choice,
    parse_email,
    parse_key,
    parse_number,
    parse_text,
    suggestion,
)
from rhythm.okr import Direction, KeyResult, Metric, Organisation

T = TypeVar("T")

COLUMNS = (
    "objective",
    "key",
    "title",
    "owner",
    "start",
    "target",
    "current",
    "unit",
    "direction",
    "milestone",
)
_METRIC_COLUMNS = ("start", "target", "current", "unit", "direction")
_DELIMITERS = ",;\t"  # spreadsheets in many locales export with ';'


def _direction(text: str) -> Direction:
    return parse_choice(text, Direction)


@dataclass
class _Row:
    """One data row: its cells by column, and the problems found while reading them."""

    file: str
    line: int
    cells: Mapping[str, str]
    problems: list[Problem]

    def report(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, column, message))

    def has(self, column: str) -> bool:
        return bool(self.cells.get(column, ""))

    def get(self, column: str, parse: Callable[[str], T]) -> T | None:
        text = self.cells.get(column, "")
        if not text:
            return None
        try:
            return parse(text)
        except ValueError as error:
            self.report(column, str(error))
            return None

    def reference(self, column: str, parse: Callable[[str], str], known: Mapping[str, object],
                  kind: str) -> str | None:  # fmt: skip
        value = self.get(column, parse)
        if value is not None and value not in known:
            suggest = email_suggestion if kind == "person" else suggestion
            self.report(column, f"unknown {kind} {value!r}{suggest(value, known)}")
            return None
        return value


def _milestone(row: _Row, before: Metric | None) -> Metric | None:
    for column in ("start", "target", "unit", "direction"):
        if row.has(column):
            row.report(column, "a milestone has no start, target, unit or direction")
    current = row.get("current", parse_number)
    if current is not None and current not in (0, 1):
        row.report("current", f"a milestone is 0 (not done) or 1 (done), got {current:g}")
        return None
    if current is None:
        current = before.current if before is not None and before.milestone else 0.0
    return Metric(start=0.0, target=1.0, current=current, milestone=True)


def _metric(row: _Row, before: Metric | None) -> Metric | None:
    """The metric after this row: the one before, changed by the cells filled in."""
    milestone = row.get("milestone", parse_bool)
    if milestone is None and before is not None and before.milestone:
        milestone = any(row.has(c) for c in _METRIC_COLUMNS) or None
    if milestone:
        return _milestone(row, before)
    if milestone is None and not any(row.has(c) for c in _METRIC_COLUMNS):
        return before
    numeric = before if before is not None and not before.milestone else None
    start = row.get("start", parse_number)
    target = row.get("target", parse_number)
    current = row.get("current", parse_number)
    unit = row.cells.get("unit", "")
    direction = row.get("direction", _direction)
    start = numeric.start if start is None and numeric else start
    target = numeric.target if target is None and numeric else target
    for column, value in (("start", start), ("target", target)):
        if value is None and not row.has(column):
            row.report(column, "required: this key result has no numeric metric yet")
    if start is None or target is None:
        return None
    implied = implied_direction(start, target)
    if direction is not None and start != target and direction is not implied:
        row.report("direction", f"{direction} contradicts start {start:g} and target {target:g}")
        return None
    if current is None:
        current = numeric.current if numeric else start
    return Metric(
        start=start,
        target=target,
        current=current,
        unit=unit or (numeric.unit if numeric else ""),
        direction=direction or implied,
    )


def _key_result(row: _Row, org: Organisation, before: KeyResult | None) -> KeyResult | None:
    objective = row.reference("objective", parse_key, org.objective, "objective")
    title = row.get("title", parse_text)
    owner = row.reference("owner", parse_email, org.person, "person")
    metric = _metric(row, before.metric if before else None)
    if before is None:
        for column, value in (("objective", objective), ("title", title)):
            if value is None and not row.has(column):
                row.report(column, "required for a new key result")
    objective = objective or (before.objective if before else None)
    title = title or (before.title if before else None)
    owner = owner or (before.owner if before else None)
    if objective is None or title is None:
        return None
    key = row.cells["key"]
    return KeyResult(key=key, objective=objective, title=title, owner=owner, metric=metric)


def _header(file: str, cells: list[str], problems: list[Problem]) -> list[str]:
    columns = [cell.strip().lower().replace(" ", "_") for cell in cells]
    for i, column in enumerate(columns):
        if column not in COLUMNS:
            hint = suggestion(column, COLUMNS) or f"; expected some of: {', '.join(COLUMNS)}"
            problems.append(Problem(file, 1, cells[i], f"unknown column{hint}"))
        elif column in columns[:i]:
            problems.append(Problem(file, 1, cells[i], "duplicate column"))
    if "key" not in columns:
        problems.append(Problem(file, 1, "key", "the key column is required"))
    return columns


def parse_key_results_csv(text: str, base: Organisation, *, file: str = "<string>") -> Organisation:
    """`base` with the key results of the CSV `text` created or updated."""
    first_line = text.lstrip("\ufeff").partition("\n")[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    problems: list[Problem] = []
    header = next(reader, None)
    if header is None:
        raise OkrFileError([Problem(file, None, "", "the file is empty: it needs a header row")])
    columns = _header(file, header, problems)
    updated = dict(base.key_result)
    seen: dict[str, int] = {}
    line = reader.line_num + 1
    for cells in reader:
        row = _Row(file, line, dict(zip(columns, (c.strip() for c in cells), strict=False)), [])
        line = reader.line_num + 1
        if not any(row.cells.values()):
            continue
        if len(cells) > len(columns):
            row.report("", f"{len(cells)} cells but the header has {len(columns)} columns")
        key = row.get("key", parse_key)
        if key is None and not row.has("key"):
            row.report("key", "required")
        elif key is not None and key in seen:
            row.report("key", f"key result {key!r} is already on line {seen[key]}")
        elif key is not None:
            seen[key] = row.line
            kr = _key_result(row, base, base.key_result.get(key))
            if kr is not None:
                updated[key] = kr
        problems.extend(row.problems)
    if problems:
        raise OkrFileError(problems)
    # Keep key results grouped by objective, the order of the tree and of the YAML file.
    position = {objective.key: i for i, objective in enumerate(base.objectives)}
    ordered = sorted(updated.values(), key=lambda kr: position.get(kr.objective, len(position)))
    return replace(base, key_results=tuple(ordered))


def load_key_results_csv(path: Path, base: Organisation) -> Organisation:
    """`base` with the key results of the CSV file at `path` created or updated.

    OkrFileError lists every problem as `file:line: column: message`; nothing changes unless
    every row is valid.
    """
    return parse_key_results_csv(path.read_text(encoding="utf-8-sig"), base, file=str(path))
