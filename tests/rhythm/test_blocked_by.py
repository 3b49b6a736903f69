"""The "Blocked by" picker: its teams and key results of the cycle, what it suggests for what
is typed, and how any answer (a picked value, a typed name or key) is resolved or refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rhythm.cadences import RhythmKind
from rhythm.forms import (
    NOT_BLOCKED,
    CheckInDraft,
    FormErrors,
    blocker_options,
    find_blocker,
    matching_options,
    picker_options,
    validate,
)
from rhythm.messages import FieldKind, Option
from rhythm.okr import Organisation, Team
from tests.rhythm.orgs import Q1, Q2, form_org, fresh_form, kr, objective

ANA = "ana@acme.test"


def org_with_history() -> Organisation:
    """form_org (Engineering and Sales, key results in 2026-Q2), a sub-team of Engineering
    listed last in the file, and a key result of last cycle."""
    org = form_org()
    return replace(
        org,
        teams=(*org.teams, Team("infra", "Infrastructure", "eng", "Europe/Paris")),
        objectives=(*org.objectives, objective("o-old", "eng", cycle=Q1.key)),
        key_results=(*org.key_results, kr("old", ANA, "o-old", title="Old latency")),
    )


def groups(options: tuple[Option, ...]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for option in options:
        grouped.setdefault(option.group, []).append(option.value)
    return grouped


def answer(raw: str, org: Organisation | None = None) -> CheckInDraft | FormErrors:
    """Ana's daily pulse with `raw` as "Blocked by"."""
    answers = {"note:focus": "the survey", "note:blocked_by": raw}
    return validate(org or org_with_history(), ANA, RhythmKind.DAILY, answers, cycle=Q2.key,
                    expected_progress=0.5, states={})  # fmt: skip


def test_the_options_are_nobody_the_team_tree_then_the_cycles_key_results_by_team():
    assert groups(blocker_options(org_with_history(), Q2.key)) == {
        "No blocker": ["none"],
        "Teams": ["team:eng", "team:infra", "team:sales"],  # a sub-team under its parent
        "Engineering key results": ["kr:nps", "kr:launch", "kr:latency", "kr:temp"],
        "Sales key results": ["kr:revenue"],
    }  # last cycle's "old" is not offered
    assert blocker_options(org_with_history(), Q2.key)[4] == Option(
        "kr:nps", "NPS", "Engineering key results"
    )


def test_key_results_of_an_objective_without_a_team_come_last():
    org = org_with_history()
    org = replace(
        org,
        objectives=(*org.objectives, replace(objective("o-solo", None), owner_person=None)),
        key_results=(*org.key_results, kr("solo", ANA, "o-solo", title="Solo")),
    )
    assert list(groups(blocker_options(org, Q2.key)))[-1] == "Other key results"


@pytest.mark.parametrize("kind", [RhythmKind.WEEKLY, RhythmKind.DAILY])
def test_every_blocked_by_of_the_form_is_that_picker(kind: RhythmKind):
    org = org_with_history()
    form = fresh_form(org, ANA, kind, cycle=Q2.key)
    pickers = [f for f in form.fields if f.id.endswith("blocked_by")]
    assert pickers
    for field in pickers:
        assert (field.kind, field.required, field.initial) == (FieldKind.PICK, False, None)
        assert field.options == blocker_options(org, Q2.key)
        assert picker_options(org, field.id, Q2.key) == field.options
    assert all(f.kind is not FieldKind.PICK for f in form.fields if f not in pickers)


@pytest.mark.parametrize("field_id", ["kr:nps:value", "note:focus", "kr:blocked_by", "x"])
def test_no_other_field_has_options_to_suggest(field_id: str):
    assert picker_options(org_with_history(), field_id, Q2.key) == ()


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        ("team:sales", ("sales", None)),  # picked values
        ("kr:revenue", ("sales", "revenue")),
        ("none", (None, None)),
        ("Sales", ("sales", None)),  # typed, as before: a team's name or key, a key result's key
        (" infra ", ("infra", None)),
        ("latency", ("eng", "latency")),
        ("old", ("eng", "old")),  # last cycle's, typed by its key, is still known
        ("launch", ("eng", "launch")),
        ("ngs", None),
        ("team:revenue", None),  # the prefix says which kind it must be
        ("kr:sales", None),
    ],
)
def test_a_blocker_is_a_picked_value_or_what_people_type(raw: str, found: object):
    assert find_blocker(org_with_history(), raw) == found


def test_a_key_results_title_names_it_only_when_no_other_has_it():
    org = org_with_history()
    assert find_blocker(org, "margin") == ("eng", "temp")
    twice = replace(org, key_results=(*org.key_results, kr("margin2", ANA, title="Margin")))
    assert find_blocker(twice, "Margin") is None


def test_a_picked_blocker_is_stored_as_before():
    draft = answer("kr:revenue")
    assert isinstance(draft, CheckInDraft)
    assert (draft.blocked_by_team, draft.blocked_by_kr) == ("sales", "revenue")
    nobody = answer(NOT_BLOCKED.value)
    assert isinstance(nobody, CheckInDraft)
    assert (nobody.blocked_by_team, nobody.blocked_by_kr) == (None, None)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("kr:gone", "No team or key result called “gone”."),  # gone since the form opened
        ("Salse", "No team or key result called “Salse”. Did you mean `Sales`?"),
        ("Engneering", "No team or key result called “Engneering”. Did you mean `Engineering`?"),
        ("the moon", "No team or key result called “the moon”."),
    ],
)
def test_an_unknown_blocker_is_a_field_error_with_the_nearest_name(raw: str, error: str):
    outcome = answer(raw)
    assert isinstance(outcome, FormErrors)
    assert outcome.errors == {"note:blocked_by": error}


# ---- what is suggested while typing ----------------------------------------------------------


def options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(f"v{i}", label, "Group") for i, label in enumerate(labels))


def labels(found: tuple[Option, ...]) -> list[str]:
    return [o.label for o in found]


def test_every_typed_word_must_be_in_the_label_group_or_value_accents_and_case_aside():
    listed = blocker_options(org_with_history(), Q2.key)
    assert labels(matching_options(listed, "sal", limit=100)) == ["Sales", "Revenue"]
    assert labels(matching_options(listed, "ENG key NP", limit=100)) == ["NPS"]
    assert labels(matching_options(options("Équipe données"), "equipe DONNEES", limit=5)) == [
        "Équipe données"
    ]
    assert matching_options(listed, "nothing like it", limit=100) == ()


def test_nothing_typed_lists_the_first_options():
    assert labels(matching_options(options("a", "b", "c"), "  ", limit=2)) == ["a", "b"]


def test_past_the_limit_the_best_matches_are_kept_in_their_listed_order():
    listed = options("Deplatforming", "Data platform", "Platform", "Platform tools")
    # "Platform" and "Platform tools" start with it, "Data platform" has a word that does
    assert labels(matching_options(listed, "platform", limit=3)) == [
        "Data platform", "Platform", "Platform tools"
    ]  # fmt: skip
    assert labels(matching_options(listed, "platform", limit=2)) == ["Platform", "Platform tools"]
