"""A digest's key-result lines: the change since the last period, and why and what next for
a key result at risk."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rhythm.digest_model import KrLine, LeaderNote
from rhythm.present import fmt_change, fmt_value
from rhythm.records import DigestFacts
from rhythm.status import Status
from tests.rhythm.orgs import snap, utc
from tests.rhythm.test_digest import ANA, BEN, ORG, PIA, digest, find

ON, RISK, OFF = Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK
LAST_WEEK = utc(2026, 4, 27, 10)


def eng_lines(facts: DigestFacts) -> dict[str, KrLine]:
    d = find(digest(ORG, facts), "eng")
    return {k.key: k for o in d.objectives for k in o.key_results}


def test_a_key_result_updated_in_both_periods_shows_where_it_came_from():
    lines = eng_lines(DigestFacts(
        current={"latency": snap(ANA, 600, 5, RISK)},
        previous={"latency": snap(ANA, 700, 8, ON, at=LAST_WEEK)},
    ))  # fmt: skip
    latency = lines["latency"]
    assert (latency.previous_value, latency.value) == (700, 600)
    assert latency.change_text() == fmt_change(700, 600, "ms", span=-600)
    assert latency.target_text() == f"target {fmt_value(300, 'ms', span=-600)}"


def test_the_first_update_after_an_import_shows_its_change_from_the_imported_value():
    """No update the period before, but the update knows where the key result stood."""
    latency = eng_lines(DigestFacts(
        current={"latency": replace(snap(ANA, 600, 5, RISK), value_before=750)},
    ))["latency"]  # fmt: skip
    assert latency.change_text() == fmt_change(750, 600, "ms", span=-600)


def test_the_value_before_the_period_wins_over_the_last_update_before_it():
    """An import between the two periods moved the key result: the change starts there."""
    latency = eng_lines(DigestFacts(
        current={"latency": replace(snap(ANA, 600, 5, RISK), value_before=650)},
        previous={"latency": snap(ANA, 700, 8, ON, at=LAST_WEEK)},
    ))["latency"]  # fmt: skip
    assert latency.previous_value == 650


@pytest.mark.parametrize(
    ("current", "previous"),
    [
        (None, snap(BEN, 200, 6, ON, at=LAST_WEEK)),  # no update this period: nothing moved
        (snap(BEN, 300, 7, ON), None),  # nothing known from before
        (snap(BEN, 200.001, 7, ON), snap(BEN, 200, 6, ON, at=LAST_WEEK)),  # too small to show
    ],
)
def test_without_a_change_to_show_only_the_value_is_shown(current, previous):
    facts = DigestFacts(
        current={"signups": current} if current else {},
        previous={"signups": previous} if previous else {},
    )
    signups = eng_lines(facts)["signups"]
    assert signups.change_text() == fmt_value(signups.value, span=1000)
    assert "→" not in signups.change_text()


def test_a_value_that_did_not_move_says_so():
    facts = DigestFacts(
        current={"signups": snap(BEN, 200, 7, ON)},
        previous={"signups": snap(BEN, 200, 6, ON, at=LAST_WEEK)},
    )
    assert eng_lines(facts)["signups"].change_text() == f"{fmt_value(200, span=1000)}, unchanged"


def test_a_milestone_reads_done_or_not():
    platform = find(digest(ORG, DigestFacts(current={"migrate": snap(PIA, 1, 8, ON)})), "platform")
    [migrate] = platform.objectives[0].key_results
    assert (migrate.milestone, migrate.change_text(), migrate.target_text()) == (True, "done", "")
    untouched = find(digest(ORG, DigestFacts()), "platform").objectives[0].key_results[0]
    assert untouched.change_text() == "not done"


@pytest.mark.parametrize("status", [RISK, OFF])
def test_a_key_result_at_risk_or_off_track_says_what_moved_and_what_comes_next(status: Status):
    update = snap(ANA, 600, 5, status, moved=" cached queries ", next_step="shard the DB")
    latency = eng_lines(DigestFacts(current={"latency": update}))["latency"]
    assert (latency.moved, latency.next_step) == ("cached queries", "shard the DB")
    assert latency.has_story
    assert latency.story() == (("What moved", "cached queries"), ("Next step", "shard the DB"))


def test_a_blank_answer_is_shown_as_not_said():
    blank_next = snap(ANA, 600, 5, RISK, moved="cached queries")
    latency = eng_lines(DigestFacts(current={"latency": blank_next}))["latency"]
    assert latency.story() == (("What moved", "cached queries"), ("Next step", "not said"))
    nothing = eng_lines(DigestFacts(current={"latency": snap(ANA, 600, 5, RISK)}))["latency"]
    assert nothing.story() == (("What moved, next step", "not said"),)


def test_on_track_or_without_an_update_there_is_no_story():
    lines = eng_lines(DigestFacts(
        current={"signups": snap(BEN, 300, 7, ON, moved="launch", next_step="more launches")},
        previous={"latency": snap(ANA, 700, 3, OFF, moved="old news", at=LAST_WEEK)},
    ))  # fmt: skip
    assert not lines["signups"].has_story
    assert not lines["latency"].has_story  # last week's words are not this week's


def test_a_leaders_words_on_a_key_result_at_risk_are_told_with_it_not_twice():
    facts = DigestFacts(current={
        "latency": snap(ANA, 600, 5, RISK, moved="cached queries"),
        "signups": snap(ANA, 300, 7, ON, moved="a launch"),  # Ana, the lead, on Ben's
    })  # fmt: skip
    eng = find(digest(ORG, facts), "eng")
    assert eng.leaders == (LeaderNote("Ana", "eng", "Signups: a launch"),)
    latency = eng.objectives[0].key_results[0]
    assert latency.moved == "cached queries"
