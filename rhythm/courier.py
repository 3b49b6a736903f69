"""The courier: direct messages decided once (`rhythm.ports.OutboxRepository`) delivered once.

A blocker's news, a lead's nudge, a lead's list of who is missing: whoever decides one writes
it to the outbox in the same transaction as the decision, under a unique key. The courier
then claims messages with a lease and sends them, as the tick sends prompts: each send is
recorded as it leaves and as soon as the platform confirms it, a send whose outcome nobody
knows is looked up on the platform (by its tag) before it is sent again, and a failure stays
with its message. Any replica may deliver; a crash leaves nothing lost and nothing doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.ports import ChatGateway, Clock, DeliveryError, NotLinked, Store
from rhythm.records import OutboxRecord

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 10
RETRY_BACKOFF = timedelta(seconds=30)  # doubled per attempt
MAX_BACKOFF = timedelta(minutes=15)
LINK_RECHECK = timedelta(minutes=10)
# News nobody could deliver for a day is stale ("Platform is on it" a week later): dropped.
EXPIRES_AFTER = timedelta(days=1)
DOUBT_MARGIN = timedelta(minutes=2)


class _ClaimLost(Exception):
    """The lease on a message ran out before it could leave: whoever holds it now sends it."""


def outbox_tag(message_id: int) -> str:
    """How an outbox message is named on the platform, to find it again after a crash."""
    return f"note:{message_id}"


class Courier:
    def __init__(
        self,
        *,
        store: Store,
        orgs: Organisations,
        chat: ChatGateway,
        clock: Clock,
        worker: str,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.chat = chat
        self.clock = clock
        self.worker = worker
        self.lease = lease
        self._soon: set[asyncio.Task[int]] = set()

    async def deliver(self, org_key: str) -> int:
        """Send what the outbox holds for `org_key` and nobody else is sending; returns how
        many were sent. What is claimed and not yet sent has its lease renewed, and a send
        only leaves while its claim still holds (`mark_outbox_attempt`)."""
        org = await self.orgs.get(org_key)
        sent = 0
        while claimed := await self.store.claim_outbox(
            org.key, now=self.clock.now(), worker=self.worker, limit=BATCH, lease=self.lease
        ):
            held = {m.id for m in claimed}
            async with self._renewing(held):
                for message in claimed:
                    sent += await self._deliver_one(org, message)
                    held.discard(message.id)
            if len(claimed) < BATCH:
                break
        return sent

    @contextlib.asynccontextmanager
    async def _renewing(self, held: set[int]) -> AsyncIterator[None]:
        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                until = self.clock.now() + self.lease
                await self.store.renew_outbox(sorted(held), worker=self.worker, until=until)

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    def deliver_soon(self, org_key: str) -> None:
        """Deliver in the background, now rather than at the next tick (a person pressed a
        button and waits for the news to reach the other side). Should this process die
        first, the next tick of any replica delivers."""
        task = asyncio.get_running_loop().create_task(self.deliver(org_key))
        self._soon.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[int]) -> None:
        self._soon.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("delivering direct messages failed", exc_info=error)

    async def settle(self) -> None:
        """Wait for the background deliveries under way (tests, a clean shutdown)."""
        while self._soon:
            await asyncio.gather(*self._soon, return_exceptions=True)

    async def _deliver_one(self, org: Organisation, message: OutboxRecord) -> int:
        now = self.clock.now()
        person = org.person.get(message.person)
        if person is None:
            await self.store.mark_outbox_failed(message.id, at=now, error="no such person")
            return 0
        if now - message.created_at > EXPIRES_AFTER:
            await self.store.mark_outbox_failed(message.id, at=now, error="expired")
            log.warning("a message to %s was dropped after a day undelivered", person.name)
            return 0
        tag = outbox_tag(message.id)
        try:
            if message.in_doubt and message.attempted_at is not None:
                since = message.attempted_at - DOUBT_MARGIN
                found = await self.chat.find_direct(org.key, person, tag, since=since)
                if found is not None:
                    await self.store.mark_outbox_sent(message.id, at=now, message_ref=found)
                    return 1

            async def leaving() -> None:
                if not await self.store.mark_outbox_attempt(
                    message.id, at=self.clock.now(), worker=self.worker
                ):
                    raise _ClaimLost()

            ref = await self.chat.send_direct(
                org.key, person, message.notice, tag=tag, leaving=leaving
            )
        except _ClaimLost:
            log.warning("message %s not sent: its claim ran out while it waited", message.id)
            return 0
        except NotLinked as error:
            log.info("message %s waits for %s's chat account: %s", message.id, person.name,
                     error.reason)  # fmt: skip
            await self.store.release_outbox(message.id, retry_at=now + LINK_RECHECK, in_doubt=False)
            return 0
        except DeliveryError as error:
            await self._failed(message, error, now)
            return 0
        await self.store.mark_outbox_sent(message.id, at=self.clock.now(), message_ref=ref)
        return 1

    async def _failed(self, message: OutboxRecord, error: DeliveryError, now: datetime) -> None:
        if error.permanent:
            log.warning("message %s not deliverable: %s", message.id, error.reason)
            await self.store.mark_outbox_failed(message.id, at=now, error=error.reason)
            return
        backoff = min(RETRY_BACKOFF * 2 ** min(message.attempts, 10), MAX_BACKOFF)
        wait = max(backoff, timedelta(seconds=error.retry_after or 0))
        log.info("message %s retried in %s: %s", message.id, wait, error.reason)
        await self.store.release_outbox(message.id, retry_at=now + wait, in_doubt=error.maybe_done)
