"""The Teams bot: what it does with each activity Teams sends to POST /api/messages.

- Installed for a person, in a team, or a member added: the conversation references are
  stored (the person's, the channel's and the tenant's), people are linked by AAD object id
  or by the email Teams' member lookup gives, and a welcome message explains the bot.
- A message is a command for the core (`help`, `mine`, `checkin`...), after the bot's
  @mention is stripped in channels and group chats.
- A card's button comes back as a message whose `value` is the button's data with the
  card's inputs: check-in form pages, and the prompt's buttons.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from azure.core.exceptions import DeserializationError  # what msrest raises for non-JSON
from botbuilder.core import ActivityHandler, CardFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationReference
from msrest.exceptions import HttpOperationError

from bot.teams.cards import (
    ActionSubmit,
    FormSubmit,
    answers_from_submit,
    card_for,
    done_card,
    form_cards,
    page_fields,
    parse_submit,
)
from bot.teams.gateway import PLATFORM, person_address, reference_dict, tenant_address
from rhythm.checkin import CheckedIn, FormPage, prompt_id_of
from rhythm.commands import run_command
from rhythm.errors import DrumbeatError, StaleForm, UnknownPerson
from rhythm.messages import Message, Notice, Text
from rhythm.people import Admission
from rhythm.ports import ConversationRepository
from rhythm.prompting import OFF, OPEN, SNOOZE
from rhythm.records import Conversation
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

PERSONAL = "personal"
WELCOME = Notice(
    "👋 Hi, I'm Drumbeat",
    lines=(
        "I keep your team's OKR check-in rhythm: when a check-in is due I send you a short "
        "card with your key results (value, confidence, status, what moved, blockers, next "
        "step), and I post a digest to your team's channel.",
        "Type help for what I can do, checkin to update now, mine for your key results.",
    ),
)
TEAM_WELCOME = Notice(
    "👋 Drumbeat is here",
    lines=(
        "I keep the OKR check-in rhythm of this team. Team leads: mention me with "
        "subscribe [team] to get a team's digests in this channel.",
        "Everyone: mention me with help for what I can do.",
    ),
)
_MENTION = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Member:
    """What Teams' member lookup says about a user."""

    id: str  # the bot-specific user id ("29:..."), for creating a conversation
    aad_object_id: str | None
    email: str | None
    name: str = ""


class MemberDirectory(Protocol):
    async def member(self, context: TurnContext, user_id: str) -> Member | None: ...

    async def team_members(self, context: TurnContext) -> list[Member]: ...


class TeamsMembers:
    """Teams' own member lookup (TeamsInfo), through the turn's connector client."""

    async def member(self, context: TurnContext, user_id: str) -> Member | None:
        try:
            found = await TeamsInfo.get_member(context, user_id)
        except (HttpOperationError, DeserializationError) as error:  # refused, or not JSON
            log.warning("Teams member lookup of %s failed: %s", user_id, error)
            return None
        return _member(found)

    async def team_members(self, context: TurnContext) -> list[Member]:
        members: list[Member] = []
        token = None
        while True:
            try:
                page = await TeamsInfo.get_paged_team_members(context, continuation_token=token)
            except (HttpOperationError, DeserializationError) as error:
                log.warning("Teams team member listing failed: %s", error)
                return members
            members.extend(_member(m) for m in page.members or [])
            token = page.continuation_token
            if not token:
                return members


def _member(account: Any) -> Member:
    email = getattr(account, "email", None) or getattr(account, "user_principal_name", None)
    return Member(account.id, account.aad_object_id, email, account.name or "")


T = TypeVar("T")
PACING = "drumbeat.pacing"  # the turn state's key of the bot's Pacing, for the replies


class Pacing(Protocol):
    """Paces and retries calls to one conversation by Teams' limits (the TeamsGateway)."""

    async def paced(
        self, tenant: str, key: str, call: Callable[[Callable[[], Awaitable[None]]], Awaitable[T]]
    ) -> T: ...


UNKNOWN_BUTTON = "That button is not one I know any more. Type checkin to check in."


class TeamsBot(ActivityHandler):
    def __init__(
        self,
        *,
        drumbeat: Drumbeat,
        conversations: ConversationRepository,
        admission: Admission | None = None,
        members: MemberDirectory | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.drumbeat = drumbeat
        self.conversations = conversations
        self.admission = admission or Admission()
        self.members = members or TeamsMembers()
        self.pacing = pacing

    async def on_turn(self, turn_context: TurnContext) -> None:
        if self.pacing is not None:
            turn_context.turn_state[PACING] = self.pacing
        try:
            await super().on_turn(turn_context)
        except DrumbeatError as error:  # a refusal carries the sentence for the person
            await say(turn_context, Text(error.message))

    # ---- installs and new members -----------------------------------------------------------

    async def on_members_added_activity(
        self, members_added: list[ChannelAccount], turn_context: TurnContext
    ) -> None:
        activity = turn_context.activity
        org = await self._org(turn_context)
        await self._remember_tenant(turn_context, org)
        if is_personal(activity):
            await self._remember_person(turn_context, org, None)
            who = await self._identify(turn_context, org, activity.from_property)
            await self._remember_person(turn_context, org, who)
            await self.drumbeat.people.reachable(org, who)
            await say(turn_context, WELCOME)
            return
        bot_id = activity.recipient.id
        if any(m.id == bot_id for m in members_added):
            await self._remember_channel(turn_context, org)
            await self._link(turn_context, org, await self.members.team_members(turn_context))
            await say(turn_context, TEAM_WELCOME)
            return
        found = [await self.members.member(turn_context, m.id) for m in members_added]
        await self._link(turn_context, org, [m for m in found if m is not None])

    async def _link(self, context: TurnContext, org: str, members: Sequence[Member]) -> None:
        """Link team members to people by email, and keep what opening a 1:1 conversation
        with them needs, for those the bot has not talked to yet."""
        activity = context.activity
        for member in members:
            if not member.aad_object_id or not member.email:
                continue
            try:
                who = await self.drumbeat.people.identify(
                    org, PLATFORM, member.aad_object_id, email=member.email
                )
            except UnknownPerson:
                continue
            address = person_address(member.aad_object_id)
            if await self.conversations.conversation(PLATFORM, address):
                continue
            record = ConversationReference(
                user=ChannelAccount(id=member.id, aad_object_id=member.aad_object_id),
                bot=activity.recipient,
                conversation=None,
                channel_id=activity.channel_id,
                service_url=activity.service_url,
            )
            stored = reference_dict(record)
            stored["conversation"] = {"tenantId": tenant_of(activity)}
            await self.conversations.save_conversation(
                Conversation(PLATFORM, address, stored, org=org, person=who)
            )
            await self.drumbeat.people.reachable(org, who)  # the bot can open a 1:1 now

    # ---- messages ---------------------------------------------------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        org = await self._org(turn_context)
        await self._remember_tenant(turn_context, org)
        channel = channel_address(activity)
        if channel is None:
            await self._remember_person(turn_context, org, None)
        else:
            await self._remember_channel(turn_context, org)
        who = await self._identify(turn_context, org, activity.from_property)
        if channel is None:
            await self._remember_person(turn_context, org, who)
        await self.drumbeat.people.reachable(org, who)
        if activity.value is not None:
            await self._on_button(turn_context, org, who, activity.value)
            return
        reply = await run_command(
            self.drumbeat, org, who, command_text(activity),
            channel=f"{PLATFORM}:{channel}" if channel else None,
        )  # fmt: skip
        if reply.message is not None:
            await say(turn_context, reply.message)
        if reply.form is not None:
            await send_card(turn_context, page_card(reply.form))

    # ---- card buttons -----------------------------------------------------------------------

    async def _on_button(self, context: TurnContext, org: str, who: str, value: object) -> None:
        pressed = parse_submit(value)
        if isinstance(pressed, FormSubmit) and isinstance(value, Mapping):
            await self._on_form_page(context, org, who, pressed, value)
        elif isinstance(pressed, ActionSubmit):
            await self._on_action(context, org, who, pressed)
        else:
            log.info("a card submit that is not Drumbeat's: %r", str(value)[:200])
            await say(context, Text(UNKNOWN_BUTTON))

    async def _on_action(
        self, context: TurnContext, org: str, who: str, pressed: ActionSubmit
    ) -> None:
        checkins = self.drumbeat.checkins
        if pressed.action == OPEN:
            page = await checkins.open(org, who, prompt_id=prompt_id_of(pressed.value))
            await replace_card(context, page_card(page))
        elif pressed.action == SNOOZE:
            await say(context, await checkins.snooze(org, who, prompt_id_of(pressed.value)))
        elif pressed.action == OFF:
            notice = await checkins.skip_period(org, who, prompt_id_of(pressed.value))
            await replace_card(context, done_card(notice))
        else:
            raise StaleForm(UNKNOWN_BUTTON)

    async def _on_form_page(
        self,
        context: TurnContext,
        org: str,
        who: str,
        pressed: FormSubmit,
        value: Mapping[str, Any],
    ) -> None:
        outcome = await self.drumbeat.checkins.submit(
            org, who, pressed.context, answers_from_submit(value), pager=page_fields,
            idempotency_key=_submit_key(context.activity),
        )  # fmt: skip
        if isinstance(outcome, CheckedIn):
            await replace_card(context, done_card(outcome.notice))
        else:
            await replace_card(context, page_card(outcome))

    # ---- who and where ----------------------------------------------------------------------

    async def _org(self, context: TurnContext) -> str:
        return await self.drumbeat.people.workspace_org(
            PLATFORM, tenant_of(context.activity), admission=self.admission
        )

    async def _identify(self, context: TurnContext, org: str, account: ChannelAccount) -> str:
        """The person behind a Teams user: by linked AAD object id, else by the email Teams'
        member lookup gives (which links them for next time)."""
        aad = account.aad_object_id
        if aad:
            try:
                return await self.drumbeat.people.identify(org, PLATFORM, aad)
            except UnknownPerson:
                pass
        member = await self.members.member(context, account.id)
        aad = aad or (member.aad_object_id if member else None)
        if not aad:
            raise UnknownPerson(account.name or account.id, org)
        return await self.drumbeat.people.identify(
            org, PLATFORM, aad, email=member.email if member else None,
            timezone=client_timezone(context.activity),
        )  # fmt: skip

    async def _remember_person(self, context: TurnContext, org: str, who: str | None) -> None:
        activity = context.activity
        aad = activity.from_property.aad_object_id
        if not aad:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.tenant_id = tenant_of(activity)
        address = person_address(aad)
        await self._save(Conversation(PLATFORM, address, reference_dict(reference), org, who))

    async def _remember_channel(self, context: TurnContext, org: str) -> None:
        activity = context.activity
        channel = channel_address(activity)
        if channel is None:
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.conversation.id = channel
        reference.conversation.tenant_id = tenant_of(activity)
        reference.user = None
        await self._save(Conversation(PLATFORM, channel, reference_dict(reference), org))

    async def _remember_tenant(self, context: TurnContext, org: str) -> None:
        """The tenant's service URL and the bot's id there: what opening a conversation with
        a member who never talked to the bot needs."""
        activity = context.activity
        tenant = tenant_of(activity)
        reference = ConversationReference(
            bot=activity.recipient, channel_id=activity.channel_id,
            service_url=activity.service_url,
        )  # fmt: skip
        stored = reference_dict(reference)
        stored["conversation"] = {"tenantId": tenant}
        await self._save(Conversation(PLATFORM, tenant_address(tenant), stored, org))

    async def _save(self, conversation: Conversation) -> None:
        """Save a reference unless the stored one is the same (most messages change nothing)."""
        store = self.conversations
        stored = await store.conversation(conversation.platform, conversation.address)
        if stored is not None and conversation.person is None:
            conversation = replace(conversation, person=stored.person)
        if stored is not None and (
            dict(stored.reference) == dict(conversation.reference)
            and (stored.org, stored.person) == (conversation.org, conversation.person)
        ):
            return
        await store.save_conversation(conversation)


# ---- reading activities -----------------------------------------------------------------------


def is_personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or PERSONAL) == PERSONAL


def tenant_of(activity: Activity) -> str:
    data = activity.channel_data if isinstance(activity.channel_data, Mapping) else {}
    tenant = data.get("tenant")
    if isinstance(tenant, Mapping) and tenant.get("id"):
        return str(tenant["id"])
    return activity.conversation.tenant_id or ""


def channel_address(activity: Activity) -> str | None:
    """The channel (or group chat) a message came from, without its thread: None in a 1:1."""
    if is_personal(activity):
        return None
    data = activity.channel_data if isinstance(activity.channel_data, Mapping) else {}
    channel = data.get("channel")
    if isinstance(channel, Mapping) and channel.get("id"):
        return str(channel["id"])
    return str(activity.conversation.id).split(";")[0]


def command_text(activity: Activity) -> str:
    """The command typed, without the bot's @mention (channels and group chats) or markup."""
    text = activity.text or ""
    if not is_personal(activity) and all(
        "mentioned" in (getattr(e, "additional_properties", None) or {})
        for e in TurnContext.get_mentions(activity)
    ):
        text = TurnContext.remove_recipient_mention(activity) or ""
    text = _MENTION.sub(" ", text)  # any other mention is not part of a command
    return html.unescape(re.sub(r"<[^>]+>", " ", text)).strip()


def client_timezone(activity: Activity) -> str | None:
    for entity in activity.entities or []:
        if (entity.type or "").lower() == "clientinfo":
            zone = (getattr(entity, "additional_properties", None) or {}).get("timezone")
            return zone if isinstance(zone, str) and zone else None
    return None


def _submit_key(activity: Activity) -> str | None:
    """One check-in per card: a double click on the same card stores it once."""
    if not activity.reply_to_id:
        return None
    return f"{PLATFORM}:{activity.conversation.id}:{activity.reply_to_id}"


# ---- replying -------------------------------------------------------------------------------


def page_card(page: FormPage) -> dict[str, Any]:
    """A page of the check-in form as its card, showing what the person typed so far."""
    return form_cards(page.form.with_answers(page.answers), page=page.page)


def card_activity(card: Mapping[str, Any]) -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(card)])


async def say(context: TurnContext, message: Message) -> None:
    for card in card_for(message):  # one by one: a retry never sends an earlier card again
        await send_card(context, card)


async def send_card(context: TurnContext, card: Mapping[str, Any]) -> None:
    await _reply(context, lambda: context.send_activity(card_activity(card)))


async def replace_card(context: TurnContext, card: Mapping[str, Any]) -> None:
    """Replace the card whose button was pressed (Teams' update in place)."""
    target = context.activity.reply_to_id
    if not target:
        await send_card(context, card)
        return
    activity = card_activity(card)
    activity.id = target
    await _reply(context, lambda: context.update_activity(activity))


async def _reply(context: TurnContext, call: Callable[[], Awaitable[object]]) -> None:
    """A reply within Teams' per-conversation limit, which the proactive messages share: a
    person typing fast, or two replicas answering one conversation, wait for their slot
    instead of being refused, and a 429 is retried after its Retry-After (a refused reply
    was not sent, so sending it again sends it once)."""
    pacing: Pacing | None = context.turn_state.get(PACING)
    if pacing is None:
        await call()
        return
    conversation = context.activity.conversation

    async def once(paced: Callable[[], Awaitable[None]]) -> None:
        await paced()
        await call()

    await pacing.paced(conversation.tenant_id or "", conversation.id.split(";")[0], once)


__all__ = ["Member", "MemberDirectory", "TeamsBot", "TeamsMembers"]
