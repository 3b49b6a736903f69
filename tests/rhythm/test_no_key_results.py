"""Someone who owns no key results in the cycle: no weekly prompt, and a monthly review that is
its two reflection questions, said so, never an empty list of key results."""

from __future__ import annotations

from datetime import datetime, timedelta

from rhythm.cadences import RhythmKind
from rhythm.due import due_prompts, prompt_for
from rhythm.forms import CheckInDraft, validate
from rhythm.okr import Organisation
from rhythm.prompting import REFLECTION_PROMPT, prompt_notice
from rhythm.records import PromptRecord
from tests.rhythm.orgs import Q2, fresh_form, kr, objective, organisation, person, rhythm, utc

ANA, BEN, CHITRA = "ana@acme.test", "ben@acme.test", "chitra@acme.test"
MONTHLY, WEEKLY = RhythmKind.MONTHLY, RhythmKind.WEEKLY
FIRST_OF_MAY = utc(2026, 5, 1, 12)  # a Friday in 2026-Q2, after the rhythms' 09:30
MONDAY_NOON = utc(2026, 5, 4, 12)


def org() -> Organisation:
    """Ana owns a key result this cycle (2026-Q2), Ben only last cycle's, Chitra none."""
    return organisation(
        people=[person(ANA), person(BEN), person(CHITRA)],
        rhythms=[rhythm(WEEKLY), rhythm(MONTHLY)],
        objectives=[objective("o-q1", cycle="2026-Q1"), objective("o-q2", cycle=Q2.key)],
        key_results=[kr("a", ANA, "o-q2", title="Activation"), kr("b", BEN, "o-q1")],
    )


def prompted(kind: RhythmKind, at: datetime) -> set[str]:
    return {p.person for p in due_prompts(org(), at) if p.kind is kind}


def test_only_owners_of_this_cycles_key_results_are_prompted_weekly():
    assert prompted(WEEKLY, MONDAY_NOON) == {ANA}
    weekly = org().covering_rhythm(org().person[BEN], WEEKLY)
    assert weekly is not None
    for who in (BEN, CHITRA):  # the one-person path says the same as the tick's
        assert prompt_for(org(), weekly, org().person[who], MONDAY_NOON) is None


def test_everyone_gets_the_monthly_review():
    assert prompted(MONTHLY, FIRST_OF_MAY) == {ANA, BEN, CHITRA}


def monthly_prompt(who: str) -> PromptRecord:
    return PromptRecord(
        id=7, rhythm="eng-monthly", kind=MONTHLY, person=who, period="2026-05",
        scheduled_for=FIRST_OF_MAY, deadline=FIRST_OF_MAY + timedelta(days=3), is_lead=False,
    )  # fmt: skip


def test_a_monthly_prompt_without_key_results_asks_the_reflection_questions():
    for who in (BEN, CHITRA):  # Ben's key result of last cycle is not this month's business
        assert prompt_notice(org(), monthly_prompt(who), {}).lines == (REFLECTION_PROMPT,)
    [line] = prompt_notice(org(), monthly_prompt(ANA), {}).lines
    assert line.startswith("Activation")


def test_the_monthly_form_without_key_results_is_the_reflection_and_says_why():
    form = fresh_form(org(), CHITRA, MONTHLY, cycle=Q2.key)
    assert form.intro == (
        "You own no key results in 2026-Q2: two questions on the month, that's all."
    )
    assert [s.title for s in form.sections] == ["Reflection"]
    answers = {"note:reflection": "Fewer meetings", "note:reprioritise": ""}
    draft = validate(org(), CHITRA, MONTHLY, answers, cycle=Q2.key, expected_progress=0.3,
                     states={})  # fmt: skip
    assert isinstance(draft, CheckInDraft)
    assert (draft.kr_updates, draft.notes["reflection"]) == ((), "Fewer meetings")


def test_the_weekly_form_keeps_counting_key_results():
    assert fresh_form(org(), ANA, WEEKLY, cycle=Q2.key).intro == "1 key result in 2026-Q2."
