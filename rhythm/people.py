"""People and identity: who is writing to us, from which workspace, and what they are owed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rhythm.errors import UnknownPerson, UnknownWorkspace
from rhythm.messages import Notice
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.ports import ChatGateway, Clock, DeliveryError, Store
from rhythm.records import PromptRecord
from rhythm.wording import plural

log = logging.getLogger(__name__)

PLATFORM_NAMES = {"slack": "Slack workspace", "teams": "Microsoft Teams tenant"}


@dataclass(frozen=True, slots=True)
class Admission:
    """Which workspaces the admin's configuration lets in without `drumbeat workspace link`.

    `join_only_organisation`: the configuration itself names the one workspace (a Slack bot
    token, a single-tenant Teams app), so it joins the database's only organisation.
    `allowed`: an allow-list, workspace -> organisation key (None: the only organisation)."""

    join_only_organisation: bool = False
    allowed: Mapping[str, str | None] = field(default_factory=dict)


def allow_list(text: str | None) -> dict[str, str | None]:
    """ "T0123, T0456=acme" -> {"T0123": None, "T0456": "acme"} (a setting's value)."""
    allowed: dict[str, str | None] = {}
    for item in (text or "").split(","):
        workspace, _, org = item.strip().partition("=")
        if workspace.strip():
            allowed[workspace.strip()] = org.strip() or None
    return allowed


class People:
    def __init__(
        self, *, store: Store, orgs: Organisations, chat: ChatGateway, clock: Clock
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.chat = chat
        self.clock = clock
        # Told when someone's prompts may go out now (linked, or reachable again): the
        # scheduler ticks at once instead of at its next interval.
        self.on_prompts_due: list[Callable[[], object]] = []

    def _prompts_due(self) -> None:
        for listener in self.on_prompts_due:
            listener()

    async def person(self, org_key: str, who: str) -> tuple[Organisation, str]:
        """The organisation and the person's key (their email), or UnknownPerson."""
        org = await self.orgs.get(org_key)
        email = who.strip().lower()
        if email not in org.person:
            raise UnknownPerson(who, org.name)
        return org, email

    async def workspace_org(
        self, platform: str, workspace: str, *, admission: Admission | None = None
    ) -> str:
        """The organisation an admin connected this Slack workspace or Teams tenant to.

        A workspace belongs to an organisation only by an admin's act: `drumbeat workspace
        link`, or the configuration (`admission`). Anyone else gets UnknownWorkspace, sees
        nothing of any organisation, and the admins hear about that workspace once."""
        linked = await self.store.workspace_org(platform, workspace)
        if linked is not None:
            return linked
        admission = admission or Admission()
        keys = await self.orgs.keys()
        only = keys[0] if len(keys) == 1 else None
        if workspace in admission.allowed:
            target = admission.allowed[workspace] or only
        else:
            target = only if admission.join_only_organisation else None
        if target is not None and target in keys:
            await self.store.link_workspace(platform, workspace, target)
            return target
        if await self.store.note_unlinked_workspace(platform, workspace, at=self.clock.now()):
            await self._tell_admins_about(platform, workspace, keys)
        raise UnknownWorkspace()

    async def _tell_admins_about(self, platform: str, workspace: str, orgs: list[str]) -> None:
        what = PLATFORM_NAMES.get(platform, platform)
        log.warning("%s %s is not linked to an organisation: its people see nothing", what,
                    workspace)  # fmt: skip
        for key in orgs:
            org = await self.orgs.get(key)
            notice = Notice(
                f"🔌 A {what} wants to use Drumbeat",
                (
                    f"{what} {workspace} installed the app or wrote to it, but no admin has "
                    "connected it to an organisation: its people see nothing of your OKRs.",
                    f"If it is yours: drumbeat workspace link {platform} {workspace} {org.key}",
                ),
            )
            for admin in org.admin_people:
                try:
                    await self.chat.send_direct(org.key, admin, notice)
                except DeliveryError as error:
                    log.warning("could not tell %s about %s: %s", admin.name, workspace,
                                error.reason)  # fmt: skip

    async def identify(
        self,
        org_key: str,
        platform: str,
        user_id: str,
        *,
        email: str | None = None,
        timezone: str | None = None,
    ) -> str:
        """The email of the person behind a chat user: by their linked id, else by the email
        the platform gives (then the id and the platform's timezone are remembered)."""
        org = await self.orgs.get(org_key)
        found = org.person_by_chat_id(platform, user_id)
        if found is not None:
            return found
        if email is None or email.strip().lower() not in org.person:
            raise UnknownPerson(email or f"{platform} user {user_id}", org.name)
        person = email.strip().lower()
        await self.link(org.key, person, platform=platform, user_id=user_id, timezone=timezone)
        return person

    async def link(
        self, org_key: str, person: str, *, platform: str, user_id: str, timezone: str | None
    ) -> None:
        """Remember a person's chat account (found by email), for every process; their
        prompts that waited for it go out on the next tick (see `rhythm.ports.NotLinked`)."""
        await self.store.link_chat_user(
            org_key, person, platform=platform, user_id=user_id, timezone=_valid_zone(timezone)
        )
        self._prompts_due()

    async def open_prompts(self, org_key: str, who: str) -> list[PromptRecord]:
        """The person's open check-ins, "today" being today where they are."""
        org, person = await self.person(org_key, who)
        zone = org.person[person].timezone
        return await self.store.open_prompts(org.key, person, now=self.clock.now(), timezone=zone)

    async def reachable(self, org_key: str, who: str) -> None:
        """The person talked to the bot or installed it, so it can reach them again: the
        prompts that could not reach them and can still be answered go out on the next tick
        (someone who installs the app on Wednesday gets this week's check-in)."""
        if await self.store.clear_unreachable(org_key, who):
            revived = await self.store.retry_failed(org_key, who, now=self.clock.now())
            if revived:
                log.info("%s is reachable again: %s will be sent", who, plural(revived, "prompt"))
                self._prompts_due()

    async def installed(self, org_key: str) -> None:
        """The app was just installed where the organisation's people are (a Teams tenant):
        the prompts that waited for it are tried at once."""
        if woken := await self.store.wake_waiting(org_key):
            log.info("the app was installed: %s waiting will be tried now", plural(woken, "prompt"))
            self._prompts_due()

    async def set_timezone(self, org_key: str, who: str, timezone: str | None) -> None:
        org, person = await self.person(org_key, who)
        await self.store.set_timezone(org.key, person, timezone)


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name
