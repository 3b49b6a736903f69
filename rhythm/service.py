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
from collections.abc import Collection, Mapping
from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rhythm.cadences import Rhythm, RhythmKind, period_bounds, period_of, previous_period
from rhythm.digest import Digest, DigestScope, build_digest, scope_key_results, scope_people
from rhythm.due import due_digests, due_prompts
from rhythm.forms import CheckInDraft, FormErrors, LastAnswer, build_form, validate
from rhythm.messages import DigestMessage, Form, Notice
from rhythm.okr import Organisation
from rhythm.ports import ON_LEAVE, ChatGateway, Clock, DeliveryError, PromptRecord, Store
from rhythm.prompting import done_notice, prompt_notice, reminder_notice

log = logging.getLogger(__name__)

SNOOZE_FOR = timedelta(hours=2)
RETRY_BACKOFF = timedelta(minutes=2)


class UnknownPerson(LookupError):
    def __init__(self, who: str, org: str) -> None:
        super().__init__(f"{who} is not in {org}'s OKR tree. Ask an admin to add you.")


class UnknownWorkspace(LookupError):
    def __init__(self, platform: str, workspace: str, orgs: list[str]) -> None:
        what = "Slack workspace" if platform == "slack" else "Teams tenant"
        hint = (
            f"An admin links it with `drumbeat workspace link {platform} {workspace} ORG` "
            f"(organisations: {', '.join(orgs)})."
            if orgs
            else "Import an OKR file first: `drumbeat okrs import FILE`."
        )
        super().__init__(f"This {what} ({workspace}) is not linked to an organisation. {hint}")


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
        batch: int = 500,
        concurrency: int = 16,
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

    # ---- who is who on the chat platforms ------------------------------------------------

    async def workspace_org(self, platform: str, workspace: str) -> str:
        """The organisation of a Slack workspace or Teams tenant. With one organisation in the
        database, a new workspace belongs to it; with several, an admin links it."""
        linked = await self.store.workspace_org(platform, workspace)
        if linked is not None:
            return linked
        keys = await self.store.organisation_keys()
        if len(keys) != 1:
            raise UnknownWorkspace(platform, workspace, keys)
        await self.store.link_workspace(platform, workspace, keys[0])
        return keys[0]

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
        org = await self.organisation(org_key)
        found = org.person_by_chat_id(platform, user_id)
        if found is not None:
            return found
        if email is None or email.strip().lower() not in org.person:
            raise UnknownPerson(email or f"{platform} user {user_id}", org.name)
        person = email.strip().lower()
        await self.store.link_chat_user(
            org.key, person, platform=platform, user_id=user_id, timezone=_valid_zone(timezone)
        )
        self.forget(org.key)
        return person

    async def open_prompts(self, org_key: str, who: str) -> list[PromptRecord]:
        """The person's open check-ins, "today" being today where they are."""
        org, person = await self.person(org_key, who)
        zone = org.person[person].timezone
        return await self.store.open_prompts(org.key, person, now=self.clock.now(), timezone=zone)

    async def reachable(self, org_key: str, who: str) -> None:
        """The person talked to the bot, so it can reach them again."""
        await self.store.clear_unreachable(org_key, who)

    async def set_timezone(self, org_key: str, who: str, timezone: str | None) -> None:
        org, person = await self.person(org_key, who)
        await self.store.set_timezone(org.key, person, timezone)
        self.forget(org.key)

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
        problems: list[str] = []
        while True:
            claimed = await self.store.claim_unsent(
                org.key, now=now, worker=self.worker, limit=self.batch, lease=self.lease
            )
            if not claimed:
                break
            outcomes = await self._deliver_batch(org, claimed, now)
            sent += outcomes.count("sent")
            retried += outcomes.count("retry")
            failures = [o for o in outcomes if o not in ("sent", "retry")]
            failed += len(failures)
            problems += failures
            if retried:  # the rest waits for its retry time, on a later tick
                break
        if problems:
            await self._tell_admins(org, problems)
        return sent, failed, retried

    async def _deliver_batch(
        self, org: Organisation, claimed: list[PromptRecord], now: datetime
    ) -> list[str]:
        """Send a claimed batch, `concurrency` at a time (the gateway paces them), and record
        the sends in groups: one transaction per group instead of one per message."""
        last = await self.store.last_answers_many(org.key, [p.person for p in claimed])
        gate = asyncio.Semaphore(self.concurrency)
        done = _SentLog(self.store, at=now)

        async def deliver(prompt: PromptRecord) -> str:
            async with gate:
                return await self._deliver_one(org, prompt, last.get(prompt.person, {}), now, done)

        try:
            outcomes = list(await asyncio.gather(*(deliver(p) for p in claimed)))
        finally:
            await done.flush()
        unreachable = {u.person for u in await self.store.unreachable_people(org.key)}
        for prompt, outcome in zip(claimed, outcomes, strict=True):
            if outcome == "sent" and prompt.person in unreachable:
                await self.store.clear_unreachable(org.key, prompt.person)
        return outcomes

    async def _deliver_one(
        self,
        org: Organisation,
        prompt: PromptRecord,
        last: Mapping[str, LastAnswer],
        now: datetime,
        done: _SentLog,
    ) -> str:
        """ "sent", "retry", or a line for the admins' report of what failed for good."""
        person = org.person.get(prompt.person)
        if person is None:
            await self.store.mark_failed(prompt.id, at=now, error="person left the OKR tree")
            return f"{prompt.person}: left the OKR tree"
        confidences = {key: answer.confidence for key, answer in last.items()}
        try:
            ref = await self.chat.send_direct(
                org.key, person, prompt_notice(org, prompt, confidences)
            )
        except DeliveryError as error:
            return await self._delivery_failed(org, prompt, error, now)
        await done.add(prompt.id, ref)
        return "sent"

    async def _delivery_failed(
        self, org: Organisation, prompt: PromptRecord, error: DeliveryError, now: datetime
    ) -> str:
        if error.permanent:
            log.warning("prompt %s to %s failed for good: %s", prompt.id, prompt.person, error)
            await self.store.mark_failed(prompt.id, at=now, error=error.reason)
            await self.store.mark_unreachable(org.key, prompt.person, reason=error.reason, at=now)
            return f"{org.person[prompt.person].name} ({prompt.person}): {error.reason}"
        wait = timedelta(seconds=error.retry_after) if error.retry_after else RETRY_BACKOFF
        await self.store.release(prompt.id, retry_at=now + wait)
        return "retry"

    async def _tell_admins(self, org: Organisation, problems: list[str]) -> None:
        """One message per tick to each admin, not one per failure, and never a retry loop."""
        notice = Notice(
            f"⚠️ {len(problems)} check-in prompt(s) could not be delivered",
            tuple(problems[:20]) + ((f"…and {len(problems) - 20} more",) if problems[20:] else ()),
            footer="They will not be retried. Fix the account or the OKR file; "
            "the next period prompts them again.",
        )
        for admin in org.admin_people:
            try:
                await self.chat.send_direct(org.key, admin, notice)
            except DeliveryError as error:
                log.warning("could not tell admin %s about delivery problems: %s", admin, error)

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
            if person.is_off(now.astimezone(person.zone).date()):
                continue
            if prompt.snoozed_until and now < prompt.snoozed_until:
                continue
            if not await self.store.mark_reminded(
                prompt.id, at=now, count_before=prompt.reminders_sent
            ):
                continue  # another replica sent this reminder
            try:
                await self.chat.send_direct(
                    org.key, person, reminder_notice(org, prompt, prompt.reminders_sent + 1)
                )
            except DeliveryError as error:
                log.warning("reminder for prompt %s not delivered: %s", prompt.id, error)
                continue
            reminded += 1
        return reminded

    async def post_digests(self, org: Organisation, now: datetime) -> int:
        rhythms = {r.key: r for r in org.rhythms}
        subscribed: dict[str, list[str]] = {}
        for sub in await self.store.subscriptions(org.key):
            if not sub.failure:
                subscribed.setdefault(sub.team, []).append(sub.channel)
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
            reached = True
            for team, channels in _digest_targets(org, rhythm, subscribed).items():
                digest = await self.digest(org.key, team, kind=rhythm.kind, at=now, period_at=fired)
                if not await self._post_everywhere(org, team, channels, subscribed, digest, now):
                    reached = reached and team != rhythm.team
            if reached:
                await self.store.mark_posted(record.id, at=now)
                posted += 1
            else:
                await self.store.mark_digest_failed(
                    record.id, at=now, error="no channel could be reached"
                )
        return posted

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
                log.warning("digest of %s to %s failed: %s", team, channel, error)
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
        """Validate and store one check-in; the whole form or nothing. The answers of earlier
        pages of a paged form (see `submit_page`) are merged in."""
        org, person = await self.person(org_key, who)
        now = self.clock.now()
        kind, period, prompt_id = parse_context(context)
        if idempotency_key and (done := await self.store.find_checkin(org.key, idempotency_key)):
            # A retried or double-clicked last page: its draft is gone, the check-in is stored.
            notice = done_notice(org, person, kind, period, now, done, {})
            return Accepted(notice, done.id, created=False)
        draft = await self.store.load_draft(org.key, person, context)
        answers = {**draft, **answers}
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
        if draft:
            await self.store.clear_draft(org.key, person, context)
        statuses = {u.key_result: u.status for u in outcome.kr_updates}
        notice = done_notice(org, person, kind, period, now, saved, statuses)
        if saved.created:
            self.forget(org.key)  # current values moved
            await self._close_prompt(org, person, prompt_id, notice)
        return Accepted(notice, saved.id, saved.created)

    async def submit_page(
        self,
        org_key: str,
        who: str,
        context: str,
        answers: Mapping[str, str | None],
        *,
        fields: Collection[str],
    ) -> dict[str, str]:
        """One page of a paged form: the errors of its `fields`, or none, and then its answers
        are kept as a draft until the last page is submitted."""
        org, person = await self.person(org_key, who)
        now = self.clock.now()
        kind, _, _ = parse_context(context)
        merged = {**await self.store.load_draft(org.key, person, context), **answers}
        cycle = self._cycle(org, person, now)
        outcome = validate(
            org, person, kind, merged, cycle=cycle,
            expected_progress=org.cycle[cycle].elapsed_share(now.astimezone(org.person[person].zone).date()),
        )  # fmt: skip
        if isinstance(outcome, FormErrors):
            errors = {k: v for k, v in outcome.errors.items() if k in fields}
            if errors:
                return errors
        await self.store.save_draft(org.key, person, context, merged)
        return {}

    async def _close_prompt(
        self, org: Organisation, person: str, prompt_id: int | None, notice: Notice
    ) -> None:
        if prompt_id is None:
            return
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or not prompt.message_ref:
            return
        try:
            await self.chat.update_direct(org.key, org.person[person], prompt.message_ref, notice)
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

    async def off_this_week(self, org_key: str, who: str, prompt_id: int) -> Notice:
        """ "I'm off this week": no reminders for this prompt, and the digest counts the person
        as on leave rather than missing."""
        org, person = await self.person(org_key, who)
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or prompt.person != person:
            raise LookupError("That check-in is not yours or no longer exists.")
        if prompt.answered_at is not None:
            return Notice("You already checked in for this period: nothing to skip.")
        await self.store.mark_failed(prompt_id, at=self.clock.now(), error=ON_LEAVE)
        return Notice(
            f"🌴 Enjoy your time off. {prompt.period} is marked as leave; no reminders.",
        )

    def _cycle(self, org: Organisation, person: str, now: datetime) -> str:
        return org.current_cycle(now.astimezone(org.person[person].zone).date()).key


class _SentLog:
    """Group commit of `mark_sent`: at most `size` sends are in flight unrecorded, so a crash
    can repeat only those few, while a fan-out of thousands writes a transaction per group."""

    def __init__(self, store: Store, *, at: datetime, size: int = 50) -> None:
        self.store = store
        self.at = at
        self.size = size
        self.pending: list[tuple[int, str]] = []

    async def add(self, prompt_id: int, ref: str) -> None:
        self.pending.append((prompt_id, ref))
        if len(self.pending) >= self.size:
            await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        await self.store.mark_sent_many(batch, at=self.at)


def _digest_targets(
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


def _valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


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
