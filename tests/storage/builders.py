"""Small organisations and check-ins built in code for the storage tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from rhythm.cadences import Rhythm, RhythmKind
from rhythm.due import DuePrompt
from rhythm.forms import CheckInDraft, KrUpdate
from rhythm.okr import (
    Cycle,
    DateRange,
    Direction,
    Initiative,
    InitiativeStatus,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
)
from rhythm.status import Status

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # ISO week 2026-W10
WEEK = "2026-W10"
LAST_WEEK = "2026-W09"

ANA = "ana@acme.test"  # lead of product
BEN = "ben@acme.test"  # product member
CAI = "cai@acme.test"  # platform member, also in product
DEV = "dev@acme.test"  # platform lead


def acme(key: str = "acme", *, name: str = "Acme") -> Organisation:
    """Two teams under a company team, four people, two cycles and every optional field used
    at least once, so a round trip that drops anything shows up as a difference."""
    return Organisation(
        key=key,
        name=name,
        teams=(
            Team("company", "Acme Inc", None, "Europe/Paris"),
            Team("product", "Product", "company", "Europe/Paris"),
            Team("platform", "Platform", "company", "America/New_York"),
        ),
        people=(
            Person(ANA, "Ana", "Europe/Paris", holiday_calendar="fr",
                   memberships=(Membership("product", Role.LEAD),), slack_user_id="U1"),
            Person(BEN, "Ben", "Europe/Paris", working_days=frozenset({0, 1, 2, 3}),
                   time_off=(DateRange(date(2026, 3, 9), date(2026, 3, 13)),
                             DateRange(date(2026, 1, 2), date(2026, 1, 2))),
                   memberships=(Membership("product"),), teams_user_id="aad-ben",
                   quiet_start=time(18, 30), quiet_end=time(7, 45)),
            Person(CAI, "Cai", "Asia/Tokyo",
                   memberships=(Membership("platform"), Membership("product"))),
            Person(DEV, "Dev", "America/New_York", holiday_calendar="us",
                   memberships=(Membership("platform", Role.LEAD),)),
        ),
        cycles=(
            Cycle("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
            Cycle("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        ),
        objectives=(
            Objective("o-grow", "Grow", "2026-Q1", owner_team="company"),
            Objective("o-ship", "Ship faster", "2026-Q1", owner_team="product", parent="o-grow"),
            Objective("o-stable", "Stay up", "2026-Q1", owner_person=DEV, parent="o-grow"),
        ),
        key_results=(
            KeyResult("kr-nps", "o-ship", "NPS 40", ANA, Metric(10, 40, 12, " pts")),
            KeyResult("kr-lead", "o-ship", "Lead time 2d", BEN,
                      Metric(10, 2, 8.5, "d", Direction.DOWN)),
            KeyResult("kr-launch", "o-ship", "Launch app", BEN, Metric(0, 1, 0, milestone=True)),
            KeyResult("kr-uptime", "o-stable", "99.9% uptime", DEV, Metric(99, 99.9, 99.5, "%")),
            KeyResult("kr-vague", "o-grow", "Be loved", CAI, None),
        ),
        initiatives=(
            Initiative("i-survey", "kr-nps", "Survey", ANA, InitiativeStatus.IN_PROGRESS),
            Initiative("i-ci", "kr-lead", "Faster CI", None),
        ),
        rhythms=(
            Rhythm("r-weekly", "company", RhythmKind.WEEKLY, time(9, 30),
                   digest_channels=("C1", "C2")),
            Rhythm("r-daily", "product", RhythmKind.DAILY, time(10, 0), weekday=2,
                   reminder_after=timedelta(hours=2), max_reminders=1,
                   deadline_after=timedelta(hours=5), lead_time=timedelta(minutes=30)),
            Rhythm("r-eoc", "company", RhythmKind.END_OF_CYCLE, time(15, 0), days_before_end=5),
        ),
        holidays={
            "fr": frozenset({date(2026, 5, 1), date(2026, 7, 14)}),
            "us": frozenset({date(2026, 7, 4)}),
            "empty": frozenset(),
        },
    )  # fmt: skip


def due(
    person: str,
    *,
    period: str = WEEK,
    rhythm: str = "r-weekly",
    kind: RhythmKind = RhythmKind.WEEKLY,
    at: datetime = MONDAY,
    deadline: timedelta = timedelta(days=2),
    is_lead: bool = False,
) -> DuePrompt:
    return DuePrompt(rhythm, kind, person, period, at, at + deadline, is_lead)


def weekly(
    person: str,
    *updates: KrUpdate,
    initiatives: tuple[tuple[str, InitiativeStatus], ...] = (),
    notes: dict[str, str] | None = None,
) -> CheckInDraft:
    return CheckInDraft(
        person, RhythmKind.WEEKLY, kr_updates=updates, initiatives=initiatives, notes=notes or {}
    )


def update(
    kr: str,
    value: float | None,
    confidence: int | None = 7,
    *,
    status: Status | None = Status.ON_TRACK,
    blocked_by_team: str | None = None,
    next_step: str = "",
) -> KrUpdate:
    return KrUpdate(
        kr,
        value=value,
        confidence=confidence,
        status=status,
        blocked_by_team=blocked_by_team,
        next_step=next_step,
    )
