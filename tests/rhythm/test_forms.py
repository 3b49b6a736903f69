"""The structured check-in form: what it asks, how it is prefilled, and how answers validate."""

from __future__ import annotations

import pytest

from rhythm.cadences import RhythmKind
from rhythm.forms import (
    CheckInDraft,
    FormErrors,
    KrUpdate,
    build_form,
    parse_number,
    suggest_status,
    validate,
)
from rhythm.messages import FieldKind, Form, FormField
from rhythm.okr import InitiativeStatus
from rhythm.records import KrState
from rhythm.status import Decision, Status
from tests.rhythm.orgs import form_org

ANA, BEN, DAN = "ana@acme.test", "ben@acme.test", "dan@acme.test"
WEEKLY, DAILY, MONTHLY, EOC = (
    RhythmKind.WEEKLY,
    RhythmKind.DAILY,
    RhythmKind.MONTHLY,
    RhythmKind.END_OF_CYCLE,
)
ORG = form_org()
KR_PARTS = ["value", "confidence", "status", "moved", "blockers", "blocked_by", "next"]


def stored(person: str, changes: dict[str, KrState] | None = None) -> dict[str, KrState]:
    """Where the person's key results stand, as the store says: the file's values, unless
    `changes` says otherwise."""
    now = {kr.key: KrState(kr.metric.current if kr.metric else None)
           for kr in ORG.key_results_of(person)}  # fmt: skip
    return {**now, **(changes or {})}


def form(person: str, kind: RhythmKind, states: dict[str, KrState] | None = None) -> Form:
    initiatives = {i.key: i.status for i in ORG.initiatives}
    return build_form(
        ORG, person, kind, cycle="2026-Q2", context="ctx-1", states=stored(person, states),
        initiatives=initiatives,
    )  # fmt: skip


def field(f: Form, fid: str) -> FormField:
    [found] = [x for x in f.fields if x.id == fid]
    return found


def check(
    answers: dict[str, str | None],
    kind: RhythmKind = WEEKLY,
    person: str = ANA,
    confirmed: dict[str, str] | None = None,
) -> CheckInDraft | FormErrors:
    return validate(
        ORG, person, kind, answers, cycle="2026-Q2", expected_progress=0.5,
        states=stored(person), confirmed=confirmed,
    )  # fmt: skip


def weekly(**changes: str | None) -> dict[str, str | None]:
    """A complete, valid weekly answer for Ana; `kr__nps__value="7"` changes kr:nps:value."""
    answers: dict[str, str | None] = {
        "kr:nps:value": "35",
        "kr:nps:confidence": "8",
        "kr:nps:status": "",
        "kr:nps:moved": "  shipped the survey  ",
        "kr:nps:blockers": "",
        "kr:nps:blocked_by": "",
        "kr:nps:next": "read the answers",
        "kr:launch:value": "0",
        "kr:launch:confidence": "5",
        "kr:launch:status": "on_track",
        "init:survey:status": "done",
    }
    answers.update({k.replace("__", ":"): v for k, v in changes.items()})
    return answers


def errors_of(outcome: CheckInDraft | FormErrors) -> dict[str, str]:
    assert isinstance(outcome, FormErrors), f"expected errors, got a draft: {outcome}"
    return dict(outcome.errors)


# ---- build_form --------------------------------------------------------------------------


def test_weekly_form_asks_the_same_questions_for_every_key_result() -> None:
    f = form(ANA, WEEKLY)
    assert f.title == "Weekly check-in · Ana"
    assert f.intro == "2 key results in 2026-Q2."
    assert f.context == "ctx-1"
    assert [(s.title, [x.id for x in s.fields]) for s in f.sections] == [
        ("NPS", [f"kr:nps:{p}" for p in KR_PARTS]),
        ("Initiatives · NPS", ["init:survey:status", "init:interviews:status"]),
        ("Launch", [f"kr:launch:{p}" for p in KR_PARTS]),
    ]
    assert f.sections[0].subtitle == "from 20 to 50, now 30"
    # the initiatives start at their current status and must be answered
    assert [(x.initial, x.required) for x in f.sections[1].fields] == [
        ("in_progress", True),
        ("not_started", True),
    ]


def test_weekly_form_is_prefilled_from_the_current_value_without_a_last_answer() -> None:
    f = form(ANA, WEEKLY)
    assert field(f, "kr:nps:value").initial == "30"
    assert field(f, "kr:nps:confidence").initial is None
    assert field(f, "kr:nps:status").initial is None
    assert field(f, "kr:nps:next").initial is None


def test_weekly_form_is_prefilled_from_where_things_stand() -> None:
    now = {
        "nps": KrState(value=42.0, confidence=7, status=Status.AT_RISK, next_step="call"),
        "launch": KrState(value=1.0),
    }
    f = form(ANA, WEEKLY, now)
    assert [field(f, f"kr:nps:{p}").initial for p in ("value", "confidence", "next")] == [
        "42",
        "7",
        "call",
    ]
    assert field(f, "kr:launch:value").initial == "1"
    assert field(f, "kr:launch:confidence").initial is None
    assert f.sections[0].subtitle == "from 20 to 50, now 42"


def test_the_status_is_never_carried_over() -> None:
    """Left as it was, last week's "on track" would stay on a key result stuck at 0%."""
    f = form(ANA, WEEKLY, {"nps": KrState(value=20, confidence=7, status=Status.ON_TRACK)})
    status = field(f, "kr:nps:status")
    assert status.initial is None
    assert "Last time: on track." in status.hint
    assert "suggested" in status.hint


@pytest.mark.parametrize("value", [12345.67, 1234567.5, 0.125, 99.95, -4.0, 1e-3])
def test_a_prefilled_value_reads_back_as_the_same_number(value: float) -> None:
    """Submitting the form unchanged must not change the value (no rounding in the prefill)."""
    f = form(ANA, WEEKLY, {"nps": KrState(value=value, confidence=5)})
    initial = field(f, "kr:nps:value").initial
    assert initial is not None
    assert parse_number(initial) == value


def test_value_bounds_and_kinds() -> None:
    ana, ben = form(ANA, WEEKLY), form(BEN, WEEKLY)
    nps, launch = field(ana, "kr:nps:value"), field(ana, "kr:launch:value")
    latency, margin = field(ben, "kr:latency:value"), field(ben, "kr:temp:value")
    confidence = field(ana, "kr:nps:confidence")

    # No bounds on values: an unusual one is asked to be confirmed, never clamped by a client.
    assert (nps.kind, nps.required, nps.minimum, nps.maximum) == (
        FieldKind.NUMBER, True, None, None,
    )  # fmt: skip
    assert nps.hint == "target 50"
    assert (latency.minimum, latency.maximum) == (None, None)
    assert (margin.label, margin.minimum, margin.maximum) == ("New value (%)", None, None)
    # a milestone is done or not done
    assert launch.kind is FieldKind.CHOICE
    assert [(o.value, o.label) for o in launch.options] == [("0", "Not done"), ("1", "Done")]
    assert launch.initial == "0"
    assert (confidence.kind, confidence.required) == (FieldKind.INTEGER, True)
    assert (confidence.minimum, confidence.maximum) == (0, 10)
    assert field(ana, "kr:nps:blocked_by").max_length == 255
    assert [o.value for o in field(ana, "kr:nps:status").options] == [s.value for s in Status]


def test_daily_form_is_two_lines_whatever_one_owns() -> None:
    for who in (ANA, DAN):
        f = form(who, DAILY)
        assert [x.id for x in f.fields] == ["note:focus", "note:blockers", "note:blocked_by"]
        assert [x.required for x in f.fields] == [True, False, False]
    assert form(DAN, DAILY).title == "Daily pulse · Dan"


def test_monthly_form_asks_confidence_and_status_then_a_reflection() -> None:
    f = form(ANA, MONTHLY, {"nps": KrState(value=40, confidence=6, status=Status.ON_TRACK)})
    assert f.title == "Monthly review · Ana"
    assert [x.id for x in f.fields] == [
        "kr:nps:confidence",
        "kr:nps:status",
        "kr:launch:confidence",
        "kr:launch:status",
        "note:reflection",
        "note:reprioritise",
    ]
    assert (field(f, "kr:nps:confidence").initial, field(f, "kr:nps:status").initial) == (
        "6",
        None,
    )
    assert field(f, "note:reflection").required


def test_end_of_cycle_form_asks_a_score_and_a_decision_per_key_result() -> None:
    f = form(BEN, EOC)
    assert f.title == "Strategy refresh · Ben"
    assert [x.id for x in f.fields] == [
        "kr:latency:score",
        "kr:latency:next",
        "kr:temp:score",
        "kr:temp:next",
        "note:learnings",
    ]
    score = field(f, "kr:latency:score")
    # 900 -> 300 at 800 is 1/6 done; the score is prefilled rounded to one decimal
    assert (score.initial, score.minimum, score.maximum) == ("0.2", 0.0, 1.0)
    assert field(f, "kr:temp:score").initial == "0.3"  # -10 -> 10 at -4
    assert [o.value for o in field(f, "kr:latency:next").options] == [d.value for d in Decision]


def test_a_person_without_key_results_gets_an_empty_weekly_form() -> None:
    f = form(DAN, WEEKLY)
    assert (f.intro, f.sections) == ("0 key results in 2026-Q2.", ())


# ---- parse_number ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("42", 42.0),
        ("1,234.5", 1234.5),
        ("12 %", 12.0),
        ("12%", 12.0),
        (" 7 ", 7.0),
        ("-3.5", -3.5),
        ("+2", 2.0),
        (".5", 0.5),
        ("€ 300", 300.0),
        ("$1,000", 1000.0),
        ("1\u00a0000", 1000.0),
        ("1e3", 1000.0),
    ],
)
def test_parse_number_accepts_numbers_as_people_type_them(raw: str, number: float) -> None:
    assert parse_number(raw) == number


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "ten", "nan", "NaN", "inf", "-inf", "1e400", "1.2.3", "--1", "1e", "%", "0x10"],
)
def test_parse_number_rejects_what_is_not_a_finite_number(raw: str) -> None:
    assert parse_number(raw) is None


# ---- suggest_status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("progress", "expected", "confidence", "status"),
    [
        (0.5, 0.5, None, Status.ON_TRACK),
        (0.9, 0.5, None, Status.ON_TRACK),  # ahead
        (0.5, 0.5, 7, Status.ON_TRACK),
        (0.5, 0.5, 6, Status.AT_RISK),
        (0.5, 0.5, 4, Status.AT_RISK),
        (0.5, 0.5, 3, Status.OFF_TRACK),
        (0.5, 0.5, 0, Status.OFF_TRACK),
        (0.0, 0.15, 10, Status.ON_TRACK),  # 0.15 behind is not yet at risk
        (0.0, 0.25, 10, Status.AT_RISK),
        (0.0, 0.3, 10, Status.AT_RISK),  # 0.3 behind is not yet off track
        (0.0, 0.5, 10, Status.OFF_TRACK),
        (1.0, 0.5, 2, Status.OFF_TRACK),  # low confidence wins over progress
    ],
)
def test_suggest_status_thresholds(
    progress: float, expected: float, confidence: int | None, status: Status
) -> None:
    assert suggest_status(progress, expected, confidence) is status


# ---- validate: a valid submission --------------------------------------------------------


def test_a_valid_weekly_submission_gives_the_exact_draft() -> None:
    assert check(weekly()) == CheckInDraft(
        person=ANA,
        kind=WEEKLY,
        kr_updates=(
            KrUpdate(
                "nps",
                value=35.0,
                confidence=8,
                status=Status.ON_TRACK,  # suggested: 50% done, half the cycle gone, sure
                moved="shipped the survey",
                next_step="read the answers",
            ),
            KrUpdate("launch", value=0.0, confidence=5, status=Status.ON_TRACK),  # as given
        ),
        # an initiative left out keeps its current status: no update for it
        initiatives=(("survey", InitiativeStatus.DONE),),
        notes={},
    )


@pytest.mark.parametrize(
    ("value", "confidence", "status"),
    [
        ("35", "8", Status.ON_TRACK),
        ("35", "5", Status.AT_RISK),
        ("35", "2", Status.OFF_TRACK),
        ("28", "9", Status.AT_RISK),  # 27% done with 50% of the cycle gone
        ("22", "9", Status.OFF_TRACK),
    ],
)
def test_an_empty_status_is_suggested(value: str, confidence: str, status: Status) -> None:
    draft = check(weekly(kr__nps__value=value, kr__nps__confidence=confidence))
    assert isinstance(draft, CheckInDraft)
    assert draft.kr_updates[0].status is status


@pytest.mark.parametrize(
    ("blocked_by", "team", "kr"),
    [
        ("Sales", "sales", None),
        ("  sales ", "sales", None),
        ("ENGINEERING", "eng", None),
        ("eng", "eng", None),
        ("revenue", "sales", "revenue"),  # a key result: its objective's team
        ("latency", "eng", "latency"),
    ],
)
def test_blocked_by_resolves_a_team_name_or_key_or_a_key_result(
    blocked_by: str, team: str, kr: str | None
) -> None:
    draft = check(weekly(kr__nps__blocked_by=blocked_by, kr__nps__blockers="waiting"))
    assert isinstance(draft, CheckInDraft)
    update = draft.kr_updates[0]
    assert (update.blockers, update.blocked_by_team, update.blocked_by_kr) == ("waiting", team, kr)


@pytest.mark.parametrize(("raw", "value"), [("1", 1.0), ("0", 0.0)])
def test_a_milestone_is_done_or_not(raw: str, value: float) -> None:
    draft = check(weekly(kr__launch__value=raw))
    assert isinstance(draft, CheckInDraft)
    assert draft.kr_updates[1].value == value


def test_a_valid_daily_pulse() -> None:
    answers: dict[str, str | None] = {
        "note:focus": " pairing on the survey ",
        "note:blockers": "need data access",
        "note:blocked_by": "revenue",
    }
    assert check(answers, DAILY, person="dan@acme.test") == CheckInDraft(
        "dan@acme.test",
        DAILY,
        notes={"focus": "pairing on the survey", "blockers": "need data access"},
        blocked_by_team="sales",
        blocked_by_kr="revenue",
    )


def test_a_valid_monthly_review_suggests_status_from_the_current_value() -> None:
    answers: dict[str, str | None] = {
        "kr:nps:confidence": "9",
        "kr:launch:confidence": "8",
        "kr:launch:status": "at_risk",
        "note:reflection": "surveys work",
        "note:reprioritise": None,
    }
    assert check(answers, MONTHLY) == CheckInDraft(
        ANA,
        MONTHLY,
        kr_updates=(
            KrUpdate("nps", confidence=9, status=Status.AT_RISK),  # 33% done, 50% gone
            KrUpdate("launch", confidence=8, status=Status.AT_RISK),
        ),
        notes={"reflection": "surveys work", "reprioritise": ""},
    )


def test_a_valid_end_of_cycle_refresh() -> None:
    answers: dict[str, str | None] = {
        "kr:latency:score": "0.7",
        "kr:latency:next": "carry_over",
        "kr:temp:score": "1",
        "kr:temp:next": "done",
        "note:learnings": "measure first",
    }
    assert check(answers, EOC, person=BEN) == CheckInDraft(
        BEN,
        EOC,
        kr_updates=(
            KrUpdate("latency", final_score=0.7, decision=Decision.CARRY_OVER),
            KrUpdate("temp", final_score=1.0, decision=Decision.DONE),
        ),
        notes={"learnings": "measure first"},
    )


# ---- validate: errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fid", "raw", "message"),
    [
        ("kr:nps:value", "ten", "is not a number"),
        ("kr:nps:value", "", "Please enter a value"),
        ("kr:nps:value", None, "Please enter a value"),
        ("kr:nps:value", "1e13", "too large"),
        ("kr:nps:value", "1e400", "is not a number"),
        ("kr:launch:value", "2", "done or not"),
        ("kr:launch:value", "0.5", "done or not"),
        ("kr:nps:confidence", "11", "whole number from 0 to 10"),
        ("kr:nps:confidence", "-1", "whole number from 0 to 10"),
        ("kr:nps:confidence", "7.5", "whole number from 0 to 10"),
        ("kr:nps:confidence", "high", "is not a number"),
        ("kr:nps:confidence", "", "Please enter a value"),
        ("kr:nps:status", "great", "Choose one of: on_track, at_risk, off_track"),
        ("kr:nps:moved", "x" * 3001, "under 3000 characters (it has 3001)"),
        ("kr:nps:blockers", "x" * 3001, "under 3000 characters"),
        ("kr:nps:next", "y" * 3001, "under 3000 characters"),
        ("kr:nps:blocked_by", "Marketing", "No team or key result called “Marketing”"),
        ("kr:nps:blocked_by", "x" * 256, "under 255 characters"),
        ("init:survey:status", "finished", "Choose one of"),
        ("kr:ghost:value", "1", "Unknown key result “ghost”"),
        ("kr:latency:value", "1", "Unknown key result “latency”"),  # Ben's, not Ana's
        ("kr:revenue:confidence", "5", "Unknown key result"),
        ("init:ghost:status", "done", "Unknown initiative “ghost”"),
        ("init:ads:status", "done", "Unknown initiative “ads”"),  # on Sam's key result
    ],
)
def test_one_bad_answer_gives_one_field_error_and_no_draft(
    fid: str, raw: str | None, message: str
) -> None:
    errors = errors_of(check(weekly(**{fid.replace(":", "__"): raw})))
    assert list(errors) == [fid]
    assert message in errors[fid]


def test_exactly_3000_characters_is_fine() -> None:
    draft = check(weekly(kr__nps__moved="x" * 3000))
    assert isinstance(draft, CheckInDraft)
    assert len(draft.kr_updates[0].moved) == 3000


def test_every_error_is_reported_at_once() -> None:
    answers = weekly(
        kr__nps__value="ten",
        kr__nps__confidence="11",
        kr__nps__moved="x" * 3001,
        kr__nps__blocked_by="Marketing",
        kr__launch__confidence="7.5",
        kr__ghost__value="3",
        init__ghost__status="done",
        init__survey__status="finished",
    )
    del answers["kr:launch:value"]
    assert sorted(errors_of(check(answers))) == sorted(
        [
            "kr:nps:value",
            "kr:nps:confidence",
            "kr:nps:moved",
            "kr:nps:blocked_by",
            "kr:launch:value",
            "kr:launch:confidence",
            "kr:ghost:value",
            "init:ghost:status",
            "init:survey:status",
        ]
    )


def test_an_empty_weekly_form_lists_every_required_field() -> None:
    assert sorted(errors_of(check({}))) == [
        "kr:launch:confidence",
        "kr:launch:value",
        "kr:nps:confidence",
        "kr:nps:value",
    ]


@pytest.mark.parametrize(
    ("kind", "answers", "fields"),
    [
        (DAILY, {"note:focus": "  "}, ["note:focus"]),
        (DAILY, {"note:focus": "x", "note:blocked_by": "nobody"}, ["note:blocked_by"]),
        (DAILY, {"note:focus": "x" * 3001}, ["note:focus"]),
        (MONTHLY, {"kr:nps:confidence": "5", "kr:launch:confidence": "5"}, ["note:reflection"]),
        (
            MONTHLY,
            {"kr:nps:confidence": "5", "kr:launch:confidence": "x", "note:reflection": "r"},
            ["kr:launch:confidence"],
        ),
        (EOC, {}, ["kr:launch:next", "kr:launch:score", "kr:nps:next", "kr:nps:score",
                   "note:learnings"]),
        (
            EOC,
            {"kr:nps:score": "1.5", "kr:nps:next": "keep", "kr:launch:score": "-0.1",
             "kr:launch:next": "drop", "note:learnings": "l"},
            ["kr:launch:score", "kr:nps:next", "kr:nps:score"],
        ),
    ],
)  # fmt: skip
def test_errors_of_the_other_kinds(
    kind: RhythmKind, answers: dict[str, str | None], fields: list[str]
) -> None:
    assert sorted(errors_of(check(answers, kind))) == fields


def test_someone_outside_the_tree_gets_an_error_not_a_draft() -> None:
    errors = errors_of(check(weekly(), person="eve@elsewhere.test"))
    assert list(errors) == [""]
    assert "eve@elsewhere.test" in errors[""]


# ---- values that look like typos: confirmed, never clamped -------------------------------


def warnings_of(outcome: CheckInDraft | FormErrors) -> dict[str, str]:
    assert isinstance(outcome, FormErrors), f"expected warnings, got a draft: {outcome}"
    assert dict(outcome.errors) == {}
    return dict(outcome.warnings)


@pytest.mark.parametrize(
    ("fid", "raw", "person", "says"),
    [
        ("kr:nps:value", "520", ANA, "far outside"),  # 20 -> 50: more than 30 beyond 50
        ("kr:nps:value", "-11", ANA, "far outside"),
        ("kr:nps:value", "-5", ANA, "other sign"),  # 20 -> 50 never goes below zero
        ("kr:latency:value", "1600", BEN, "far outside"),  # 900 -> 300, decreasing
        ("kr:latency:value", "-1", BEN, "other sign"),
    ],
)
def test_an_unusual_value_is_a_warning_that_a_second_submit_accepts(
    fid: str, raw: str, person: str, says: str
) -> None:
    answers = weekly(**{fid.replace(":", "__"): raw}) if person == ANA else ben_weekly(fid, raw)

    first = warnings_of(check(answers, person=person))

    assert list(first) == [fid]
    assert says in first[fid]
    assert "Submit again" in first[fid]
    accepted = check(answers, person=person, confirmed={fid: raw})
    assert isinstance(accepted, CheckInDraft)
    [stored] = [u for u in accepted.kr_updates if u.key_result == fid.split(":")[1]]
    assert stored.value == float(raw)  # as typed: nothing clamped
    # Another value than the one confirmed is asked about again.
    other = str(float(raw) * 2)
    changed = {**answers, fid: other}
    assert list(warnings_of(check(changed, person=person, confirmed={fid: raw}))) == [fid]


@pytest.mark.parametrize("raw", ["50", "20", "-10", "80", "35.5"])
def test_values_within_a_range_s_length_of_it_are_taken_at_once(raw: str) -> None:
    assert isinstance(check(weekly(kr__nps__value=raw)), CheckInDraft) is (float(raw) >= 0)


def test_a_key_result_that_may_be_negative_takes_negative_values() -> None:
    assert isinstance(check(ben_weekly("kr:temp:value", "-25"), person=BEN), CheckInDraft)


@pytest.mark.parametrize("raw", ["1e13", "-2e12", "1e308"])
def test_numbers_beyond_a_trillion_are_field_errors(raw: str) -> None:
    errors = errors_of(check(weekly(kr__nps__value=raw)))
    assert list(errors) == ["kr:nps:value"]
    assert "too large" in errors["kr:nps:value"]


def test_a_warning_and_an_error_come_back_together() -> None:
    outcome = check(weekly(kr__nps__value="900", kr__nps__confidence="12"))
    assert isinstance(outcome, FormErrors)
    assert list(outcome.errors) == ["kr:nps:confidence"]
    assert list(outcome.warnings) == ["kr:nps:value"]


@pytest.mark.parametrize(
    ("value", "status"),
    [("20", Status.OFF_TRACK), ("27", Status.AT_RISK), ("40", Status.ON_TRACK)],
)
def test_the_suggested_status_follows_this_update_s_progress(value: str, status: Status) -> None:
    """Half the cycle is gone; 20 -> 50 at 20 is 0%, at 27 a quarter, at 40 two thirds."""
    draft = check(weekly(kr__nps__value=value, kr__nps__confidence="8"))
    assert isinstance(draft, CheckInDraft)
    assert draft.kr_updates[0].status is status


def test_text_that_is_not_valid_unicode_is_stored_readable() -> None:
    draft = check(weekly(kr__nps__moved="fixed \ud800 the pipeline"))
    assert isinstance(draft, CheckInDraft)
    draft.kr_updates[0].moved.encode("utf-8")  # a lone surrogate would not encode


def ben_weekly(fid: str, raw: str) -> dict[str, str | None]:
    answers: dict[str, str | None] = {
        "kr:latency:value": "700",
        "kr:latency:confidence": "6",
        "kr:temp:value": "0",
        "kr:temp:confidence": "6",
    }
    return {**answers, fid: raw}
