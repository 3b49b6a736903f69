"""The tick: the scheduler's one job. Write what is due, deliver it, remind, post digests.

Who is due comes from the tree and the clock; what was already asked comes from the database
(a prompt's unique rhythm, person and period), never from a watermark, so any number of
replicas, restarts and moved rhythms agree. Delivery is exactly-once as far as the platforms
allow:

- prompts are claimed with a short lease, renewed while they are held, and sent in a rolling
  window, so a slow send holds up only itself and a dead replica's claims come back within
  a minute;
- each send is recorded as it leaves and as soon as the platform confirms it; a send whose
  outcome nobody knows (a lost answer: at once, a moment later; a crash: by whoever sends it
  next) is looked up on the platform before it is sent again (Slack finds it by its tag in
  the DM's history);
- any failure stays with its message: it is logged, the prompt is released for a retry with
  backoff (or, when the platform refuses it for good, marked as not to be retried and the
  admins told), and the rest go on;
- a person whose chat account nobody knows yet is not a failure: their prompt waits, and goes
  out as soon as they are linked (in the same transaction as the link) while it can still be
  answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import operator
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rhythm.blockers import Blockers
from rhythm.cadences import Rhythm
from rhythm.courier import Courier
from rhythm.digests import Digests
from rhythm.due import due_digests, due_prompts
from rhythm.messages import Notice, Report
from rhythm.nudges import Nudges
from rhythm.observe import NULL_OBSERVER, Observer, PromptOutcome
from rhythm.okr import Organisation, Person
from rhythm.orgcache import Organisations
from rhythm.ports import ChatGateway, Clock, DeliveryError, NotLinked, Store
from rhythm.prompting import TITLES, prompt_notice, prompt_tag, reminder_notice
from rhythm.records import DigestRecord, KrState, PromptRecord
from rhythm.reports import Reports

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
DIGEST_LEASE = timedelta(minutes=5)
RETRY_BACKOFF = timedelta(seconds=30)  # the first retry; doubled per attempt
MAX_BACKOFF = timedelta(minutes=15)
# A send that began at T may show up on the platform stamped a little before T (clocks).
DOUBT_MARGIN = timedelta(minutes=2)
# A send whose answer was lost is looked up this much later, once the platform has it.
IN_DOUBT_PAUSE = timedelta(seconds=2)
# How often a prompt waiting for a chat account looks again by itself (a Slack user who
# joins the workspace says nothing to us); linking the person wakes it at once.
LINK_RECHECK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class TickReport:
    created: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    reminded: int = 0
    digests: int = 0
    waiting: int = 0  # for a chat account to be linked
    notes: int = 0  # direct messages delivered from the outbox (blockers, nudges, lists)

    def __add__(self, other: TickReport) -> TickReport:
        return TickReport(*map(operator.add, astuple(self), astuple(other)))


@dataclass(frozen=True, slots=True)
class Delivered:
    """What one round of deliveries came to, prompt by prompt."""

    sent: int
    failed: int
    retried: int
    waiting: int


class Sent(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    WAITING = "waiting for a chat account"


# What one delivery came to: sent, to be retried, or why it failed for good (for the admins).
Outcome = Sent | str
_OBSERVED = {Sent.SENT: PromptOutcome.SENT, Sent.RETRY: PromptOutcome.RETRIED,
             Sent.WAITING: PromptOutcome.WAITING}  # fmt: skip


def _observed(outcome: Outcome) -> PromptOutcome:
    """An outcome as the observer hears it: a reason for the admins is a failure."""
    return _OBSERVED[outcome] if isinstance(outcome, Sent) else PromptOutcome.FAILED


class _StillInDoubt(Exception):
    """A send in doubt whose lookup failed for now: released, still in doubt."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class _Attempt:
    """One send of a prompt: recorded as begun when the message leaves (`leaving`, which the
    gateway awaits after any wait for rate limits); from then on a crash leaves it in doubt."""

    def __init__(self, store: Store, clock: Clock, prompt_id: int) -> None:
        self.store = store
        self.clock = clock
        self.prompt_id = prompt_id
        self.began: datetime | None = None

    async def leaving(self) -> None:
        self.began = self.clock.now()
        await self.store.mark_attempt(self.prompt_id, at=self.began)


class _ClaimWindow:
    """The prompts one tick delivers: claimed a batch at a time as the senders need them,
    each with its owner's key-result states. Claimable is judged at the clock's now, so what
    this tick released for a retry comes back once its backoff passed, if the tick still
    runs then; once a claim comes back empty, or the ticker stops, the window is closed."""

    def __init__(
        self, ticker: Ticker, org: Organisation, now: datetime, held: dict[int, PromptRecord]
    ) -> None:
        self.ticker = ticker
        self.org = org
        self.now = now
        self.held = held
        self.queue: deque[PromptRecord] = deque()
        self.states: dict[str, Mapping[str, KrState]] = {}
        self.closed = False
        self._refill = asyncio.Lock()

    async def next(self) -> tuple[PromptRecord, Mapping[str, KrState]] | None:
        ticker = self.ticker
        async with self._refill:
            if not self.queue and not self.closed and not ticker.stopping:
                await self._claim()
            if ticker.stopping or not self.queue:  # what is left is given back by `stop`
                return None
            prompt = self.queue.popleft()
            return prompt, self.states.get(prompt.person, {})

    async def _claim(self) -> None:
        ticker = self.ticker
        at = max(self.now, ticker.clock.now())
        claimed = await ticker.store.claim_unsent(
            self.org.key, now=at, worker=ticker.worker, limit=ticker.batch,
            lease=ticker.lease + (ticker.clock.now() - at),
        )  # fmt: skip
        if not claimed:
            self.closed = True
            return
        fresh = sorted({p.person for p in claimed} - self.states.keys())
        if fresh:
            self.states.update(await ticker.store.kr_states_many(self.org.key, fresh))
        self.held.update((p.id, p) for p in claimed)
        self.queue.extend(claimed)


class Ticker:
    def __init__(
        self,
        *,
        store: Store,
        orgs: Organisations,
        chat: ChatGateway,
        clock: Clock,
        digests: Digests,
        reports: Reports,
        blockers: Blockers,
        nudges: Nudges,
        courier: Courier,
        worker: str,
        batch: int = 200,
        concurrency: int = 16,
        lease: timedelta = LEASE,
        observer: Observer = NULL_OBSERVER,
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.chat = chat
        self.observer = observer
        self.clock = clock
        self.digests = digests
        self.reports = reports
        self.blockers = blockers
        self.nudges = nudges
        self.courier = courier
        self.worker = worker
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        # What this process saw written already: rows are never deleted, so a key once seen
        # needs no second insert (the database's unique key stays the judge).
        self._written: dict[str, set[tuple[str, str, str]]] = {}
        self._digests_written: dict[str, set[tuple[str, str]]] = {}
        self.stopping = False
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
                if self.stopping:
                    break
                began = time.perf_counter()
                self.observer.tick_started(key)
                try:
                    done = await self.tick_organisation(key, now)
                except Exception:  # a bug or an outage in one organisation: the rest go on
                    log.exception("the tick of organisation %s failed", key)
                    self.observer.tick_failed(key, time.perf_counter() - began)
                    continue
                self.observer.tick_done(key, time.perf_counter() - began, done)
                report += done
        finally:
            if task is not None:
                self._running.discard(task)
        return report

    async def tick_organisation(self, key: str, now: datetime) -> TickReport:
        org = await self.orgs.get(key)
        created = await self._write_prompts(org, now)
        await self._write_digests(org, now)
        delivered = await self.deliver_prompts(org, now)
        reminded = await self.send_reminders(org, now)
        digests = await self.post_digests(org, now)
        # Direct messages decided elsewhere (a blocker's news, a lead's nudge) and here (the
        # leads' lists of who is missing): whatever no one delivered yet, delivered now.
        await self.blockers.announce(org.key)
        await self.nudges.missing_lists(org, now)
        notes = await self.courier.deliver(org.key)
        return TickReport(
            created, delivered.sent, delivered.failed, delivered.retried, reminded, digests,
            delivered.waiting, notes,
        )  # fmt: skip

    async def stop(self, *, grace: float = 5.0) -> int:
        """Stop claiming; let the sends under way finish for `grace` seconds, then cancel
        them; give back every claim this worker holds. Returns how many were given back."""
        self.stopping = True
        running = {t for t in self._running if not t.done()}
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.courier.settle()  # the news of the last clicks, on its way
        return await self.release_own_claims()

    async def release_own_claims(self) -> int:
        """Give back every unsent prompt (and direct message) claimed under this worker's
        name; returns how many prompts."""
        released = 0
        for key in await self.orgs.keys():
            released += await self.store.release_claims(key, worker=self.worker)
            await self.store.release_outbox_claims(key, worker=self.worker)
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

    async def deliver_prompts(self, org: Organisation, now: datetime) -> Delivered:
        """Claim and send until nothing is claimable, `concurrency` sends at a time in a
        rolling window (the gateway paces them): a slow send, a hang until the client's
        timeout, holds up its own slot, never a batch. What is claimed and not yet done has
        its lease renewed; no send outlives the tick."""
        held: dict[int, PromptRecord] = {}
        window = _ClaimWindow(self, org, now, held)
        outcomes: list[tuple[PromptRecord, Outcome]] = []

        async def sender() -> None:
            while (claimed := await window.next()) is not None:
                prompt, states = claimed
                outcome = await self._deliver_guarded(org, prompt, states)
                del held[prompt.id]
                outcomes.append((prompt, outcome))
                person = org.person.get(prompt.person)
                self.observer.prompt_delivered(org.key, person, _observed(outcome))

        async with self._renewing(held), asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(sender())
        await self._clear_reached(org, {p.person for p, o in outcomes if o is Sent.SENT})
        problems = [o for _, o in outcomes if not isinstance(o, Sent)]
        if problems:
            await self._tell_admins(org, problems)
        sent = sum(o is Sent.SENT for _, o in outcomes)
        retried = sum(o is Sent.RETRY for _, o in outcomes)
        waiting = sum(o is Sent.WAITING for _, o in outcomes)
        return Delivered(sent, len(problems), retried, waiting)

    async def _clear_reached(self, org: Organisation, reached: set[str]) -> None:
        if not reached:  # most ticks send nothing: no query for them
            return
        for gone in await self.store.unreachable_people(org.key):
            # A delivered prompt clears the mark, and what failed on it before goes again.
            if gone.person in reached and await self.store.clear_unreachable(org.key, gone.person):
                await self.store.retry_failed(org.key, gone.person, now=self.clock.now())

    @contextlib.asynccontextmanager
    async def _renewing(self, held: Mapping[int, PromptRecord]) -> AsyncIterator[None]:
        """Renew the leases of what is `held` (it changes as sends finish and claims come)."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                until = self.clock.now() + self.lease
                ids = list(held)
                try:
                    await self.store.renew_claims(ids, worker=self.worker, until=until)
                except Exception:  # the next renewal may work; the lease is the safety net
                    log.exception("could not renew the claims of %d prompts", len(ids))

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
        attempted = prompt.attempted_at if prompt.in_doubt else None
        for second_try in (False, True):
            attempt = _Attempt(self.store, self.clock, prompt.id)
            try:
                if attempted is not None:
                    found = await self._look_up(org, prompt, person, attempted)
                    if found is not None:
                        return await self._sent(org, prompt, person, found)
                ref = await self.chat.send_direct(
                    org.key, person, prompt_notice(org, prompt, states), tag=prompt_tag(prompt.id),
                    leaving=attempt.leaving,
                )  # fmt: skip
            except _StillInDoubt as doubt:
                await self._release(prompt, retry_after=doubt.retry_after, in_doubt=True)
                return Sent.RETRY
            except DeliveryError as error:
                attempted = attempt.began
                if error.maybe_done and attempted and not error.permanent and not second_try:
                    # The answer was lost, the message may be out: look for it in a moment,
                    # then send it (again) only if it is not there; the slot waits, not the tick.
                    log.info("prompt %s to %s is in doubt (%s): looking for it", prompt.id,
                             person.name, error.reason)  # fmt: skip
                    await self.clock.sleep(IN_DOUBT_PAUSE.total_seconds())
                    continue
                return await self._delivery_failed(org, prompt, person, error)
            return await self._sent(org, prompt, person, ref)
        raise AssertionError("two attempts at most")

    async def _look_up(
        self, org: Organisation, prompt: PromptRecord, person: Person, attempted: datetime
    ) -> str | None:
        """The message of a send in doubt, if it reached the person; `_StillInDoubt` when the
        platform cannot say for now (never send blind)."""
        try:
            found = await self.chat.find_direct(
                org.key, person, prompt_tag(prompt.id), since=attempted - DOUBT_MARGIN
            )
        except DeliveryError as error:
            if error.permanent:
                raise
            log.info("prompt %s to %s is in doubt and could not be looked up: %s", prompt.id,
                     person.name, error.reason)  # fmt: skip
            raise _StillInDoubt(error.retry_after) from error
        if found is not None:
            log.info("prompt %s had reached %s already: not sent again", prompt.id, person.name)
        return found

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
        if isinstance(error, NotLinked):
            return await self._wait_for_link(org, prompt, person, error)
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

    async def _wait_for_link(
        self, org: Organisation, prompt: PromptRecord, person: Person, why: NotLinked
    ) -> Outcome:
        if prompt.waiting_since is None:  # said once, not at every look
            log.info("%s is not linked to a chat account yet (%s): their %s prompt waits",
                     person.name, why.reason, prompt.kind)  # fmt: skip
        now = self.clock.now()
        await self.store.wait_for_link(prompt.id, at=now, look_again=now + LINK_RECHECK)
        # Linked while this send was under way (its tree was read before), the link's wake
        # found the prompt claimed and left it: look again now, not in ten minutes. Looking
        # after giving the claim back leaves no moment a link could fall between.
        fresh = (await self.orgs.get(org.key)).person.get(person.email)
        if fresh is not None and _chat_ids(fresh) != _chat_ids(person):
            await self.store.release(prompt.id, retry_at=now, in_doubt=False)
        return Sent.WAITING

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
            except NotLinked as error:  # an admin who has not met the bot yet: no news
                log.info("could not tell admin %s about delivery problems: %s", admin.name,
                         error.reason)  # fmt: skip
            except DeliveryError as error:
                log.warning("could not tell admin %s about delivery problems: %s", admin.name,
                            error.reason)  # fmt: skip

    # ---- reminders and digests ------------------------------------------------------------

    async def send_reminders(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        if not rhythms:
            return 0
        reminded = 0
        # Only what has been quiet for the shortest wait of any rhythm: the rest are fresh
        # (on a quiet tick that is most of the 20,000 prompts of a 10,000-person Tuesday).
        shortest = min(r.reminder_after for r in rhythms.values())
        waiting = await self.store.reminder_candidates(org.key, now=now, quiet_since=now - shortest)
        for prompt in waiting:
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
        if not await self.nudges.spend_reminder(org, prompt, prompt.reminders_sent + 1):
            return 0  # the person had their nudges for the week
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
        async with asyncio.TaskGroup() as drawing:
            # Each team's charts are drawn (in the renderer's workers, a few at a time) while
            # the next teams' digests are read; then they are posted in order. Drawn once per
            # team, for all of its channels.
            reports = []
            for team, channels in digest_targets(org, rhythm, subscribed).items():
                digest = await self.digests.digest(
                    org.key, team, kind=rhythm.kind, at=now, period_at=fired
                )
                reports.append((team, channels, drawing.create_task(self.reports.digest(digest))))
            for team, channels, report in reports:
                posted = await self._post_everywhere(
                    org, team, channels, subscribed, await report, now
                )
                reached = reached and (posted or team != rhythm.team)
        return reached

    async def _post_everywhere(
        self, org: Organisation, team: str, channels: list[str],
        subscribed: Mapping[str, list[str]], report: Report, now: datetime,
    ) -> bool:  # fmt: skip
        """Post to each channel; one that fails for good is reported (a subscription is
        switched off) and the others still get the digest. True when one got it."""
        problems: list[str] = []
        for channel in channels:
            try:
                await self.post_report(org.key, channel, report)
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

    async def post_report(self, org_key: str, channel: str, report: Report) -> str:
        """The report as a top-level post, each reply (a sub-team's detail) in its thread."""
        thread = await self.chat.post_channel(org_key, channel, report)
        for reply in report.replies:
            await self.chat.post_channel(org_key, channel, reply, thread=thread)
        return thread


def _chat_ids(person: Person) -> tuple[str | None, str | None]:
    return person.slack_user_id, person.teams_user_id


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
