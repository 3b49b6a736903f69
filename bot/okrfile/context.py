"""What the section readers share: the problem log, the keys defined so far, the references
still to resolve, and the progress callback."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from yaml.nodes import Node

from bot.okrfile.nodes import Reader, line_of
from bot.okrfile.values import email_suggestion, suggestion
from rhythm.lint import parent_loops

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Located:
    """A value as written in the file, kept to point at it in a later problem."""

    value: str
    node: Node
    path: str


class Registry:
    """Keys defined per kind ("team", "person"...), and references that must name one of them.

    References are checked once the whole file is read, so an objective may name a parent
    defined further down.
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._defined: dict[str, dict[str, Node]] = {}
        self._references: list[tuple[str, Located]] = []

    def define(self, kind: str, key: str, node: Node, path: str) -> bool:
        """Record `key`; False (and a problem) when it was already defined."""
        known = self._defined.setdefault(kind, {})
        if key in known:
            first = line_of(known[key])
            self._reader.report(node, path, f"duplicate {kind} {key!r} (first on line {first})")
            return False
        known[key] = node
        return True

    def refer(self, kind: str, reference: Located) -> None:
        self._references.append((kind, reference))

    def keys(self, kind: str) -> Mapping[str, Node]:
        return self._defined.get(kind, {})

    def check_references(self) -> None:
        for kind, ref in self._references:
            known = self.keys(kind)
            if ref.value not in known:
                suggest = email_suggestion if kind == "person" else suggestion
                hint = suggest(ref.value, known)
                self._reader.report(ref.node, ref.path, f"unknown {kind} {ref.value!r}{hint}")

    def check_loops(self, kind: str, parents: Mapping[str, Located]) -> None:
        """Report each loop in a child -> parent relation once, at the first parent field."""
        relation: dict[str, str | None] = {child: p.value for child, p in parents.items()}
        for loop in parent_loops(relation):
            where = parents[loop[0]]
            chain = " → ".join([*loop, loop[0]])
            self._reader.report(where.node, where.path, f"{kind} parents form a loop: {chain}")


class Progress:
    """Calls back (done, total) about 200 times at most, and always at the end."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self._callback = callback
        self.total = total
        self.done = 0
        self._every = max(1, total // 200)
        if callback is not None:
            callback(0, total)

    def step(self) -> None:
        self.done += 1
        if self._callback is not None and (self.done % self._every == 0 or self.done == self.total):
            self._callback(self.done, self.total)


@dataclass
class Context:
    reader: Reader
    registry: Registry
    progress: Progress
    parents: dict[str, dict[str, Located]] = field(default_factory=dict)

    def refer(self, kind: str, value: str, node: Node, path: str) -> None:
        self.registry.refer(kind, Located(value, node, path))
