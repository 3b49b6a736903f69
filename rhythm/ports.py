"""The ports the core needs from the outside world: repositories, chat and a clock.

`storage/` implements the repositories (SQLite and PostgreSQL), `bot/*` the chat gateways.
Every repository method takes the organisation key: one database holds many organisations,
and none sees another's data. What the repositories hand back is in `rhythm.records`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from rhythm.cadences import RhythmKind
from rhythm.due import DueDigest, DuePrompt
from rhythm.forms import CheckInDraft
from rhythm.messages import Message
from rhythm.okr import InitiativeStatus, Organisation, Person
from rhythm.profiles import ChatProfile
from rhythm.records import (
    AttendanceCell,
    AutoUpdate,
    BlockerEvent,
    BlockerRecord,
    BlockerState,
    Conversation,
    DigestFacts,
    DigestRecord,
    Draft,
    HistoryEntry,
    KrPoint,
    KrState,
    OutboxRecord,
    Outgoing,
    PersonSettings,
    PromptRecord,
    SavedCheckIn,
    Spend,
    Spent,
    Stamp,
    Subscription,
    Unreachable,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Let `seconds` pass (the core's own pauses, so a test's clock can skip them)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


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

    async def sleep(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)


class ShiftedClock(SystemClock):
    """The real clock, started at another moment: it runs in real time from `start` (to
    replay a sample week live: `drumbeat local --at`)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


@dataclass(frozen=True, slots=True)
class TreeSnapshot:
    """An organisation's tree as imported, what chat platforms taught us about its people,
    and the stamp they were read at, all from one consistent read."""

    tree: Organisation
    profiles: Mapping[str, ChatProfile]
    stamp: Stamp


@dataclass(frozen=True, slots=True)
class Answering:
    """The prompt a check-in answers: the prompt `prompt_id`, else the prompt of `due` (by its
    rhythm, person and period), which is written then, already answered, when no tick wrote
    it yet; with neither, the check-in answers no prompt."""

    prompt_id: int | None = None
    due: DuePrompt | None = None


@dataclass(frozen=True, slots=True)
class StoredCheckIn:
    """A stored check-in's latest revision as its draft: what an Edit prefills."""

    id: int
    person: str
    kind: RhythmKind
    period: str
    prompt_id: int | None
    revision: int
    submitted_at: datetime
    draft: CheckInDraft
    # The check-in came unprompted (its period's first revision says so, for every revision).
    spontaneous: bool = False


# ---- repositories -----------------------------------------------------------------------


class OrgRepository(Protocol):
    async def save_organisation(
        self, org: Organisation, *, keep_progress: bool = True
    ) -> Organisation:
        """Replace the organisation's OKR tree in one transaction (check-ins are kept) and
        bump its tree revision. With `keep_progress`, the current values and initiative
        statuses stored at that moment are kept over the file's; returns the tree saved."""
        ...

    async def load_organisation(self, org: str) -> Organisation | None:
        """The tree with chat profiles applied and current values, as stored now (exports,
        the command line); a running server uses `load_tree` through its cache."""
        ...

    async def load_tree(self, org: str) -> TreeSnapshot | None: ...

    async def organisation_stamp(self, org: str) -> Stamp | None:
        """The revisions a cached tree is checked against: one small read per use."""
        ...

    async def profiles_since(self, org: str, revision: int) -> list[ChatProfile]:
        """Chat profiles changed after people revision `revision`."""
        ...

    async def organisation_keys(self) -> list[str]: ...

    async def current_values(
        self, org: str, key_results: Sequence[str] | None = None
    ) -> dict[str, float | None]:
        """Key results' current values (all of the organisation's when None)."""
        ...

    async def set_current_values(self, org: str, values: Mapping[str, float]) -> None:
        """Record key results' current metric values (the latest check-in wins)."""
        ...

    async def initiative_statuses(
        self, org: str, key_results: Sequence[str] | None = None
    ) -> dict[str, InitiativeStatus]:
        """Current statuses of the initiatives of `key_results` (all when None), by key."""
        ...


class PromptRepository(Protocol):
    async def add_prompts(self, org: str, due: Sequence[DuePrompt]) -> int:
        """Insert prompts, ignoring any (rhythm, person, period) that exists; returns new ones."""
        ...

    async def claim_unsent(
        self, org: str, *, now: datetime, worker: str, limit: int, lease: timedelta
    ) -> list[PromptRecord]:
        """Claim unsent, unanswered, unfailed prompts scheduled by `now` (leads first) so that
        no other worker gets them until `lease` passes; concurrent callers get disjoint sets."""
        ...

    async def renew_claims(
        self, prompt_ids: Sequence[int], *, worker: str, until: datetime
    ) -> None:
        """Extend `worker`'s claims on these prompts (those it still holds) to `until`."""
        ...

    async def release_claims(self, org: str, *, worker: str) -> int:
        """Give up every unsent prompt `worker` holds (a clean shutdown); returns how many."""
        ...

    async def mark_attempt(self, prompt_id: int, *, at: datetime) -> None:
        """A send of this prompt begins: until `mark_sent`, its outcome is in doubt."""
        ...

    async def mark_sent(self, prompt_id: int, *, at: datetime, message_ref: str) -> bool:
        """Record a delivered prompt; False when it was answered in the meantime (its
        message then needs to say so)."""
        ...

    async def mark_failed(self, prompt_id: int, *, at: datetime, error: str) -> None:
        """A permanent failure: the prompt is not retried and shows up for admins."""
        ...

    async def retry_failed(self, org: str, person: str, *, now: datetime) -> int:
        """The person's prompts that failed for good but can still be answered (not sent,
        not answered, deadline ahead, not "I'm off") become due again; returns how many."""
        ...

    async def release(self, prompt_id: int, *, retry_at: datetime, in_doubt: bool) -> None:
        """A transient failure: make the prompt claimable again from `retry_at`. Unless
        `in_doubt` (the platform may have delivered it), the attempt is forgotten."""
        ...

    async def wait_for_link(self, prompt_id: int, *, at: datetime, look_again: datetime) -> None:
        """The person has no chat account yet (`NotLinked`): the prompt waits, tried again at
        `look_again` or as soon as they are linked, whichever comes first."""
        ...

    async def wake_waiting(self, org: str) -> int:
        """Every prompt of `org` that waits for a chat account is tried on the next tick (the
        app was just installed where its people are); returns how many."""
        ...

    async def reminder_candidates(
        self, org: str, *, now: datetime, quiet_since: datetime | None = None
    ) -> list[PromptRecord]:
        """Sent, unanswered, unfailed prompts whose deadline has not passed (and, given
        `quiet_since`, last sent or reminded no later than that)."""
        ...

    async def mark_reminded(self, prompt_id: int, *, at: datetime, count_before: int) -> bool:
        """Count one reminder if nobody else did (compare-and-set on the count)."""
        ...

    async def get_prompt(self, org: str, prompt_id: int) -> PromptRecord | None: ...

    async def find_prompt(
        self, org: str, *, rhythm: str, person: str, period: str
    ) -> PromptRecord | None: ...

    async def open_prompts(
        self, org: str, person: str, *, now: datetime, timezone: str | None = None
    ) -> list[PromptRecord]:
        """The person's unanswered prompts whose period is still open, newest first; "today"
        is in `timezone` (default: the OKR file's timezone of the person)."""
        ...

    async def snooze(self, prompt_id: int, *, until: datetime) -> None: ...

    async def failed_prompts(self, org: str) -> list[PromptRecord]: ...

    async def prompted_periods(
        self, org: str, wanted: Sequence[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Which of the (rhythm, period) pairs have at least one prompt."""
        ...

    async def rhythms_prompted(self, org: str, rhythms: Sequence[str]) -> set[str]:
        """Which of the rhythms have prompted anyone, ever."""
        ...


class CheckInRepository(Protocol):
    async def save_checkin(
        self,
        org: str,
        draft: CheckInDraft,
        *,
        period: str,
        answering: Answering,
        submitted_at: datetime,
        idempotency_key: str,
    ) -> SavedCheckIn:
        """Store a check-in and its updates atomically, update the key results' current
        values in place, and mark the prompt it answers answered (see `Answering`). Storing
        the same idempotency key twice stores it once."""
        ...

    async def find_checkin(self, org: str, idempotency_key: str) -> SavedCheckIn | None:
        """The check-in already stored under this idempotency key, if any."""
        ...

    async def kr_states(self, org: str, person: str) -> dict[str, KrState]:
        """Where each key result `person` owns stands now."""
        ...

    async def kr_states_many(
        self, org: str, people: Sequence[str]
    ) -> dict[str, dict[str, KrState]]:
        """`kr_states` of several people in one round trip (a tick's batch of prompts)."""
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
        window: tuple[datetime, datetime] | None = None,
    ) -> DigestFacts:
        """`now` decides which unanswered prompts are past their deadline (they end streaks);
        `window` is the period as instants [start, end): the automatic updates stored in it
        are the period's (`DigestFacts.automatic`; None: none are read)."""
        ...


class DigestRepository(Protocol):
    async def add_digests(self, org: str, due: Sequence[DueDigest]) -> int: ...

    async def claim_digests(
        self, org: str, *, now: datetime, worker: str, lease: timedelta
    ) -> list[DigestRecord]: ...

    async def mark_posted(self, digest_id: int, *, at: datetime) -> None: ...

    async def mark_digest_failed(self, digest_id: int, *, at: datetime, error: str) -> None: ...


class PeopleRepository(Protocol):
    """What chat platforms teach us about people, kept apart from the OKR file so a re-import
    neither loses nor overrides it (see `rhythm.profiles`). Every change bumps the
    organisation's people revision, so every process's cached tree picks it up."""

    async def link_chat_user(
        self, org: str, person: str, *, platform: str, user_id: str, timezone: str | None = None
    ) -> None: ...

    async def set_timezone(self, org: str, person: str, timezone: str | None) -> None: ...

    async def mark_unreachable(self, org: str, person: str, *, reason: str, at: datetime) -> None:
        """The person blocked the bot, left the workspace...: shown to admins until they are
        reachable again."""
        ...

    async def clear_unreachable(self, org: str, person: str) -> bool:
        """Forget that the person could not be reached; True when they were marked."""
        ...

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

    async def note_unlinked_workspace(self, platform: str, workspace: str, *, at: datetime) -> bool:
        """Remember a workspace that showed up unlinked; True the first time."""
        ...


class ConversationRepository(Protocol):
    async def save_conversation(self, conversation: Conversation) -> None:
        """Insert or replace the reference for (platform, address)."""
        ...

    async def conversation(self, platform: str, address: str) -> Conversation | None: ...


class DraftRepository(Protocol):
    """Answers of a paged form (Slack modal pages, Teams card pages) before its last page is
    submitted, so nothing a person typed is lost between pages."""

    async def save_draft(self, org: str, person: str, key: str, draft: Draft) -> None: ...

    async def load_draft(self, org: str, person: str, key: str) -> Draft: ...

    async def clear_draft(self, org: str, person: str, key: str) -> None: ...


class SeriesRepository(Protocol):
    """The history forecasts, charts and calibration are made of."""

    async def kr_series(
        self, org: str, key_results: Sequence[str], *, since: datetime, until: datetime
    ) -> dict[str, list[KrPoint]]:
        """Each key result's reported values submitted in [since, until), oldest first: per
        check-in only its latest revision. Key results without any are absent."""
        ...

    async def ritual_attendance(
        self, org: str, teams: Sequence[str], *, since: datetime, until: datetime
    ) -> list[AttendanceCell]:
        """Per team (each of `teams`, its own members only), ritual and ISO week of prompts
        due in [since, until): how many were asked and how many answered on time."""
        ...


class ChartRepository(Protocol):
    """Rendered charts kept for a while, so that any replica can serve a chart's link."""

    async def save_chart(
        self, org: str, chart_id: str, png: bytes, *, expires_at: datetime
    ) -> None: ...

    async def chart_png(self, chart_id: str, *, now: datetime) -> bytes | None:
        """The chart's PNG, or None when it is unknown or expired."""
        ...

    async def chart_secret(self) -> bytes:
        """The key that signs chart links: made once per database, so all replicas share it."""
        ...

    async def prune_charts(self, *, now: datetime) -> int:
        """Forget expired charts; returns how many."""
        ...


class BlockerRepository(Protocol):
    """Blockers that name a team or a key result. `save_checkin` keeps them in its own
    transaction, from the check-in's key-result updates: an update naming a team or key result
    raises a blocker (or restates the reporter's live one on that key result: text and check-in
    updated; against another team, it waits on that one and is raised again); an update with
    no blocker at all (no text, nobody named) resolves the live one (`auto`). Each change
    writes a `BlockerEvent` in the same transaction."""

    async def blocker(self, org: str, blocker_id: int) -> BlockerRecord | None: ...

    async def blockers(
        self,
        org: str,
        *,
        key_results: Sequence[str] = (),
        waiting_on: Sequence[str] = (),
        resolved_since: datetime | None = None,
    ) -> list[BlockerRecord]:
        """Live blockers on any of `key_results` or waiting on any of the teams `waiting_on`,
        and, given `resolved_since`, those of them resolved since then; oldest first."""
        ...

    async def change_blocker(
        self,
        org: str,
        blocker_id: int,
        *,
        expect: Sequence[BlockerState],
        to: BlockerState,
        by: str,
        at: datetime,
        waiting_on_team: str | None = None,
    ) -> BlockerRecord | None:
        """Move a blocker from one of the `expect` states to `to` (compare-and-set), with its
        event, in one transaction: ACKNOWLEDGED sets `acknowledged_by`; REROUTED sets
        `waiting_on_team` (and clears `waiting_on_kr`); RESOLVED sets `resolved_at`/`_by`.
        None when it is not in an expected state (someone else pressed first)."""
        ...

    async def unannounced_events(self, org: str, *, limit: int) -> list[BlockerEvent]:
        """Blocker changes nobody was told about yet, oldest first."""
        ...


class OutboxRepository(Protocol):
    """Direct messages each sent once: written (idempotently, by key) in the transaction that
    decided them, then claimed and delivered like prompts, with a lease."""

    async def enqueue(
        self,
        org: str,
        messages: Sequence[Outgoing],
        *,
        announced: Sequence[int] = (),
        at: datetime,
    ) -> int:
        """Write the messages whose key is new (decided `at`), and mark the blocker events
        `announced` as told, in one transaction; returns how many were new."""
        ...

    async def nudge(self, org: str, spend: Spend, message: Outgoing | None = None) -> Spent:
        """Spend one of the person's nudges this week (at most `spend.cap`, counted across
        every key) and, when spent, write `message`, in one transaction. Spending a key that
        was spent already spends nothing and writes nothing (ALREADY)."""
        ...

    async def claim_outbox(
        self, org: str, *, now: datetime, worker: str, limit: int, lease: timedelta
    ) -> list[OutboxRecord]:
        """Claim unsent, unfailed messages that are claimable at `now`, oldest first."""
        ...

    async def mark_outbox_attempt(self, message_id: int, *, at: datetime, worker: str) -> bool:
        """A send of this message begins, if `worker` still holds its claim (False: the
        lease ran out and someone else may have it; nothing is marked, and it is not sent)."""
        ...

    async def release_outbox_claims(self, org: str, *, worker: str) -> int:
        """Give up every unsent message `worker` holds (its restart, a clean stop)."""
        ...

    async def renew_outbox(
        self, message_ids: Sequence[int], *, worker: str, until: datetime
    ) -> None:
        """Extend `worker`'s claims on these messages (those it still holds) to `until`."""
        ...

    async def mark_outbox_sent(
        self, message_id: int, *, at: datetime, message_ref: str
    ) -> None: ...

    async def mark_outbox_failed(self, message_id: int, *, at: datetime, error: str) -> None: ...

    async def release_outbox(self, message_id: int, *, retry_at: datetime, in_doubt: bool) -> None:
        """Claimable again from `retry_at`; unless `in_doubt`, the attempt is forgotten."""
        ...


class SettingsRepository(Protocol):
    async def person_settings(self, org: str, people: Sequence[str]) -> dict[str, PersonSettings]:
        """Each person's settings (the defaults for who never chose)."""
        ...

    async def save_person_settings(
        self, org: str, person: str, settings: PersonSettings
    ) -> None: ...


class HistoryRepository(Protocol):
    async def checkin_history(
        self, org: str, *, key_result: str | None = None, person: str | None = None, limit: int
    ) -> list[HistoryEntry]:
        """The latest `limit` key-result updates (latest revision of each check-in) of one key
        result or one person, newest first; a key result's (with no person) include the
        values other systems pushed (`HistoryEntry.source`)."""
        ...

    async def stored_checkin(self, org: str, checkin_id: int) -> StoredCheckIn | None:
        """The latest revision of the check-in `checkin_id` belongs to (same person, kind and
        period), as its draft."""
        ...

    async def checkins_page(
        self,
        org: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        people: Sequence[str] | None = None,
        key_results: Sequence[str] | None = None,
        after: int = 0,
        limit: int = 100,
        revisions: bool = False,
    ) -> list[StoredCheckIn]:
        """Check-ins with their answers, by id ascending from after `after` (keyset paging),
        at most `limit`: submitted in [since, until), by any of `people`, updating any of
        `key_results` (None: no filter). Only each check-in's latest revision unless
        `revisions` (an export: every revision, each with its number)."""
        ...

    async def missed_prompts(
        self, org: str, *, deadline_from: datetime, deadline_until: datetime
    ) -> list[PromptRecord]:
        """Prompts sent and not answered, not failed (nor marked leave), whose deadline is in
        [deadline_from, deadline_until)."""
        ...


class ApiScope(StrEnum):
    """What an API token may do: `read` the organisation, or also `write` (push values)."""

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A bearer token of the HTTP API, as stored: its SHA-256 `token_hash`, never the token."""

    id: int
    org: str
    name: str
    scope: ApiScope
    token_hash: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiTokenRepository(Protocol):
    """The HTTP API's bearer tokens, one organisation each, unique by name within it."""

    async def add_api_token(
        self, org: str, *, name: str, scope: ApiScope, token_hash: str, at: datetime
    ) -> ApiToken | None:
        """Store a new token; None when the organisation has one of that name already
        (revoked or not: a name says which system used a token, in the list, for good)."""
        ...

    async def api_tokens(self, org: str) -> list[ApiToken]:
        """The organisation's tokens, revoked ones included, oldest first."""
        ...

    async def api_token_by_hash(self, token_hash: str) -> ApiToken | None: ...

    async def revoke_api_token(self, org: str, name: str, *, at: datetime) -> ApiToken | None:
        """Revoke the token `name` (one revoked already stays as it was); None when none."""
        ...

    async def touch_api_token(self, token_id: int, *, at: datetime, every: timedelta) -> None:
        """Record that the token was used `at`, unless that was recorded less than `every`
        before: a busy client costs one write a minute, not one per request."""
        ...


class AutoUpdateRepository(Protocol):
    """Values other systems push for key results (`rhythm.values`)."""

    async def save_auto_update(
        self,
        org: str,
        key_result: str,
        value: float,
        *,
        source: str,
        submitted_at: datetime,
        idempotency_key: str | None = None,
    ) -> AutoUpdate | None:
        """Store the pushed value and make it the key result's current value, in one
        transaction that a check-in of the key result or an import never interleaves with.
        The same idempotency key stored already stores nothing: that push comes back
        (`created` False). None when the organisation has no such key result."""
        ...


class PrivacyRepository(Protocol):
    """Everything stored about one person, for an admin answering their request to see it
    or to be forgotten (`drumbeat person export|erase`); not part of `Store`: the core never
    needs it."""

    async def person_data(self, org: str, email: str) -> dict[str, object]:
        """As JSON values: "tables", the rows about the person per table (empty lists
        included); "mentions", the other rows whose text names their email or chat ids
        (table, primary key, columns); "admin", whether they are one."""
        ...

    async def erase_person(
        self, org: str, email: str, *, keep_aggregates: bool = False
    ) -> dict[str, int]:
        """Remove the person everywhere in one transaction: their rows deleted, what they
        owned or did for others kept without them (a random pseudonym per erasure), and every
        other mention of their email or chat ids replaced with "[erased]". Their check-ins
        are deleted, or with `keep_aggregates` kept under the pseudonym without their words.
        Returns the rows changed per "table deleted|anonymised|mentions erased"."""
        ...


class Store(OrgRepository, PromptRepository, CheckInRepository, DigestRepository,
            PeopleRepository, SubscriptionRepository, WorkspaceRepository,
            ConversationRepository, DraftRepository, SeriesRepository, ChartRepository,
            BlockerRepository, OutboxRepository, SettingsRepository, HistoryRepository,
            ApiTokenRepository, AutoUpdateRepository, Protocol):  # fmt: skip
    """Everything the core needs from storage, as one object the composition root injects."""


# ---- chat -------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A message could not be delivered. Permanent errors (unknown user, bot blocked, channel
    gone) are recorded and not retried; transient ones are retried after `retry_after`.
    `maybe_done`: no answer came back, so the platform may have delivered it after all."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        maybe_done: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.maybe_done = maybe_done


class NotLinked(DeliveryError):
    """The person has no chat account Drumbeat knows yet: not in the Slack workspace, or never
    seen in Teams. Nothing failed: their prompts wait, and go out once they are linked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=False)


Leaving = Callable[[], Awaitable[None]]


class ChatGateway(Protocol):
    """Delivers the core's messages on one chat platform (or routes between several).
    `org` is the organisation the message belongs to: one workspace or tenant per
    organisation, so the gateway knows which credentials and conversations to use."""

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        """Send a direct message; returns a reference that `update_direct` accepts. `tag`
        names the message (a prompt) so that `find_direct` can find it again. `leaving` is
        awaited once, right before the message leaves for the platform (after any wait for
        its rate limits): the core records the attempt there, so that after a crash only the
        sends that were on their way are in doubt, not those still queued."""
        ...

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        """The reference of the direct message sent with `tag` since `since`, if the platform
        can tell (None when it was not sent, or when the platform cannot look)."""
        ...

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None: ...

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        """Post to a channel (or as a reply in `thread`); returns a reference to the post."""
        ...
