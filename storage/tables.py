"""The database schema as SQLModel table models.

These rows are storage's own shapes, separate from the core's dataclasses (`rhythm.okr`,
`rhythm.ports`); the repositories translate between the two. The repositories query through
SQLAlchemy Core on the `Table` objects at the bottom (bulk inserts and set-based queries), the
models are the single definition of the schema that Alembic's migration is checked against.

Every row carries `org`, the organisation key: one database holds several organisations and
every query filters on it, so every index starts with it.

The OKR tree (organisation .. holiday) is replaced wholesale by `save_organisation`; `position`
keeps the order of the core's tuples. History (prompt, checkin, kr_update, initiative_update,
digest) refers to tree items by key without foreign keys, so it survives a re-import that
renames or drops them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Interval,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from storage.columns import UTCDateTime

# Deterministic constraint names, so the migration and the models agree and Alembic can
# compare them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Row(SQLModel, registry=registry(metadata=metadata)):
    """Base of Drumbeat's tables: its own metadata, so other SQLModel users in the same process
    (an OAuth installation store, say) never end up in our migrations."""


def _org_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["org"], ["organisation.key"])


def _partial(where: str) -> dict[str, Any]:
    """Keyword arguments for a partial index on both backends."""
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


KEY = String(200)  # keys, emails and chat ids
SHORT = String(32)  # enum values


# ---- the OKR tree -------------------------------------------------------------------------


class OrganisationRow(Row, table=True):
    """An organisation, and the revisions every process checks its cached tree against:
    `tree_revision` moves with each import, `people_revision` with each chat profile change
    (each in the transaction that made the change)."""

    __tablename__ = "organisation"

    key: str = Field(primary_key=True, sa_type=KEY)
    name: str = Field(sa_type=Text)
    admins: list[str] = Field(default_factory=list, sa_type=JSON)
    locale: str = Field(default="en", sa_type=SHORT, sa_column_kwargs={"server_default": "en"})
    # At most this many reminders and leads' nudges reach one person in a week (see `nudge`).
    nudges_per_week: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    tree_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    people_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class TeamRow(Row, table=True):
    __tablename__ = "team"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    name: str = Field(sa_type=Text)
    parent: str | None = Field(default=None, sa_type=KEY)
    timezone: str = Field(sa_type=KEY)


class PersonRow(Row, table=True):
    __tablename__ = "person"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    email: str = Field(primary_key=True, sa_type=KEY)
    position: int
    name: str = Field(sa_type=Text)
    timezone: str = Field(sa_type=KEY)
    working_days: list[int] = Field(sa_type=JSON)  # sorted weekday numbers, 0 = Monday
    holiday_calendar: str | None = Field(default=None, sa_type=KEY)
    slack_user_id: str | None = Field(default=None, sa_type=KEY)
    teams_user_id: str | None = Field(default=None, sa_type=KEY)
    quiet_start: time = Field(sa_type=Time)
    quiet_end: time = Field(sa_type=Time)


class MembershipRow(Row, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        ForeignKeyConstraint(["org", "person"], ["person.org", "person.email"]),
        Index("ix_membership_team", "org", "team"),
    )

    org: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(primary_key=True, sa_type=KEY)
    position: int = Field(primary_key=True)
    team: str = Field(sa_type=KEY)
    role: str = Field(sa_type=SHORT)


class TimeOffRow(Row, table=True):
    __tablename__ = "time_off"
    __table_args__ = (ForeignKeyConstraint(["org", "person"], ["person.org", "person.email"]),)

    org: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(primary_key=True, sa_type=KEY)
    position: int = Field(primary_key=True)
    start: date = Field(sa_type=Date)
    end: date = Field(sa_type=Date)


class CycleRow(Row, table=True):
    __tablename__ = "cycle"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    start: date = Field(sa_type=Date)
    end: date = Field(sa_type=Date)


class ObjectiveRow(Row, table=True):
    __tablename__ = "objective"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    title: str = Field(sa_type=Text)
    cycle: str = Field(sa_type=KEY)
    owner_team: str | None = Field(default=None, sa_type=KEY)
    owner_person: str | None = Field(default=None, sa_type=KEY)
    parent: str | None = Field(default=None, sa_type=KEY)


class KeyResultRow(Row, table=True):
    """A key result; the metric columns are NULL when it has no metric."""

    __tablename__ = "key_result"
    __table_args__ = (_org_fk(), Index("ix_key_result_owner", "org", "owner"))

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    objective: str = Field(sa_type=KEY)
    title: str = Field(sa_type=Text)
    owner: str | None = Field(default=None, sa_type=KEY)
    has_metric: bool
    metric_start: float | None = None
    metric_target: float | None = None
    current_value: float | None = None
    unit: str = Field(default="", sa_type=KEY)
    direction: str = Field(default="up", sa_type=SHORT)
    milestone: bool = False


class InitiativeRow(Row, table=True):
    __tablename__ = "initiative"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    key_result: str = Field(sa_type=KEY)
    title: str = Field(sa_type=Text)
    owner: str | None = Field(default=None, sa_type=KEY)
    status: str = Field(sa_type=SHORT)


class RhythmRow(Row, table=True):
    __tablename__ = "rhythm"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    position: int
    team: str = Field(sa_type=KEY)
    kind: str = Field(sa_type=SHORT)
    local_time: time = Field(sa_type=Time)
    weekday: int
    day_of_month: int
    days_before_end: int
    reminder_after: timedelta = Field(sa_type=Interval)
    max_reminders: int
    deadline_after: timedelta | None = Field(default=None, sa_type=Interval)
    lead_time: timedelta = Field(sa_type=Interval)
    digest_channels: list[str] = Field(sa_type=JSON)


class HolidayCalendarRow(Row, table=True):
    """A named set of public holidays; kept even when empty so the tree round-trips."""

    __tablename__ = "holiday_calendar"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    name: str = Field(primary_key=True, sa_type=KEY)
    position: int


class HolidayRow(Row, table=True):
    __tablename__ = "holiday"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org", "calendar"], ["holiday_calendar.org", "holiday_calendar.name"]
        ),
    )

    org: str = Field(primary_key=True, sa_type=KEY)
    calendar: str = Field(primary_key=True, sa_type=KEY)
    day: date = Field(primary_key=True, sa_type=Date)


# ---- prompts, check-ins, digests ----------------------------------------------------------


class PromptRow(Row, table=True):
    """One person asked once for one occurrence of a rhythm."""

    __tablename__ = "prompt"
    __table_args__ = (
        _org_fk(),
        UniqueConstraint("org", "rhythm", "person", "period"),
        # claim_unsent: the small set of prompts still to send.
        Index(
            "ix_prompt_unsent",
            "org",
            "scheduled_for",
            **_partial("sent_at IS NULL AND failed_at IS NULL"),
        ),
        # reminder_candidates: sent and still waiting for an answer.
        Index(
            "ix_prompt_awaiting",
            "org",
            "deadline",
            **_partial("sent_at IS NOT NULL AND answered_at IS NULL AND failed_at IS NULL"),
        ),
        # digest participation: everybody prompted for one period.
        Index("ix_prompt_period", "org", "kind", "period", "person"),
        # streaks and open_prompts: the latest prompts of one person and kind (covering, for
        # the streak look-ups). "Failed" is tested on failed_at (set together with failure):
        # an error text has no place in an index entry.
        Index(
            "ix_prompt_person",
            "org",
            "kind",
            "person",
            "period",
            "answered_at",
            "failed_at",
            "streak",
        ),
        # streaks: a person's latest miss, found without walking their answered prompts.
        Index(
            "ix_prompt_missed",
            "org",
            "kind",
            "person",
            "period",
            **_partial("answered_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    rhythm: str = Field(sa_type=KEY)
    kind: str = Field(sa_type=SHORT)
    person: str = Field(sa_type=KEY)
    period: str = Field(sa_type=SHORT)
    scheduled_for: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    is_lead: bool
    claimed_by: str | None = Field(default=None, sa_type=KEY)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ref: str | None = Field(default=None, sa_type=Text)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = 0
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the last send began; with no sent_at, that send's outcome is unknown.
    attempted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Since when it waits for the person's chat account to be known: not failed, sent when
    # they are linked (see rhythm.ports.NotLinked).
    waiting_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Derived, kept by storage.streaks: for an answered prompt, how many answered prompts of
    # this person and kind in a row end here (failed ones skipped). NULL when not answered,
    # or for rows loaded around the repository (digest_facts then counts instead).
    streak: int | None = None


class CheckInRow(Row, table=True):
    """One submitted check-in. Append-only: an edit is a new row with the next revision.
    `spontaneous` only on a period's first revision, when no prompt had been sent."""

    __tablename__ = "checkin"
    __table_args__ = (
        _org_fk(),
        ForeignKeyConstraint(["prompt_id"], ["prompt.id"]),
        UniqueConstraint("org", "idempotency_key"),
        # Also what makes two concurrent edits fail instead of sharing a revision number.
        UniqueConstraint("org", "person", "kind", "period", "revision"),
        Index("ix_checkin_period", "org", "kind", "period", "person"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    person: str = Field(sa_type=KEY)
    kind: str = Field(sa_type=SHORT)
    period: str = Field(sa_type=SHORT)
    prompt_id: int | None = None
    spontaneous: bool
    revision: int
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    idempotency_key: str = Field(sa_type=KEY)
    # NULL when no note has text, so "has notes" is an indexable IS NOT NULL.
    notes: dict[str, str] | None = Field(default=None, sa_type=JSON(none_as_null=True))
    blocked_by_team: str | None = Field(default=None, sa_type=KEY)
    blocked_by_kr: str | None = Field(default=None, sa_type=KEY)


class KrUpdateRow(Row, table=True):
    """One key result's answers within one check-in (denormalised for the digest queries)."""

    __tablename__ = "kr_update"
    __table_args__ = (
        _org_fk(),
        ForeignKeyConstraint(["checkin_id"], ["checkin.id"]),
        # digest current/previous: the latest revision per key result in one period.
        Index(
            "ix_kr_update_period", "org", "period", "kind", "key_result", "submitted_at", "revision"
        ),
        # last_answers: one key result's history.
        Index("ix_kr_update_key_result", "org", "key_result", "submitted_at"),
        # checkin_history: one person's updates, newest first.
        Index("ix_kr_update_person", "org", "person", "submitted_at"),
        # blocking_others: the few updates that name a blocking team.
        Index(
            "ix_kr_update_blocked",
            "org",
            "period",
            "blocked_by_team",
            **_partial("blocked_by_team IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    checkin_id: int
    key_result: str = Field(sa_type=KEY)
    person: str = Field(sa_type=KEY)
    kind: str = Field(sa_type=SHORT)
    period: str = Field(sa_type=SHORT)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    revision: int
    value: float | None = None
    # Where the key result stood when the period's first update of it came: what the digest
    # shows its change from ("52% → 58%"), even in the first period after an import.
    value_before: float | None = None
    confidence: int | None = None
    status: str | None = Field(default=None, sa_type=SHORT)
    moved: str = Field(default="", sa_type=Text)
    blockers: str = Field(default="", sa_type=Text)
    blocked_by_team: str | None = Field(default=None, sa_type=KEY)
    blocked_by_kr: str | None = Field(default=None, sa_type=KEY)
    next_step: str = Field(default="", sa_type=Text)
    final_score: float | None = None
    decision: str | None = Field(default=None, sa_type=SHORT)


class InitiativeUpdateRow(Row, table=True):
    __tablename__ = "initiative_update"
    __table_args__ = (
        _org_fk(),
        ForeignKeyConstraint(["checkin_id"], ["checkin.id"]),
        Index("ix_initiative_update_initiative", "org", "initiative", "submitted_at"),
        # stored_checkin: one check-in's initiatives.
        Index("ix_initiative_update_checkin", "org", "checkin_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    checkin_id: int
    initiative: str = Field(sa_type=KEY)
    person: str = Field(sa_type=KEY)
    period: str = Field(sa_type=SHORT)
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(sa_type=SHORT)


class DigestRow(Row, table=True):
    __tablename__ = "digest"
    __table_args__ = (
        _org_fk(),
        UniqueConstraint("org", "rhythm", "period"),
        Index(
            "ix_digest_unposted",
            "org",
            "scheduled_for",
            **_partial("posted_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    rhythm: str = Field(sa_type=KEY)
    team: str = Field(sa_type=KEY)
    period: str = Field(sa_type=SHORT)
    scheduled_for: datetime = Field(sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=KEY)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---- what chat platforms add: kept apart from the tree, so a re-import keeps it -----------


class ChatProfileRow(Row, table=True):
    """Per person, what the chat platforms taught us (see `rhythm.profiles`) and whether the
    bot can reach them."""

    __tablename__ = "chat_profile"
    __table_args__ = (_org_fk(), Index("ix_chat_profile_revision", "org", "revision"))

    org: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(primary_key=True, sa_type=KEY)
    slack_user_id: str | None = Field(default=None, sa_type=KEY)
    teams_user_id: str | None = Field(default=None, sa_type=KEY)
    chat_timezone: str | None = Field(default=None, sa_type=KEY)
    chosen_timezone: str | None = Field(default=None, sa_type=KEY)
    unreachable: str | None = Field(default=None, sa_type=Text)
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The organisation's people_revision when the profile last changed (not reachability).
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class SubscriptionRow(Row, table=True):
    """A channel that receives a team's digests (`subscribe` typed in that channel)."""

    __tablename__ = "subscription"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    team: str = Field(primary_key=True, sa_type=KEY)
    channel: str = Field(primary_key=True, sa_type=KEY)
    created_by: str = Field(sa_type=KEY)
    created_at: datetime = Field(sa_type=UTCDateTime)
    failure: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WorkspaceRow(Row, table=True):
    """A Slack workspace (team id) or Teams tenant, and the organisation it belongs to."""

    __tablename__ = "workspace"
    __table_args__ = (_org_fk(), Index("ix_workspace_org", "org", "platform"))

    platform: str = Field(primary_key=True, sa_type=SHORT)
    workspace: str = Field(primary_key=True, sa_type=KEY)
    org: str = Field(sa_type=KEY)
    linked_at: datetime = Field(sa_type=UTCDateTime)


class UnlinkedWorkspaceRow(Row, table=True):
    """A workspace or tenant that installed the app or wrote to it before any admin linked it:
    remembered so the admins are told about it once."""

    __tablename__ = "unlinked_workspace"

    platform: str = Field(primary_key=True, sa_type=SHORT)
    workspace: str = Field(primary_key=True, sa_type=KEY)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)


class ConversationRow(Row, table=True):
    """How to reach a user or channel proactively (a Teams conversation reference)."""

    __tablename__ = "conversation"

    platform: str = Field(primary_key=True, sa_type=SHORT)
    address: str = Field(primary_key=True, sa_type=KEY)
    org: str | None = Field(default=None, sa_type=KEY)
    person: str | None = Field(default=None, sa_type=KEY)
    reference: dict[str, Any] = Field(sa_type=JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FormDraftRow(Row, table=True):
    """Answers of the first pages of a paged form, until its last page is submitted."""

    __tablename__ = "form_draft"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(primary_key=True, sa_type=KEY)
    context: str = Field(primary_key=True, sa_type=KEY)
    answers: dict[str, Any] = Field(sa_type=JSON)
    # Unusual values the person was warned about: the same value submitted again is taken.
    confirmed: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)


# ---- charts behind signed links (see rhythm.chart_links) ----------------------------------


class ChartRow(Row, table=True):
    """A rendered chart kept until its link expires, so that any replica can serve it.
    Looked up by its random id; pruned by expiry across organisations."""

    __tablename__ = "chart"
    __table_args__ = (_org_fk(), Index("ix_chart_expires_at", "expires_at"))

    id: str = Field(primary_key=True, sa_type=String(64))
    org: str = Field(sa_type=KEY)
    png: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class ChartSecretRow(Row, table=True):
    """The one key that signs chart links, made on first use: every replica on the database
    signs and checks with the same. Never logged."""

    __tablename__ = "chart_secret"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    secret: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)


# ---- blockers, direct messages sent once, nudges, people's own settings -------------------


class BlockerRow(Row, table=True):
    """A blocker one person raised on one key result, waiting on a team or on the owner of a
    key result (see `rhythm.records.BlockerRecord`). Kept by `save_checkin` from the key
    results' updates, and by the buttons of whoever it waits on (`change_blocker`)."""

    __tablename__ = "blocker"
    __table_args__ = (
        _org_fk(),
        ForeignKeyConstraint(["checkin_id"], ["checkin.id"]),
        # One live blocker per reporter and key result: a later check-in restates it.
        Index(
            "ix_blocker_live",
            "org",
            "raised_by",
            "key_result",
            unique=True,
            **_partial("state <> 'resolved'"),
        ),
        # blockers(): those on some key results, and those waiting on some teams.
        Index("ix_blocker_key_result", "org", "key_result"),
        Index("ix_blocker_waiting_on_team", "org", "waiting_on_team"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    raised_by: str = Field(sa_type=KEY)
    key_result: str = Field(sa_type=KEY)
    text: str = Field(default="", sa_type=Text)
    waiting_on_team: str | None = Field(default=None, sa_type=KEY)
    waiting_on_kr: str | None = Field(default=None, sa_type=KEY)
    state: str = Field(sa_type=SHORT)
    raised_at: datetime = Field(sa_type=UTCDateTime)
    changed_at: datetime = Field(sa_type=UTCDateTime)
    checkin_id: int  # the latest check-in that raised or restated it
    acknowledged_by: str | None = Field(default=None, sa_type=KEY)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, sa_type=KEY)


class BlockerEventRow(Row, table=True):
    """One change of a blocker, written in the transaction that made it; `announced_at` once
    the messages telling about it are in the outbox (`enqueue(announced=...)`)."""

    __tablename__ = "blocker_event"
    __table_args__ = (
        _org_fk(),
        ForeignKeyConstraint(["blocker_id"], ["blocker.id"]),
        # unannounced_events: the few changes nobody was told about yet.
        Index("ix_blocker_event_unannounced", "org", "id", **_partial("announced_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    blocker_id: int
    kind: str = Field(sa_type=SHORT)
    at: datetime = Field(sa_type=UTCDateTime)
    by: str | None = Field(default=None, sa_type=KEY)  # None: the reporter's check-in
    from_team: str | None = Field(default=None, sa_type=KEY)  # rerouted: who said "Not us"
    auto: bool = False
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxRow(Row, table=True):
    """A direct message to send once, unique by (org, key); claimed and sent like a prompt.
    `notice` is a `rhythm.messages.Notice` as `storage.outbox` encodes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        _org_fk(),
        UniqueConstraint("org", "key"),
        # claim_outbox: the small set of messages still to send.
        Index("ix_outbox_unsent", "org", "id", **_partial("sent_at IS NULL AND failure IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    key: str = Field(sa_type=KEY)
    person: str = Field(sa_type=KEY)
    notice: dict[str, Any] = Field(sa_type=JSON)
    # When it was written; NULL when the writer gave no time, then set by its first claim.
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=KEY)
    claim_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the last send began; with no sent_at, that send's outcome is unknown.
    attempted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_ref: str | None = Field(default=None, sa_type=Text)
    failure: str | None = Field(default=None, sa_type=Text)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NudgeRow(Row, table=True):
    """One nudge spent out of a person's weekly allowance (`rhythm.records.Spend`); the key
    makes spending the same nudge twice count once."""

    __tablename__ = "nudge"
    __table_args__ = (_org_fk(), Index("ix_nudge_week", "org", "person", "week"))

    org: str = Field(primary_key=True, sa_type=KEY)
    key: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(sa_type=KEY)
    week: str = Field(sa_type=SHORT)  # ISO week in the person's timezone, "2026-W49"
    at: datetime = Field(sa_type=UTCDateTime)


class PersonSettingRow(Row, table=True):
    """What a person chose with `settings`; no row: the defaults."""

    __tablename__ = "person_setting"
    __table_args__ = (_org_fk(),)

    org: str = Field(primary_key=True, sa_type=KEY)
    person: str = Field(primary_key=True, sa_type=KEY)
    missing_list: bool = True


# ---- values other systems push (the HTTP API) ----------------------------------------------


class AutoUpdateRow(Row, table=True):
    """One value another system pushed for a key result (a CI job, a warehouse query), with
    where the key result stood just before it; written in the transaction that set the key
    result's current value (`storage.auto_updates`). Like kr_update, it refers to the key
    result by key, so a re-import that drops it keeps its history."""

    __tablename__ = "auto_update"
    __table_args__ = (
        _org_fk(),
        # A push sent again (a retried request) is stored once; pushes without a key never
        # conflict (NULLs are distinct).
        UniqueConstraint("org", "idempotency_key"),
        # kr_series and history: one key result's pushes in a window; digest facts for a team.
        Index("ix_auto_update_key_result", "org", "key_result", "submitted_at"),
        # digest facts for the whole organisation: the period's pushes, whatever key result.
        Index("ix_auto_update_submitted_at", "org", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    key_result: str = Field(sa_type=KEY)
    value: float
    value_before: float | None = None  # the key result's current value when it came
    source: str = Field(sa_type=String(40))  # who pushed it: "ci", "warehouse"
    submitted_at: datetime = Field(sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, sa_type=KEY)


class ApiTokenRow(Row, table=True):
    """A bearer token of the HTTP API: its SHA-256, never the token, which is shown once."""

    __tablename__ = "api_token"
    __table_args__ = (_org_fk(), UniqueConstraint("org", "name"), UniqueConstraint("token_hash"))

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(sa_type=KEY)
    name: str = Field(sa_type=KEY)
    scope: str = Field(sa_type=SHORT)  # rhythm.ports.ApiScope
    token_hash: str = Field(sa_type=String(64))  # hex
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def _table(model: type[Row]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


organisation_t = _table(OrganisationRow)
team_t = _table(TeamRow)
person_t = _table(PersonRow)
membership_t = _table(MembershipRow)
time_off_t = _table(TimeOffRow)
cycle_t = _table(CycleRow)
objective_t = _table(ObjectiveRow)
key_result_t = _table(KeyResultRow)
initiative_t = _table(InitiativeRow)
rhythm_t = _table(RhythmRow)
holiday_calendar_t = _table(HolidayCalendarRow)
holiday_t = _table(HolidayRow)
prompt_t = _table(PromptRow)
checkin_t = _table(CheckInRow)
kr_update_t = _table(KrUpdateRow)
initiative_update_t = _table(InitiativeUpdateRow)
digest_t = _table(DigestRow)
chat_profile_t = _table(ChatProfileRow)
subscription_t = _table(SubscriptionRow)
workspace_t = _table(WorkspaceRow)
unlinked_workspace_t = _table(UnlinkedWorkspaceRow)
conversation_t = _table(ConversationRow)
form_draft_t = _table(FormDraftRow)
chart_t = _table(ChartRow)
chart_secret_t = _table(ChartSecretRow)
blocker_t = _table(BlockerRow)
blocker_event_t = _table(BlockerEventRow)
outbox_t = _table(OutboxRow)
nudge_t = _table(NudgeRow)
person_setting_t = _table(PersonSettingRow)
auto_update_t = _table(AutoUpdateRow)
api_token_t = _table(ApiTokenRow)

# Children before parents: the order `save_organisation` deletes the old tree in.
TREE_TABLES_CHILDREN_FIRST = (
    holiday_t,
    holiday_calendar_t,
    membership_t,
    time_off_t,
    initiative_t,
    key_result_t,
    objective_t,
    rhythm_t,
    cycle_t,
    person_t,
    team_t,
)
