"""What the first hour needs: prompts that wait for a chat account, and numbers in the
organisation's language.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

- prompt.waiting_since: the person has no chat account Drumbeat knows yet (not in the Slack
  workspace, never seen in Teams). Such a prompt is not failed: it waits, and goes out when
  the person is linked, while its period can still be answered.
- organisation.locale: how numbers are written for its people (1,234.5 or 1.234,5).
- kr_update.value_before: where the key result stood before the period's first update of
  it, for the digest's "52% → 58%".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prompt") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(
            sa.Column("locale", sa.String(length=32), nullable=False, server_default="en")
        )
    with op.batch_alter_table("kr_update") as batch:
        batch.add_column(sa.Column("value_before", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kr_update") as batch:
        batch.drop_column("value_before")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("prompt") as batch:
        batch.drop_column("waiting_since")
