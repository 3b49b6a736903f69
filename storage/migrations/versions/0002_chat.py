"""Chat platforms: what they teach us about people, channel subscriptions, workspaces,
conversation references, drafts of paged forms; the organisation's admins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=200), nullable=nullable)


def instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org"], ["organisation.key"], name=op.f(f"fk_{table}_org_organisation")
    )


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("admins", sa.JSON(), nullable=False, server_default="[]"))

    op.create_table(
        "chat_profile",
        key("org"),
        key("person"),
        key("slack_user_id", nullable=True),
        key("teams_user_id", nullable=True),
        key("chat_timezone", nullable=True),
        key("chosen_timezone", nullable=True),
        sa.Column("unreachable", sa.Text(), nullable=True),
        instant("unreachable_at"),
        instant("updated_at", nullable=False),
        org_fk("chat_profile"),
        sa.PrimaryKeyConstraint("org", "person", name=op.f("pk_chat_profile")),
    )
    op.create_table(
        "subscription",
        key("org"),
        key("team"),
        key("channel"),
        key("created_by"),
        instant("created_at", nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        instant("failed_at"),
        org_fk("subscription"),
        sa.PrimaryKeyConstraint("org", "team", "channel", name=op.f("pk_subscription")),
    )
    op.create_table(
        "workspace",
        sa.Column("platform", sa.String(length=32), nullable=False),
        key("workspace"),
        key("org"),
        instant("linked_at", nullable=False),
        org_fk("workspace"),
        sa.PrimaryKeyConstraint("platform", "workspace", name=op.f("pk_workspace")),
    )
    op.create_index("ix_workspace_org", "workspace", ["org", "platform"])
    op.create_table(
        "conversation",
        sa.Column("platform", sa.String(length=32), nullable=False),
        key("address"),
        key("org", nullable=True),
        key("person", nullable=True),
        sa.Column("reference", sa.JSON(), nullable=False),
        instant("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("platform", "address", name=op.f("pk_conversation")),
    )
    op.create_table(
        "form_draft",
        key("org"),
        key("person"),
        key("context"),
        sa.Column("answers", sa.JSON(), nullable=False),
        instant("updated_at", nullable=False),
        org_fk("form_draft"),
        sa.PrimaryKeyConstraint("org", "person", "context", name=op.f("pk_form_draft")),
    )


def downgrade() -> None:
    for table in ("form_draft", "conversation", "workspace", "subscription", "chat_profile"):
        op.drop_table(table)
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("admins")
