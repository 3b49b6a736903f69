"""What the section readers share: the problem log, the keys defined so far, the references
still to resolve, and the progress callback."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from bot.okrfile.nodes import Reader
from bot.okrfile.values import email_suggestion, suggestion

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Located:
    """A value as written in the file, kept to point at it in a later problem."""

    value: str
    line: int
    path: str


class Registry:
    """Keys defined per kind ("team", "person"...), and references that must name one of them.

    References are checked once the whole file is read, so an objective may name a parent
    defined further down.
    """

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._defined: dict[str, dict[str, int]] = {}  # kind -> key -> line
        self._references: list[tuple[str, Located]] = []

    def define(self, kind: str, key: str, line: int, path: str) -> bool:
        """Record `key`, written on `line`; False (and a problem) when it was already defined."""
        known = self._defined.setdefault(kind, {})
        if key in known:
            first = known[key]
            self._reader.report_at(line, path, f"duplicate {kind} {key!r} (first on line {first})")
            return False
        known[key] = line
        return True

    def refer(self, kind: str, reference: Located) -> None:
        self._references.append((kind, reference))

    def keys(self, kind: str) -> Mapping[str, int]:
        return self._defined.get(kind, {})

    def check_references(self) -> None:
        # A hint compares the mistake with every key of its kind: work it out once per mistake,
        # however often it is made (a person left, their key results still name them).
        hints: dict[tuple[str, str], str] = {}
        for kind, ref in self._references:
            known = self.keys(kind)
            if ref.value not in known:
                if (kind, ref.value) not in hints:
                    suggest = email_suggestion if kind == "person" else suggestion
                    hints[kind, ref.value] = suggest(ref.value, known)
                hint = hints[kind, ref.value]
                self._reader.report_at(ref.line, ref.path, f"unknown {kind} {ref.value!r}{hint}")

    def check_loops(self, kind: str, parents: Mapping[str, Located]) -> None:
        """Report each loop in a child -> parent relation once, at the first parent field."""
        for loop in _loops({child: p.value for child, p in parents.items()}):
            where = parents[loop[0]]
            chain = " → ".join([*loop, loop[0]])
            self._reader.report_at(where.line, where.path, f"{kind} parents form a loop: {chain}")


def _loops(parent_of: Mapping[str, str]) -> Iterator[list[str]]:
    """The loops of rhythm.lint.parent_loops, in the same order, in linear time.

    parent_loops walks up from every child afresh, which takes quadratic time on a long chain
    of parents (a valid file could hold one); here a walk stops where an earlier one went.
    """
    walked: set[str] = set()
    for start in parent_of:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current in parent_of and current not in walked:
            walked.add(current)
            path.append(current)
            on_path.add(current)
            current = parent_of[current]
        if current is not None and current in on_path:  # not a loop met on an earlier walk
            yield path[path.index(current) :]


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

    def refer(self, kind: str, value: str, line: int, path: str) -> None:
        self.registry.refer(kind, Located(value, line, path))
