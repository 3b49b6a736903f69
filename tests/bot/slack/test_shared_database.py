"""slack_sdk's OAuth stores share our database: on SQLite their transactions (which read, then
write) queue for the write lock with ours instead of failing with "database is locked" when
an install, an OAuth state and the bot's own writes land at the same moment. Both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.oauth.installation_store import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.okrfile import load_organisation
from bot.slack.oauth import installation_store, state_store
from rhythm.records import Conversation
from storage.store import SqlStore

WORKSPACES = 24
ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"


def installation(n: int) -> Installation:
    return Installation(
        app_id="A0DRUMBEAT", enterprise_id=None, team_id=f"T{n:04d}", team_name=f"Team {n}",
        bot_token=f"xoxb-{n}", bot_id=f"B{n}", bot_user_id=f"U{n}", bot_scopes="chat:write",
        user_id=f"UADMIN{n}", installed_at=datetime.now(UTC).timestamp(),
    )  # fmt: skip


async def busy_moment(store: SqlStore, engine: AsyncEngine) -> None:
    """Installs, OAuth states and the bot's own writes, all at once."""
    installs = installation_store(engine, client_id="1111.2222")
    states = state_store(engine)

    async def install(n: int) -> None:
        await installs.async_save(installation(n))
        await installs.async_save(installation(n))  # a reinstall updates the row

    async def state() -> None:
        assert await states.async_consume(await states.async_issue())

    async def ours(n: int) -> None:
        await store.link_workspace("slack", f"T{n:04d}", "acme")
        await store.save_conversation(
            Conversation("slack", f"U{n}", {"channel": f"D{n}"}, org="acme")
        )

    await asyncio.gather(
        *(install(n) for n in range(WORKSPACES)),
        *(state() for _ in range(WORKSPACES)),
        *(ours(n) for n in range(WORKSPACES)),
    )


async def test_installs_states_and_our_writes_at_once_all_land(store: SqlStore) -> None:
    await store.save_organisation(load_organisation(ACME))
    await busy_moment(store, store.shared_engine)

    installs = installation_store(store.shared_engine, client_id="1111.2222")
    for n in range(WORKSPACES):
        found = await installs.async_find_bot(enterprise_id=None, team_id=f"T{n:04d}")
        assert found is not None
        assert found.bot_token == f"xoxb-{n}"
        assert await store.workspace_org("slack", f"T{n:04d}") == "acme"
