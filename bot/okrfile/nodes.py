"""Reading a composed YAML tree field by field, collecting every problem with its line.

The file is composed (see `tree`), not loaded: composing keeps each value's line, the raw
text of each scalar and every duplicated key, which PyYAML's loaders throw away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar, cast

import yaml

from bot.okrfile.problems import OkrFileError, Problem
from bot.okrfile.tree import Child, LimitExceeded, Mapping, Node, Null, Scalar, name_of, node_of
from bot.okrfile.tree import Sequence as SequenceNode
from bot.okrfile.tree import compose as compose_tree
from bot.okrfile.values import suggestion

T = TypeVar("T")


def compose(source: str | bytes, file: str) -> Node | None:
    """The tree of `source`, or OkrFileError pointing at a syntax error or a limit."""
    try:
        return compose_tree(source)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(filter(None, (error.context, error.problem)))
        raise OkrFileError([Problem(file, line, "", f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as error:
        raise OkrFileError([Problem(file, None, "", f"invalid YAML: {error}")]) from None
    except LimitExceeded as error:
        raise OkrFileError([Problem(file, error.line, "", error.message)]) from None


def line_of(node: Node) -> int:
    return node.line


def describe(node: Node) -> str:
    if isinstance(node, Mapping):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"{node.value!r}"


def is_null(node: Node) -> bool:
    return isinstance(node, Null)


class Reader:
    """Walks nodes and records problems instead of stopping at the first one."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def report(self, node: Node | None, path: str, message: str) -> None:
        self.report_at(node.line if node is not None else None, path, message)

    def report_at(self, line: int | None, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, path, message))

    def text(self, node: Node, path: str) -> str | None:
        if isinstance(node, Scalar):
            return node.value
        self.report(node, path, f"expected a single value, got {describe(node)}")
        return None

    def value(self, node: Node, path: str, parse: Callable[[str], T]) -> T | None:
        text = self.text(node, path)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as error:
            self.report(node, path, str(error))
            return None

    def sequence(self, node: Node, path: str) -> list[tuple[str, Node]]:
        """The items of a list as (path, node), e.g. ("people[3]", node)."""
        if not isinstance(node, SequenceNode):
            self.report(node, path, f"expected a list, got {describe(node)}")
            return []
        return [(f"{path}[{i}]", item) for i, item in enumerate(node.items)]

    def _is_mapping(self, node: Node, path: str, expected: str) -> bool:
        if not isinstance(node, Mapping):
            self.report(node, path, f"expected {expected}, got {describe(node)}")
            return False
        if node.merge_problem is not None:
            self.report(node, path, f"invalid merge key: {node.merge_problem}")
            return False
        return True

    def entries(self, node: Node, path: str) -> list[tuple[Scalar, Node]]:
        """The pairs of a mapping whose names are the author's own, e.g. holiday calendars."""
        if not self._is_mapping(node, path, "a mapping of names to values"):
            return []
        found = []
        for key, key_line, value, value_line in cast(Mapping, node).pairs():
            name = name_of(key)
            if name is None:
                self.report_at(key_line, path, "names must be plain words")
            else:
                found.append((Scalar(name, key_line), node_of(value, value_line)))
        return found

    def mapping(self, node: Node, path: str, allowed: Sequence[str]) -> Fields | None:
        if not self._is_mapping(node, path, "a mapping of fields"):
            return None
        entries: dict[str, Entry] = {}
        for key, key_line, value, value_line in cast(Mapping, node).pairs():
            name = key if type(key) is str else name_of(key)
            if name is not None and name in allowed and name not in entries:
                entries[name] = (key_line, value, value_line)
            else:
                self._misplaced(name, key_line, path, allowed, entries)
        return Fields(self, cast(Mapping, node), path, entries)

    def _misplaced(
        self,
        name: str | None,
        line: int,
        path: str,
        allowed: Sequence[str],
        entries: dict[str, Entry],
    ) -> None:
        """Report a field that has no place in a mapping: why not."""
        here = f"{path}.{name}" if path and name else name or path
        if name is None:
            self.report_at(line, path, "field names must be plain words")
        elif name in entries:
            first = entries[name][0]
            self.report_at(line, here, f"duplicate field (first on line {first})")
        else:
            hint = suggestion(name, allowed) or f"; expected one of: {', '.join(allowed)}"
            self.report_at(line, here, f"unknown field {name!r}{hint}")


Entry = tuple[int, Child, int]  # a field as its mapping keeps it: name's line, value, its line


class Fields:
    """One YAML mapping whose field names have been checked, read one field at a time."""

    def __init__(self, reader: Reader, node: Mapping, path: str, entries: dict[str, Entry]) -> None:
        self.reader = reader
        self.node = node
        self.path = path
        self._entries = entries

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str) -> Node | None:
        """The value node of `name`; None when the field is absent or left empty."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        node = node_of(entry[1], entry[2])
        return None if isinstance(node, Null) else node

    def has(self, name: str) -> bool:
        entry = self._entries.get(name)
        return entry is not None and not isinstance(entry[1], Null)

    def line(self, name: str) -> int:
        """The line of the value of `name`; the mapping's when it is absent or empty."""
        entry = self._entries.get(name)
        return self.node.line if entry is None or isinstance(entry[1], Null) else entry[2]

    def missing(self, name: str) -> None:
        entry = self._entries.get(name)
        if entry is None:
            self.reader.report(self.node, self.at(name), "required field is missing")
        else:
            self.reader.report_at(entry[0], self.at(name), "required field is empty")

    def value(self, name: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        entry = self._entries.get(name)
        if entry is not None and type(entry[1]) is str:  # an ordinary value: the usual case
            try:
                return parse(entry[1])
            except ValueError as error:
                self.reader.report_at(entry[2], self.at(name), str(error))
                return None
        if entry is None or isinstance(entry[1], Null):
            if required:
                self.missing(name)
            return None
        return self.reader.value(node_of(entry[1], entry[2]), self.at(name), parse)

    def items(self, name: str) -> list[tuple[str, Node]]:
        node = self.get(name)
        return [] if node is None else self.reader.sequence(node, self.at(name))

    def mapping(self, name: str, allowed: Sequence[str]) -> Fields | None:
        node = self.get(name)
        return None if node is None else self.reader.mapping(node, self.at(name), allowed)
