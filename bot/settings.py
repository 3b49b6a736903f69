"""Configuration, read from the environment (and a `.env` file) once, in the entry point."""

from __future__ import annotations

import os
import socket
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///drumbeat.db"


class SettingsError(ValueError):
    """Settings that cannot work together; the message says which variable to set."""


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "0.0.0.0"
    port: int = 3978
    log_level: str = "INFO"
    # "text": Rich's human-readable lines; "json": one JSON object per line (bot/logs.py).
    log_format: Literal["text", "json"] = "text"
    # When set, GET /metrics wants it as `Authorization: Bearer <token>`.
    metrics_token: str | None = None
    worker_id: str = Field(default_factory=_worker_id)
    tick_seconds: int = Field(default=60, ge=1)
    # How long a replica's claim on a prompt lasts unless renewed (it renews while it sends):
    # when a replica dies, the others send its prompts after at most this long.
    claim_lease_seconds: int = Field(default=60, ge=5)
    public_url: str | None = Field(
        default=None,
        description=(
            "The https address where people's chat apps reach this server "
            "(https://okr.example.com): chart links and the Slack manifest's request URLs "
            "start with it."
        ),
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_api_url: str | None = None
    # Slack publishes no workspace-wide cap for chat.postMessage, only "about 1 per second per
    # channel, bursts tolerated"; 20 per second keeps a 1,000-person fan-out under a minute
    # without tripping 429s in practice. Raise it if your workspace tolerates more.
    slack_messages_per_second: float = 20.0
    # Workspaces that join without `drumbeat workspace link`: "T0123" (the only organisation)
    # or "T0123=acme", comma-separated. With SLACK_BOT_TOKEN the one workspace joins anyway.
    slack_allowed_teams: str = ""

    microsoft_app_id: str | None = None
    microsoft_app_password: str | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    # No Microsoft credentials, no token checks: for the Microsoft 365 Agents Playground only.
    teams_local: bool = False
    teams_messages_per_second: float = 30.0  # per tenant, Teams' documented app limit
    # Tenants that join without `drumbeat workspace link` (as SLACK_ALLOWED_TEAMS). A
    # single-tenant app's own tenant, and local mode's Playground, join anyway.
    teams_allowed_tenants: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"PUBLIC_URL must be an http(s) address such as https://okr.example.com, "
                f"not {value[:80]!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError("PUBLIC_URL must be a base address, without ?query or #fragment")
        return value.strip().rstrip("/")

    @property
    def public_base_url(self) -> str | None:
        """PUBLIC_URL, or in local mode (the Playground, no Microsoft credentials) this
        machine's address, so that the browser can load what the bot links to."""
        if self.public_url:
            return self.public_url
        if self.teams_local and not self.microsoft_app_id:
            return f"http://localhost:{self.port}"
        return None

    @property
    def slack_configured(self) -> bool:
        single = bool(self.slack_bot_token and self.slack_signing_secret)
        oauth = bool(
            self.slack_client_id and self.slack_client_secret and self.slack_signing_secret
        )
        return single or oauth

    @property
    def teams_configured(self) -> bool:
        return bool(self.microsoft_app_id)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# What `serve` says when it has no chat platform to send to: two lines at start-up.
PLATFORM_HELP = (
    "No chat platform is configured: prompts and digests are printed here, not sent.\n"
    "Slack needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, Teams MICROSOFT_APP_ID and "
    "MICROSOFT_APP_PASSWORD."
)
