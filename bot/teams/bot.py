"""The Teams bot: what it does with each activity Teams sends to POST /api/messages.

- Installed for a person, in a team, or a member added: the conversation references are
  stored (the person's, the channel's and the tenant's), people are linked by AAD object id
  or by the email Teams' member lookup gives, and a welcome message explains the bot.
- A message is a command for the core (`help`, `mine`, `checkin`...), after the bot's
  @mention is stripped in channels and group chats.
- A card's button (an Action.Execute) comes back as an `adaptiveCard/action` invoke whose
  `value.action.data` is the button's data with the card's inputs: check-in form pages, and
  the prompt's buttons, and the buttons whose answer the core decides whole
  (`rhythm.buttons.BUTTONS`: a blocker's On it / Not us / Resolved, a lead's Nudge, a
  confirmation's Edit). A form is a check-in's or a dialog's (`settings`, "Not us"): its
  context goes back to the core as it came. The answer is in the invoke's HTTP response: the
  card to show in the pressed one's place, or a short message beside it. Nothing goes out
  through the Bot Framework for it, so it never waits behind Teams' rate limits.
- A key result's "Trend" button (`chart:open`) runs the core's `chart <key>` for whoever
  pressed it. Its answer is private: pressed in the person's chat with the bot, the chart is
  answered there; pressed in a channel (a digest), it goes to the person's 1:1 chat with the
  bot (opened if need be), and only when that cannot be done is it answered in the channel.
- Cards sent before that had Action.Submit buttons, and older Teams clients fall back to
  them: those come back as a message whose `value` is the same data. The same handler reads
  them; its answer then replaces the card through the Bot Framework (paced like any send).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from azure.core.exceptions import DeserializationError  # what msrest raises for non-JSON
from botbuilder.core import ActivityHandler, CardFactory, InvokeResponse, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationReference,
)
from msrest.exceptions import HttpOperationError
from msrest.serialization import Model

from bot.teams.cards import (
    ActionSubmit,
    FormSubmit,
    answers_from_submit,
    card_for,
    done_card,
    executed_data,
    form_cards,
    page_fields,
    parse_submit,
)
from bot.teams.chart_sources import ChartSources
from bot.teams.gateway import (
    PLATFORM,
    TeamsGateway,
    person_address,
    reference_dict,
    tenant_address,
)
from bot.teams.ingress import ADAPTIVE_CARD_ACTION
from rhythm import markup
from rhythm.buttons import BUTTONS, Shown
from rhythm.checkin import CheckedIn, FormPage, prompt_id_of
from rhythm.commands import run_command
from rhythm.dialogs import Done
from rhythm.digest_report import CHART_ACTION
from rhythm.errors import DrumbeatError, StaleForm, UnknownPerson
from rhythm.messages import Message, Notice, Report, Text
from rhythm.people import Admission
from rhythm.ports import ChatGateway, ConversationRepository, DeliveryError
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

    async def conversation_members(self, context: TurnContext) -> list[Member]: ...


class TeamsMembers:
    """Teams' own member lookup (TeamsInfo), through the turn's connector client."""

    async def member(self, context: TurnContext, user_id: str) -> Member | None:
        try:
            found = await TeamsInfo.get_member(context, user_id)
        except (HttpOperationError, DeserializationError) as error:  # refused, or not JSON
            log.warning("Teams member lookup of %s failed: %s", user_id, error)
            return None
        return _member(found)

    async def conversation_members(self, context: TurnContext) -> list[Member]:
        """Everyone in the turn's team, or in its group chat (a group chat has no team)."""
        members: list[Member] = []
        token = None
        while True:
            try:
                page = await TeamsInfo.get_paged_members(context, continuation_token=token)
            except (HttpOperationError, DeserializationError) as error:
                log.warning("Teams member listing failed: %s", error)
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
CARD_ANSWER = "application/vnd.microsoft.card.adaptive"  # an invoke answer that is a card
MESSAGE_ANSWER = "application/vnd.microsoft.activity.message"  # ... that is a message
ERROR_ANSWER = "application/vnd.microsoft.error"


class CardActionAnswer(Model):
    """The body of the answer to an `adaptiveCard/action` invoke (Universal Actions):
    {"statusCode", "type", "value"}. botbuilder's AdaptiveCardInvokeResponse cannot carry a
    message's text (its value must be an object), and CloudAdapter serialises an invoke
    response's body with msrest, so the body has to be an msrest Model."""

    _attribute_map = {  # noqa: RUF012 (msrest's own class attribute)
        "status_code": {"key": "statusCode", "type": "int"},
        "type": {"key": "type", "type": "str"},
        "value": {"key": "value", "type": "object"},
    }

    def __init__(self, *, status_code: int, type: str, value: object) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.status_code = status_code
        self.type = type
        self.value = value


@dataclass(frozen=True, slots=True)
class Replace:
    """A press's answer: this card in place of the pressed one."""

    card: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Say:
    """A press's answer: the pressed card stays, and the person is told this."""

    message: Text | Notice


@dataclass(frozen=True, slots=True)
class Sent:
    """A press whose answer already went out as messages (a chart): an invoke is answered
    with this short note beside the pressed card, a submit with nothing more."""

    note: str


Answer = Replace | Say | Sent


class TeamsBot(ActivityHandler):
    def __init__(
        self,
        *,
        drumbeat: Drumbeat,
        conversations: ConversationRepository,
        admission: Admission | None = None,
        members: MemberDirectory | None = None,
        pacing: Pacing | None = None,
        charts: ChartSources | None = None,
        direct: ChatGateway | None = None,
    ) -> None:
        """`charts` shows reports' charts (default: the gateway's, when `pacing` is the
        TeamsGateway, else inline only); `direct` sends a private answer to a person's 1:1
        chat (default: that gateway; without one, it is answered where it was asked)."""
        self.drumbeat = drumbeat
        self.conversations = conversations
        self.admission = admission or Admission()
        self.members = members or TeamsMembers()
        self.pacing = pacing
        gateway = pacing if isinstance(pacing, TeamsGateway) else None
        self.charts = charts or (gateway.charts if gateway else ChartSources())
        self.direct = direct if direct is not None else gateway

    async def on_turn(self, turn_context: TurnContext) -> None:
        if self.pacing is not None:
            turn_context.turn_state[PACING] = self.pacing
        try:
            await super().on_turn(turn_context)
        except DrumbeatError as error:  # a refusal carries the sentence for the person
            if turn_context.activity.type == ActivityTypes.invoke:
                await answer_invoke(turn_context, invoke_body(Say(Text(error.message))))
            else:
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
            members = await self.members.conversation_members(turn_context)
            await self._link(turn_context, org, members)
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
        org, who = await self._sender(turn_context)
        if activity.value is not None:  # an Action.Submit
            await show(turn_context, await self._press(turn_context, org, who, activity.value))
            return
        channel = channel_address(activity)
        reply = await run_command(
            self.drumbeat, org, who, command_text(activity),
            channel=f"{PLATFORM}:{channel}" if channel else None,
        )  # fmt: skip
        if isinstance(reply.message, Report):
            await self._report(turn_context, org, who, reply.message)
        elif reply.message is not None:
            await say(turn_context, reply.message)
        if reply.form is not None:
            await send_card(turn_context, page_card(reply.form))

    # ---- card buttons -----------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse | None:
        """An Action.Execute (`adaptiveCard/action`): answered in the invoke's response, never
        by a message. (Read here rather than in ActivityHandler.on_adaptive_card_invoke, whose
        AdaptiveCardInvokeValue logs a warning for the `trigger` every such invoke carries.)
        A refusal is answered by `on_turn`, as for every activity."""
        if turn_context.activity.name != ADAPTIVE_CARD_ACTION:
            return await super().on_invoke_activity(turn_context)
        org, who = await self._sender(turn_context)
        data = executed_data(turn_context.activity.value)
        return invoke_response(invoke_body(await self._press(turn_context, org, who, data)))

    async def _press(self, context: TurnContext, org: str, who: str, data: object) -> Answer:
        """What pressing a button of ours (its data with the card's inputs) answers, by
        either way it came (Action.Execute or Action.Submit). Refusals are raised."""
        pressed = parse_submit(data)
        if isinstance(pressed, FormSubmit) and isinstance(data, Mapping):
            return await self._form_page(context, org, who, pressed, data)
        if isinstance(pressed, ActionSubmit):
            return await self._action(context, org, who, pressed)
        log.info("a card submit that is not Drumbeat's: %r", str(data)[:200])
        return Say(Text(UNKNOWN_BUTTON))

    async def _action(
        self, context: TurnContext, org: str, who: str, pressed: ActionSubmit
    ) -> Answer:
        checkins = self.drumbeat.checkins
        if pressed.action in BUTTONS:  # a blocker's answers, a lead's Nudge, a check-in's Edit
            outcome = await self.drumbeat.buttons.press(org, who, pressed.action, pressed.value)
            if not isinstance(outcome, Shown):  # a form to fill in: "Not us", Edit
                return Replace(page_card(outcome))
            if outcome.replace:  # its buttons are done with
                return Replace(done_card(outcome.notice))
            return Say(outcome.notice)
        if pressed.action == CHART_ACTION:
            return await self._trend(context, org, who, pressed.value)
        if pressed.action == OPEN:
            page = await checkins.open(org, who, prompt_id=prompt_id_of(pressed.value))
            return Replace(page_card(page))
        if pressed.action == SNOOZE:
            return Say(await checkins.snooze(org, who, prompt_id_of(pressed.value)))
        if pressed.action == OFF:
            notice = await checkins.skip_period(org, who, prompt_id_of(pressed.value))
            return Replace(done_card(notice))
        raise StaleForm(UNKNOWN_BUTTON)

    async def _form_page(
        self,
        context: TurnContext,
        org: str,
        who: str,
        pressed: FormSubmit,
        data: Mapping[str, Any],
    ) -> Answer:
        """A form's page submitted: a check-in's, or a dialog's (`settings`, "Not us"); the
        core tells them apart by their context."""
        outcome = await self.drumbeat.submissions.submit(
            org, who, pressed.context, answers_from_submit(data), pager=page_fields,
            idempotency_key=_submit_key(context.activity, pressed),
        )  # fmt: skip
        if isinstance(outcome, CheckedIn | Done):
            return Replace(done_card(outcome.notice))
        return Replace(page_card(outcome))

    async def _trend(self, context: TurnContext, org: str, who: str, key: str) -> Answer:
        """A key result's "Trend": the core's `chart <key>`, for whoever pressed it."""
        channel = channel_address(context.activity)
        reply = await run_command(
            self.drumbeat, org, who, f"chart {key}",
            channel=f"{PLATFORM}:{channel}" if channel else None,
        )  # fmt: skip
        if isinstance(reply.message, Report):
            return Sent(await self._report(context, org, who, reply.message))
        if isinstance(reply.message, Text | Notice):
            return Say(reply.message)
        raise StaleForm(UNKNOWN_BUTTON)

    async def _report(self, context: TurnContext, org: str, who: str, report: Report) -> str:
        """Show a report with its charts, a private one asked for in a channel in the person's
        1:1 chat (where it cannot go there, here); returns a note saying where it went."""
        title = markup.plain(report.title)
        if report.private and channel_address(context.activity) is not None and self.direct:
            tree, email = await self.drumbeat.people.person(org, who)
            try:
                await self.direct.send_direct(org, tree.person[email], report)
            except DeliveryError as error:
                log.info("Teams: a private report for %s is shown in the channel: %s",
                         email, error.reason)  # fmt: skip
            else:
                return f"{title}: sent to you in your chat with me."
        for card in await self.charts.cards(org, report):
            await send_card(context, card)
        return f"{title}: below."

    # ---- who and where ----------------------------------------------------------------------

    async def _sender(self, context: TurnContext) -> tuple[str, str]:
        """(organisation, person) of whoever sent this activity; the conversation references
        it carries are kept, and the person counts as reachable."""
        activity = context.activity
        org = await self._org(context)
        await self._remember_tenant(context, org)
        channel = channel_address(activity)
        if channel is not None:
            await self._remember_channel(context, org)
        try:
            who = await self._identify(context, org, activity.from_property)
        except Exception:
            # Someone not (yet) known: their chat is kept all the same, to reach them once
            # they are linked. The error goes on to the turn's handler.
            if channel is None:
                await self._remember_person(context, org, None)
            raise
        if channel is None:
            await self._remember_person(context, org, who)
        await self.drumbeat.people.reachable(org, who)
        return org, who

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
        if await self._save(Conversation(PLATFORM, tenant_address(tenant), stored, org)):
            await self.drumbeat.people.installed(org)

    async def _save(self, conversation: Conversation) -> bool:
        """Save a reference unless the stored one is the same (most messages change nothing);
        whether it was saved."""
        store = self.conversations
        stored = await store.conversation(conversation.platform, conversation.address)
        if stored is not None and conversation.person is None:
            conversation = replace(conversation, person=stored.person)
        if stored is not None and (
            dict(stored.reference) == dict(conversation.reference)
            and (stored.org, stored.person) == (conversation.org, conversation.person)
        ):
            return False
        await store.save_conversation(conversation)
        return True


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


def _submit_key(activity: Activity, pressed: FormSubmit) -> str | None:
    """One check-in per drawing of a form: a double click on the same card (or both ways of
    pressing it) stores it once, while the same message showing the form again (Edit on its
    confirmation) stores the next revision. Hashed: Teams' ids are long, the key is short."""
    if not activity.reply_to_id:
        return None
    where = f"{activity.conversation.id}|{activity.reply_to_id}|{pressed.card}"
    return f"{PLATFORM}:{hashlib.sha256(where.encode()).hexdigest()[:40]}"


# ---- replying -------------------------------------------------------------------------------


def page_card(page: FormPage) -> dict[str, Any]:
    """A page of a form (a check-in's, a dialog's) as its card, showing what the person typed
    so far, named afresh (see `_submit_key`)."""
    return form_cards(page.form.with_answers(page.answers), page=page.page, card=_card_name())


def _card_name() -> str:
    return secrets.token_hex(8)


def card_activity(card: Mapping[str, Any]) -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(card)])


async def show(context: TurnContext, answer: Answer) -> None:
    """A press that came as a message (Action.Submit): its answer, through the Bot Framework."""
    if isinstance(answer, Replace):
        await replace_card(context, answer.card)
    elif isinstance(answer, Say):
        await say(context, answer.message)


def invoke_body(answer: Answer) -> CardActionAnswer:
    """A press that came as an invoke (Action.Execute): its answer, as the invoke's response
    (Universal Actions): a card takes the pressed card's place; a message shows beside it."""
    if isinstance(answer, Replace):
        return CardActionAnswer(status_code=200, type=CARD_ANSWER, value=answer.card)
    if isinstance(answer, Sent):
        return CardActionAnswer(status_code=200, type=MESSAGE_ANSWER, value=answer.note)
    return CardActionAnswer(status_code=200, type=MESSAGE_ANSWER, value=plain_text(answer.message))


def invoke_error(message: str) -> CardActionAnswer:
    """An invoke that failed on our side (a bug): Universal Actions' error answer."""
    return CardActionAnswer(
        status_code=500, type=ERROR_ANSWER, value={"code": "InternalError", "message": message}
    )


def invoke_response(body: CardActionAnswer) -> InvokeResponse:
    """The HTTP answer to an `adaptiveCard/action` invoke: always 200, the outcome being the
    body's statusCode (CloudAdapter serialises the body)."""
    return InvokeResponse(status=200, body=body)


async def answer_invoke(context: TurnContext, body: CardActionAnswer) -> None:
    """Answer this turn's invoke with `body`, outside on_invoke_activity (the turn's errors)."""
    response = invoke_response(body)
    await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))


def plain_text(message: Text | Notice) -> str:
    """A short message as the one line of text an invoke's message answer is (which shows
    no styling: the core's marks are taken out)."""
    if isinstance(message, Text):
        return markup.plain(message.text)
    parts = (message.title, *message.lines, message.footer)
    return " ".join(markup.plain(part) for part in parts if part).strip()


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
