"""Blockers that name a team, direct messages sent once, a weekly allowance of nudges.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-16

- blocker: one person's blocker on one key result, waiting on a team or a key result's
  owner; at most one live (not resolved) per reporter and key result.
- blocker_event: each change of a blocker, until the people concerned are told about it.
- outbox: direct messages written once by key, then claimed and sent like prompts.
- nudge: the reminders and leads' nudges spent out of a person's week.
- person_setting: what a person chose for themselves.
- organisation.nudges_per_week: that weekly allowance (3 unless the OKR file says).
- kr_update: an index for one person's history; initiative_update: one for a check-in's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=200), nullable=nullable)


def short(name: str) -> sa.Column:
    return sa.Column(name, sa.String(length=32), nullable=False)


def instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def integer(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org"], ["organisation.key"], name=op.f(f"fk_{table}_org_organisation")
    )


def partial_index(
    name: str, table: str, columns: list[str], where: str, *, unique: bool = False
) -> None:
    op.create_index(
        name,
        table,
        columns,
        unique=unique,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column("nudges_per_week", sa.Integer(), nullable=False, server_default="3")
        )
    op.create_index("ix_kr_update_person", "kr_update", ["org", "person", "submitted_at"])
    op.create_index("ix_initiative_update_checkin", "initiative_update", ["org", "checkin_id"])

    op.create_table(
        "blocker",
        sa.Column("id", sa.Integer(), nullable=False),
        key("org"),
        key("raised_by"),
        key("key_result"),
        sa.Column("text", sa.Text(), nullable=False),
        key("waiting_on_team", nullable=True),
        key("waiting_on_kr", nullable=True),
        short("state"),
        instant("raised_at", nullable=False),
        instant("changed_at", nullable=False),
        integer("checkin_id"),
        key("acknowledged_by", nullable=True),
        instant("resolved_at"),
        key("resolved_by", nullable=True),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_blocker_checkin_id_checkin")
        ),
        org_fk("blocker"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocker")),
    )
    partial_index(
        "ix_blocker_live",
        "blocker",
        ["org", "raised_by", "key_result"],
        "state <> 'resolved'",
        unique=True,
    )
    op.create_index("ix_blocker_key_result", "blocker", ["org", "key_result"])
    op.create_index("ix_blocker_waiting_on_team", "blocker", ["org", "waiting_on_team"])

    op.create_table(
        "blocker_event",
        sa.Column("id", sa.Integer(), nullable=False),
        key("org"),
        integer("blocker_id"),
        short("kind"),
        instant("at", nullable=False),
        key("by", nullable=True),
        key("from_team", nullable=True),
        sa.Column("auto", sa.Boolean(), nullable=False),
        instant("announced_at"),
        sa.ForeignKeyConstraint(
            ["blocker_id"], ["blocker.id"], name=op.f("fk_blocker_event_blocker_id_blocker")
        ),
        org_fk("blocker_event"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocker_event")),
    )
    partial_index(
        "ix_blocker_event_unannounced", "blocker_event", ["org", "id"], "announced_at IS NULL"
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        key("org"),
        key("key"),
        key("person"),
        sa.Column("notice", sa.JSON(), nullable=False),
        instant("created_at"),
        instant("not_before"),
        key("claimed_by", nullable=True),
        instant("claim_until"),
        instant("attempted_at"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        instant("sent_at"),
        sa.Column("message_ref", sa.Text(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        instant("failed_at"),
        org_fk("outbox"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("org", "key", name=op.f("uq_outbox_org_key")),
    )
    partial_index(
        "ix_outbox_unsent", "outbox", ["org", "id"], "sent_at IS NULL AND failure IS NULL"
    )

    op.create_table(
        "nudge",
        key("org"),
        key("key"),
        key("person"),
        short("week"),
        instant("at", nullable=False),
        org_fk("nudge"),
        sa.PrimaryKeyConstraint("org", "key", name=op.f("pk_nudge")),
    )
    op.create_index("ix_nudge_week", "nudge", ["org", "person", "week"])

    op.create_table(
        "person_setting",
        key("org"),
        key("person"),
        sa.Column("missing_list", sa.Boolean(), nullable=False),
        org_fk("person_setting"),
        sa.PrimaryKeyConstraint("org", "person", name=op.f("pk_person_setting")),
    )


def downgrade() -> None:
    op.drop_table("person_setting")
    op.drop_index("ix_nudge_week", table_name="nudge")
    op.drop_table("nudge")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_blocker_event_unannounced", table_name="blocker_event")
    op.drop_table("blocker_event")
    op.drop_index("ix_blocker_waiting_on_team", table_name="blocker")
    op.drop_index("ix_blocker_key_result", table_name="blocker")
    op.drop_index("ix_blocker_live", table_name="blocker")
    op.drop_table("blocker")
    op.drop_index("ix_initiative_update_checkin", table_name="initiative_update")
    op.drop_index("ix_kr_update_person", table_name="kr_update")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("nudges_per_week")
