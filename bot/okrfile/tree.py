"""A YAML document as a compact tree of raw values and their lines, built from parser events.

PyYAML's composer keeps a node object per value, each with a dict, a tag, a style and two
`Mark` objects: about 450 bytes a value, close to 1 GB for a 20 MB file. The readers need
only each value's text as written, its line and whether it is empty, so this composer keeps
just that, and never guesses types as YAML 1.1 would (10:30 is not the number 630, `no` is
not False): the readers parse each text themselves.

A collection stores its children flat, as (child, line) pairs, where a child is the text
itself (`str`) for an ordinary value and a node for anything else (a collection, an empty
value, a "<<" merge key); the readers get `Scalar` nodes made when they ask. Texts repeat a
lot (field names, team keys, emails, dates) and are stored once each. Merge keys are merged
as each mapping is composed.

Two limits keep a hostile file from exhausting memory or time: at most `MAX_VALUES` values,
and aliases may stand for at most as many values as the file writes out (or
`ALIAS_ALLOWANCE`, whichever is more): a "billion laughs" file, where each anchor repeats the
previous one ten times, is refused after a few hundred events instead of expanding forever.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from yaml.composer import ComposerError
from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

# A 10,000-person organisation is about 530,000 values in 5.6 MB. Terser files hold a value
# every 7 bytes: about 9.6 million at the size limit (64 MiB, loader.MAX_FILE_BYTES). Only a
# file packed tighter than people write (`[0,0,0,...]`) goes beyond, and is stopped there.
MAX_VALUES = 12_000_000
ALIAS_ALLOWANCE = 1_000_000  # values aliases may add to a small file (defaults merged in...)

_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

try:  # libyaml parses several times faster and reports the same lines and errors
    from yaml import CSafeLoader as _Parser
except ImportError:  # a PyYAML built without libyaml
    from yaml import SafeLoader as _Parser  # type: ignore[assignment]


class Scalar:
    """A single value: its text as written (the readers parse it themselves), and its line."""

    __slots__ = ("line", "value")

    def __init__(self, value: str, line: int) -> None:
        self.value = value
        self.line = line


class Null(Scalar):
    """An empty value (`parent:`, `~`, `null`): the same as a field left out."""

    __slots__ = ()


class MergeKey(Scalar):
    """`<<` as a key: the mapping (or list of mappings) it names is merged into this one.

    Anywhere else it is just the text "<<".
    """

    __slots__ = ()


class Sequence:
    __slots__ = ("_flat", "line")

    def __init__(self, line: int, flat: tuple[Child | int, ...]) -> None:
        self.line = line
        self._flat = flat  # child, line, child, line...

    @property
    def count(self) -> int:
        return len(self._flat) // 2

    @property
    def items(self) -> list[Node]:
        flat = self._flat
        return [node_of(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]  # type: ignore[arg-type]


class Mapping:
    __slots__ = ("_flat", "line", "merge_problem")

    def __init__(self, line: int, flat: tuple[Child | int, ...], merge_problem: str | None) -> None:
        self.line = line
        self._flat = flat  # key, key line, value, value line...
        self.merge_problem = merge_problem  # why its "<<" keys could not be merged

    def pairs(self) -> Iterator[tuple[Child, int, Child, int]]:
        """(key, its line, value, its line) of each pair, merged ones first. A key or value is
        its text when it is an ordinary value, else a node (see `node_of`, `name_of`)."""
        each = iter(self._flat)
        return zip(each, each, each, each, strict=True)  # type: ignore[arg-type]


Node = Scalar | Sequence | Mapping
Child = str | Node  # as a collection keeps it: the text of an ordinary value, else a node


def node_of(child: Child, line: int) -> Node:
    return Scalar(child, line) if type(child) is str else child  # type: ignore[return-value]


def name_of(key: Child) -> str | None:
    """The name a key gives its value; None when the key is a collection (`? [a, b]: c`)."""
    if type(key) is str:
        return key
    return key.value if isinstance(key, Scalar) else None


class LimitExceeded(Exception):
    """The file is refused before it is read: too many values, an alias bomb, or an alias
    inside the value it names (which would never end)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _kind_name(child: Any) -> str:
    """PyYAML's name for the kind of a node, as its merge errors say it."""
    if isinstance(child, Mapping):
        return "mapping"
    return "sequence" if isinstance(child, Sequence) else "scalar"


def _merge_source(child: Any, into: list[Any]) -> str | None:
    """Add the pairs `<<: child` merges to `into`; a problem when it is not a mapping or a
    list of mappings (in PyYAML's words). The mappings of a list go in reverse order: as the
    YAML merge key says, the first listed wins, and in `_merged` a later pair wins."""
    if isinstance(child, Mapping):
        into.extend(child._flat)
        return child.merge_problem
    if not isinstance(child, Sequence):
        found = _kind_name(child)
        return f"expected a mapping or list of mappings for merging, but found {found}"
    sources = []
    for item in child._flat[::2]:
        if not isinstance(item, Mapping):
            return f"expected a mapping for merging, but found {_kind_name(item)}"
        if item.merge_problem is not None:
            return item.merge_problem
        sources.append(item._flat)
    for source in reversed(sources):
        into.extend(source)
    return None


def _merged(flat: list[Any]) -> tuple[tuple[Any, ...], str | None]:
    """The pairs of a mapping with "<<" keys: the merged pairs the mapping does not set
    itself (the first merged of a name wins), then its own, in their order."""
    own: list[Any] = []
    merged: list[Any] = []
    problem = None
    for i in range(0, len(flat), 4):
        if isinstance(flat[i], MergeKey):
            problem = problem or _merge_source(flat[i + 2], merged)
        else:
            own.extend(flat[i : i + 4])
    names = {name_of(key) for key in own[::4]} - {None}
    inherited: dict[str, list[Any]] = {}
    for i in range(0, len(merged), 4):
        name = name_of(merged[i])
        if name is not None and name not in names:
            # Later pairs come from mappings listed earlier: they win, in the first's place.
            inherited[name] = merged[i : i + 4]
    pairs = [part for pair in inherited.values() for part in pair]
    return tuple(pairs + own), problem


class _Open:
    """A collection being composed, with the counts of values when it was opened: its own
    count is what they grew by when it closes."""

    __slots__ = ("aliased", "anchor", "flat", "is_mapping", "line", "merges", "written")

    def __init__(
        self, line: int, anchor: str | None, is_mapping: bool, written: int, aliased: int
    ) -> None:
        self.flat: list[Any] = []
        self.line = line
        self.anchor = anchor
        self.is_mapping = is_mapping
        self.merges = False  # whether a "<<" key was added
        self.written = written
        self.aliased = aliased

    def close(self, written: int, aliased: int) -> tuple[Sequence | Mapping, int]:
        """The node, and how many values it stands for (itself included)."""
        size = 1 + written - self.written + aliased - self.aliased
        if not self.is_mapping:
            return Sequence(self.line, tuple(self.flat)), size
        if self.merges:
            return Mapping(self.line, *_merged(self.flat)), size
        return Mapping(self.line, tuple(self.flat), None), size


_OPEN_ANCHOR = (None, 0, 0)  # an anchor whose collection is not finished yet
_SPECIAL = _NULLS | {"<<"}  # texts that may be something else than text


class _Composer:
    """Builds the tree event by event; see the module docstring.

    `written` counts the values written in the file so far (the hot loop keeps it in a local
    and hands it over), `_aliased` the values the aliases so far stand for.
    """

    def __init__(self, get_event: Callable[[], Any]) -> None:
        self._get_event = get_event
        self._open: list[_Open] = []
        self._anchors: dict[str, tuple[Any, int, int]] = {}  # child, line, values
        self._texts: dict[str, str] = {}  # each distinct text once
        self._aliased = 0

    def document(self) -> Node | None:
        """The root of the only document of the stream; None when there is none."""
        get_event = self._get_event
        get_event()  # StreamStartEvent
        if isinstance(get_event(), StreamEndEvent):
            return None
        root = self._root()
        get_event()  # DocumentEndEvent
        event = get_event()
        if not isinstance(event, StreamEndEvent):  # the start of a second document
            raise ComposerError(
                "expected a single document in the stream",
                None,
                "but found another document",
                event.start_mark,
            )
        return root

    def _root(self) -> Node:
        """The values of one document: the hot loop of loading a file, one turn per event.

        An ordinary value (no tag, no anchor, not possibly empty or "<<") inside a collection
        takes the short way.
        """
        get_event = self._get_event
        text = self._texts.setdefault
        stack = self._open
        add: Callable[[Any], None] = [].append  # to the innermost open collection's children
        written = 0
        event_line = -1
        line = 0  # shared by the values of a line: each int above 256 takes 28 bytes
        while True:
            event = get_event()
            kind = type(event)
            if event.start_mark.line != event_line:
                event_line = event.start_mark.line
                line = event_line + 1
            if kind is ScalarEvent:
                written += 1
                value = event.value
                ordinary = event.tag is None and event.anchor is None and value not in _SPECIAL
                if ordinary and stack and written <= MAX_VALUES:
                    add(text(value, value))
                    add(line)
                    continue
                child, child_line = self._scalar(event, line, written), line
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                written += 1
                add = self._start(event, line, written, kind is MappingStartEvent).flat.append
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                child, child_line, _ = self._close(written)
            else:  # an alias, the only other event inside a document
                child, child_line, _ = self._alias(event, written)
            if not stack:
                return node_of(child, child_line)
            parent = stack[-1]
            add = parent.flat.append
            add(child)
            add(child_line)
            if type(child) is MergeKey:
                parent.merges = True

    def _scalar(self, event: Any, line: int, written: int) -> Any:
        """The child for a scalar with a tag or an anchor, or that may be empty or "<<"."""
        _check_written(written, line)
        value: str = event.value
        tag = event.tag
        if (tag is None or tag == "!") and event.implicit[0]:  # as PyYAML's resolver
            tag = _NULL_TAG if value in _NULLS else _MERGE_TAG if value == "<<" else None
        child: Any
        if tag == _NULL_TAG:
            child = Null(value, line)
        elif tag == _MERGE_TAG:
            child = MergeKey(value, line)
        else:
            child = self._texts.setdefault(value, value)
        if event.anchor is not None:
            self._define(event.anchor, event, (child, line, 1))
        return child

    def _start(self, event: Any, line: int, written: int, is_mapping: bool) -> _Open:
        _check_written(written, line)
        if event.anchor is not None:
            self._define(event.anchor, event, _OPEN_ANCHOR)
        opened = _Open(line, event.anchor, is_mapping, written, self._aliased)
        self._open.append(opened)
        return opened

    def _close(self, written: int) -> tuple[Any, int, int]:
        closed = self._open.pop()
        node, size = closed.close(written, self._aliased)
        anchored = (node, closed.line, size)
        if closed.anchor is not None:
            self._anchors[closed.anchor] = anchored
        return anchored

    def _define(self, anchor: str, event: Any, anchored: tuple[Any, int, int]) -> None:
        if anchor in self._anchors:
            raise ComposerError(
                "found duplicate anchor; first occurrence",
                None,
                "second occurrence",
                event.start_mark,
            )
        self._anchors[anchor] = anchored

    def _alias(self, event: Any, written: int) -> tuple[Any, int, int]:
        """The anchored child an alias names, with its line and the values it stands for."""
        anchored = self._anchors.get(event.anchor)
        line = event.start_mark.line + 1
        if anchored is None:
            raise ComposerError(None, None, "found undefined alias", event.start_mark)
        if anchored is _OPEN_ANCHOR:
            raise LimitExceeded(
                line, f"alias *{event.anchor} is inside the value it names: it would never end"
            )
        self._aliased += anchored[2]
        allowed = max(ALIAS_ALLOWANCE, written)
        if self._aliased > allowed:
            raise LimitExceeded(
                line,
                f"its aliases stand for more than {allowed:,} values, far more than the file "
                'writes out: refused as an alias bomb ("billion laughs")',
            )
        return anchored


def _check_written(written: int, line: int) -> None:
    if written > MAX_VALUES:
        raise LimitExceeded(
            line,
            f"more than {MAX_VALUES:,} values: far more than any organisation needs "
            "(10,000 people take about 530,000)",
        )


def compose(source: str | bytes) -> Node | None:
    """The tree of the YAML `source`, None when it holds no document.

    Raises yaml.MarkedYAMLError for invalid YAML (with PyYAML's messages) and LimitExceeded.
    """
    parser = _Parser(source)
    try:
        return _Composer(parser.get_event).document()
    finally:
        parser.dispose()
