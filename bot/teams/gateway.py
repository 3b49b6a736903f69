"""Proactive Teams messages: prompts, reminders and digests the bot sends on its own.

Teams lets a bot message someone only through a conversation reference (service URL, tenant,
conversation id) kept from an earlier contact. The bot stores them in the database (never
only in memory) under the person's AAD object id, the channel's id, and "tenant:<id>" for the
tenant; the gateway continues those conversations, or opens the 1:1 conversation with a
team member who never talked to the bot, through the tenant's service URL.

Every call is paced by Teams' limits (per conversation and per tenant), retried on 429, 412,
502 and 504 with backoff that honours Retry-After, and a 403 (the person blocked or removed
the bot) marks the person unreachable instead of being retried. A 429 holds back only its
conversation, for its Retry-After; the tenant's pace drops to what Teams accepted of late and
climbs back (see TenantPace), so a refusal now and then costs a few sends' time, not a stall
of everyone, and a tenant whose budget another replica shares settles at its share.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar

from botbuilder.core import BotAdapter, CardFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from botframework.connector.aio import ConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.background import Background
from bot.ratelimit import Limit, Throttle
from bot.teams.cards import card_for
from bot.teams.chart_sources import ChartSources
from rhythm.chart_links import ChartLinks
from rhythm.messages import Message, Report
from rhythm.okr import Person
from rhythm.ports import Clock, DeliveryError, Leaving, NotLinked, Store, SystemClock
from rhythm.records import Conversation

if TYPE_CHECKING:
    from bot.metrics import CallCounts

log = logging.getLogger(__name__)

PLATFORM = "teams"
CHANNEL_ID = "msteams"
TRANSIENT = frozenset({412, 429, 502, 504})
PERMANENT = {403: "the person blocked or removed the bot", 404: "conversation not found"}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TeamsLimits:
    """Teams' limits as GCRA buckets (bot.ratelimit). A bucket lets `burst` calls through at
    once and then `count` per `seconds`, so up to burst + count fit in one window: each Teams
    limit of N per window is split into a burst and a sustained share adding up to N.

    Per conversation Teams allows 7 per second, 60 per 30 seconds and 1,800 per hour; per app
    and tenant about 30 per second, kept at 29 so that timing jitter never makes a 31st."""

    per_conversation: Sequence[Limit] = (
        Limit(4, 1.0, burst=3),
        Limit(31, 30.0, burst=29),
        Limit(901, 3600.0, burst=899),
    )
    per_tenant: Sequence[Limit] = (Limit(29, 1.0),)

    @classmethod
    def for_tenant_rate(cls, per_second: float) -> TeamsLimits:
        """Teams' per-conversation limits under a tenant cap of `per_second`, minus the slack
        that absorbs jitter."""
        return cls(per_tenant=(Limit(max(1, math.floor(per_second * 0.97)), 1.0),))


class TeamsDeliveryError(DeliveryError):
    def __init__(
        self, reason: str, *, status: int | None, permanent: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, permanent=permanent, retry_after=retry_after)
        self.status = status


# ---- conversation references in the store -------------------------------------------------


def tenant_address(tenant: str) -> str:
    return f"tenant:{tenant}"


def person_address(aad_object_id: str) -> str:
    """A person's references are kept under their AAD object id (a GUID, any case)."""
    return aad_object_id.lower()


def reference_dict(reference: ConversationReference) -> dict[str, object]:
    """A reference as stored: proactive sends start a new message, they reply to nothing."""
    reference.activity_id = None
    stored: dict[str, object] = reference.serialize()
    return stored


def reference_of(stored: Mapping[str, object]) -> ConversationReference:
    return ConversationReference().deserialize(dict(stored))


def is_conversation(stored: Mapping[str, object]) -> bool:
    """A member record (a team member the bot has not talked to) has no conversation yet."""
    conversation = stored.get("conversation")
    return isinstance(conversation, Mapping) and bool(conversation.get("id"))


def thread_id(channel: str, root: str) -> str:
    """The conversation id of the replies to post `root` of a channel."""
    return f"{channel};messageid={root}"


def split_ref(ref: str) -> tuple[str, str]:
    """(conversation id, activity id) of a ref returned by send_direct or post_channel."""
    conversation, sep, activity = ref.rpartition("|")
    if not sep or not conversation or not activity:
        raise DeliveryError(f"not a Teams message reference: {ref!r}", permanent=True)
    return conversation, activity


def card_activities(message: Message) -> list[Activity]:
    """`message` as activities, a report's charts shown by their alt text (see
    `TeamsGateway.activities` for its charts)."""
    return _activities(card_for(message))


def _activities(cards: Sequence[dict[str, Any]]) -> list[Activity]:
    return [
        Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(card)])
        for card in cards
    ]


# ---- the gateway ----------------------------------------------------------------------------


class TeamsGateway:
    """The core's ChatGateway on Teams (see the module's docstring)."""

    def __init__(
        self,
        *,
        adapter: CloudAdapter,
        store: Store,
        app_id: str = "",
        limits: TeamsLimits | None = None,
        clock: Clock | None = None,
        attempts: int = 5,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        chart_links: ChartLinks | None = None,
        calls: CallCounts | None = None,
    ) -> None:
        self.adapter = adapter
        self.calls = calls  # 429s and retries, per method, for the metrics
        self.store = store
        self.app_id = app_id
        self.limits = limits or TeamsLimits()
        self.clock = clock or SystemClock()
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._throttles: dict[str, Throttle] = {}
        self._paces: dict[str, TenantPace] = {}
        self._holds: dict[str, dict[str, float]] = {}  # tenant -> conversation -> until
        self._background = Background("updating a Teams message")
        self.charts = ChartSources(links=chart_links)

    async def activities(self, org: str, message: Message) -> list[Activity]:
        """`message` as activities; a report's charts inline when they fit, else linked."""
        if isinstance(message, Report) and message.images:
            return _activities(await self.charts.cards(org, message))
        return card_activities(message)

    # ---- ChatGateway ----------------------------------------------------------------------

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if not person.teams_user_id:
            # Teams tells a bot who someone is only when they talk to it or are in a team it
            # was added to: until then their prompts wait.
            raise NotLinked("Teams has not introduced them to the bot yet")
        try:
            reference = await self._direct_reference(org, person)
            ids = [
                await self._send(reference, activity, leaving=leaving if n == 0 else None)
                for n, activity in enumerate(await self.activities(org, message))
            ]  # fmt: skip
        except TeamsDeliveryError as error:
            if error.status == 403:
                await self.store.mark_unreachable(
                    org, person.email, reason=error.reason, at=self.clock.now()
                )
            raise
        return f"{reference.conversation.id}|{ids[0]}"

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        # A bot cannot read a Teams conversation's history: a send in doubt is sent again
        # (at most the messages in flight when a process died).
        return None

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        # In the background, as on Slack: the reply to what the person just pressed goes
        # first and does not wait for an older message (the prompt) to be rewritten.
        self._background.spawn(self._update_direct(person, ref, message))

    async def _update_direct(self, person: Person, ref: str, message: Message) -> None:
        conversation, activity_id = split_ref(ref)
        stored = await self.store.conversation(PLATFORM, person_address(person.teams_user_id or ""))
        if stored is None or not is_conversation(stored.reference):
            log.warning("could not update Teams message %s: no conversation with %s", ref,
                        person.email)  # fmt: skip
            return
        reference = reference_of(stored.reference)
        reference.conversation.id = conversation
        try:
            await self._update(reference, activity_id, card_activities(message)[0])
        except DeliveryError as error:  # what it said is stored; a stale card is harmless
            log.warning("could not update Teams message %s: %s", ref, error.reason)

    async def drain(self) -> None:
        """Wait for the updates under way (tests, and shutdown)."""
        await self._background.drain()

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        stored = await self.store.conversation(PLATFORM, channel)
        if stored is None or not is_conversation(stored.reference):
            raise DeliveryError(
                f"the bot has not been added to the Teams channel {channel}", permanent=True
            )
        reference = reference_of(stored.reference)
        root = split_ref(thread)[1] if thread else None
        if root:
            reference.conversation.id = thread_id(channel, root)
        ids = []
        for activity in await self.activities(org, message):
            activity.reply_to_id = root
            ids.append(await self._send(reference, activity))
        return f"{channel}|{root or ids[0]}"

    # ---- conversations --------------------------------------------------------------------

    async def _direct_reference(self, org: str, person: Person) -> ConversationReference:
        stored = await self.store.conversation(PLATFORM, person_address(person.teams_user_id or ""))
        if stored is not None and is_conversation(stored.reference):
            return reference_of(stored.reference)
        member = reference_of(stored.reference) if stored is not None else None
        return await self._open_direct(org, person, member)

    async def _open_direct(
        self, org: str, person: Person, member: ConversationReference | None
    ) -> ConversationReference:
        """Create the 1:1 conversation with someone who never talked to the bot, through the
        tenant's service URL, and store it so the next message continues it."""
        aad = person.teams_user_id or ""
        tenant = await self._tenant_reference(org, member)
        tenant_id = tenant.conversation.tenant_id
        user = (
            member.user
            if member is not None and member.user is not None
            else ChannelAccount(id=aad, aad_object_id=aad)
        )
        parameters = ConversationParameters(
            is_group=False,
            bot=tenant.bot,
            members=[ChannelAccount(id=user.id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        created: list[ConversationReference] = []

        async def remember(context: TurnContext) -> None:
            created.append(TurnContext.get_conversation_reference(context.activity))

        async def create(paced: Callable[[], Awaitable[None]]) -> None:
            await paced()
            await self.adapter.create_conversation(
                self.app_id, remember, parameters, CHANNEL_ID, tenant.service_url
            )

        await self.paced(tenant_id or "", f"create:{aad}", create, method="create_conversation")
        reference = ConversationReference(
            conversation=ConversationAccount(
                id=created[0].conversation.id, tenant_id=tenant_id, conversation_type="personal"
            ),
            bot=tenant.bot,
            user=user,
            channel_id=tenant.channel_id or CHANNEL_ID,
            service_url=tenant.service_url,
        )
        await self.store.save_conversation(
            Conversation(
                PLATFORM, person_address(aad), reference_dict(reference), org, person.email
            )
        )
        return reference

    async def _tenant_reference(
        self, org: str, member: ConversationReference | None
    ) -> ConversationReference:
        tenants = await self.store.org_workspaces(org, PLATFORM)
        if member is not None and member.conversation and member.conversation.tenant_id:
            tenants = [member.conversation.tenant_id, *tenants]
        for tenant in tenants:
            stored = await self.store.conversation(PLATFORM, tenant_address(tenant))
            if stored is not None:
                reference = reference_of(stored.reference)
                reference.conversation = ConversationAccount(tenant_id=tenant)
                return reference
        # Not a failure: the prompts wait, and go out once the app is installed there.
        raise NotLinked(
            "the app is not installed in this organisation's Teams tenant yet (install it for "
            "the team or the person)"
        )

    # ---- one call, paced and retried ------------------------------------------------------

    async def _send(
        self,
        reference: ConversationReference,
        activity: Activity,
        *,
        leaving: Leaving | None = None,
    ) -> str:
        conversation = reference.conversation.id
        activity.conversation = ConversationAccount(
            id=conversation, tenant_id=reference.conversation.tenant_id
        )
        activity.from_property = reference.bot
        activity.recipient = reference.user
        activity.channel_id = reference.channel_id
        activity.service_url = reference.service_url

        async def send(client: ConnectorClient) -> str:
            response = await client.conversations.send_to_conversation(conversation, activity)
            return str(response.id)

        return await self._continue(reference, send, leaving=leaving, method="send_to_conversation")

    async def _update(
        self, reference: ConversationReference, activity_id: str, activity: Activity
    ) -> None:
        conversation = reference.conversation.id
        activity.id = activity_id
        activity.conversation = ConversationAccount(id=conversation)
        activity.from_property = reference.bot
        activity.channel_id = reference.channel_id
        activity.service_url = reference.service_url

        async def update(client: ConnectorClient) -> None:
            await client.conversations.update_activity(conversation, activity_id, activity)

        await self._continue(reference, update, method="update_activity")

    async def _continue(
        self,
        reference: ConversationReference,
        call: Callable[[ConnectorClient], Awaitable[T]],
        *,
        leaving: Leaving | None = None,
        method: str,
    ) -> T:
        """Run `call` in a proactive turn of the stored conversation (the adapter supplies
        an authenticated connector client), paced and retried."""

        left: list[bool] = []

        async def once(paced: Callable[[], Awaitable[None]]) -> T:
            results: list[T] = []
            failures: list[Exception] = []

            async def turn(context: TurnContext) -> None:
                # Caught here: the adapter's turn error handler would otherwise swallow it.
                try:
                    client = context.turn_state[BotAdapter.BOT_CONNECTOR_CLIENT_KEY]
                    await paced()  # as late as possible: the slot is when the call leaves
                    if leaving is not None and not left:
                        left.append(True)
                        await leaving()
                    results.append(await call(client))
                except (HttpOperationError, ClientRequestError) as error:
                    failures.append(error)

            await self.adapter.continue_conversation(reference, turn, self.app_id)
            if failures:
                raise failures[0]
            return results[0]

        key = reference.conversation.id.split(";")[0]
        return await self.paced(reference.conversation.tenant_id or "", key, once, method=method)

    async def paced(
        self,
        tenant: str,
        key: str,
        call: Callable[[Callable[[], Awaitable[None]]], Awaitable[T]],
        *,
        method: str = "reply",
    ) -> T:
        """`call(paced)` until it succeeds, fails for good, or runs out of attempts; `call`
        awaits `paced()` right before its request, which waits for Teams' limits. The bot's
        replies go through here too: they count against the same conversation's limit.
        `method` names the call in the metrics' 429s and retries."""
        throttle = self._throttle(tenant)
        pace = self._pace(tenant)

        async def paced() -> None:
            await self._held(tenant, key)
            await throttle.acquire(key)
            await pace.admit(self._sleep)

        for attempt in range(1, self.attempts + 1):
            cause: Exception
            try:
                return await call(paced)
            except HttpOperationError as error:
                status: int | None = error.response.status_code
                headers: Mapping[str, str] = error.response.headers
                reason, cause = _reason(error.response.status_code, error), error
            except ClientRequestError as error:
                status, headers = None, {}
                reason, cause = f"Teams connector unreachable: {error}", error
            wait = self._wait(attempt, headers)
            if status == 429 and self.calls is not None:
                self.calls.rate_limited(method)
            if status is not None and status not in TRANSIENT:
                raise TeamsDeliveryError(reason, status=status, permanent=True) from cause
            if attempt == self.attempts:
                raise TeamsDeliveryError(
                    reason, status=status, permanent=False, retry_after=wait
                ) from cause
            log.info("Teams: %s (%s); retrying in %.1f s", reason, key, wait)
            if self.calls is not None:
                self.calls.retried(method)
            if status == 429:
                self._refused(tenant, key, wait)
            else:
                await self._sleep(wait)
        raise AssertionError("attempts must be at least 1")

    def _refused(self, tenant: str, key: str, wait: float) -> None:
        """A 429: this conversation's calls (the refused one's retry first) wait its
        Retry-After, and the tenant slows down to what Teams accepts. (Not Throttle.pause:
        holding a key's buckets would spend the bursts of its 30-second and hourly limits,
        leaving the conversation one call per 4 seconds for an hour.)"""
        now = time.monotonic()
        held = self._holds.setdefault(tenant, {})
        for done in [k for k, until in held.items() if until <= now]:
            del held[done]  # holds that ran out for conversations nobody sent to again
        held[key] = max(held.get(key, 0.0), now + wait)
        self._pace(tenant).refused()

    async def _held(self, tenant: str, key: str) -> None:
        """Wait while Teams' last Retry-After for this conversation lasts."""
        held = self._holds.get(tenant, {})
        until = held.get(key)
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            del held[key]
            return
        await self._sleep(left)

    def _pace(self, tenant: str) -> TenantPace:
        pace = self._paces.get(tenant)
        if pace is None:
            pace = self._paces[tenant] = TenantPace(self.limits.per_tenant)
        return pace

    def _wait(self, attempt: int, headers: Mapping[str, str]) -> float:
        after = retry_after(headers.get("Retry-After"), now=datetime.now(UTC))
        if after is None:
            after = self.backoff * 2 ** (attempt - 1)
        return min(after, self.max_wait)

    def _throttle(self, tenant: str) -> Throttle:
        throttle = self._throttles.get(tenant)
        if throttle is None:
            throttle = self._throttles[tenant] = Throttle(
                shared=self.limits.per_tenant, per_key=self.limits.per_conversation
            )
        return throttle


class TenantPace:
    """When the tenant's calls actually leave: at most `cap` in any second, `cap` being the
    tenant's limit until Teams refuses.

    The GCRA throttle hands out evenly spaced slots, but a busy event loop wakes sleepers late
    and several late ones would leave together: this window of actual departure times holds
    them back, first come first served, so no second sees more than `cap` sends.

    A 429 while the tenant is busy (at least half the cap left in the last second) means more
    reached Teams than it took: jitter between here and there, or someone else using the
    tenant's budget (another replica). The cap then drops to a little under what Teams
    accepted in the last second, but never below half of what it was when the refusals began
    (refusals come in bunches: one bunch is one cut), and climbs back by a tenth of the limit
    per second. An odd refusal costs a fraction of a second's sends; replicas sharing a
    tenant each settle at the share Teams accepts. A 429 in a quiet tenant is about its
    conversation, which waits its Retry-After (TeamsGateway._refused)."""

    BACK_OFF = 0.9  # of the sends Teams accepted in the last second
    MAX_CUT = 0.5  # of the cap, for one bunch of refusals
    RECOVERY = 0.1  # of the limit, per second

    def __init__(
        self, limits: Sequence[Limit], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        shortest = min(limits, key=lambda limit: limit.seconds, default=None)
        self.limit = (shortest.count + shortest.burst - 1) if shortest else 0
        self.seconds = shortest.seconds if shortest else 0.0
        self.clock = clock
        self.times: deque[float] = deque()  # departures of the last `seconds`
        self.refusals: deque[float] = deque()  # 429s of the last `seconds`
        self._cap = float(self.limit)
        self._cap_at = clock()
        self._bunch_began = -math.inf
        self._cap_before_bunch = self._cap
        self._turns = asyncio.Lock()

    @property
    def cap(self) -> int:
        return max(1, math.floor(self._recovered(self.clock())))

    async def admit(self, sleep: Callable[[float], Awaitable[object]]) -> None:
        if not self.limit:
            return
        async with self._turns:  # first come, first served
            while True:
                now = self.clock()
                self._forget(now)
                cap = max(1, math.floor(self._recovered(now)))
                if len(self.times) < cap:
                    self.times.append(now)
                    return
                # Until enough of the last second's departures are a second old.
                await sleep(self.times[len(self.times) - cap] + self.seconds - now)

    def refused(self) -> None:
        if not self.limit:
            return
        now = self.clock()
        self._forget(now)
        cap = self._recovered(now)
        self.refusals.append(now)
        if len(self.times) < cap / 2:
            return  # too few left to tell: Teams refused that conversation, not the tenant
        bunch = now - self._bunch_began < self.seconds
        if not bunch:
            self._bunch_began, self._cap_before_bunch = now, cap
        accepted = max(0, len(self.times) - len(self.refusals))
        floor = self._cap_before_bunch * self.MAX_CUT
        self._cap = max(1.0, min(cap, max(floor, accepted * self.BACK_OFF)))
        if not bunch:
            log.info("Teams refused a send: %d a second in this tenant for now", self.cap)

    def _recovered(self, now: float) -> float:
        self._cap = min(self.limit, self._cap + self.RECOVERY * self.limit * (now - self._cap_at))
        self._cap_at = now
        return self._cap

    def _forget(self, now: float) -> None:
        for moments in (self.times, self.refusals):
            while moments and moments[0] <= now - self.seconds:
                moments.popleft()


def retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - now).total_seconds())


def _reason(status: int, error: HttpOperationError) -> str:
    what = PERMANENT.get(status, "")
    detail: Any = getattr(error, "message", "") or ""
    return (
        f"Teams answered {status}"
        + (f": {what}" if what else "")
        + (f" ({detail})" if detail and detail != "Unknown error" else "")
    )
