"""Which organisation a Slack workspace or a Teams tenant belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.db import Repository
from storage.tables import unlinked_workspace_t, workspace_t

w = workspace_t.c


class SqlWorkspaceRepository(Repository):
    """Implements `rhythm.ports.WorkspaceRepository`."""

    async def link_workspace(self, platform: str, workspace: str, org: str) -> None:
        row = {
            "platform": platform, "workspace": workspace, "org": org,
            "linked_at": datetime.now(UTC),
        }  # fmt: skip
        async with self._db.write() as conn:
            await conn.execute(self._db.upsert(workspace_t, ["platform", "workspace"], row))

    async def workspace_org(self, platform: str, workspace: str) -> str | None:
        query = select(w.org).where(w.platform == platform, w.workspace == workspace)
        async with self._db.read() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def org_workspaces(self, org: str, platform: str) -> list[str]:
        query = select(w.workspace).where(w.org == org, w.platform == platform)
        async with self._db.read() as conn:
            return list((await conn.execute(query.order_by(w.linked_at))).scalars())

    async def note_unlinked_workspace(self, platform: str, workspace: str, *, at: datetime) -> bool:
        row = {"platform": platform, "workspace": workspace, "first_seen_at": at}
        stmt = self._db.insert_ignoring(unlinked_workspace_t, ["platform", "workspace"])
        async with self._db.write() as conn:
            inserted = await conn.execute(
                stmt.values(row).returning(unlinked_workspace_t.c.workspace)
            )
            return inserted.first() is not None
