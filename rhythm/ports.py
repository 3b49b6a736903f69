"""The ports the core needs from the outside world: repositories, chat and a clock.

`storage/` implements the repositories (SQLite and PostgreSQL), `bot/*` the chat gateways.
Every repository method takes the organisation key: one database holds many organisations,
and none sees another's data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from rhythm.cadences import RhythmKind
from rhythm.due import DueDigest, DuePrompt
from rhythm.forms import CheckInDraft, LastAnswer, Status
from rhythm.messages import Message
from rhythm.okr import Organisation, Person


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests and the demo's simulated weeks."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


# ---- records the repositories hand back -------------------------------------------------


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


ON_LEAVE = "on leave"  # a prompt's failure when its person said "I'm off this week"


@dataclass(frozen=True, slots=True)
class PromptFact:
    person: str
    is_lead: bool
    deadline: datetime
    answered_at: datetime | None
    failure: str | None = None


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


# ---- repositories -----------------------------------------------------------------------


class OrgRepository(Protocol):
    async def save_organisation(self, org: Organisation) -> None:
        """Replace the organisation's OKR tree in one transaction (check-ins are kept)."""
        ...

    async def load_organisation(self, org: str) -> Organisation | None: ...

    async def organisation_keys(self) -> list[str]: ...

    async def set_current_values(self, org: str, values: Mapping[str, float]) -> None:
        """Record key results' current metric values (the latest check-in wins)."""
        ...


class PromptRepository(Protocol):
    async def add_prompts(self, org: str, due: Sequence[DuePrompt]) -> int:
        """Insert prompts, ignoring any (rhythm, person, period) that exists; returns new ones."""
        ...

    async def claim_unsent(
        self, org: str, *, now: datetime, worker: str, limit: int, lease: timedelta
    ) -> list[PromptRecord]:
        """Claim unsent, unfailed prompts scheduled by `now` (leads first) so that no other
        worker gets them until `lease` passes; concurrent callers get disjoint sets."""
        ...

    async def mark_sent(self, prompt_id: int, *, at: datetime, message_ref: str) -> None: ...

    async def mark_sent_many(self, sent: Sequence[tuple[int, str]], *, at: datetime) -> None:
        """`mark_sent` for many (prompt id, message ref) pairs in one transaction."""
        ...

    async def mark_failed(self, prompt_id: int, *, at: datetime, error: str) -> None:
        """A permanent failure: the prompt is not retried and shows up for admins."""
        ...

    async def release(self, prompt_id: int, *, retry_at: datetime) -> None:
        """A transient failure: make the prompt claimable again from `retry_at`."""
        ...

    async def reminder_candidates(self, org: str, *, now: datetime) -> list[PromptRecord]:
        """Sent, unanswered, unfailed prompts whose deadline has not passed."""
        ...

    async def mark_reminded(self, prompt_id: int, *, at: datetime, count_before: int) -> bool:
        """Count one reminder if nobody else did (compare-and-set on the count)."""
        ...

    async def get_prompt(self, org: str, prompt_id: int) -> PromptRecord | None: ...

    async def open_prompts(
        self, org: str, person: str, *, now: datetime, timezone: str | None = None
    ) -> list[PromptRecord]:
        """The person's unanswered prompts whose period is still open, newest first; "today"
        is in `timezone` (default: the OKR file's timezone of the person)."""
        ...

    async def snooze(self, prompt_id: int, *, until: datetime) -> None: ...

    async def failed_prompts(self, org: str) -> list[PromptRecord]: ...


class CheckInRepository(Protocol):
    async def save_checkin(
        self,
        org: str,
        draft: CheckInDraft,
        *,
        period: str,
        prompt_id: int | None,
        submitted_at: datetime,
        idempotency_key: str,
    ) -> SavedCheckIn:
        """Store a check-in and its updates atomically and mark its prompt answered.
        Storing the same idempotency key twice stores it once."""
        ...

    async def last_answers(self, org: str, person: str) -> dict[str, LastAnswer]: ...

    async def find_checkin(self, org: str, idempotency_key: str) -> SavedCheckIn | None:
        """The check-in already stored under this idempotency key, if any."""
        ...

    async def last_answers_many(
        self, org: str, people: Sequence[str]
    ) -> dict[str, dict[str, LastAnswer]]:
        """`last_answers` of several people in one round trip (a tick's batch of prompts)."""
        ...

    async def digest_facts(
        self,
        org: str,
        *,
        kind: RhythmKind,
        period: str,
        previous: str,
        key_results: Sequence[str],
        people: Sequence[str],
        teams: Sequence[str],
        now: datetime | None = None,
    ) -> DigestFacts:
        """`now` decides which unanswered prompts are past their deadline (they end streaks)."""
        ...


class DigestRepository(Protocol):
    async def add_digests(self, org: str, due: Sequence[DueDigest]) -> int: ...

    async def claim_digests(
        self, org: str, *, now: datetime, worker: str, lease: timedelta
    ) -> list[DigestRecord]: ...

    async def mark_posted(self, digest_id: int, *, at: datetime) -> None: ...

    async def mark_digest_failed(self, digest_id: int, *, at: datetime, error: str) -> None: ...


class TickRepository(Protocol):
    async def last_tick(self, org: str) -> datetime | None: ...

    async def record_tick(self, org: str, at: datetime) -> None:
        """Move the watermark forward to `at` (never backwards)."""
        ...


class PeopleRepository(Protocol):
    """What chat platforms teach us about people, kept apart from the OKR file so a re-import
    neither loses nor overrides it. `load_organisation` applies it: a linked chat id fills an
    id the file left out; a chat timezone fills a timezone the file left out; a timezone the
    person set with `timezone` wins over both."""

    async def link_chat_user(
        self, org: str, person: str, *, platform: str, user_id: str, timezone: str | None = None
    ) -> None: ...

    async def set_timezone(self, org: str, person: str, timezone: str | None) -> None: ...

    async def mark_unreachable(self, org: str, person: str, *, reason: str, at: datetime) -> None:
        """The person blocked the bot, left the workspace...: shown to admins until they are
        reachable again."""
        ...

    async def clear_unreachable(self, org: str, person: str) -> None: ...

    async def unreachable_people(self, org: str) -> list[Unreachable]: ...


class SubscriptionRepository(Protocol):
    async def subscribe(self, org: str, team: str, channel: str, *, by: str) -> bool:
        """Add (or revive a failed) subscription; False when it already existed and worked."""
        ...

    async def unsubscribe(self, org: str, team: str, channel: str) -> bool: ...

    async def subscriptions(self, org: str, team: str | None = None) -> list[Subscription]: ...

    async def mark_subscription_failed(
        self, org: str, team: str, channel: str, *, error: str, at: datetime
    ) -> None: ...


class WorkspaceRepository(Protocol):
    """Which organisation a Slack workspace or Teams tenant belongs to."""

    async def link_workspace(self, platform: str, workspace: str, org: str) -> None: ...

    async def workspace_org(self, platform: str, workspace: str) -> str | None: ...

    async def org_workspaces(self, org: str, platform: str) -> list[str]: ...


class ConversationRepository(Protocol):
    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert or replace the reference for (platform, address)."""
        ...

    async def conversation(self, platform: str, address: str) -> Conversation | None: ...


class DraftRepository(Protocol):
    """Answers of a paged form (Slack modal pages, Teams card pages) before its last page is
    submitted, so nothing a person typed is lost between pages."""

    async def save_draft(
        self, org: str, person: str, context: str, answers: Mapping[str, str | None]
    ) -> None: ...

    async def load_draft(self, org: str, person: str, context: str) -> dict[str, str | None]: ...

    async def clear_draft(self, org: str, person: str, context: str) -> None: ...


class Store(OrgRepository, PromptRepository, CheckInRepository, DigestRepository, TickRepository,
            PeopleRepository, SubscriptionRepository, WorkspaceRepository,
            ConversationRepository, DraftRepository, Protocol):  # fmt: skip
    """Everything the core needs from storage, as one object the composition root injects."""


# ---- chat -------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A message could not be delivered. Permanent errors (unknown user, bot blocked, channel
    gone) are recorded and not retried; transient ones are retried after `retry_after`."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class ChatGateway(Protocol):
    """Delivers the core's messages on one chat platform (or routes between several).
    `org` is the organisation the message belongs to: one workspace or tenant per
    organisation, so the gateway knows which credentials and conversations to use."""

    async def send_direct(self, org: str, person: Person, message: Message) -> str:
        """Send a direct message; returns a reference that `update_direct` accepts."""
        ...

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None: ...

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        """Post to a channel (or as a reply in `thread`); returns a reference to the post."""
        ...
