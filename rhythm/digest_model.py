"""What a digest is: the neutral value types every adapter renders, and nothing that builds them.

`rhythm.digest` builds these from `DigestFacts`; Slack blocks, Teams cards and the terminal
render them. The few phrases they all show alike (a key result's change, a participation
line) are written here once, as methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from statistics import fmean
from typing import TYPE_CHECKING

from rhythm.cadences import RhythmKind
from rhythm.chart_model import HeatmapChart, ProgressChart
from rhythm.markup import literal
from rhythm.present import DEFAULT_LOCALE, fmt_change, fmt_value, trend_arrow
from rhythm.status import Status
from rhythm.wording import joined

if TYPE_CHECKING:
    from rhythm.forecast import Forecast, ObjectiveForecast

NOT_SAID = "not said"  # what a story shows for a question its owner left blank


class WarningKind(StrEnum):
    BEHIND = "behind"
    CONFIDENCE_DROP = "confidence_drop"
    SILENT = "silent"
    FLAT_ON_TRACK = "flat_on_track"
    # The trend and the owner disagree: projected below 0.4 although confidence is 7+.
    FORECAST = "forecast"


class Concern(StrEnum):
    """Why a key result needs attention: the early warnings' kinds and two more."""

    BLOCKED = "blocked"
    OFF_TRACK = "off_track"  # its owner says so
    BEHIND = WarningKind.BEHIND.value
    CONFIDENCE_DROP = WarningKind.CONFIDENCE_DROP.value
    SILENT = WarningKind.SILENT.value
    FLAT_ON_TRACK = WarningKind.FLAT_ON_TRACK.value
    FORECAST = WarningKind.FORECAST.value


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
    checked_in: bool  # a person's check-in updated it this period (see `automatic`)
    previous_value: float | None = None  # where it stood at the end of the period before
    milestone: bool = False  # done (1) or not (0), no scale in between
    span: float | None = None  # target minus start: how precisely its values are worth showing
    locale: str = DEFAULT_LOCALE  # how its numbers are written
    # What moved it and what comes next, as this period's update says, for a key result at
    # risk or off track (None otherwise): leaders read why, not only that.
    moved: str | None = None
    next_step: str | None = None
    forecast: Forecast | None = None  # where its trend leads by the cycle's end
    # Who pushed the value shown, when it came from an automatic update this period (another
    # system: "ci"), later than any check-in's; None when a person's check-in set it.
    automatic: str | None = None

    def update_text(self) -> str:
        """ "updated automatically from ci", "no update", or "" after a check-in."""
        if self.automatic is not None:
            return f"updated automatically from {literal(self.automatic)}"
        return "" if self.checked_in else "no update"

    def change_text(self) -> str:
        """Where it stands and, when the period before is known, where it came from: "52% →
        58%", "58%, unchanged", "58%" (nothing known before, or a move too small to show);
        "done" or "not done" for a milestone; "" for neither value nor metric."""
        if self.milestone:
            return "done" if (self.value or 0) >= 1 else "not done"
        if self.value is None and self.target is None:
            return ""
        now, before = self._shown(self.value), self.previous_value
        if self.value is None or before is None:
            return now
        if before == self.value:
            return f"{now}, unchanged"
        if self._shown(before) == now:
            return now
        return fmt_change(before, self.value, self.unit, span=self.span, locale=self.locale)

    def target_text(self) -> str:
        """ "target 70%", or "" when there is no target worth naming (a milestone)."""
        if self.milestone or self.target is None:
            return ""
        return f"target {self._shown(self.target)}"

    def _shown(self, value: float | None) -> str:
        return fmt_value(value, self.unit, span=self.span, locale=self.locale)

    @property
    def has_story(self) -> bool:
        return self.moved is not None or self.next_step is not None

    def story(self) -> tuple[tuple[str, str], ...]:
        """What to show under the key result, as (label, text) pairs: what moved and the next
        step, "not said" for one left blank, and only one pair when both were."""
        if not self.moved and not self.next_step:
            return (("What moved, next step", NOT_SAID),)
        return ("What moved", self.moved or NOT_SAID), ("Next step", self.next_step or NOT_SAID)


@dataclass(frozen=True, slots=True)
class ObjectiveLine:
    key: str
    title: str
    team: str
    progress: float
    confidence: float | None
    confidence_trend: float | None
    key_results: tuple[KrLine, ...]
    forecast: ObjectiveForecast | None = None

    def confidence_text(self, *, delta: bool = False) -> str:
        """ "confidence 6.5", with its trend arrow when it has one ("6.5 ↓", with `delta`
        "6.5 ↓ (-1.0)"); "no confidence yet" before anyone gave one."""
        if self.confidence is None:
            return "no confidence yet"
        trend = self.confidence_trend
        if trend is None:
            return f"confidence {self.confidence:.1f}"
        change = f" ({trend:+.1f})" if delta and trend else ""
        return f"confidence {self.confidence:.1f} {trend_arrow(trend)}{change}"


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
class TrackedBlocker:
    """A blocker that names a team or key result, where it stands: "open · 9 days"."""

    person: str
    subject: str  # the blocked key result's title
    text: str
    waiting_on: str  # a team's name, or "the owner of <key result>"
    state: str  # in words: "open", "Omar is on it", "sent on by Omar", "resolved"
    age_days: int
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class Warning:
    kind: WarningKind
    key_result: str
    message: str  # a sentence that names the key result
    reason: str = ""  # the same in a few words, next to the key result's title


@dataclass(frozen=True, slots=True)
class Reason:
    concern: Concern
    text: str  # a few words: "blocked by Platform", "confidence 8 → 5"


@dataclass(frozen=True, slots=True)
class AttentionItem:
    """One key result among the digest's top risks, once, with every reason it is there."""

    key_result: str
    title: str
    owner: str  # display name
    status: Status | None
    reasons: tuple[Reason, ...]  # most pressing first
    forecast: str = ""  # where its trend leads, in words, when it has one

    @property
    def why(self) -> str:
        return "; ".join(r.text for r in self.reasons)


def tally(checked_in: int, expected: int) -> str:
    """ "3/5 checked in": the count every adapter and command shows, from `Participation`."""
    if not expected:
        return "no check-ins expected"
    return f"{checked_in}/{expected} checked in"


@dataclass(frozen=True, slots=True)
class Participation:
    """Who checked in, each person counted once, in one of: on time, late or spontaneous
    (checked in); missing, still to answer, waiting to be linked or unreachable (not yet); on
    leave (not expected).
    Everyone expected is checked in or named as not yet, so the counts always add up."""

    on_time: int
    late: int
    spontaneous: int  # checked in without having been asked
    missing: tuple[str, ...]  # names of people whose deadline passed without an answer
    pending: tuple[str, ...]  # names of people who can still answer
    on_leave: tuple[str, ...]
    unreachable: tuple[str, ...]  # their prompt could not be delivered
    streaks: tuple[tuple[str, int], ...]  # best current streaks, longest first
    not_linked: tuple[str, ...] = ()  # not asked yet: their chat account is not known

    @property
    def checked_in(self) -> int:
        return self.on_time + self.late + self.spontaneous

    @property
    def expected(self) -> int:
        not_yet = (self.missing, self.pending, self.not_linked, self.unreachable)
        return self.checked_in + sum(len(names) for names in not_yet)

    @property
    def rate(self) -> float | None:
        return self.checked_in / self.expected if self.expected else None

    @property
    def tally(self) -> str:
        return tally(self.checked_in, self.expected)

    def line(self, escape: Callable[[str], str] = str) -> str:
        """One line for every adapter; `escape` makes people's names safe for its markup."""
        how = ", ".join(
            f"{n} {label}"
            for n, label in (
                (self.on_time, "on time"),
                (self.late, "late"),
                (self.spontaneous, "spontaneous"),
            )
            if n
        )
        parts = [self.tally + (f" ({how})" if how else "")]
        for label, names in (
            ("missing", self.missing),
            ("still to answer", self.pending),
            ("waiting to be linked", self.not_linked),
            ("unreachable", self.unreachable),
            ("on leave", self.on_leave),
        ):
            if names:
                parts.append(f"{label}: " + escape(", ".join(names)))
        if self.streaks:
            parts.append("streaks: " + escape(", ".join(f"{n} {k}🔥" for n, k in self.streaks)))
        return joined(parts)


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
    checked_in: int
    expected: int
    attention: int  # key results that need attention, all of them (the digest shows a few)

    @property
    def tally(self) -> str:
        return tally(self.checked_in, self.expected)


@dataclass(frozen=True, slots=True)
class Digest:
    team: str
    team_name: str
    kind: RhythmKind
    period: str
    previous_period: str
    cycle: str
    elapsed_share: float
    attention: tuple[AttentionItem, ...]  # the top risks, which open the digest
    attention_more: int  # key results that need attention too, past the top ones
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
    chart: ProgressChart | None = None  # the objectives over the cycle, with their projection
    # The monthly review's rhythm health: on-time shares by team, ritual and week, and who
    # fell off the drumbeat when.
    health: HeatmapChart | None = None
    health_lines: tuple[str, ...] = ()
    # The strategy refresh: how well the teams' confidence foretold their scores.
    calibration: tuple[str, ...] = ()
    # Blockers that name a team, with their state and age: those the team raised, and those
    # other teams raised that wait on it; resolved ones once, in the period they resolved.
    tracked_blockers: tuple[TrackedBlocker, ...] = ()
    tracked_waiting: tuple[TrackedBlocker, ...] = ()
    blockers_summary: str = ""  # "3 blockers open, oldest 9 days, waiting on Platform"

    @property
    def progress(self) -> float | None:
        return fmean(o.progress for o in self.objectives) if self.objectives else None

    @property
    def other_warnings(self) -> tuple[Warning, ...]:
        """The early warnings about key results the attention list does not show already."""
        shown = {a.key_result for a in self.attention}
        return tuple(w for w in self.warnings if w.key_result not in shown)


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
