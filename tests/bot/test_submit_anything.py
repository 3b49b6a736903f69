"""Whatever comes back in a submitted form, the core answers with the form (its field errors,
or unusual values to confirm) or a stored check-in: never an exception other than a refusal
for the person, never a half-written record. Property-based, through the real service and a
real database (both backends: PostgreSQL refuses NUL characters in text, SQLite does not)."""

from __future__ import annotations

import io
import math
from collections.abc import Awaitable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.checkin import CheckedIn, FormPage
from rhythm.errors import DrumbeatError
from rhythm.messages import Form
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore
from tests.bot.test_flow import MONDAY, PARIS_OWNER, valid_answers

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"

NASTY = st.sampled_from([
    "", " ", "\x00", "4\x002", "\ud800", "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "1e12",
    "99999999999999999999", "-0", "0x10", "1_000", "1,5", "١٢٣", "４２", "52%", "12 %", "½",
    "\u202e42", "42\n", "ten", "None", "null", "true", "[]", "{}", "<b>x</b>", "*bold*",
    "x" * 20_000, "7", "11", "0", "-3", "on_track", "at_risk", "off_track", "done", "paused",
])  # fmt: skip
ANSWER = st.one_of(st.none(), NASTY, st.text(max_size=300))


async def refused_or(
    submitted: Awaitable[FormPage | CheckedIn],
) -> FormPage | CheckedIn | DrumbeatError:
    """The outcome, or the refusal for the person; anything else is raised: a bug."""
    try:
        return await submitted
    except DrumbeatError as refusal:
        return refusal


@pytest.fixture
async def drumbeat(store: SqlStore) -> Drumbeat:
    await store.save_organisation(load_organisation(ACME))
    chat = ConsoleGateway(console=Console(file=io.StringIO(), width=120))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    return Drumbeat(store=store, chat=router, clock=FixedClock(MONDAY), worker="test")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_any_answers_get_the_form_back_or_a_stored_check_in(
    drumbeat: Drumbeat, store: SqlStore, data: st.DataObject
) -> None:
    page = await drumbeat.checkins.open("acme", PARIS_OWNER)
    fields = [f.id for f in page.form.fields]
    answers: dict[str, str | None] = dict(valid_answers(page.form))
    answers.update(
        data.draw(
            st.dictionaries(st.one_of(st.sampled_from(fields), st.text(max_size=20)), ANSWER),
            label="answers",
        )
    )
    before = await store.kr_states("acme", PARIS_OWNER)

    outcome = await refused_or(
        drumbeat.checkins.submit("acme", PARIS_OWNER, page.form.context, answers)
    )
    if isinstance(outcome, DrumbeatError):  # a sentence for the person, nothing stored
        assert outcome.message
        assert await store.kr_states("acme", PARIS_OWNER) == before
        return

    after = await store.kr_states("acme", PARIS_OWNER)
    if isinstance(outcome, FormPage):
        assert outcome.form.errors or outcome.form.warnings
        assert all(message for message in outcome.form.errors.values())
        assert after == before  # nothing stored before every field is right
        return
    assert isinstance(outcome, CheckedIn)
    for state in after.values():
        assert state.value is None or math.isfinite(state.value)
        assert "\x00" not in (state.next_step or "")


def field_by_field(form: Form) -> list[list[str]]:
    """A page per field: every page but the last goes through the stored draft."""
    return [[f.id] for f in form.fields]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_any_answers_page_by_page_keep_the_draft_or_say_what_is_wrong(
    drumbeat: Drumbeat, store: SqlStore, data: st.DataObject
) -> None:
    page = await drumbeat.checkins.open("acme", PARIS_OWNER)
    valid = valid_answers(page.form)
    before = await store.kr_states("acme", PARIS_OWNER)
    for _ in range(len(page.form.fields) + 1):
        [fields] = [ids for n, ids in enumerate(field_by_field(page.form)) if n == page.page]
        answers = {f: data.draw(st.one_of(st.just(valid[f]), ANSWER), label=f) for f in fields}
        outcome = await drumbeat.checkins.submit(
            "acme", PARIS_OWNER, page.form.context, answers, pager=field_by_field
        )
        if isinstance(outcome, CheckedIn):
            return
        if outcome.again:  # this page's errors or warnings; nothing stored yet
            assert outcome.form.errors or outcome.form.warnings
            assert await store.kr_states("acme", PARIS_OWNER) == before
            return
        page = outcome
    raise AssertionError("the pages never ended")


@pytest.mark.parametrize("typed", ["a\x00b", "a\ud800b", "\x00a\x00b\x00"])
async def test_what_no_database_stores_is_dropped_from_the_text(
    drumbeat: Drumbeat, store: SqlStore, typed: str
) -> None:
    page = await drumbeat.checkins.open("acme", PARIS_OWNER)
    answers = {
        **valid_answers(page.form),
        **{f.id: typed for f in page.form.fields if f.id.endswith(":next")},
    }
    outcome = await drumbeat.checkins.submit("acme", PARIS_OWNER, page.form.context, answers)
    assert isinstance(outcome, CheckedIn), outcome
    [state] = (await store.kr_states("acme", PARIS_OWNER)).values()
    assert state.next_step in ("ab", "a?b", "a\ufffdb")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(context=st.one_of(st.text(max_size=200), NASTY))
async def test_any_form_context_is_refused_as_stale(drumbeat: Drumbeat, context: str) -> None:
    page = await drumbeat.checkins.open("acme", PARIS_OWNER)
    outcome = await refused_or(
        drumbeat.checkins.submit("acme", PARIS_OWNER, context, valid_answers(page.form))
    )
    if isinstance(outcome, DrumbeatError):
        assert outcome.message
    else:
        assert context == page.form.context, outcome
