"""The tick: the scheduler's one job. Write what is due, deliver it, remind, post digests.

Who is due comes from the tree and the clock; what was already asked comes from the database
(a prompt's unique rhythm, person and period), never from a watermark, so any number of
replicas, restarts and moved rhythms agree. Delivery is exactly-once as far as the platforms
allow:

- prompts are claimed with a short lease that is renewed while the batch works, so a dead
  replica's claims come back within a minute;
- each send is recorded as it begins and as soon as the platform confirms it; a send whose
  outcome nobody knows (a crash, a lost answer) is looked up on the platform before it is
  sent again (Slack finds it by its tag in the DM's history);
- any failure stays with its message: it is logged, the prompt is released for a retry with
  backoff (or marked failed for good when the platform says so), and the rest go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rhythm.cadences import Rhythm
from rhythm.digest_model import Digest
from rhythm.digests import Digests
from rhythm.due import due_digests, due_prompts
from rhythm.messages import DigestMessage, Notice
from rhythm.okr import Organisation, Person
from rhythm.orgcache import Organisations
from rhythm.ports import ChatGateway, Clock, DeliveryError, Store
from rhythm.prompting import TITLES, prompt_notice, prompt_tag, reminder_notice
from rhythm.records import DigestRecord, KrState, PromptRecord

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
DIGEST_LEASE = timedelta(minutes=5)
RETRY_BACKOFF = timedelta(seconds=30)  # the first retry; doubled per attempt
MAX_BACKOFF = timedelta(minutes=15)
# A send that began at T may show up on the platform stamped a little before T (clocks).
DOUBT_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class TickReport:
    created: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    reminded: int = 0
    digests: int = 0

    def __add__(self, other: TickReport) -> TickReport:
        return TickReport(*map(operator.add, astuple(self), astuple(other)))


class Sent(StrEnum):
    SENT = "sent"
    RETRY = "retry"


# What one delivery came to: sent, to be retried, or why it failed for good (for the admins).
Outcome = Sent | str


class Ticker:
    def __init__(
        self,
        *,
        store: Store,
        orgs: Organisations,
        chat: ChatGateway,
        clock: Clock,
        digests: Digests,
        worker: str,
        batch: int = 200,
        concurrency: int = 16,
        lease: timedelta = LEASE,
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.chat = chat
        self.clock = clock
        self.digests = digests
        self.worker = worker
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        # What this process saw written already: rows are never deleted, so a key once seen
        # needs no second insert (the database's unique key stays the judge).
        self._written: dict[str, set[tuple[str, str, str]]] = {}
        self._digests_written: dict[str, set[tuple[str, str]]] = {}
        self._stopping = False
        self._running: set[asyncio.Task[object]] = set()

    # ---- the tick -------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Everything due at `now` (default: the clock's now), for every organisation. One
        organisation's failure is logged and the others go on."""
        now = now or self.clock.now()
        report = TickReport()
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            for key in await self.orgs.keys():
                if self._stopping:
                    break
                try:
                    report += await self.tick_organisation(key, now)
                except Exception:  # a bug or an outage in one organisation: the rest go on
                    log.exception("the tick of organisation %s failed", key)
        finally:
            if task is not None:
                self._running.discard(task)
        return report

    async def tick_organisation(self, key: str, now: datetime) -> TickReport:
        org = await self.orgs.get(key)
        created = await self._write_prompts(org, now)
        await self._write_digests(org, now)
        sent, failed, retried = await self.deliver_prompts(org, now)
        reminded = await self.send_reminders(org, now)
        digests = await self.post_digests(org, now)
        return TickReport(created, sent, failed, retried, reminded, digests)

    async def stop(self, *, grace: float = 5.0) -> int:
        """Stop claiming; let the sends under way finish for `grace` seconds, then cancel
        them; give back every claim this worker holds. Returns how many were given back."""
        self._stopping = True
        running = {t for t in self._running if not t.done()}
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        return await self.release_own_claims()

    async def release_own_claims(self) -> int:
        """Give back every unsent prompt claimed under this worker's name."""
        released = 0
        for key in await self.orgs.keys():
            released += await self.store.release_claims(key, worker=self.worker)
        return released

    # ---- writing what is due --------------------------------------------------------------

    async def _write_prompts(self, org: Organisation, now: datetime) -> int:
        """Write the current periods' prompts that are due and not written yet. One past its
        answer deadline is still written (late) when its rhythm has prompted before: a
        restart after downtime, a person added mid-week. A rhythm that never prompted anyone
        (a first run, a new rhythm) starts with the next prompt that can still be answered."""
        due = list(due_prompts(org, now))
        seen = self._written.get(org.key, set())
        fresh = [p for p in due if (p.rhythm, p.person, p.period) not in seen]
        late = {p.rhythm for p in fresh if p.deadline <= now}
        running = await self.store.rhythms_prompted(org.key, sorted(late)) if late else set()
        fresh = [p for p in fresh if p.deadline > now or p.rhythm in running]
        created = await self.store.add_prompts(org.key, fresh) if fresh else 0
        # Only the current periods' keys are kept: the set never outgrows one period.
        self._written[org.key] = {(p.rhythm, p.person, p.period) for p in due}
        return created

    async def _write_digests(self, org: Organisation, now: datetime) -> None:
        """A period's digest is written once its time has come, for periods somebody was
        asked about (a first run does not post the digests of periods it never prompted)."""
        seen = self._digests_written.setdefault(org.key, set())
        fresh = [d for d in due_digests(org, now) if (d.rhythm, d.period) not in seen]
        if not fresh:
            return
        asked = await self.store.prompted_periods(org.key, [(d.rhythm, d.period) for d in fresh])
        wanted = [d for d in fresh if (d.rhythm, d.period) in asked]
        if wanted:
            await self.store.add_digests(org.key, wanted)
        seen.update((d.rhythm, d.period) for d in wanted)

    # ---- delivering prompts ---------------------------------------------------------------

    async def deliver_prompts(self, org: Organisation, now: datetime) -> tuple[int, int, int]:
        sent = failed = retried = 0
        problems: list[str] = []
        while not self._stopping:
            # Claimable is judged at the tick's `now`: what this tick released for a retry
            # waits for a later tick, while the lease runs from the clock's now.
            claimed = await self.store.claim_unsent(
                org.key, now=now, worker=self.worker, limit=self.batch,
                lease=self.lease + (self.clock.now() - now),
            )  # fmt: skip
            if not claimed:
                break
            for outcome in await self._deliver_batch(org, claimed):
                if outcome is Sent.SENT:
                    sent += 1
                elif outcome is Sent.RETRY:
                    retried += 1
                else:
                    failed += 1
                    problems.append(outcome)
        if problems:
            await self._tell_admins(org, problems)
        return sent, failed, retried

    async def _deliver_batch(self, org: Organisation, claimed: list[PromptRecord]) -> list[Outcome]:
        """Send a claimed batch, `concurrency` at a time (the gateway paces them), renewing
        the batch's lease while it works. No send outlives its batch."""
        states = await self.store.kr_states_many(org.key, [p.person for p in claimed])
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(prompt: PromptRecord) -> Outcome:
            async with gate:
                if self._stopping:  # not begun: `stop` gives it back for another replica
                    return Sent.RETRY
                return await self._deliver_guarded(org, prompt, states.get(prompt.person, {}))

        async with self._renewing([p.id for p in claimed]), asyncio.TaskGroup() as group:
            tasks = [group.create_task(deliver(p)) for p in claimed]
        outcomes = [task.result() for task in tasks]
        reached = {p.person for p, o in zip(claimed, outcomes, strict=True) if o is Sent.SENT}
        for gone in await self.store.unreachable_people(org.key):
            # A delivered prompt clears the mark, and what failed on it before goes again.
            if gone.person in reached and await self.store.clear_unreachable(org.key, gone.person):
                await self.store.retry_failed(org.key, gone.person, now=self.clock.now())
        return outcomes

    @contextlib.asynccontextmanager
    async def _renewing(self, prompt_ids: Sequence[int]) -> AsyncIterator[None]:
        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                until = self.clock.now() + self.lease
                try:
                    await self.store.renew_claims(prompt_ids, worker=self.worker, until=until)
                except Exception:  # the next renewal may work; the lease is the safety net
                    log.exception("could not renew the claims of %d prompts", len(prompt_ids))

        renewer = asyncio.create_task(renew())
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _deliver_guarded(
        self, org: Organisation, prompt: PromptRecord, states: Mapping[str, KrState]
    ) -> Outcome:
        """`_deliver_one`, with whatever goes wrong kept to this one prompt."""
        try:
            return await self._deliver_one(org, prompt, states)
        except Exception:  # a bug or an unforeseen answer: logged, retried later
            log.exception("prompt %s for %s could not be delivered", prompt.id, prompt.person)
        try:
            await self._release(prompt, retry_after=None, in_doubt=True)
        except Exception:  # the database too: the lease runs out and it is claimed again
            log.exception("prompt %s could not be released", prompt.id)
        return Sent.RETRY

    async def _deliver_one(
        self, org: Organisation, prompt: PromptRecord, states: Mapping[str, KrState]
    ) -> Outcome:
        person = org.person.get(prompt.person)
        if person is None:
            await self.store.mark_failed(prompt.id, at=self.clock.now(), error="left the OKR tree")
            return f"{prompt.person}: left the OKR tree"
        tag = prompt_tag(prompt.id)
        try:
            if prompt.in_doubt and prompt.attempted_at is not None:
                since = prompt.attempted_at - DOUBT_MARGIN
                try:
                    found = await self.chat.find_direct(org.key, person, tag, since=since)
                except DeliveryError as error:
                    if error.permanent:
                        raise
                    # Still in doubt, whatever the lookup's own failure: look again next time,
                    # never send blind.
                    log.info("prompt %s to %s is in doubt and could not be looked up: %s",
                             prompt.id, person.name, error.reason)  # fmt: skip
                    await self._release(prompt, retry_after=error.retry_after, in_doubt=True)
                    return Sent.RETRY
                if found is not None:
                    log.info("prompt %s had reached %s already: not sent again", prompt.id,
                             person.name)  # fmt: skip
                    return await self._sent(org, prompt, person, found)

            async def leaving() -> None:  # from here on, a crash leaves the prompt in doubt
                await self.store.mark_attempt(prompt.id, at=self.clock.now())

            ref = await self.chat.send_direct(
                org.key, person, prompt_notice(org, prompt, states), tag=tag, leaving=leaving
            )
        except DeliveryError as error:
            return await self._delivery_failed(org, prompt, person, error)
        return await self._sent(org, prompt, person, ref)

    async def _sent(
        self, org: Organisation, prompt: PromptRecord, person: Person, ref: str
    ) -> Outcome:
        if not await self.store.mark_sent(prompt.id, at=self.clock.now(), message_ref=ref):
            # Answered while it was on its way (a check-in from a command): say so in place.
            notice = Notice(
                f"✅ Already checked in: {TITLES[prompt.kind].lower()} · {prompt.period}"
            )
            try:
                await self.chat.update_direct(org.key, person, ref, notice)
            except DeliveryError as error:
                log.warning("could not mark prompt %s answered in chat: %s", prompt.id, error)
        return Sent.SENT

    async def _delivery_failed(
        self, org: Organisation, prompt: PromptRecord, person: Person, error: DeliveryError
    ) -> Outcome:
        if error.permanent:
            log.warning("prompt %s to %s will not be retried: %s", prompt.id, person.name,
                        error.reason)  # fmt: skip
            now = self.clock.now()
            await self.store.mark_failed(prompt.id, at=now, error=error.reason)
            await self.store.mark_unreachable(org.key, prompt.person, reason=error.reason, at=now)
            return f"{person.name}: {error.reason}"
        log.info("prompt %s to %s will be retried: %s", prompt.id, person.name, error.reason)
        await self._release(prompt, retry_after=error.retry_after, in_doubt=error.maybe_done)
        return Sent.RETRY

    async def _release(
        self, prompt: PromptRecord, *, retry_after: float | None, in_doubt: bool
    ) -> None:
        backoff = min(RETRY_BACKOFF * 2**prompt.attempts, MAX_BACKOFF)
        wait = max(backoff, timedelta(seconds=retry_after or 0))
        await self.store.release(prompt.id, retry_at=self.clock.now() + wait, in_doubt=in_doubt)

    async def _tell_admins(self, org: Organisation, problems: list[str]) -> None:
        """One message per tick to each admin, not one per failure, and never a retry loop."""
        count = len(problems)
        notice = Notice(
            f"⚠️ {count} check-in {'prompt' if count == 1 else 'prompts'} could not be delivered",
            tuple(problems[:20]) + ((f"…and {count - 20} more",) if problems[20:] else ()),
            footer="They will not be retried: fix the chat account or the OKR file, and the "
            "next period prompts them again.",
        )
        for admin in org.admin_people:
            try:
                await self.chat.send_direct(org.key, admin, notice)
            except DeliveryError as error:
                log.warning("could not tell admin %s about delivery problems: %s", admin.name,
                            error.reason)  # fmt: skip

    # ---- reminders and digests ------------------------------------------------------------

    async def send_reminders(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        reminded = 0
        for prompt in await self.store.reminder_candidates(org.key, now=now):
            rhythm = rhythms.get(prompt.rhythm)
            person = org.person.get(prompt.person)
            if rhythm is None or person is None or not _reminder_due(prompt, rhythm, person, now):
                continue
            try:
                reminded += await self._remind(org, prompt, person, now)
            except Exception:  # one reminder's trouble is not the others'
                log.exception("reminder for prompt %s failed", prompt.id)
        return reminded

    async def _remind(
        self, org: Organisation, prompt: PromptRecord, person: Person, now: datetime
    ) -> int:
        if not await self.store.mark_reminded(
            prompt.id, at=now, count_before=prompt.reminders_sent
        ):
            return 0  # another replica sent this reminder, or the prompt was answered
        try:
            await self.chat.send_direct(
                org.key, person, reminder_notice(org, prompt, prompt.reminders_sent + 1)
            )
        except DeliveryError as error:
            log.warning("reminder for prompt %s not delivered: %s", prompt.id, error.reason)
            return 0
        return 1

    async def post_digests(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        subscribed: dict[str, list[str]] = {}
        for sub in await self.store.subscriptions(org.key):
            if not sub.failure:
                subscribed.setdefault(sub.team, []).append(sub.channel)
        posted = 0
        for record in await self.store.claim_digests(
            org.key, now=now, worker=self.worker, lease=DIGEST_LEASE
        ):
            rhythm = rhythms.get(record.rhythm)
            if rhythm is None:
                await self.store.mark_digest_failed(record.id, at=now, error="rhythm removed")
                continue
            try:
                reached = await self._post_record(org, rhythm, record, subscribed, now)
            except Exception:  # one digest's trouble is not the others'; not posted twice
                log.exception("digest %s of %s could not be posted", record.id, record.team)
                reached = False
            if reached:
                await self.store.mark_posted(record.id, at=now)
                posted += 1
            else:
                await self.store.mark_digest_failed(
                    record.id, at=now, error="no channel could be reached"
                )
        return posted

    async def _post_record(
        self, org: Organisation, rhythm: Rhythm, record: DigestRecord,
        subscribed: Mapping[str, list[str]], now: datetime,
    ) -> bool:  # fmt: skip
        """Post one digest record's team digests; True when the rhythm's own team got one."""
        # The record's own period: a digest due Monday for last Friday's check-in is about
        # last week, whatever `now` says.
        fired = record.scheduled_for - rhythm.deadline
        reached = True
        for team, channels in digest_targets(org, rhythm, subscribed).items():
            digest = await self.digests.digest(
                org.key, team, kind=rhythm.kind, at=now, period_at=fired
            )
            if not await self._post_everywhere(org, team, channels, subscribed, digest, now):
                reached = reached and team != rhythm.team
        return reached

    async def _post_everywhere(
        self, org: Organisation, team: str, channels: list[str],
        subscribed: Mapping[str, list[str]], digest: Digest, now: datetime,
    ) -> bool:  # fmt: skip
        """Post to each channel; one that fails for good is reported (a subscription is
        switched off) and the others still get the digest. True when one got it."""
        problems: list[str] = []
        for channel in channels:
            try:
                await self.post_digest(org.key, channel, digest)
            except DeliveryError as error:
                log.warning("digest of %s to %s failed: %s", team, channel, error.reason)
                problems.append(f"{team} digest → {channel}: {error.reason}")
                if channel in subscribed.get(team, ()) and error.permanent:
                    await self.store.mark_subscription_failed(
                        org.key, team, channel, error=error.reason, at=now
                    )
        if problems:
            await self._tell_admins(org, problems)
        return len(problems) < len(channels)

    async def post_digest(self, org_key: str, channel: str, digest: Digest) -> str:
        """The digest as a top-level post, each sub-team's detail as a reply in its thread."""
        thread = await self.chat.post_channel(org_key, channel, DigestMessage(digest))
        for detail in digest.details:
            await self.chat.post_channel(org_key, channel, DigestMessage(detail), thread=thread)
        return thread


def _reminder_due(prompt: PromptRecord, rhythm: Rhythm, person: Person, now: datetime) -> bool:
    if prompt.sent_at is None or prompt.reminders_sent >= rhythm.max_reminders:
        return False
    last = prompt.last_reminded_at or prompt.sent_at
    if now < last + rhythm.reminder_after or person.is_quiet(now):
        return False
    if person.is_off(now.astimezone(person.zone).date()):
        return False
    return not (prompt.snoozed_until and now < prompt.snoozed_until)


def digest_targets(
    org: Organisation, rhythm: Rhythm, subscribed: Mapping[str, list[str]]
) -> dict[str, list[str]]:
    """Which team digests this rhythm's digest record posts where: the rhythm's team to its
    channels and subscriptions, and each team below that this rhythm covers (none of its own)
    to the channels subscribed to it."""
    targets = {
        rhythm.team: list(
            dict.fromkeys((*rhythm.digest_channels, *subscribed.get(rhythm.team, ())))
        )
    }
    for team in org.subtree(rhythm.team)[1:]:
        if subscribed.get(team) and org.team_rhythm(team, rhythm.kind) == rhythm:
            targets[team] = subscribed[team]
    return {team: channels for team, channels in targets.items() if channels}
