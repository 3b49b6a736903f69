"""Automatic updates: key results' values pushed by other systems.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-18

- auto_update: one value pushed for one key result (a CI job, a warehouse query), stored with
  where the key result stood before it, in the transaction that set its current value; unique
  by idempotency key per organisation (pushes without a key are never merged).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auto_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("key_result", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("value_before", sa.Float(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["org"], ["organisation.key"], name=op.f("fk_auto_update_org_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auto_update")),
        sa.UniqueConstraint(
            "org", "idempotency_key", name=op.f("uq_auto_update_org_idempotency_key")
        ),
    )
    op.create_index(
        "ix_auto_update_key_result", "auto_update", ["org", "key_result", "submitted_at"]
    )
    op.create_index("ix_auto_update_submitted_at", "auto_update", ["org", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_auto_update_submitted_at", table_name="auto_update")
    op.drop_index("ix_auto_update_key_result", table_name="auto_update")
    op.drop_table("auto_update")
