"""Charts behind signed, expiring links, so that Teams can show charts too big to inline.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09

- chart: a rendered chart's PNG until its link expires (any replica serves any chart).
- chart_secret: the one key that signs the links. It is made by the first replica that needs
  it (`SqlChartRepository.chart_secret`), not here: a migration's SQL may be printed or kept
  (Alembic's offline mode), and a secret has no place in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chart",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org", sa.String(length=200), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org"], ["organisation.key"], name=op.f("fk_chart_org_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart")),
    )
    op.create_index(op.f("ix_chart_expires_at"), "chart", ["expires_at"])
    op.create_table(
        "chart_secret",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_chart_secret_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_secret")),
    )


def downgrade() -> None:
    op.drop_table("chart_secret")
    op.drop_index(op.f("ix_chart_expires_at"), table_name="chart")
    op.drop_table("chart")
