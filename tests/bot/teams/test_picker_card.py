"""The "Blocked by" picker in Teams: a filtered `Input.ChoiceSet` (card 1.5) of every team and
key result, valid against the official Adaptive Cards schema and Teams' rules; a text input
taking a name or key for an organisation too large for a card; either way, what comes back is
stored as a team and a key result."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator

from bot.okrfile import load_organisation
from bot.teams.cards import answers_from_submit, form_cards, page_fields
from bot.teams.cards import form as card_form
from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, FormErrors, validate
from rhythm.messages import FieldKind, Form
from rhythm.okr import Organisation, Team
from tests.bot.teams.test_cards import ACME, LUCAS, assert_sendable, inputs, teams_submit
from tests.rhythm.orgs import file_states, fresh_form

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
SCHEMA = SCHEMAS / "adaptive-card" / "adaptive-card.1.6.0.json"
Q4 = "2026-Q4"


def schema_problems(card: dict[str, Any]) -> list[str]:
    """What the official schema says of `card`; `msteams` (Teams' own extension of the card,
    for its width) is not in the schema and is left out."""
    validator = Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    bare = {k: v for k, v in card.items() if k != "msteams"}
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(bare)]


def acme() -> Organisation:
    return load_organisation(ACME)


def big_acme() -> Organisation:
    squads = tuple(
        Team(f"squad-{n:03d}", f"Squad {n:03d}", "engineering", "Europe/Paris") for n in range(200)
    )
    org = acme()
    return replace(org, teams=(*org.teams, *squads))


def form_of(org: Organisation, kind: RhythmKind = RhythmKind.WEEKLY) -> Form:
    return fresh_form(org, LUCAS, kind, cycle=Q4, context="ctx")


def picker(card: dict[str, Any]) -> dict[str, Any]:
    [found] = [e for e in inputs(card) if e["id"].endswith("blocked_by")]
    return found


def check(org: Organisation, card: dict[str, Any], **typed: str) -> CheckInDraft | FormErrors:
    """What the core makes of the card submitted with `typed` (by field id suffix)."""
    answers = answers_from_submit(teams_submit(card, value="55", confidence="7", **typed))
    return validate(org, LUCAS, RhythmKind.WEEKLY, answers, cycle=Q4, expected_progress=0.5,
                    states=file_states(org, LUCAS))  # fmt: skip


@pytest.mark.parametrize("kind", [RhythmKind.WEEKLY, RhythmKind.DAILY])
def test_a_filtered_choice_set_of_every_team_and_key_result(kind: RhythmKind):
    card = form_cards(form_of(acme(), kind))
    assert_sendable([card])  # Teams' rules: version 1.5, `filtered` is 1.5
    assert schema_problems(card) == []
    element = picker(card)
    assert (element["type"], element["style"], element["placeholder"]) == (
        "Input.ChoiceSet", "filtered", "Type a name…"
    )  # fmt: skip
    assert "isRequired" not in element  # nothing blocks: left empty
    titles = {c["value"]: c["title"] for c in element["choices"]}
    assert titles["none"] == "None · No blocker"
    assert titles["team:support"] == "Customer Support · Teams"
    assert titles["kr:p95-latency"] == "p95 API latency from 900 to 300 ms · Platform key results"
    assert len(titles) == 1 + 9 + 17


def test_what_was_picked_comes_back_picked_and_is_stored_as_a_team_and_key_result():
    org = acme()
    form = form_of(org)
    element_id = picker(form_cards(form))["id"]
    shown = form_cards(form.with_answers({element_id: "kr:p95-latency"}))
    assert picker(shown)["value"] == "kr:p95-latency"
    draft = check(org, shown)
    assert isinstance(draft, CheckInDraft)
    [update] = draft.kr_updates
    assert (update.blocked_by_team, update.blocked_by_kr) == ("platform", "p95-latency")


def test_an_organisation_too_large_for_a_card_types_a_name_or_key():
    org = big_acme()
    form = form_of(org)
    [field] = [f for f in form.fields if f.id.endswith("blocked_by")]
    assert field.kind is FieldKind.PICK
    assert len(field.options) > 200
    card = form_cards(form)
    assert_sendable([card])
    assert schema_problems(card) == []
    element = picker(card)
    assert (element["type"], element["maxLength"]) == ("Input.Text", 255)
    assert "name or key" in json.dumps(card)  # the hint says what to type

    typed = check(org, card, blocked_by="Squad 042")
    assert isinstance(typed, CheckInDraft)
    assert (typed.kr_updates[0].blocked_by_team, typed.kr_updates[0].blocked_by_kr) == (
        "squad-042", None
    )  # fmt: skip
    wrong = check(org, card, blocked_by="Sqaud 042")
    assert isinstance(wrong, FormErrors)
    assert wrong.errors == {
        field.id: "No team or key result called “Sqaud 042”. Did you mean `Squad 042`?"
    }


def test_a_picked_option_shown_as_text_is_its_name_which_the_core_reads_back():
    org = big_acme()
    form = form_of(org)
    field_id = picker(form_cards(form))["id"]
    card = form_cards(form.with_answers({field_id: "team:squad-007"}))
    assert picker(card)["value"] == "Squad 007"
    draft = check(org, card)
    assert isinstance(draft, CheckInDraft)
    assert draft.kr_updates[0].blocked_by_team == "squad-007"


def test_pages_are_laid_out_without_the_context_the_session_has_not_given_yet(
    monkeypatch: pytest.MonkeyPatch,
):
    """The session pages a form with no context, the card shows it with one: both must
    agree on what each page holds, picker or not."""
    monkeypatch.setattr(card_form, "LAYOUT_BUDGET", 2_500)  # Lucas's short form on pages
    form = form_of(acme())
    opened = replace(form, context='{"v":1,"o":"acme","k":"weekly","p":"2026-W48"}' * 3)
    assert len(page_fields(form)) > 1
    assert page_fields(opened) == page_fields(form)
