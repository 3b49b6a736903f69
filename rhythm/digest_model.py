"""What a digest is: the neutral value types every adapter renders, and nothing that builds them.

`rhythm.digest` builds these from `DigestFacts`; Slack blocks, Teams cards and the terminal
render them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from statistics import fmean

from rhythm.cadences import RhythmKind
from rhythm.status import Status


class WarningKind(StrEnum):
    BEHIND = "behind"
    CONFIDENCE_DROP = "confidence_drop"
    SILENT = "silent"
    FLAT_ON_TRACK = "flat_on_track"


@dataclass(frozen=True, slots=True)
class KrLine:
    key: str
    title: str
    owner: str  # display name
    progress: float
    value: float | None
    target: float | None
    unit: str
    confidence: int | None
    confidence_delta: int | None
    status: Status | None
    checked_in: bool


@dataclass(frozen=True, slots=True)
class ObjectiveLine:
    key: str
    title: str
    team: str
    progress: float
    confidence: float | None
    confidence_trend: float | None
    key_results: tuple[KrLine, ...]


@dataclass(frozen=True, slots=True)
class StatusChange:
    key_result: str
    title: str
    owner: str
    before: Status
    after: Status


@dataclass(frozen=True, slots=True)
class BlockerLine:
    person: str
    subject: str  # the key result (or "daily pulse") the blocker is about
    text: str
    blocked_by: str  # the team or key result named as the cause, display text; may be ""


@dataclass(frozen=True, slots=True)
class Warning:
    kind: WarningKind
    key_result: str
    message: str


@dataclass(frozen=True, slots=True)
class Participation:
    prompted: int
    answered: int
    on_time: int
    late: int
    missing: tuple[str, ...]  # names of people whose deadline passed without an answer
    pending: tuple[str, ...]  # names of people who can still answer
    on_leave: tuple[str, ...]
    unreachable: tuple[str, ...]
    spontaneous: int
    streaks: tuple[tuple[str, int], ...]  # best current streaks, longest first

    @property
    def rate(self) -> float | None:
        return self.answered / self.prompted if self.prompted else None

    def line(self, escape: Callable[[str], str] = str) -> str:
        """One line for every adapter; `escape` makes people's names safe for its markup."""
        parts = [
            f"{self.answered}/{self.prompted} checked in ({self.on_time} on time, {self.late} late)"
        ]
        if self.spontaneous:
            parts.append(f"{self.spontaneous} spontaneous")
        for label, names in (
            ("missing", self.missing),
            ("still to answer", self.pending),
            ("on leave", self.on_leave),
            ("unreachable", self.unreachable),
        ):
            if names:
                parts.append(f"{label}: " + escape(", ".join(names)))
        if self.streaks:
            parts.append("streaks: " + escape(", ".join(f"{n} {k}🔥" for n, k in self.streaks)))
        return " · ".join(parts)


@dataclass(frozen=True, slots=True)
class LeaderNote:
    person: str
    team: str
    text: str


@dataclass(frozen=True, slots=True)
class SubteamLine:
    team: str
    name: str
    progress: float | None
    confidence: float | None
    answered: int
    prompted: int
    warnings: int


@dataclass(frozen=True, slots=True)
class Digest:
    team: str
    team_name: str
    kind: RhythmKind
    period: str
    previous_period: str
    cycle: str
    elapsed_share: float
    leaders: tuple[LeaderNote, ...]
    objectives: tuple[ObjectiveLine, ...]
    status_changes: tuple[StatusChange, ...]
    blockers: tuple[BlockerLine, ...]
    blocking_others: tuple[BlockerLine, ...]
    warnings: tuple[Warning, ...]
    participation: Participation
    subteams: tuple[SubteamLine, ...]
    details: tuple[Digest, ...]  # one per direct sub-team, for thread replies
    notes: tuple[LeaderNote, ...]  # free-text answers of everyone else (daily focus, reflection)

    @property
    def progress(self) -> float | None:
        return fmean(o.progress for o in self.objectives) if self.objectives else None


@dataclass(frozen=True, slots=True)
class DigestScope:
    """What one digest covers: a team with its whole subtree, in one period."""

    team: str
    kind: RhythmKind
    period: str
    previous_period: str
    cycle: str
    today: date  # in the team's timezone, for the elapsed share of the cycle
    period_days: tuple[date, date]
