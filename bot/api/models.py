"""What goes over the wire: the API's request and response models, one pydantic model each.

The handlers validate with these and answer with these, and `bot.api.openapi` writes the
OpenAPI document from these same classes, so the document cannot drift from what is served.
They are the API's own shapes, apart from the core's dataclasses (`bot.api.reads` maps one
to the other): the core may grow a field without the API changing under its clients.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from rhythm.cadences import RhythmKind
from rhythm.okr import Direction, InitiativeStatus
from rhythm.status import Decision, Status

MAX_PAGE = 200
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database
# A measurement's magnitude: past a float's 15 significant digits, a number is no measure.
MAX_VALUE = 1e15


def _in_utc(moment: datetime) -> datetime:
    """A moment without an offset is taken as UTC; any moment is kept in UTC. One within
    hours of year 1 or 9999 that UTC cannot hold is as early or late as anything gets."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


Moment = Annotated[datetime, AfterValidator(_in_utc)]
# A key as the OKR file gives it, or a name; matched against the tree, never trusted.
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# Who pushed a value, as `rhythm.values.SOURCE` takes it (spaces around are dropped).
Source = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9 ._-]*[A-Za-z0-9._-][A-Za-z0-9 ._-]*$"
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- errors -------------------------------------------------------------------------------


class FieldError(Model):
    """One thing wrong with one input field."""

    field: str = Field(
        description="Where: `query.limit`, `path.key`, `header.Idempotency-Key`, `body.value`.",
        examples=["query.limit"],
    )
    message: str = Field(examples=["Input should be less than or equal to 200"])


class Problem(Model):
    """An error, as an RFC 9457 problem document (`application/problem+json`)."""

    type: str = Field(
        default="about:blank", description="`about:blank`: the status says what kind."
    )
    title: str = Field(description="The HTTP status's phrase.", examples=["Not Found"])
    status: int = Field(ge=400, le=599, examples=[404])
    detail: str = Field(
        description="What went wrong and how to get it right, in a sentence.",
        examples=["No key result 'kr-growth-9'."],
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Each input field that is wrong (validation errors only)."
    )


# ---- the tree -----------------------------------------------------------------------------


class Team(Model):
    key: str
    name: str
    parent: str | None = Field(description="The parent team's key; null for a top-level team.")
    timezone: str = Field(examples=["Europe/Paris"])


class Membership(Model):
    team: str
    lead: bool


class Person(Model):
    email: str = Field(description="Lower-cased: how check-ins and key results name a person.")
    name: str
    timezone: str
    teams: list[Membership]


class Cycle(Model):
    key: str = Field(examples=["2026-Q4"])
    start: date
    end: date = Field(description="The cycle's last day (inclusive).")


class Objective(Model):
    key: str
    title: str
    cycle: str
    team: str | None = Field(
        description="The team it belongs to: its owner team, or its owner's first team."
    )
    owner: str | None = Field(description="The owner's email, for an objective a person owns.")
    parent: str | None = Field(description="The objective it is aligned to.")


class Metric(Model):
    start: float
    target: float
    unit: str = Field(examples=["%"])
    direction: Direction
    milestone: bool = Field(description="A 0/1 key result: done (1) or not (0).")


class KeyResultNode(Model):
    key: str
    objective: str
    title: str
    owner: str | None = Field(description="The owner's email.")
    metric: Metric | None


class OrganisationTree(Model):
    """The organisation's OKR tree as imported; values that move are at `/key-results`."""

    key: str
    name: str
    teams: list[Team] = Field(description="Parents before children.")
    people: list[Person]
    cycles: list[Cycle]
    objectives: list[Objective]
    key_results: list[KeyResultNode]


# ---- key results --------------------------------------------------------------------------


class KeyResult(Model):
    """A key result and where it stands now."""

    key: str
    objective: str
    cycle: str
    team: str | None = Field(description="Its objective's team.")
    title: str
    owner: str | None = Field(description="The owner's email.")
    metric: Metric | None
    value: float | None = Field(description="The current value: the latest reported or pushed.")
    confidence: int | None = Field(description="The owner's latest confidence, 0 to 10.")
    status: Status | None = Field(description="The owner's latest status.")
    progress: float = Field(ge=0, le=1, description="From start (0) to target (1).")


class KeyResultList(Model):
    items: list[KeyResult]


class KeyResultsQuery(Model):
    team: Key | None = Field(
        default=None, description="Only the key results of this team's objectives and below."
    )
    owner: Key | None = Field(default=None, description="Only those this person (email) owns.")
    cycle: Key | None = Field(default=None, description="Only this cycle's (default: all).")


class KeyPath(Model):
    key: Key = Field(description="The key result's key.")


# ---- values -------------------------------------------------------------------------------


class ValueIn(Model):
    """A key result's new current value, measured by another system."""

    value: float = Field(
        ge=-MAX_VALUE,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="In the key result's unit; a milestone's is 1 (done) or 0 (not done).",
        examples=[42.5],
    )
    source: Source | None = Field(
        default=None,
        description="Who measured it, as digests say (“updated automatically from ci”); "
        "default: the token's name.",
        examples=["ci"],
    )


class ValueHeaders(Model):
    model_config = ConfigDict(populate_by_name=True)

    idempotency_key: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[!-~]+$")] | None
    ) = Field(
        default=None,
        alias="Idempotency-Key",
        description="The same key again stores nothing new and answers 200 with what was "
        "stored: a client may retry a push it got no answer to.",
    )


class ValuePushed(Model):
    key_result: str
    value: float
    source: str
    at: datetime = Field(description="When it was stored.")
    created: bool = Field(description="False: this idempotency key was stored already.")


# ---- check-ins ----------------------------------------------------------------------------


class KrAnswer(Model):
    key_result: str
    value: float | None
    confidence: int | None
    status: Status | None
    moved: str = Field(description="What moved it.")
    blockers: str
    blocked_by_team: str | None
    blocked_by_kr: str | None
    next_step: str
    final_score: float | None = Field(description="End of cycle: the final score.")
    decision: Decision | None = Field(description="End of cycle: carry over, drop or done.")


class InitiativeAnswer(Model):
    initiative: str
    status: InitiativeStatus


class CheckIn(Model):
    """One person's check-in for one period, as its latest revision says."""

    id: int
    person: str = Field(description="The person's email.")
    kind: RhythmKind
    period: str = Field(examples=["2026-W48"])
    revision: int = Field(ge=1, description="1, then one more for each edit.")
    submitted_at: datetime
    prompted: bool = Field(description="Whether it answers a prompt (else spontaneous).")
    key_results: list[KrAnswer]
    initiatives: list[InitiativeAnswer]
    notes: dict[str, str] = Field(description="Free-text answers by question.")
    blocked_by_team: str | None
    blocked_by_kr: str | None


class CheckInPage(Model):
    items: list[CheckIn] = Field(description="Oldest first (by id).")
    next: str | None = Field(
        description="The next page's URL (path and query), or null on the last page."
    )


class CheckInsQuery(Model):
    team: Key | None = Field(default=None, description="By members of this team and below.")
    person: Key | None = Field(default=None, description="By this person (email).")
    key_result: Key | None = Field(default=None, description="Updating this key result.")
    since: Moment | None = Field(default=None, description="Submitted at or after (RFC 3339).")
    until: Moment | None = Field(default=None, description="Submitted before (RFC 3339).")
    after: int = Field(
        default=0, ge=0, le=MAX_ID, description="The cursor: the last id of the page before."
    )
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)


# ---- participation ------------------------------------------------------------------------


class Participation(Model):
    """Who checked in to a team's ritual in one period, the team's subtree included. Everyone
    expected is counted once: checked in, or named as not yet."""

    team: str
    team_name: str
    kind: RhythmKind
    period: str = Field(examples=["2026-W48"])
    checked_in: int
    expected: int
    rate: float | None = Field(ge=0, le=1, description="checked_in / expected.")
    on_time: int
    late: int
    spontaneous: int = Field(description="Checked in without having been asked.")
    missing: list[str] = Field(description="Names: their deadline passed without an answer.")
    pending: list[str] = Field(description="Names: they can still answer.")
    not_linked: list[str] = Field(description="Names: their chat account is not known yet.")
    unreachable: list[str] = Field(description="Names: their prompt could not be delivered.")
    on_leave: list[str] = Field(description="Names: not expected this period.")


class ParticipationQuery(Model):
    kind: RhythmKind = Field(default=RhythmKind.WEEKLY, description="Which ritual.")
    at: Moment | None = Field(
        default=None,
        description="The period containing this moment (default: now), from 2000 to 2099.",
    )


class TeamPath(Model):
    team: Key = Field(description="The team's key (or name).")
