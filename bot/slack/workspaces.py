"""Which Slack workspace (and bot token) serves an organisation, and the other way round.

With SLACK_BOT_TOKEN there is one workspace and every organisation of the database is reached
through it. With OAuth every workspace that installed the app has its own bot token in the
installation store, and `link_workspace` ties it to one organisation: prompts for that
organisation go out with that token only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.slack.webapi import SlackError, Workspace
from rhythm.ports import WorkspaceRepository

PLATFORM = "slack"
SINGLE = "single"


class Workspaces(Protocol):
    async def for_org(self, org: str) -> Workspace:
        """The workspace to reach `org`'s people and channels through (SlackError if none)."""
        ...

    async def for_team(self, team: str | None) -> Workspace:
        """The workspace a request came from, by its team id."""
        ...

    def forget(self, team: str) -> None:
        """Drop what is cached about `team` (its token was revoked or replaced)."""
        ...


class SingleWorkspace:
    """SLACK_BOT_TOKEN: one workspace for everything."""

    def __init__(self, *, token: str) -> None:
        self._workspace = Workspace(SINGLE, token)

    async def for_org(self, org: str) -> Workspace:
        return self._workspace

    async def for_team(self, team: str | None) -> Workspace:
        return self._workspace

    def forget(self, team: str) -> None:
        return None


class InstalledWorkspaces:
    """OAuth installs: the newest bot token of each workspace, from the installation store,
    and the workspace linked to each organisation, both read again after `ttl` seconds: a
    fan-out of thousands does not query them per message, and a token revoked or a link
    changed through another replica is seen within seconds."""

    def __init__(
        self,
        *,
        installations: AsyncInstallationStore,
        links: WorkspaceRepository,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.installations = installations
        self.links = links
        self.ttl = ttl
        self._clock = clock
        self._by_team: dict[str, tuple[float, Workspace]] = {}
        self._team_of_org: dict[str, tuple[float, str]] = {}

    async def for_org(self, org: str) -> Workspace:
        cached = self._team_of_org.get(org)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return await self.for_team(cached[1])
        teams = await self.links.org_workspaces(org, PLATFORM)
        if not teams:
            raise SlackError("install", f"no Slack workspace is linked to {org}", permanent=True)
        # An organisation in several workspaces (a grid's teams) posts through its first one.
        team = sorted(teams)[0]
        self._team_of_org[org] = (self._clock(), team)
        return await self.for_team(team)

    async def for_team(self, team: str | None) -> Workspace:
        if not team:
            raise SlackError("install", "the request names no workspace", permanent=True)
        cached = self._by_team.get(team)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return cached[1]
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team)
        if bot is None or not bot.bot_token:
            self._by_team.pop(team, None)
            raise SlackError("install", f"Drumbeat is not installed in {team}", permanent=True)
        workspace = Workspace(team, bot.bot_token)
        self._by_team[team] = (self._clock(), workspace)
        return workspace

    def forget(self, team: str) -> None:
        self._by_team.pop(team, None)
        self._team_of_org = {o: t for o, t in self._team_of_org.items() if t[1] != team}
