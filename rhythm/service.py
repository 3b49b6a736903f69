"""The use cases: tick the drumbeat, open and submit check-ins, build digests.

`Drumbeat` is platform-free: it talks to storage and chat only through the ports, so the
scheduler, the CLI, the console, Slack and Teams all drive the very same code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import operator
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rhythm.cadences import RhythmKind, period_bounds, period_of, previous_period
from rhythm.digest import Digest, DigestScope, build_digest, scope_key_results, scope_people
from rhythm.due import due_digests, due_prompts
from rhythm.forms import CheckInDraft, FormErrors, build_form, validate
from rhythm.messages import DigestMessage, Form, Notice
from rhythm.okr import Organisation
from rhythm.ports import ChatGateway, Clock, DeliveryError, PromptRecord, Store
from rhythm.prompting import done_notice, prompt_notice, reminder_notice

log = logging.getLogger(__name__)

SNOOZE_FOR = timedelta(hours=2)
RETRY_BACKOFF = timedelta(minutes=2)


class UnknownPerson(LookupError):
    def __init__(self, who: str, org: str) -> None:
        super().__init__(f"{who} is not in {org}'s OKR tree. Ask an admin to add you.")


class UnknownOrganisation(LookupError):
    def __init__(self, org: str) -> None:
        super().__init__(f"No organisation '{org}'. Import an OKR file first.")


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


@dataclass(frozen=True, slots=True)
class Accepted:
    notice: Notice
    checkin_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class Rejected:
    form: Form  # the same form with per-field errors, for the adapter to show again


def form_context(kind: RhythmKind, period: str, prompt_id: int | None) -> str:
    return f"{kind.value}|{period}|{prompt_id or ''}"


def parse_context(context: str) -> tuple[RhythmKind, str, int | None]:
    kind, period, prompt = context.split("|")
    return RhythmKind(kind), period, int(prompt) if prompt else None


class Drumbeat:
    def __init__(
        self,
        *,
        store: Store,
        chat: ChatGateway,
        clock: Clock,
        worker: str = "drumbeat",
        batch: int = 200,
        concurrency: int = 8,  # below the connection pool's size
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self.worker = worker
        self.batch = batch
        self.concurrency = concurrency
        self.lease = lease
        self._orgs: dict[str, Organisation] = {}

    # ---- the organisation ----------------------------------------------------------------

    async def organisation(self, key: str) -> Organisation:
        if key not in self._orgs:
            org = await self.store.load_organisation(key)
            if org is None:
                raise UnknownOrganisation(key)
            self._orgs[key] = org
        return self._orgs[key]

    def forget(self, key: str | None = None) -> None:
        """Drop cached trees (after an import) so the next use reloads them."""
        if key is None:
            self._orgs.clear()
        else:
            self._orgs.pop(key, None)

    async def person(self, org_key: str, who: str) -> tuple[Organisation, str]:
        org = await self.organisation(org_key)
        email = who.strip().lower()
        if email not in org.person:
            raise UnknownPerson(who, org.name)
        return org, email

    # ---- the tick ------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> TickReport:
        """Everything due at `now`, for every organisation: the one scheduler job."""
        now = now or self.clock.now()
        report = TickReport()
        for key in await self.store.organisation_keys():
            report += await self.tick_organisation(key, now)
        return report

    async def tick_organisation(self, key: str, now: datetime) -> TickReport:
        org = await self.organisation(key)
        since = await self.store.last_tick(key)
        if since is not None and since > now:
            since = None  # a clock set back, or `tick --at` in the past: redo that period
        # Catching up (first tick, clock set back) skips prompts already past their deadline.
        due = [p for p in due_prompts(org, now, since) if since or p.deadline > now]
        created = await self.store.add_prompts(key, due)
        if since is not None:  # a first tick ever does not post digests of periods it never ran
            await self.store.add_digests(key, list(due_digests(org, now, since)))
        await self.store.record_tick(key, now)
        delivered = await self.deliver_prompts(org, now)
        reminded = await self.send_reminders(org, now)
        digests = await self.post_digests(org, now)
        return TickReport(created, *delivered, reminded, digests)

    async def deliver_prompts(self, org: Organisation, now: datetime) -> tuple[int, int, int]:
        sent = failed = retried = 0
        gate = asyncio.Semaphore(self.concurrency)
        while True:
            claimed = await self.store.claim_unsent(
                org.key, now=now, worker=self.worker, limit=self.batch, lease=self.lease
            )
            if not claimed:
                return sent, failed, retried
            results = await asyncio.gather(
                *(self._deliver_one(org, prompt, now, gate) for prompt in claimed)
            )
            sent += results.count("sent")
            failed += results.count("failed")
            retried += results.count("retry")
            if "retry" in results:  # the rest waits for its retry time, on a later tick
                return sent, failed, retried

    async def _deliver_one(
        self, org: Organisation, prompt: PromptRecord, now: datetime, gate: asyncio.Semaphore
    ) -> str:
        # The gate covers the database work too: it bounds connections as well as sends.
        async with gate:
            person = org.person.get(prompt.person)
            if person is None:
                await self.store.mark_failed(prompt.id, at=now, error="person left the OKR tree")
                return "failed"
            last = await self.store.last_answers(org.key, prompt.person)
            confidences = {key: answer.confidence for key, answer in last.items()}
            try:
                ref = await self.chat.send_direct(person, prompt_notice(org, prompt, confidences))
            except DeliveryError as error:
                return await self._delivery_failed(prompt, error, now)
            await self.store.mark_sent(prompt.id, at=now, message_ref=ref)
            return "sent"

    async def _delivery_failed(
        self, prompt: PromptRecord, error: DeliveryError, now: datetime
    ) -> str:
        if error.permanent:
            log.warning("prompt %s to %s failed for good: %s", prompt.id, prompt.person, error)
            await self.store.mark_failed(prompt.id, at=now, error=error.reason)
            return "failed"
        wait = timedelta(seconds=error.retry_after) if error.retry_after else RETRY_BACKOFF
        await self.store.release(prompt.id, retry_at=now + wait)
        return "retry"

    async def send_reminders(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        reminded = 0
        for prompt in await self.store.reminder_candidates(org.key, now=now):
            rhythm = rhythms.get(prompt.rhythm)
            person = org.person.get(prompt.person)
            if rhythm is None or person is None or prompt.sent_at is None:
                continue
            if prompt.reminders_sent >= rhythm.max_reminders:
                continue
            last = prompt.last_reminded_at or prompt.sent_at
            if now < last + rhythm.reminder_after or person.is_quiet(now):
                continue
            if prompt.snoozed_until and now < prompt.snoozed_until:
                continue
            if not await self.store.mark_reminded(
                prompt.id, at=now, count_before=prompt.reminders_sent
            ):
                continue  # another replica sent this reminder
            try:
                await self.chat.send_direct(
                    person, reminder_notice(org, prompt, prompt.reminders_sent + 1)
                )
            except DeliveryError as error:
                log.warning("reminder for prompt %s not delivered: %s", prompt.id, error)
                continue
            reminded += 1
        return reminded

    async def post_digests(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        posted = 0
        for record in await self.store.claim_digests(
            org.key, now=now, worker=self.worker, lease=self.lease
        ):
            rhythm = rhythms.get(record.rhythm)
            if rhythm is None:
                await self.store.mark_digest_failed(record.id, at=now, error="rhythm removed")
                continue
            # The record's own period: a digest due Monday for last Friday's check-in is about
            # last week, whatever `now` says.
            fired = record.scheduled_for - rhythm.deadline
            digest = await self.digest(
                org.key, record.team, kind=rhythm.kind, at=now, period_at=fired
            )
            try:
                for channel in rhythm.digest_channels:
                    await self.post_digest(channel, digest)
            except DeliveryError as error:
                await self.store.mark_digest_failed(record.id, at=now, error=error.reason)
                continue
            await self.store.mark_posted(record.id, at=now)
            posted += 1
        return posted

    async def post_digest(self, channel: str, digest: Digest) -> str:
        """The digest as a top-level post, each sub-team's detail as a reply in its thread."""
        thread = await self.chat.post_channel(channel, DigestMessage(digest))
        for detail in digest.details:
            await self.chat.post_channel(channel, DigestMessage(detail), thread=thread)
        return thread

    # ---- digests -------------------------------------------------------------------------

    async def digest(
        self,
        org_key: str,
        team: str,
        *,
        kind: RhythmKind = RhythmKind.WEEKLY,
        at: datetime | None = None,
        period_at: datetime | None = None,
    ) -> Digest:
        """The digest of `team` as it stands at `at` (default now), for the period containing
        `period_at` (default `at`)."""
        org = await self.organisation(org_key)
        found = org.find_team(team)
        if found is None:
            raise LookupError(f"No team '{team}'. Teams: {', '.join(t.key for t in org.teams)}")
        now = at or self.clock.now()
        today = (period_at or now).astimezone(ZoneInfo(found.timezone)).date()
        cycle = org.current_cycle(today)
        scope = _scope(org, found.key, kind, today, cycle.key)
        facts = await self.store.digest_facts(
            org.key,
            kind=kind,
            period=scope.period,
            previous=scope.previous_period,
            key_results=[kr.key for kr in scope_key_results(org, found.key, cycle.key)],
            people=scope_people(org, found.key),
            teams=org.subtree(found.key),
            now=now,
        )
        return build_digest(org, scope, facts, now=now)

    # ---- check-ins -----------------------------------------------------------------------

    async def open_form(
        self, org_key: str, who: str, *, prompt_id: int | None = None,
        kind: RhythmKind = RhythmKind.WEEKLY,
    ) -> Form:  # fmt: skip
        """The check-in form for a prompt, or a spontaneous one when `prompt_id` is None."""
        org, person = await self.person(org_key, who)
        now = self.clock.now()
        period = None
        if prompt_id is not None:
            prompt = await self.store.get_prompt(org.key, prompt_id)
            if prompt is None or prompt.person != person:
                raise LookupError("That check-in is not yours or no longer exists.")
            kind, period = prompt.kind, prompt.period
        cycle = self._cycle(org, person, now)
        period = period or _period_for(org, person, kind, now, cycle)
        last = await self.store.last_answers(org.key, person)
        return build_form(
            org, person, kind, cycle=cycle, context=form_context(kind, period, prompt_id), last=last
        )

    async def submit(
        self,
        org_key: str,
        who: str,
        context: str,
        answers: Mapping[str, str | None],
        *,
        idempotency_key: str | None = None,
    ) -> Accepted | Rejected:
        """Validate and store one check-in; the whole form or nothing."""
        org, person = await self.person(org_key, who)
        now = self.clock.now()
        kind, period, prompt_id = parse_context(context)
        cycle = self._cycle(org, person, now)
        outcome = validate(
            org, person, kind, answers, cycle=cycle,
            expected_progress=org.cycle[cycle].elapsed_share(now.astimezone(org.person[person].zone).date()),
        )  # fmt: skip
        if isinstance(outcome, FormErrors):
            last = await self.store.last_answers(org.key, person)
            form = build_form(org, person, kind, cycle=cycle, context=context, last=last)
            return Rejected(form.with_errors(outcome.errors))
        key = idempotency_key or _fingerprint(person, context, answers)
        saved = await self.store.save_checkin(
            org.key, outcome, period=period, prompt_id=prompt_id, submitted_at=now,
            idempotency_key=key,
        )  # fmt: skip
        statuses = {u.key_result: u.status for u in outcome.kr_updates}
        notice = done_notice(org, person, kind, period, now, saved, statuses)
        if saved.created:
            self.forget(org.key)  # current values moved
            await self._close_prompt(org, person, prompt_id, notice)
        return Accepted(notice, saved.id, saved.created)

    async def _close_prompt(
        self, org: Organisation, person: str, prompt_id: int | None, notice: Notice
    ) -> None:
        if prompt_id is None:
            return
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or not prompt.message_ref:
            return
        try:
            await self.chat.update_direct(org.person[person], prompt.message_ref, notice)
        except DeliveryError as error:  # the check-in is stored; a stale button is harmless
            log.warning("could not mark prompt %s done in chat: %s", prompt_id, error)

    async def snooze(self, org_key: str, who: str, prompt_id: int) -> Notice:
        org, person = await self.person(org_key, who)
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or prompt.person != person:
            raise LookupError("That check-in is not yours or no longer exists.")
        until = self.clock.now() + SNOOZE_FOR
        await self.store.snooze(prompt_id, until=until)
        local = until.astimezone(org.person[person].zone).strftime("%H:%M")
        return Notice(f"😴 Snoozed: I will remind you after {local}.")

    def _cycle(self, org: Organisation, person: str, now: datetime) -> str:
        return org.current_cycle(now.astimezone(org.person[person].zone).date()).key


def _period_for(org: Organisation, person: str, kind: RhythmKind, now: datetime, cycle: str) -> str:
    return period_of(kind, now.astimezone(org.person[person].zone).date(), cycle)


def _scope(org: Organisation, team: str, kind: RhythmKind, today: date, cycle: str) -> DigestScope:
    period = period_of(kind, today, cycle)
    previous = previous_period(kind, today) if kind is not RhythmKind.END_OF_CYCLE else ""
    found = org.cycle.get(cycle)
    days = period_bounds(kind, today, (found.start, found.end) if found else None)
    return DigestScope(team, kind, period, previous, cycle, today, days)


def _fingerprint(person: str, context: str, answers: Mapping[str, str | None]) -> str:
    """Two identical submissions of the same form are one check-in (double clicks, retries)."""
    payload = json.dumps([person, context, sorted((k, v or "") for k, v in answers.items())])
    return hashlib.sha256(payload.encode()).hexdigest()


__all__ = ["Accepted", "CheckInDraft", "Drumbeat", "Rejected", "TickReport"]
