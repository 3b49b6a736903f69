"""Slack OAuth: the tables of slack_sdk's SQLAlchemy installation and state stores.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Copied column for column from slack_sdk 3.x (`SQLAlchemyInstallationStore.build_*_table`,
`SQLAlchemyOAuthStateStore.build_oauth_states_table`) with their default table names, so the
stores (bot/slack/oauth.py) run on our database; storage/ does not import slack_sdk, and
tests/bot/slack/test_oauth.py checks that the migrated schema is exactly what slack_sdk
declares. Their instants are naive DateTime, as slack_sdk writes them (UTC). The models in
storage.tables do not describe these tables: slack_sdk owns them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
STATES = "slack_oauth_states"


def text(name: str, length: int, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        INSTALLATIONS,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        text("client_id", 32, nullable=False),
        text("app_id", 32, nullable=False),
        text("enterprise_id", 32),
        text("enterprise_name", 200),
        text("enterprise_url", 200),
        text("team_id", 32),
        text("team_name", 200),
        text("bot_token", 200),
        text("bot_id", 32),
        text("bot_user_id", 32),
        text("bot_scopes", 1000),
        text("bot_refresh_token", 200),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        text("user_id", 32, nullable=False),
        text("user_token", 200),
        text("user_scopes", 1000),
        text("user_refresh_token", 200),
        sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
        text("incoming_webhook_url", 200),
        text("incoming_webhook_channel", 200),
        text("incoming_webhook_channel_id", 200),
        text("incoming_webhook_configuration_url", 200),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        text("token_type", 32),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{INSTALLATIONS}")),
    )
    op.create_index(
        f"{INSTALLATIONS}_idx",
        INSTALLATIONS,
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        BOTS,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        text("client_id", 32, nullable=False),
        text("app_id", 32, nullable=False),
        text("enterprise_id", 32),
        text("enterprise_name", 200),
        text("team_id", 32),
        text("team_name", 200),
        text("bot_token", 200),
        text("bot_id", 32),
        text("bot_user_id", 32),
        text("bot_scopes", 1000),
        text("bot_refresh_token", 200),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{BOTS}")),
    )
    op.create_index(f"{BOTS}_idx", BOTS, ["client_id", "enterprise_id", "team_id", "installed_at"])
    op.create_table(
        STATES,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        text("state", 200, nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{STATES}")),
    )


def downgrade() -> None:
    op.drop_table(STATES)
    op.drop_index(f"{BOTS}_idx", table_name=BOTS)
    op.drop_table(BOTS)
    op.drop_index(f"{INSTALLATIONS}_idx", table_name=INSTALLATIONS)
    op.drop_table(INSTALLATIONS)
