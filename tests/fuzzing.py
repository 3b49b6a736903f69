"""Property-based inputs shared by the Slack and Teams ingress tests: any JSON value, and a
payload with a few of its fields (at any depth) dropped or turned into another JSON kind."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

Json = Any
Path = tuple[str | int, ...]

# What json.dumps writes as JSON: no NaN or infinities (both platforms send standard JSON).
numbers = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | numbers | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

_KINDS: dict[str, st.SearchStrategy[Json]] = {
    "null": st.none(),
    "bool": st.booleans(),
    "number": numbers,
    "string": st.text(max_size=12),
    "array": st.lists(json_values, max_size=3),
    "object": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
}


def kind_of(value: Json) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def retyped(value: Json) -> st.SearchStrategy[Json]:
    """A JSON value of any other kind than `value`'s (never another string for a string: a
    mutation names no new URL or id)."""
    others = [kind for kind in _KINDS if kind != kind_of(value)]
    return st.sampled_from(others).flatmap(lambda kind: _KINDS[kind])


def paths(value: Json, prefix: Path = ()) -> list[Path]:
    """Every field and list item inside `value`, outermost first."""
    if isinstance(value, dict):
        items: list[tuple[str | int, Json]] = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return []
    found: list[Path] = []
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def _parent(value: Json, path: Path) -> Json:
    for key in path[:-1]:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, payload: Mapping[str, Any]) -> dict[str, Any]:
    """`payload` with one to three of its fields (at any depth) dropped or retyped."""
    result = copy.deepcopy(dict(payload))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(result)
        if not candidates:
            break
        # a depth first, then a field at that depth: the envelope's few top-level fields
        # are not drowned out by the many fields of a deep payload (a view's blocks)
        depth = draw(st.sampled_from(sorted({len(p) for p in candidates})))
        path = draw(st.sampled_from([p for p in candidates if len(p) == depth]))
        parent, key = _parent(result, path), path[-1]
        if draw(st.booleans()):
            del parent[key]
        else:
            parent[key] = draw(retyped(parent[key]))
    return result
