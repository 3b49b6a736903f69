"""What the repositories hand back: plain values, read fresh from the database on every use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from rhythm.cadences import RhythmKind
from rhythm.messages import Notice
from rhythm.status import Status

ON_LEAVE = "on leave"  # a prompt's failure when its person said "I'm off this week"


@dataclass(frozen=True, slots=True)
class PromptRecord:
    id: int
    rhythm: str
    kind: RhythmKind
    person: str
    period: str
    scheduled_for: datetime
    deadline: datetime
    is_lead: bool
    sent_at: datetime | None = None
    message_ref: str | None = None
    answered_at: datetime | None = None
    reminders_sent: int = 0
    last_reminded_at: datetime | None = None
    snoozed_until: datetime | None = None
    failure: str | None = None
    # When a send of this prompt last began; with no `sent_at`, nobody knows whether that
    # send reached the person (a crash or a lost answer): look before sending again.
    attempted_at: datetime | None = None
    attempts: int = 0
    # Since when it waits for the person's chat account (`rhythm.ports.NotLinked`).
    waiting_since: datetime | None = None

    @property
    def in_doubt(self) -> bool:
        return self.attempted_at is not None and self.sent_at is None

    @property
    def waiting_for_link(self) -> bool:
        """Not sent because nobody knows the person's chat account yet: not a failure."""
        return self.waiting_since is not None and self.sent_at is None


@dataclass(frozen=True, slots=True)
class DigestRecord:
    id: int
    rhythm: str
    team: str
    period: str
    scheduled_for: datetime
    posted_at: datetime | None = None
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class SavedCheckIn:
    id: int
    revision: int  # 1 for the first check-in of this person, kind and period; +1 per edit
    created: bool  # False when the same submission had already been stored
    # The prompt this check-in answers (whether or not it was ever sent), as it was before.
    prompt: PromptRecord | None = None
    spontaneous: bool = False  # the first check-in of the period, and no prompt was sent
    submitted_at: datetime | None = None  # when it was stored (as found again: the first time)


@dataclass(frozen=True, slots=True)
class KrState:
    """Where one key result stands now: its current value (the latest check-in, or the OKR
    file's) and its owner's latest confidence, status and next step."""

    value: float | None
    confidence: int | None = None
    status: Status | None = None
    next_step: str = ""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The latest revision of one key result's update within one period."""

    person: str
    submitted_at: datetime
    value: float | None
    confidence: int | None
    status: Status | None
    moved: str = ""
    blockers: str = ""
    blocked_by_team: str | None = None
    blocked_by_kr: str | None = None
    next_step: str = ""
    value_before: float | None = None  # before the period's first update of the key result


@dataclass(frozen=True, slots=True)
class AutoUpdateFact:
    """A key result's automatic updates within a digest's period (values another system
    pushed: `rhythm.values`): the latest, and where the key result stood before the first.
    `first_checkin_at` is when the period's first check-in update of the key result came
    (None: none did), so the digest can tell which came first and where the period began."""

    source: str  # who pushed the latest: "ci", "warehouse"
    at: datetime  # when the latest was stored
    value: float  # the latest pushed value
    first_at: datetime  # when the period's first push was stored
    value_before: float | None  # the key result's value just before that first push
    first_checkin_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PromptFact:
    person: str
    is_lead: bool
    deadline: datetime
    answered_at: datetime | None
    failure: str | None = None
    waiting: bool = False  # not sent: the person's chat account is not known yet


@dataclass(frozen=True, slots=True)
class NoteFact:
    """Free-text answers of one check-in in the period (daily focus, monthly reflection...)."""

    person: str
    submitted_at: datetime
    notes: Mapping[str, str]
    blocked_by_team: str | None = None


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What SQL aggregated for one digest: latest state per key result in the period and the
    one before, participation, and notes. Sized by the team, never by history."""

    current: Mapping[str, Snapshot] = field(default_factory=dict)
    previous: Mapping[str, Snapshot] = field(default_factory=dict)
    prompts: Sequence[PromptFact] = ()
    spontaneous: Mapping[str, int] = field(default_factory=dict)
    streaks: Mapping[str, int] = field(default_factory=dict)
    notes: Sequence[NoteFact] = ()
    blocking_others: Sequence[tuple[str, str, Snapshot]] = ()  # (key result, its team, update)
    values: Mapping[str, float | None] = field(default_factory=dict)  # current, per key result
    asked_before: frozenset[str] = frozenset()  # people prompted in the period before
    # Per key result, its automatic updates in the period (only those that have any): values
    # pushed by other systems, never a person's check-in (participation ignores them).
    automatic: Mapping[str, AutoUpdateFact] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel that receives a team's digests, asked for with `subscribe` in that channel."""

    team: str
    channel: str  # "platform:address"
    created_by: str
    failure: str | None = None


@dataclass(frozen=True, slots=True)
class Unreachable:
    person: str
    reason: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a platform can reach a person or a channel proactively (a Teams conversation
    reference, say): stored, never only in memory, so restarts and replicas keep it."""

    platform: str
    address: str  # the platform's id for the user or channel
    reference: Mapping[str, object]
    org: str | None = None
    person: str | None = None


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a cached organisation is checked against on every use: the tree's revision (an
    import) and the people's (a chat link, a chosen timezone), each bumped in the
    transaction that changed it."""

    tree: int
    people: int


@dataclass(frozen=True, slots=True)
class Draft:
    """A paged form's answers so far, and the unusual values the person already confirmed."""

    answers: Mapping[str, str | None] = field(default_factory=dict)
    confirmed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KrPoint:
    """One reported value of a key result: the latest revision of one check-in's update of it
    (or an automatic update), when it was submitted (UTC). Forecasts and charts read these."""

    key_result: str
    at: datetime
    value: float | None
    confidence: int | None
    status: Status | None = None


@dataclass(frozen=True, slots=True)
class AttendanceCell:
    """How one team answered one ritual in one week: prompts asked of its people (not on
    leave) and answered on time. A person counts in each team they belong to."""

    team: str
    kind: RhythmKind
    week: date  # the Monday of the ISO week, in the team's timezone
    asked: int
    on_time: int


# ---- blockers, direct messages sent once, nudges, history --------------------------------


class BlockerState(StrEnum):
    """Where a blocker that names a team or a key result stands."""

    OPEN = "open"  # raised, its team not heard from yet
    ACKNOWLEDGED = "acknowledged"  # someone there said "On it"
    REROUTED = "rerouted"  # the team named said "Not us" and named another
    RESOLVED = "resolved"


LIVE_BLOCKER_STATES = (BlockerState.OPEN, BlockerState.ACKNOWLEDGED, BlockerState.REROUTED)


@dataclass(frozen=True, slots=True)
class BlockerRecord:
    """A blocker raised on one key result by its reporter, waiting on a team (or on the owner
    of a key result). One live blocker per reporter and key result: a later check-in naming
    a blocker again updates it; one reporting no blocker resolves it."""

    id: int
    raised_by: str  # the reporter (a person's key)
    key_result: str  # the key result that is blocked
    text: str
    waiting_on_team: str | None
    waiting_on_kr: str | None
    state: BlockerState
    raised_at: datetime
    changed_at: datetime
    checkin_id: int  # the latest check-in that raised or restated it
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # a person's key; the reporter's own when auto-resolved

    @property
    def live(self) -> bool:
        return self.state is not BlockerState.RESOLVED


@dataclass(frozen=True, slots=True)
class TeamBlockers:
    """A team's blockers: those it raised (on its key results) and those waiting on it."""

    raised: tuple[BlockerRecord, ...]
    waiting: tuple[BlockerRecord, ...]


class BlockerEventKind(StrEnum):
    RAISED = "raised"  # new, or restated against another team
    ACKNOWLEDGED = "acknowledged"
    REROUTED = "rerouted"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class BlockerEvent:
    """One change of a blocker, written in the transaction that changed it; the core tells
    the people concerned about it once (`announced`)."""

    id: int
    blocker: BlockerRecord  # as it is now
    kind: BlockerEventKind
    at: datetime
    by: str | None  # who pressed the button (None: the reporter's check-in)
    from_team: str | None = None  # rerouted: the team that said "Not us"
    auto: bool = False  # resolved by the reporter's check-in reporting no blocker


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A direct message to send once (a blocker's news, a lead's nudge, a lead's list of who
    is missing): `key` is unique per organisation, so writing it twice writes it once."""

    key: str
    person: str  # the recipient
    notice: Notice


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    key: str
    person: str
    notice: Notice
    created_at: datetime
    attempted_at: datetime | None = None
    sent_at: datetime | None = None
    attempts: int = 0

    @property
    def in_doubt(self) -> bool:
        return self.attempted_at is not None and self.sent_at is None


class Spent(StrEnum):
    SPENT = "spent"
    ALREADY = "already"  # this key was spent before: nothing more spent
    CAPPED = "capped"  # the person's week is used up: nothing spent


@dataclass(frozen=True, slots=True)
class Spend:
    """One nudge out of a person's weekly allowance (reminders and leads' nudges alike);
    `key` makes spending the same nudge twice (two replicas, a double click) count once."""

    person: str
    week: str  # the ISO week in the person's timezone, "2026-W49"
    key: str
    cap: int
    at: datetime


@dataclass(frozen=True, slots=True)
class PersonSettings:
    """What a person chose for themselves with `settings`."""

    missing_list: bool = True  # a lead gets the list of who has not checked in


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One key result's update in one check-in (its latest revision), or a value another
    system pushed (`source` set; then `kind` is None, `period` "", `checkin_id` and
    `revision` 0, and `update` holds the value alone, with no person)."""

    key_result: str
    kind: RhythmKind | None
    period: str
    checkin_id: int
    revision: int
    update: Snapshot
    source: str | None = None  # an automatic update: who pushed it ("ci")


@dataclass(frozen=True, slots=True)
class AutoUpdate:
    """A value another system pushed for a key result (`rhythm.values`), as stored: the key
    result's current value became `value` in the same transaction."""

    id: int
    key_result: str
    value: float
    value_before: float | None  # the key result's current value just before
    source: str  # who pushed it, as the caller names itself: "ci", "warehouse"
    submitted_at: datetime  # when it was stored (UTC)
    idempotency_key: str | None = None
    created: bool = True  # False: found stored already under its idempotency key
