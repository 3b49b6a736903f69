"""The form context that travels through Slack and Teams: it reads back exactly what was
written, and anything else is refused with a message for the person, never an exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhythm.cadences import RhythmKind
from rhythm.checkin import prompt_id_of
from rhythm.context import FormContext
from rhythm.errors import StaleForm

WRITTEN = FormContext("acme", RhythmKind.WEEKLY, "2026-W48", 17, page=2, layout="abc123")


def test_a_context_reads_back_as_written() -> None:
    assert FormContext.parse(WRITTEN.dump()) == WRITTEN
    spontaneous = FormContext("acme", RhythmKind.DAILY, "2026-11-23", None)
    assert FormContext.parse(spontaneous.dump()) == spontaneous
    assert len(WRITTEN.dump()) < 200  # far below Slack's 3,000 for private_metadata


def test_the_draft_is_the_same_on_every_page() -> None:
    assert WRITTEN.at(0).draft_key == WRITTEN.at(5).draft_key == "weekly|2026-W48|17"


def tampered(**changes: object) -> str:
    data = json.loads(WRITTEN.dump())
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{not json",
        "[]",
        "null",
        "x" * 3001,
        "[" * 100_000,  # deep enough to blow the JSON parser's recursion
        tampered(v=2),
        tampered(k="yearly"),
        tampered(k=["weekly"]),
        tampered(p="last week"),
        tampered(p="2026-W48|7"),
        tampered(k="daily"),  # a weekly period under another kind
        tampered(r="abc"),
        tampered(r=0),
        tampered(r=-3),
        tampered(r=True),
        tampered(r=1e309),
        tampered(r=2**70),
        tampered(g=1e309),
        tampered(g=-1),
        tampered(g=100),
        tampered(g="1"),
        tampered(o=""),
        tampered(o=None),
        tampered(o="x" * 201),
        tampered(f=7),
    ],
)
def test_anything_else_is_refused_with_a_message(raw: str) -> None:
    with pytest.raises(StaleForm) as refused:
        FormContext.parse(raw)
    assert "checkin" in refused.value.message


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1")), st.from_type(object)))
def test_no_input_makes_parsing_fail_any_other_way(raw: object) -> None:
    with contextlib.suppress(StaleForm):
        FormContext.parse(raw)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["v", "o", "k", "p", "r", "g", "f"]), JSON))
def test_any_shape_of_the_fields_is_read_or_refused(fields: dict[str, object]) -> None:
    try:
        parsed = FormContext.parse(tampered(**fields))
    except StaleForm:
        return
    assert parsed == FormContext.parse(parsed.dump())


@pytest.mark.parametrize("value", ["12", "1"])
def test_a_prompt_button_names_its_prompt(value: str) -> None:
    assert prompt_id_of(value) == int(value)


@pytest.mark.parametrize("value", [None, "", "abc", "1e3", "-1", "²", "٣", "9" * 30, 12, ["1"]])
def test_a_button_value_that_is_not_a_prompt_is_refused(value: object) -> None:
    with pytest.raises(StaleForm):
        prompt_id_of(value)
