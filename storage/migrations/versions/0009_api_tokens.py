"""The HTTP API's bearer tokens.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-21

- api_token: one token of one organisation, unique by name there; only its SHA-256 is kept
  (unique: a request's token is looked up by it), with when it was made, last used, revoked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        instant("created_at", nullable=False),
        instant("last_used_at"),
        instant("revoked_at"),
        sa.ForeignKeyConstraint(
            ["org"], ["organisation.key"], name=op.f("fk_api_token_org_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("org", "name", name=op.f("uq_api_token_org_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_token")
