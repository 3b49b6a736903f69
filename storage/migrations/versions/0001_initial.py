"""Initial schema: the OKR tree, prompts, check-ins, digests and the tick watermark.

Revision ID: 0001
Revises:
Create Date: 2026-11-21

Written by hand from autogenerate's output; a test compares it with `storage.tables` on SQLite
and PostgreSQL. Instants are `DateTime(timezone=True)` (the models wrap it in `UTCDateTime`,
which only changes how Python values are converted).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=200), nullable=nullable)


def short(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=32), nullable=nullable)


def text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def integer(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def number(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=True)


def boolean(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def day(name: str) -> sa.Column:
    return sa.Column(name, sa.Date(), nullable=False)


def org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org"], ["organisation.key"], name=op.f(f"fk_{table}_org_organisation")
    )


def tree_table(name: str, *columns: sa.Column) -> None:
    """A table of the OKR tree keyed by (org, key), ordered by position."""
    op.create_table(
        name,
        key("org"),
        key("key"),
        integer("position"),
        *columns,
        org_fk(name),
        sa.PrimaryKeyConstraint("org", "key", name=op.f(f"pk_{name}")),
    )


def partial_index(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name, table, columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
    )


def upgrade() -> None:
    op.create_table(
        "organisation",
        key("key"),
        text("name"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_organisation")),
    )
    tree_table("team", text("name"), key("parent", nullable=True), key("timezone"))
    op.create_table(
        "person",
        key("org"),
        key("email"),
        integer("position"),
        text("name"),
        key("timezone"),
        sa.Column("working_days", sa.JSON(), nullable=False),
        key("holiday_calendar", nullable=True),
        key("slack_user_id", nullable=True),
        key("teams_user_id", nullable=True),
        sa.Column("quiet_start", sa.Time(), nullable=False),
        sa.Column("quiet_end", sa.Time(), nullable=False),
        org_fk("person"),
        sa.PrimaryKeyConstraint("org", "email", name=op.f("pk_person")),
    )
    for child, columns in (
        ("membership", [key("team"), short("role")]),
        ("time_off", [day("start"), day("end")]),
    ):
        op.create_table(
            child,
            key("org"),
            key("person"),
            integer("position"),
            *columns,
            sa.ForeignKeyConstraint(
                ["org", "person"],
                ["person.org", "person.email"],
                name=op.f(f"fk_{child}_org_person_person"),
            ),
            sa.PrimaryKeyConstraint("org", "person", "position", name=op.f(f"pk_{child}")),
        )
    op.create_index("ix_membership_team", "membership", ["org", "team"])
    tree_table("cycle", day("start"), day("end"))
    tree_table(
        "objective",
        text("title"),
        key("cycle"),
        key("owner_team", nullable=True),
        key("owner_person", nullable=True),
        key("parent", nullable=True),
    )
    tree_table(
        "key_result",
        key("objective"),
        text("title"),
        key("owner", nullable=True),
        boolean("has_metric"),
        number("metric_start"),
        number("metric_target"),
        number("current_value"),
        key("unit"),
        short("direction"),
        boolean("milestone"),
    )
    op.create_index("ix_key_result_owner", "key_result", ["org", "owner"])
    tree_table(
        "initiative",
        key("key_result"),
        text("title"),
        key("owner", nullable=True),
        short("status"),
    )
    tree_table(
        "rhythm",
        key("team"),
        short("kind"),
        sa.Column("local_time", sa.Time(), nullable=False),
        integer("weekday"),
        integer("day_of_month"),
        integer("days_before_end"),
        sa.Column("reminder_after", sa.Interval(), nullable=False),
        integer("max_reminders"),
        sa.Column("deadline_after", sa.Interval(), nullable=True),
        sa.Column("lead_time", sa.Interval(), nullable=False),
        sa.Column("digest_channels", sa.JSON(), nullable=False),
    )
    op.create_table(
        "holiday_calendar",
        key("org"),
        key("name"),
        integer("position"),
        org_fk("holiday_calendar"),
        sa.PrimaryKeyConstraint("org", "name", name=op.f("pk_holiday_calendar")),
    )
    op.create_table(
        "holiday",
        key("org"),
        key("calendar"),
        day("day"),
        sa.ForeignKeyConstraint(
            ["org", "calendar"],
            ["holiday_calendar.org", "holiday_calendar.name"],
            name=op.f("fk_holiday_org_calendar_holiday_calendar"),
        ),
        sa.PrimaryKeyConstraint("org", "calendar", "day", name=op.f("pk_holiday")),
    )

    op.create_table(
        "prompt",
        integer("id"),
        key("org"),
        key("rhythm"),
        short("kind"),
        key("person"),
        short("period"),
        instant("scheduled_for", nullable=False),
        instant("deadline", nullable=False),
        boolean("is_lead"),
        key("claimed_by", nullable=True),
        instant("claimed_until"),
        instant("sent_at"),
        text("message_ref", nullable=True),
        instant("answered_at"),
        integer("reminders_sent"),
        instant("last_reminded_at"),
        instant("snoozed_until"),
        text("failure", nullable=True),
        instant("failed_at"),
        integer("streak", nullable=True),
        org_fk("prompt"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt")),
        sa.UniqueConstraint(
            "org", "rhythm", "person", "period", name=op.f("uq_prompt_org_rhythm_person_period")
        ),
    )
    partial_index(
        "ix_prompt_unsent", "prompt", ["org", "scheduled_for"],
        "sent_at IS NULL AND failed_at IS NULL",
    )  # fmt: skip
    partial_index(
        "ix_prompt_awaiting", "prompt", ["org", "deadline"],
        "sent_at IS NOT NULL AND answered_at IS NULL AND failed_at IS NULL",
    )  # fmt: skip
    op.create_index("ix_prompt_period", "prompt", ["org", "kind", "period", "person"])
    op.create_index(
        "ix_prompt_person",
        "prompt",
        ["org", "kind", "person", "period", "answered_at", "failed_at", "streak"],
    )
    partial_index(
        "ix_prompt_missed", "prompt", ["org", "kind", "person", "period"],
        "answered_at IS NULL AND failed_at IS NULL",
    )  # fmt: skip

    op.create_table(
        "checkin",
        integer("id"),
        key("org"),
        key("person"),
        short("kind"),
        short("period"),
        integer("prompt_id", nullable=True),
        boolean("spontaneous"),
        integer("revision"),
        instant("submitted_at", nullable=False),
        key("idempotency_key"),
        sa.Column("notes", sa.JSON(none_as_null=True), nullable=True),
        key("blocked_by_team", nullable=True),
        key("blocked_by_kr", nullable=True),
        org_fk("checkin"),
        sa.ForeignKeyConstraint(
            ["prompt_id"], ["prompt.id"], name=op.f("fk_checkin_prompt_id_prompt")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("org", "idempotency_key", name=op.f("uq_checkin_org_idempotency_key")),
        sa.UniqueConstraint(
            "org",
            "person",
            "kind",
            "period",
            "revision",
            name=op.f("uq_checkin_org_person_kind_period_revision"),
        ),
    )
    op.create_index("ix_checkin_period", "checkin", ["org", "kind", "period", "person"])

    op.create_table(
        "kr_update",
        integer("id"),
        key("org"),
        integer("checkin_id"),
        key("key_result"),
        key("person"),
        short("kind"),
        short("period"),
        instant("submitted_at", nullable=False),
        integer("revision"),
        number("value"),
        integer("confidence", nullable=True),
        short("status", nullable=True),
        text("moved"),
        text("blockers"),
        key("blocked_by_team", nullable=True),
        key("blocked_by_kr", nullable=True),
        text("next_step"),
        number("final_score"),
        short("decision", nullable=True),
        org_fk("kr_update"),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_kr_update_checkin_id_checkin")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kr_update")),
    )
    op.create_index(
        "ix_kr_update_period",
        "kr_update",
        ["org", "period", "kind", "key_result", "submitted_at", "revision"],
    )
    op.create_index("ix_kr_update_key_result", "kr_update", ["org", "key_result", "submitted_at"])
    partial_index(
        "ix_kr_update_blocked", "kr_update", ["org", "period", "blocked_by_team"],
        "blocked_by_team IS NOT NULL",
    )  # fmt: skip

    op.create_table(
        "initiative_update",
        integer("id"),
        key("org"),
        integer("checkin_id"),
        key("initiative"),
        key("person"),
        short("period"),
        instant("submitted_at", nullable=False),
        short("status"),
        org_fk("initiative_update"),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_initiative_update_checkin_id_checkin")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative_update")),
    )
    op.create_index(
        "ix_initiative_update_initiative",
        "initiative_update",
        ["org", "initiative", "submitted_at"],
    )

    op.create_table(
        "digest",
        integer("id"),
        key("org"),
        key("rhythm"),
        key("team"),
        short("period"),
        instant("scheduled_for", nullable=False),
        key("claimed_by", nullable=True),
        instant("claimed_until"),
        instant("posted_at"),
        text("failure", nullable=True),
        instant("failed_at"),
        org_fk("digest"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest")),
        sa.UniqueConstraint("org", "rhythm", "period", name=op.f("uq_digest_org_rhythm_period")),
    )
    partial_index(
        "ix_digest_unposted", "digest", ["org", "scheduled_for"],
        "posted_at IS NULL AND failed_at IS NULL",
    )  # fmt: skip

    op.create_table(
        "tick_state",
        key("org"),
        instant("last_tick", nullable=False),
        org_fk("tick_state"),
        sa.PrimaryKeyConstraint("org", name=op.f("pk_tick_state")),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children before the tables they refer to.
    for table in (
        "tick_state", "digest", "initiative_update", "kr_update", "checkin", "prompt",
        "holiday", "holiday_calendar", "rhythm", "initiative", "key_result", "objective",
        "cycle", "time_off", "membership", "person", "team", "organisation",
    ):  # fmt: skip
        op.drop_table(table)
