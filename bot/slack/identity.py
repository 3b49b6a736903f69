"""Slack users and the OKR file's people: who is writing to us, and whom to write to.

People are matched by the Slack id in the OKR file, else by email. Inbound, an unknown Slack id
costs one `users.info` (email and timezone), after which `Drumbeat.identify` links the id so
the next request is a lookup in the loaded organisation. Outbound, a person without a Slack id
is found by email in the workspace's user list, and the id is stored with `link_chat_user`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.slack.webapi import SlackError, SlackWebApi, Workspace, dig, unexpected
from bot.slack.workspaces import PLATFORM, Workspaces
from rhythm.errors import UnknownPerson, UnknownWorkspace
from rhythm.okr import Person
from rhythm.people import Admission
from rhythm.ports import NotLinked, PeopleRepository
from rhythm.service import Drumbeat

LIST_PAGE = 500  # users.list: Slack suggests pages of at most a few hundred


@dataclass(frozen=True, slots=True)
class SlackProfile:
    user_id: str
    email: str | None
    timezone: str | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class Caller:
    """The organisation and person behind a request, and the workspace it came from."""

    org: str
    person: str  # email
    user_id: str
    team: str
    workspace: Workspace


def _zone(name: object) -> str | None:
    """Slack's IANA name when this machine knows it (a bad zone must never reach the core)."""
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def profile_of(user: object, *, method: str) -> SlackProfile:
    """A `user` object of users.info, users.lookupByEmail or users.list."""
    if not isinstance(user, Mapping) or not isinstance(user.get("id"), str) or not user["id"]:
        raise unexpected(method)
    email = dig(user, "profile", "email")
    return SlackProfile(
        user_id=user["id"],
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        timezone=_zone(user.get("tz")),
        deleted=bool(user.get("deleted")),
    )


class SlackDirectory:
    """Slack users by id (users.info) and by email (the workspace's users.list, read whole at
    most once per `ttl`, then users.lookupByEmail for someone who joined since), remembered
    for `ttl` seconds.

    Reading the whole list is what makes a first fan-out to people without Slack ids possible:
    users.lookupByEmail allows about 50 calls a minute, so 5,000 of them take 100 minutes;
    users.list pages through the same 5,000 in a handful of calls."""

    def __init__(
        self,
        *,
        api: SlackWebApi,
        ttl: float = 3600.0,
        page: int = LIST_PAGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.ttl = ttl
        self.page = page
        self._clock = clock
        self._profiles: dict[tuple[str, str], tuple[float, SlackProfile]] = {}
        self._by_email: dict[tuple[str, str], tuple[float, SlackProfile]] = {}
        self._listings: dict[str, tuple[float, dict[str, SlackProfile]]] = {}
        self._listing_locks: dict[str, asyncio.Lock] = {}

    async def profile(self, workspace: Workspace, user_id: str) -> SlackProfile:
        cached = self._fresh(self._profiles.get((workspace.key, user_id)))
        if cached is not None:
            return cached
        answer = await self.api.call(workspace, "users.info", user=user_id)
        profile = profile_of(answer.get("user"), method="users.info")
        self._remember(workspace, profile)
        return profile

    async def by_email(self, workspace: Workspace, email: str) -> SlackProfile:
        """The Slack user with this email (SlackError users_not_found when there is none)."""
        key = (workspace.key, email.lower())
        found = (await self._listing(workspace)).get(key[1]) or self._fresh(self._by_email.get(key))
        if found is not None:
            return found
        answer = await self.api.call(workspace, "users.lookupByEmail", email=email)
        profile = profile_of(answer.get("user"), method="users.lookupByEmail")
        self._remember(workspace, profile)
        self._by_email[key] = (self._clock(), profile)
        return profile

    async def _listing(self, workspace: Workspace) -> dict[str, SlackProfile]:
        """Everyone in the workspace by email; concurrent callers share one reading."""
        lock = self._listing_locks.setdefault(workspace.key, asyncio.Lock())
        async with lock:
            cached = self._listings.get(workspace.key)
            if cached is not None and self._clock() - cached[0] < self.ttl:
                return cached[1]
            people: dict[str, SlackProfile] = {}
            cursor: str | None = None
            while True:
                page = await self.api.call(workspace, "users.list", limit=self.page, cursor=cursor)
                members = page.get("members")
                if not isinstance(members, list):
                    raise unexpected("users.list")
                for user in members:
                    if dig(user, "is_bot") or dig(user, "id") == "USLACKBOT":
                        continue
                    profile = profile_of(user, method="users.list")
                    if profile.email:
                        people[profile.email] = profile
                cursor = dig(page, "response_metadata", "next_cursor") or None
                if cursor is not None and not isinstance(cursor, str):
                    raise unexpected("users.list")
                if not cursor:
                    break
            self._listings[workspace.key] = (self._clock(), people)
            return people

    def _remember(self, workspace: Workspace, profile: SlackProfile) -> None:
        self._profiles[workspace.key, profile.user_id] = (self._clock(), profile)

    def _fresh(self, entry: tuple[float, SlackProfile] | None) -> SlackProfile | None:
        if entry is None or self._clock() - entry[0] >= self.ttl:
            return None
        return entry[1]


class SlackPeople:
    """Inbound: the organisation of a workspace and the person of a Slack user."""

    def __init__(
        self,
        *,
        drumbeat: Drumbeat,
        directory: SlackDirectory,
        workspaces: Workspaces,
        admission: Admission | None = None,
    ) -> None:
        self.drumbeat = drumbeat
        self.directory = directory
        self.workspaces = workspaces
        self.admission = admission or Admission()

    async def caller(self, team: str | None, user_id: str) -> Caller:
        """Raises a DrumbeatError (with a message for the person) when the workspace is not
        connected to an organisation or the user is not in its OKR tree. A workspace that is
        not connected learns nothing: not even whom an email belongs to."""
        if not team:
            raise UnknownWorkspace()
        people = self.drumbeat.people
        org = await people.workspace_org(PLATFORM, team, admission=self.admission)
        workspace = await self.workspaces.for_team(team)
        try:
            email = await people.identify(org, PLATFORM, user_id)
        except UnknownPerson:
            profile = await self.directory.profile(workspace, user_id)
            if profile.email is None or profile.deleted:
                raise
            email = await people.identify(
                org, PLATFORM, user_id, email=profile.email, timezone=profile.timezone
            )
        return Caller(org, email, user_id, team, workspace)


class SlackRecipients:
    """Outbound: the Slack id of a person, looked up by email when the OKR file has none."""

    def __init__(self, *, directory: SlackDirectory, people: PeopleRepository) -> None:
        self.directory = directory
        self.people = people
        self._linked: dict[tuple[str, str], str] = {}

    async def user_id(self, workspace: Workspace, org: str, person: Person) -> str:
        if person.slack_user_id:
            return person.slack_user_id
        known = self._linked.get((org, person.email))
        if known is not None:
            return known
        try:
            profile = await self.directory.by_email(workspace, person.email)
        except SlackError as error:
            if error.code != "users_not_found":
                raise
            # Not in the workspace yet (an invitation not accepted): their prompts wait and
            # look again later.
            raise NotLinked("no one in the Slack workspace has their email yet") from error
        if profile.deleted:
            raise SlackError("users.lookupByEmail", "account_inactive", permanent=True)
        await self.people.link_chat_user(
            org, person.email, platform=PLATFORM, user_id=profile.user_id,
            timezone=profile.timezone,
        )  # fmt: skip
        self._linked[org, person.email] = profile.user_id
        return profile.user_id
