"""The check-in form as Slack modals: pages within 100 blocks, inputs per field kind, errors,
and the way back from `view.state.values` to the core's answers (validated by the real core)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from bot.slack.modal import (
    ACTION_ID,
    MAX_MODAL_BLOCKS,
    answers_from_state,
    block_id_for,
    form_pages,
    modal_view,
    slack_pages,
    view_errors,
)
from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, FormErrors, build_form, validate
from rhythm.messages import FieldKind, Form, FormField, FormSection, Option
from rhythm.okr import (
    Cycle,
    Initiative,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Team,
)
from rhythm.records import KrState
from rhythm.status import Status
from tests.bot.slack.blockkit import view_problems
from tests.bot.slack.payloads import menu_options
from tests.bot.slack.test_blocks import LUCAS, acme

Q4 = "2026-Q4"
BUSY = "busy.owner@acme.example"


def kr_key(i: int) -> str:
    """A key of 100 characters, as long as the OKR file allows in practice."""
    return f"{i:02d}-" + ("reduce-the-time-to-first-value-for-new-mid-market-teams-" * 2)[:97]


def busy_org() -> Organisation:
    """One person owning 30 key results (every third a milestone, every fourth with two
    initiatives), built from the core's dataclasses."""
    krs, initiatives = [], []
    for i in range(30):
        metric = (Metric(0, 1, 0, milestone=True) if i % 3 == 0
                  else Metric(-10, 10, 2, unit="°C") if i % 5 == 0
                  else Metric(100, 400, 180, unit=" teams"))  # fmt: skip
        krs.append(KeyResult(kr_key(i), f"o{i % 3}", f"Key result number {i} & more", BUSY,
                             metric))  # fmt: skip
        if i % 4 == 0:
            initiatives += [Initiative(f"ini-{i}-{j}", kr_key(i), f"Initiative {i}.{j}", BUSY)
                            for j in range(2)]  # fmt: skip
    return Organisation(
        key="busy",
        name="Busy Inc",
        teams=(Team("core", "Core", timezone="Europe/Paris"),),
        people=(Person(BUSY, "Busy Owner", memberships=(Membership("core"),)),),
        cycles=(Cycle(Q4, date(2026, 10, 1), date(2026, 12, 31)),),
        objectives=tuple(
            Objective(f"o{j}", f"Objective {j}", Q4, owner_team="core") for j in range(3)
        ),
        key_results=tuple(krs),
        initiatives=tuple(initiatives),
    )


def stored(org: Organisation, person: str) -> dict[str, KrState]:
    """Where the person's key results stand when nobody reported since the import."""
    return {kr.key: KrState(kr.metric.current if kr.metric else None)
            for kr in org.key_results_of(person)}  # fmt: skip


def busy_form() -> Form:
    org = busy_org()
    return build_form(org, BUSY, RhythmKind.WEEKLY, cycle=Q4, context="ctx-busy",
                      states=stored(org, BUSY), initiatives={})  # fmt: skip


def lucas_form(states: dict[str, KrState] | None = None) -> Form:
    org = acme()
    return build_form(org, LUCAS, RhythmKind.WEEKLY, cycle=Q4, context="ctx-lucas",
                      states={**stored(org, LUCAS), **(states or {})}, initiatives={})  # fmt: skip


def page_of_field(form: Form, field_id: str) -> int:
    [number] = [n for n, page in enumerate(slack_pages(form)) if field_id in page]
    return number


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def slack_state(view: dict[str, Any], typed: dict[str, str | None]) -> dict[str, Any]:
    """`view.state.values` as Slack sends it when the person submits `view` after typing
    `typed` (block_id -> value; untouched inputs keep their prefill)."""
    values: dict[str, Any] = {}
    for block_id, block in inputs(view).items():
        element = block["element"]
        kind = element["type"]
        if kind == "static_select":
            chosen = typed.get(block_id, (element.get("initial_option") or {}).get("value"))
            option = next((o for o in menu_options(element) if o["value"] == chosen), None)
            state = {"type": kind, "selected_option": option}
        else:
            value = typed.get(block_id, element.get("initial_value"))
            state = {"type": kind, "value": value or None}
        values[block_id] = {ACTION_ID: state}
    return values


def valid_answer(field: FormField) -> str | None:
    if field.id.endswith(":value"):
        return "1" if field.kind is FieldKind.CHOICE else "5"
    if field.id.endswith(":confidence"):
        return "7"
    if field.id.endswith(":moved"):
        return "Ran the pricing experiment <!channel>"
    return None


# ---- one page -----------------------------------------------------------------------------


def test_a_small_form_is_one_valid_page_with_an_input_per_field():
    form = lucas_form()
    assert len(form_pages(form)) == 1
    view = modal_view(form, private_metadata='{"prompt": 42}')
    assert view_problems(view) == []
    assert view["type"] == "modal"
    assert view["callback_id"] == "checkin"
    assert view["title"]["text"] == "Weekly check-in"
    assert view["submit"]["text"] == form.submit_label == "Check in"
    assert view["close"]["text"] == "Cancel"
    assert view["private_metadata"] == '{"prompt": 42}'
    assert list(inputs(view)) == [f.id for f in form.fields]
    assert all(b["element"]["action_id"] == ACTION_ID for b in inputs(view).values())
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == [s.title for s in form.sections]


def test_each_field_kind_gets_its_slack_input():
    form = lucas_form({"onboarding-completion": KrState(46.5, 7, Status.AT_RISK, "A/B")})
    blocks = inputs(modal_view(form, private_metadata=""))
    key = "kr:onboarding-completion"
    value, confidence, status = blocks[f"{key}:value"], blocks[f"{key}:confidence"], blocks[
        f"{key}:status"]  # fmt: skip
    assert value["element"] == {  # no bounds: an unusual value is confirmed, not refused
        "type": "number_input", "action_id": "value", "is_decimal_allowed": True,
        "initial_value": "46.5",
    }  # fmt: skip
    assert value["optional"] is False
    assert value["hint"]["text"] == "target 70%"
    assert confidence["element"] == {
        "type": "number_input", "action_id": "value", "is_decimal_allowed": False,
        "min_value": "0", "max_value": "10", "initial_value": "7",
    }  # fmt: skip
    assert status["element"]["type"] == "static_select"
    assert [o["value"] for o in status["element"]["options"]] == [s.value for s in Status]
    assert "initial_option" not in status["element"]  # never carried over
    assert "Last time: at risk" in status["hint"]["text"]
    assert status["optional"] is True
    moved = blocks[f"{key}:moved"]["element"]
    assert moved == {"type": "plain_text_input", "action_id": "value", "max_length": 3000,
                     "multiline": True}  # fmt: skip
    blocked_by = blocks[f"{key}:blocked_by"]
    assert blocked_by["optional"] is True  # nobody blocks: left empty
    menu = blocked_by["element"]  # Acme's 9 teams and 17 key results fit a static select
    assert menu["type"] == "static_select"
    labels = [g["label"]["text"] for g in menu["option_groups"]]
    assert labels[:4] == ["No blocker", "Teams", "Acme key results", "Growth key results"]
    assert [o["value"] for o in menu["option_groups"][1]["options"]][:3] == [
        "team:acme", "team:product", "team:growth"
    ]  # fmt: skip
    assert "initial_option" not in menu
    assert blocks[f"{key}:next"]["element"]["initial_value"] == "A/B"


def test_prefills_slack_would_reject_are_left_out():
    fields = (
        FormField("n:below", "Below min", FieldKind.NUMBER, initial="-5", minimum=0),
        FormField("n:words", "Not a number", FieldKind.NUMBER, initial="about ten"),
        FormField("n:tiny", "Tiny", FieldKind.NUMBER, initial="0.0000001"),
        FormField("i:half", "Half", FieldKind.INTEGER, initial="7.5", minimum=0, maximum=10),
        FormField("c:gone", "Gone", FieldKind.CHOICE, initial="zzz", options=(Option("a", "A"),)),
        FormField("c:many", "Many", FieldKind.CHOICE,
                  options=tuple(Option(str(i), f"Option {i}") for i in range(150))),
        FormField("t:long", "Long", FieldKind.TEXT, initial="x" * 400, max_length=255),
    )  # fmt: skip
    view = modal_view(Form("Odd", "", (FormSection("S", fields),), "c"), private_metadata="")
    assert view_problems(view) == []
    blocks = inputs(view)
    for field_id in ("n:below", "n:words", "i:half"):
        assert "initial_value" not in blocks[field_id]["element"], field_id
    assert blocks["n:tiny"]["element"]["initial_value"] == "0.0000001"
    assert "initial_option" not in blocks["c:gone"]["element"]
    assert len(blocks["c:many"]["element"]["options"]) == 100
    assert blocks["t:long"]["element"]["initial_value"] == "x" * 255


def test_labels_and_titles_from_the_okr_file_are_escaped_but_prefills_are_not():
    field = FormField("note:x", "<!channel> label", FieldKind.TEXT, initial="<keep> & as typed")
    form = Form("Weekly check-in · <@U1>", "<!here> intro",
                (FormSection("<https://evil|Title>", (field,), "<!channel>"),), "c")  # fmt: skip
    view = modal_view(form, private_metadata="")
    assert view_problems(view) == []
    shown = json.dumps([b for b in view["blocks"] if b["type"] != "input"])
    assert "<" not in shown
    block = inputs(view)["note:x"]
    assert block["label"]["text"] == "&lt;!channel&gt; label"
    assert block["element"]["initial_value"] == "<keep> & as typed"


def test_what_the_person_typed_replaces_the_prefill():
    form = lucas_form()
    typed = {"kr:onboarding-completion:value": "51", "kr:onboarding-completion:status": "off_track"}
    blocks = inputs(modal_view(form.with_answers(typed), private_metadata=""))
    assert blocks["kr:onboarding-completion:value"]["element"]["initial_value"] == "51"
    assert blocks["kr:onboarding-completion:status"]["element"]["initial_option"]["value"] == (
        "off_track"
    )


def test_private_metadata_and_page_are_checked():
    form = lucas_form()
    assert view_problems(modal_view(form, private_metadata="m" * 3000)) == []
    with pytest.raises(ValueError, match="3000"):
        modal_view(form, private_metadata="m" * 3001)
    with pytest.raises(IndexError):
        modal_view(form, page=1, private_metadata="")


# ---- pages --------------------------------------------------------------------------------


def test_thirty_key_results_give_several_pages_that_each_fit_a_modal():
    form = busy_form()
    pages = form_pages(form)
    assert 3 <= len(pages) <= 5
    seen: list[str] = []
    for number in range(len(pages)):
        view = modal_view(form, page=number, private_metadata="p")
        assert view_problems(view) == [], number
        assert len(view["blocks"]) <= MAX_MODAL_BLOCKS
        assert view["title"]["text"] == f"Weekly check-in {number + 1}/{len(pages)}"
        last = number == len(pages) - 1
        assert view["submit"]["text"] == ("Check in" if last else "Next")
        assert f"Page {number + 1} of {len(pages)}" in json.dumps(view["blocks"])
        ids = list(inputs(view))
        assert ids == slack_pages(form)[number]
        seen += ids
    assert seen == [f.id for f in form.fields]  # every field once, in order


def test_a_section_bigger_than_a_page_is_split_by_fields():
    fields = tuple(FormField(f"note:q{i}", f"Question {i}", FieldKind.TEXT) for i in range(250))
    form = Form("Survey", "Many questions", (FormSection("All of them", fields, "sub"),), "c")
    pages = form_pages(form)
    assert len(pages) == 3
    assert all(p[0].title == "All of them" for p in pages)
    for number in range(3):
        assert view_problems(modal_view(form, page=number, private_metadata="")) == []
    assert [f.id for p in pages for s in p for f in s.fields] == [f.id for f in fields]


def test_pages_do_not_move_when_the_form_comes_back_with_errors():
    form = busy_form()
    errors = {f.id: "Please fill this in." for f in form.fields if f.required}
    assert form_pages(form.with_errors(errors)) == form_pages(form)
    for number in range(len(form_pages(form))):
        view = modal_view(form.with_errors(errors), page=number, private_metadata="")
        assert view_problems(view) == [], number


# ---- block ids ----------------------------------------------------------------------------


def test_a_block_id_is_its_field_id():
    """Keys are at most 200 characters, so every field id fits Slack's 255."""
    longest = "init:" + "k" * 200 + ":status"
    assert block_id_for(longest) == longest
    with pytest.raises(ValueError, match="longer"):
        block_id_for("kr:" + "k" * 300 + ":value")


def test_the_state_of_any_shape_gives_answers_or_nothing_never_an_error():
    state: dict[str, Any] = {
        "kr:a:value": {ACTION_ID: {"type": "number_input", "value": "12"}},
        "kr:a:status": {ACTION_ID: {"type": "static_select", "selected_option": "on_track"}},
        "kr:a:moved": {ACTION_ID: {"type": "plain_text_input", "value": {"nested": 1}}},
        "kr:a:next": {ACTION_ID: "not a dict"},
        "kr:a:blockers": [],
        "kr:a:other": {"other-action": {"value": "x"}},
    }
    assert answers_from_state(state) == {
        "kr:a:value": "12", "kr:a:status": None, "kr:a:moved": None,
    }  # fmt: skip


# ---- errors -------------------------------------------------------------------------------


def test_view_errors_name_the_input_blocks_of_the_page():
    form = busy_form()
    pages = form_pages(form)
    first = pages[0][0].fields[0].id
    later = pages[-1][0].fields[0].id
    form = form.with_errors({first: "“ten” is not a number.", later: "Please enter a value."})
    assert view_errors(form, 0) == {block_id_for(first): "“ten” is not a number."}
    assert view_errors(form, len(pages) - 1) == {block_id_for(later): "Please enter a value."}
    assert len(pages) > 2
    assert view_errors(form, 1) == {}
    for number in (0, len(pages) - 1):
        view = modal_view(form, page=number, private_metadata="")
        assert set(view_errors(form, number)) <= set(inputs(view))


def test_errors_show_in_the_view_with_those_on_other_pages_named():
    form = busy_form()
    pages = form_pages(form)
    later = pages[-1][0].fields[0]
    form = form.with_errors({later.id: "Please enter a value."})
    first_page = json.dumps(
        modal_view(form, page=0, private_metadata="")["blocks"], ensure_ascii=False
    )
    assert f"⚠️ Page {len(pages)} · *" in first_page
    last_view = modal_view(form, page=len(pages) - 1, private_metadata="")
    assert inputs(last_view)[block_id_for(later.id)]["hint"]["text"] == ("⚠️ Please enter a value.")


def test_a_form_wide_error_goes_to_the_first_input_of_the_page():
    form = lucas_form().with_errors({"": "You are not in Acme's OKR tree."})
    first = form.fields[0].id
    assert view_errors(form, 0) == {first: "You are not in Acme's OKR tree."}
    assert "You are not in Acme" in json.dumps(modal_view(form, private_metadata="")["blocks"])


# ---- submissions --------------------------------------------------------------------------


def test_a_real_view_submission_payload_maps_back_to_answers():
    key = "kr:onboarding-completion"
    payload = json.loads("""{
      "type": "view_submission",
      "team": {"id": "T0ACME", "domain": "acme"},
      "user": {"id": "U05ACME004", "username": "lucas", "name": "lucas", "team_id": "T0ACME"},
      "api_app_id": "A0DRUMBEAT",
      "token": "legacy-verification-token",
      "trigger_id": "1234.5678.abcd",
      "view": {
        "id": "V0CHECKIN",
        "team_id": "T0ACME",
        "type": "modal",
        "callback_id": "checkin",
        "private_metadata": "{\\"prompt\\": 42}",
        "state": {"values": {
          "kr:onboarding-completion:value": {"value": {"type": "number_input", "value": "51.5"}},
          "kr:onboarding-completion:confidence": {
            "value": {"type": "number_input", "value": "6"}},
          "kr:onboarding-completion:status": {"value": {"type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "At risk", "emoji": true},
                                "value": "at_risk"}}},
          "kr:onboarding-completion:moved": {
            "value": {"type": "plain_text_input", "value": "Checklist for 20% of sign-ups"}},
          "kr:onboarding-completion:blockers": {
            "value": {"type": "plain_text_input", "value": null}},
          "kr:onboarding-completion:blocked_by": {
            "value": {"type": "plain_text_input", "value": "   "}},
          "kr:onboarding-completion:next": {
            "value": {"type": "plain_text_input", "value": "Roll out to everyone"}},
          "some-other-block": {"other": {"type": "plain_text_input", "value": "ignored"}}
        }},
        "hash": "1700000000.abcdef",
        "root_view_id": "V0CHECKIN",
        "app_id": "A0DRUMBEAT"
      },
      "response_urls": [],
      "is_enterprise_install": false
    }""")
    answers = answers_from_state(payload["view"]["state"]["values"])
    assert answers == {
        f"{key}:value": "51.5",
        f"{key}:confidence": "6",
        f"{key}:status": "at_risk",
        f"{key}:moved": "Checklist for 20% of sign-ups",
        f"{key}:blockers": None,
        f"{key}:blocked_by": None,
        f"{key}:next": "Roll out to everyone",
    }
    draft = validate(acme(), LUCAS, RhythmKind.WEEKLY, answers, cycle=Q4, expected_progress=0.6,
                     states=stored(acme(), LUCAS))  # fmt: skip
    assert isinstance(draft, CheckInDraft)
    [update] = draft.kr_updates
    assert (update.value, update.confidence, update.status) == (51.5, 6, Status.AT_RISK)


def test_every_page_of_a_busy_form_round_trips_through_slack_state_to_a_valid_check_in():
    form = busy_form()
    answers: dict[str, str | None] = {}
    for number in range(len(form_pages(form))):
        view = modal_view(form, page=number, private_metadata="")
        on_page = [f for f in form.fields if page_of_field(form, f.id) == number]
        typed = {block_id_for(f.id): a for f in on_page if (a := valid_answer(f)) is not None}
        page_answers = answers_from_state(slack_state(view, typed))
        assert {page_of_field(form, f) for f in page_answers} == {number}
        answers |= page_answers
    assert set(answers) == {f.id for f in form.fields}
    draft = validate(busy_org(), BUSY, RhythmKind.WEEKLY, answers, cycle=Q4,
                     expected_progress=0.6, states=stored(busy_org(), BUSY))  # fmt: skip
    assert isinstance(draft, CheckInDraft), draft
    assert len(draft.kr_updates) == 30
    assert draft.kr_updates[1].moved == "Ran the pricing experiment <!channel>"  # stored as typed


def test_a_rejected_submission_comes_back_as_errors_on_the_right_blocks():
    form = busy_form()
    last_page = len(form_pages(form)) - 1
    view = modal_view(form, page=last_page, private_metadata="")
    typed = {b: "11" for b in inputs(view) if b.endswith(":confidence")}
    answers = answers_from_state(slack_state(view, typed))
    result = validate(busy_org(), BUSY, RhythmKind.WEEKLY, answers, cycle=Q4,
                      expected_progress=0.6, states=stored(busy_org(), BUSY))  # fmt: skip
    assert isinstance(result, FormErrors)
    rejected = form.with_errors(result.errors)
    errors = view_errors(rejected, last_page)
    assert errors
    assert set(errors) <= set(inputs(view))
    assert any("0 to 10" in message for message in errors.values())


# ---- the validator rejects what Slack rejects ---------------------------------------------


def first_input(view: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b["type"] == "input")


def good_view() -> dict[str, Any]:
    return modal_view(lucas_form(), private_metadata="m")


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("title over 24", lambda v: v["title"].update(text="A very long modal title, really")),
        ("submit over 24", lambda v: v["submit"].update(text="Submit my weekly check-in now")),
        ("close over 24", lambda v: v["close"].update(text="Cancel and forget everything")),
        ("101 blocks", lambda v: v["blocks"].extend([{"type": "divider"}] * 101)),
        ("no blocks", lambda v: v.update(blocks=[])),
        ("private_metadata over 3000", lambda v: v.update(private_metadata="m" * 3001)),
        ("no title", lambda v: v.pop("title")),
        ("inputs without submit", lambda v: v.pop("submit")),
        ("unknown type", lambda v: v.update(type="dialog")),
        ("home with submit", lambda v: v.update(type="home")),
        ("duplicate block ids", lambda v: v["blocks"].append(v["blocks"][-1])),
        ("a number as a number", lambda v: first_input(v)["element"].update(initial_value=7)),
        ("callback_id over 255", lambda v: v.update(callback_id="c" * 256)),
        ("unknown view attribute", lambda v: v.update(colour="red")),
    ],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_the_view_validator_rejects_what_slack_rejects(name: str, change: Any):
    view = good_view()
    assert view_problems(view) == []
    change(view)
    assert view_problems(view) != [], name
