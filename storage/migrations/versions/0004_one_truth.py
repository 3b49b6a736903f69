"""One truth across processes: revisions to check cached trees against, sends recorded as they
begin, confirmed values in drafts, and no scheduler watermark.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- organisation.tree_revision / people_revision and chat_profile.revision: bumped in the
  transaction of each import or chat profile change, so every process's cached tree checks
  itself against one small read.
- prompt.attempted_at / attempts: a send is recorded as it begins, so after a crash the
  prompts whose outcome is unknown are looked up instead of sent again.
- form_draft.confirmed: unusual values the person confirmed by submitting them again.
- checkin.spontaneous only on a period's first revision (an edit is no new contribution).
- tick_state goes: what is due comes from what was prompted, not from a watermark.
- unlinked_workspace: workspaces that showed up before an admin linked them (admins hear of
  each once; nothing of an organisation is shown to them).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def counter(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(counter("tree_revision"))
        batch.add_column(counter("people_revision"))
    with op.batch_alter_table("chat_profile") as batch:
        batch.add_column(counter("revision"))
        batch.create_index("ix_chat_profile_revision", ["org", "revision"])
    with op.batch_alter_table("prompt") as batch:
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(counter("attempts"))
    with op.batch_alter_table("form_draft") as batch:
        batch.add_column(sa.Column("confirmed", sa.JSON(), nullable=False, server_default="{}"))
    op.execute("UPDATE checkin SET spontaneous = false WHERE revision > 1")
    op.drop_table("tick_state")
    op.create_table(
        "unlinked_workspace",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=200), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", name=op.f("pk_unlinked_workspace")),
    )


def downgrade() -> None:
    op.drop_table("unlinked_workspace")
    op.create_table(
        "tick_state",
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("last_tick", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org"], ["organisation.key"], name=op.f("fk_tick_state_org_organisation")
        ),
        sa.PrimaryKeyConstraint("org", name=op.f("pk_tick_state")),
    )
    with op.batch_alter_table("form_draft") as batch:
        batch.drop_column("confirmed")
    with op.batch_alter_table("prompt") as batch:
        batch.drop_column("attempts")
        batch.drop_column("attempted_at")
    with op.batch_alter_table("chat_profile") as batch:
        batch.drop_index("ix_chat_profile_revision")
        batch.drop_column("revision")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("people_revision")
        batch.drop_column("tree_revision")
