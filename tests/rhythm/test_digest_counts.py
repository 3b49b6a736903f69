"""Participation counts: one definition per person (`attendance`), so that every count a
digest or `status` shows agrees with every other, whatever the facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rhythm.commands import status_table
from rhythm.digest import Attendance, attendance
from rhythm.digest_model import Digest
from rhythm.records import ON_LEAVE, DigestFacts, NoteFact, PromptFact, Snapshot
from rhythm.status import Status
from tests.rhythm.orgs import snap, tree_org
from tests.rhythm.test_digest import NOW, digest

PEOPLE = tuple(f"{n}@acme.test" for n in ("zoe", "ana", "ben", "chitra", "pia", "sam"))
OWNED = {"ana@acme.test": "latency", "ben@acme.test": "signups", "pia@acme.test": "migrate",
         "sam@acme.test": "revenue"}  # fmt: skip
PASSED, OPEN = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
EARLY, LATE = PASSED - timedelta(hours=1), PASSED + timedelta(minutes=30)


def prompt(
    deadline: datetime = PASSED,
    answered: datetime | None = None,
    failure: str | None = None,
    waiting: bool = False,
) -> PromptFact:
    return PromptFact("ana@acme.test", False, deadline, answered, failure, waiting)


@pytest.mark.parametrize(
    ("prompts", "spontaneous", "checked_in", "on_leave", "state"),
    [
        ((prompt(answered=EARLY),), False, True, False, Attendance.ON_TIME),
        ((prompt(answered=LATE),), False, True, False, Attendance.LATE),
        # answered a prompt nobody sent (the check-in wrote it): spontaneous, counted once
        ((prompt(answered=EARLY),), True, True, False, Attendance.SPONTANEOUS),
        ((), True, True, False, Attendance.SPONTANEOUS),
        # an update with no answered prompt is a check-in all the same
        ((prompt(),), False, True, False, Attendance.SPONTANEOUS),
        # undeliverable, then checked in anyway: here after all
        ((prompt(failure="user blocked the bot"),), True, True, False, Attendance.SPONTANEOUS),
        ((prompt(),), False, False, False, Attendance.MISSING),
        ((prompt(deadline=OPEN),), False, False, False, Attendance.PENDING),
        ((prompt(failure="channel_not_found"),), False, False, False, Attendance.UNREACHABLE),
        ((prompt(failure=ON_LEAVE),), False, False, False, Attendance.ON_LEAVE),
        ((), False, False, True, Attendance.ON_LEAVE),
        # on leave but checked in: counted with those who did
        ((prompt(failure=ON_LEAVE, answered=EARLY),), False, True, True, Attendance.ON_TIME),
        ((), False, False, False, None),  # not asked, not away: not expected
        # two prompts (two rhythms of one kind): the person still counts once
        ((prompt(answered=LATE), prompt(answered=EARLY)), False, True, False, Attendance.ON_TIME),
        ((prompt(failure="gone"), prompt(deadline=OPEN)), False, False, False, Attendance.PENDING),
        # never asked: no chat account known for them yet, neither missing nor unreachable
        ((prompt(waiting=True),), False, False, False, Attendance.NOT_LINKED),
        ((prompt(deadline=OPEN, waiting=True),), False, False, False, Attendance.NOT_LINKED),
        ((prompt(waiting=True), prompt(deadline=OPEN)), False, False, False, Attendance.PENDING),
        ((prompt(waiting=True),), False, True, False, Attendance.SPONTANEOUS),
    ],
)
def test_attendance(
    prompts: Sequence[PromptFact],
    spontaneous: bool,
    checked_in: bool,
    on_leave: bool,
    state: Attendance | None,
):
    found = attendance(
        prompts, spontaneous=spontaneous, checked_in=checked_in, on_leave=on_leave, now=NOW
    )
    assert found is state


# ---- any facts: the counts add up ---------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """What one person did in a generated week."""

    prompts: tuple[tuple[bool, str, str | None], ...]  # (deadline passed, answer, failure)
    spontaneous: bool
    updated: bool  # their key result has an update this period
    noted: bool
    away: bool


ANSWERS = st.sampled_from(["none", "early", "late"])
FAILURES = st.sampled_from([None, None, ON_LEAVE, "user blocked the bot"])
WEEKS = st.builds(
    Week,
    prompts=st.lists(st.tuples(st.booleans(), ANSWERS, FAILURES), max_size=2).map(tuple),
    spontaneous=st.booleans(),
    updated=st.booleans(),
    noted=st.booleans(),
    away=st.booleans(),
)


def facts_of(weeks: dict[str, Week]) -> DigestFacts:
    prompts, current, notes = [], {}, []
    for who, week in weeks.items():
        for passed, answer, failure in week.prompts:
            deadline = PASSED if passed else OPEN
            answered = {"none": None, "early": deadline - timedelta(hours=2),
                        "late": deadline + timedelta(minutes=5)}[answer]  # fmt: skip
            if answered is not None:
                failure = None  # an answer clears a failure (storage.checkins)
            prompts.append(PromptFact(who, False, deadline, answered, failure))
        if week.updated and who in OWNED:
            current[OWNED[who]] = snap(who, 10, 7, Status.AT_RISK)
        if week.noted:
            notes.append(NoteFact(who, NOW, {"focus": "work"}))
    spontaneous = {who: 1 for who, week in weeks.items() if week.spontaneous}
    return DigestFacts(current=current, prompts=tuple(prompts), spontaneous=spontaneous,
                       notes=tuple(notes))  # fmt: skip


def checked_in_per_the_facts(weeks: dict[str, Week], team_people: set[str]) -> set[str]:
    """Who has a check-in in the period, read straight off the facts."""
    return {
        who
        for who, week in weeks.items()
        if who in team_people
        and (
            week.spontaneous
            or (week.updated and who in OWNED)
            or week.noted
            or any(answer != "none" for _, answer, _ in week.prompts)
        )
    }


def levels(d: Digest) -> list[Digest]:
    return [d, *(x for detail in d.details for x in levels(detail))]


def people_of(d: Digest) -> set[str]:
    org = tree_org()
    return {p.email for team in org.subtree(d.team) for p in org.members(team)}


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({who: WEEKS for who in PEOPLE}))
def test_every_count_agrees_with_every_other(weeks: dict[str, Week]):
    away = {who for who, week in weeks.items() if week.away}
    org = tree_org(leave={who: (date(2026, 5, 1), date(2026, 5, 12)) for who in away})
    company = digest(org, facts_of(weeks))
    for d in levels(company):
        p = d.participation
        named = [*p.missing, *p.pending, *p.unreachable, *p.on_leave]
        assert len(named) == len(set(named))  # nobody in two places
        assert p.checked_in == p.on_time + p.late + p.spontaneous
        assert p.expected == p.checked_in + len(p.missing) + len(p.pending) + len(p.unreachable)
        assert p.checked_in == len(checked_in_per_the_facts(weeks, people_of(d)))
        assert p.line().startswith(p.tally)
        # A key result updated this period was updated by someone who is counted
        updated = sum(k.checked_in for o in d.objectives for k in o.key_results)
        assert updated <= p.checked_in or not d.objectives
        # `status` reads the same digest: "Updated" never outruns "checked in"
        table = status_table(d.team_name, d)
        assert table.footer.startswith(f"{p.tally} for {d.period}")
        shown = sum(int(row[3].split("/")[0]) for row in table.rows)
        assert shown == updated
        assert not shown or p.checked_in
    for sub in company.subteams:
        detail = next(x for x in company.details if x.team == sub.team)
        assert (sub.checked_in, sub.expected) == (
            detail.participation.checked_in,
            detail.participation.expected,
        )


def test_the_readme_scenario_updated_one_of_two_is_never_next_to_nobody_checked_in():
    """Ben checks in on his own before anyone asked him; Ana's prompt is still open."""
    facts = DigestFacts(
        current={"signups": Snapshot(BEN_EMAIL, NOW, 300, 7, Status.ON_TRACK)},
        prompts=(PromptFact("ana@acme.test", False, OPEN, None),),
        spontaneous={BEN_EMAIL: 1},
    )
    eng = levels(digest(tree_org(), facts))[1]
    assert eng.team == "eng"
    table = status_table(eng.team_name, eng)
    assert table.rows[0][3] == "1/2"
    assert table.footer.startswith("1/2 checked in for 2026-W19")
    assert eng.participation.line() == "1/2 checked in (1 spontaneous) · still to answer: Ana"


BEN_EMAIL = "ben@acme.test"
