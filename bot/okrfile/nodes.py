"""Reading a composed YAML tree field by field, collecting every problem with its line.

The file is composed, not loaded: composing keeps each node's position, the raw text of each
scalar and every duplicated key, which PyYAML's loaders throw away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.okrfile.problems import OkrFileError, Problem
from bot.okrfile.values import suggestion

T = TypeVar("T")

_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

try:  # libyaml parses several times faster and gives the same marks
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """Tags every plain scalar as text, except null and the "<<" merge key.

    The readers parse the raw text themselves, so YAML 1.1's guessing (10:30 is the number 630,
    no is False) never applies; skipping it also makes composing a large file a third faster.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0] and value in _NULLS:
                return _NULL
            if implicit[0] and value == "<<":
                return _MERGE
            return self.DEFAULT_SCALAR_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG


def compose(text: str, file: str) -> Node | None:
    """The YAML node tree of `text`, or OkrFileError pointing at a syntax error."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(filter(None, (error.context, error.problem)))
        raise OkrFileError([Problem(file, line, "", f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as error:
        raise OkrFileError([Problem(file, None, "", f"invalid YAML: {error}")]) from None


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"{node.value!r}"


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


class Reader:
    """Walks nodes and records problems instead of stopping at the first one."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self._constructor = SafeConstructor()

    def report(self, node: Node | None, path: str, message: str) -> None:
        line = line_of(node) if node is not None else None
        self.problems.append(Problem(self.file, line, path, message))

    def text(self, node: Node, path: str) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)
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
        return [(f"{path}[{i}]", item) for i, item in enumerate(node.value)]

    def _pairs(self, node: Node, path: str, expected: str) -> list[tuple[Node, Node]] | None:
        if not isinstance(node, MappingNode):
            self.report(node, path, f"expected {expected}, got {describe(node)}")
            return None
        own = sum(1 for key, _ in node.value if key.tag != _MERGE)
        try:
            self._constructor.flatten_mapping(node)  # puts the pairs of "<<: *x" first
        except ConstructorError as error:
            self.report(node, path, f"invalid merge key: {error.problem}")
            return None
        merged, mine = node.value[: len(node.value) - own], node.value[len(node.value) - own :]
        # A field written in the mapping overrides a merged one; among merged ones the first
        # listed wins, which flatten_mapping puts last.
        names = {key.value for key, _ in mine if isinstance(key, ScalarNode)}
        inherited = {
            key.value: (key, value)
            for key, value in merged
            if isinstance(key, ScalarNode) and key.value not in names
        }
        node.value = [*inherited.values(), *mine]  # so that a second visit (an alias) agrees
        return list(node.value)

    def entries(self, node: Node, path: str) -> list[tuple[ScalarNode, Node]]:
        """The pairs of a mapping whose names are the author's own, e.g. holiday calendars."""
        pairs = self._pairs(node, path, "a mapping of names to values")
        found = []
        for key_node, value_node in pairs or ():
            if isinstance(key_node, ScalarNode):
                found.append((key_node, value_node))
            else:
                self.report(key_node, path, "names must be plain words")
        return found

    def mapping(self, node: Node, path: str, allowed: Sequence[str]) -> Fields | None:
        pairs = self._pairs(node, path, "a mapping of fields")
        if pairs is None:
            return None
        entries: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in pairs:
            name = str(key_node.value) if isinstance(key_node, ScalarNode) else None
            here = f"{path}.{name}" if path and name else name or path
            if name is None:
                self.report(key_node, path, "field names must be plain words")
            elif name in entries:
                first = line_of(entries[name][0])
                self.report(key_node, here, f"duplicate field (first on line {first})")
            elif name not in allowed:
                hint = suggestion(name, allowed) or f"; expected one of: {', '.join(allowed)}"
                self.report(key_node, here, f"unknown field {name!r}{hint}")
            else:
                entries[name] = (key_node, value_node)
        return Fields(self, cast(MappingNode, node), path, entries)


class Fields:
    """One YAML mapping whose field names have been checked, read one field at a time."""

    def __init__(
        self, reader: Reader, node: MappingNode, path: str, entries: dict[str, tuple[Node, Node]]
    ) -> None:
        self.reader = reader
        self.node = node
        self.path = path
        self._entries = entries

    def at(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str) -> Node | None:
        """The value node of `name`; None when the field is absent or left empty."""
        entry = self._entries.get(name)
        if entry is None or is_null(entry[1]):
            return None
        return entry[1]

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def missing(self, name: str) -> None:
        entry = self._entries.get(name)
        if entry is None:
            self.reader.report(self.node, self.at(name), "required field is missing")
        else:
            self.reader.report(entry[0], self.at(name), "required field is empty")

    def value(self, name: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        node = self.get(name)
        if node is None:
            if required:
                self.missing(name)
            return None
        return self.reader.value(node, self.at(name), parse)

    def items(self, name: str) -> list[tuple[str, Node]]:
        node = self.get(name)
        return [] if node is None else self.reader.sequence(node, self.at(name))

    def mapping(self, name: str, allowed: Sequence[str]) -> Fields | None:
        node = self.get(name)
        return None if node is None else self.reader.mapping(node, self.at(name), allowed)
