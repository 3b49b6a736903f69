"""`drumbeat demo`: what its simulated owners write fits their key results, and a run at any
date simulates that date's quarter with its digests in full."""

from __future__ import annotations

import asyncio
import io
import random
from datetime import date

import pytest
from rich.console import Console

from bot.demo import run_demo
from bot.demo_people import Owners, Persona, decimals, load_script
from bot.okrfile import load_organisation
from bot.sample import SAMPLE
from rhythm.cadences import RhythmKind
from rhythm.forms import CheckInDraft, build_form, kr_field, note_field, validate

ACME = load_organisation(SAMPLE)
SCRIPT = load_script()
CYCLE = "2026-Q4"


def owners(seed: int = 1) -> Owners:
    return Owners(org=ACME, script=SCRIPT, rng=random.Random(seed))


def form_of(person: str, kind: RhythmKind = RhythmKind.WEEKLY):
    return build_form(
        ACME, person, kind, cycle=CYCLE, context="", states={}, initiatives={}
    )  # fmt: skip


def test_every_key_result_of_the_sample_has_lines_of_its_own():
    assert set(SCRIPT) == {kr.key for kr in ACME.key_results}
    for key, lines in SCRIPT.items():
        assert lines.moved, key
        assert lines.next, key
        assert lines.blocked_by is None or lines.blocked_by in ACME.team, key
    assert len({m for lines in SCRIPT.values() for m in lines.moved}) == sum(
        len(lines.moved) for lines in SCRIPT.values()
    )  # no line shared between key results


@pytest.mark.parametrize(
    ("key", "places"),
    [("arr", 1), ("uptime", 2), ("weekly-active-teams", 0), ("sev1-incidents", 0), ("nps", 0)],
)
def test_values_are_as_precise_as_the_file_writes_them(key, places):
    metric = ACME.key_result[key].metric
    assert metric is not None
    assert decimals(metric) == places


@pytest.mark.parametrize("seed", range(5))
def test_each_owner_writes_about_their_own_key_results_and_the_form_takes_it(seed):
    writer = owners(seed)
    for person in ACME.people:
        krs = ACME.key_results_of(person.email)
        if not krs:
            continue
        form = form_of(person.email)
        answers = writer.answers(person.email, form, week=1)

        draft = validate(ACME, person.email, RhythmKind.WEEKLY, answers, cycle=CYCLE,
                         expected_progress=0.6, states={}, confirmed=dict(answers))  # fmt: skip
        assert isinstance(draft, CheckInDraft), (person.email, draft)
        for kr in krs:
            lines = SCRIPT[kr.key]
            assert answers[kr_field(kr.key, "moved")] in lines.moved
            assert answers[kr_field(kr.key, "next")] in lines.next
            value = answers[kr_field(kr.key, "value")]
            assert kr.metric is not None
            places = decimals(kr.metric)
            assert len(value.partition(".")[2]) == places, (kr.key, value)


def test_the_latency_owner_names_the_cache_not_support_macros():
    answers = owners().answers(
        "ananya.iyer@acme.example", form_of("ananya.iyer@acme.example"), week=0
    )
    moved = answers[kr_field("p95-latency", "moved")]
    assert "cache" in moved.casefold() or "queries" in moved
    assert "macros" not in moved


def test_the_blocked_owner_waits_on_the_team_their_key_result_names():
    writer = owners()
    meera = "meera.nair@acme.example"
    assert writer.personas[meera] is Persona.BLOCKED
    answers = writer.answers(meera, form_of(meera), week=0)
    assert answers[kr_field("eu-residency", "blocked_by")] == "gtm"
    assert "data processing agreement" in answers[kr_field("eu-residency", "blockers")]


def test_daily_and_monthly_notes_come_from_the_person_s_key_results():
    writer = owners()
    hugo = "hugo.petit@acme.example"
    daily = writer.answers(hugo, form_of(hugo, RhythmKind.DAILY), week=0)
    assert daily[note_field("focus")] in SCRIPT["crash-free"].next
    monthly = writer.answers(hugo, form_of(hugo, RhythmKind.MONTHLY), week=1)
    assert any(m in monthly[note_field("reflection")] for m in SCRIPT["crash-free"].moved)


def _demo(today: date, weeks: int) -> str:
    sink = io.StringIO()
    console = Console(file=sink, width=160, color_system=None, force_terminal=False)
    asyncio.run(run_demo(console, weeks=weeks, quiet=True, today=today))
    return sink.getvalue()


@pytest.mark.slow
def test_a_demo_in_february_simulates_that_quarter_with_its_monthly_digest_in_full():
    shown = _demo(date(2027, 2, 10), weeks=2)
    assert "Simulated: Monday 22 February to Sunday 7 March 2027" in shown
    assert "weekly digest" in shown
    assert "2027-W08 · 2027-Q1" in shown
    assert "Acme · monthly digest" in shown
    assert "2027-03 · 2027-Q1" in shown
    assert "monthly digest of Acme" not in shown
    assert "2026" not in shown
    assert "100% elapsed" not in shown
    assert "Two weeks later" in shown
    assert "Acme, week 2027-W09:" in shown
    assert "✉" not in shown  # --quiet: only the digests


@pytest.mark.slow
def test_a_one_week_demo_says_one_week():
    shown = _demo(date(2026, 12, 2), weeks=1)
    assert "One week later" in shown
    assert "Two weeks later" not in shown
    assert "Simulated: Monday 23 November to Sunday 29 November 2026" in shown
