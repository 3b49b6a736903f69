"""The check-in conversation: open the form, take it page by page, store it once.

Adapters hand over what a person did (opened the form from a prompt's button or a command,
submitted a page) and render what comes back: a `FormPage` to show, or `CheckedIn`. They
carry the form's `context` through the platform untouched and never parse it; the session
checks it on the way back against the person's own prompts and the calendar.

Whatever came in, a check-in answers its period: it closes the person's prompt for that
period (written then, already answered, when no tick asked yet), so nobody is prompted or
reminded again for it, and an edit is a revision of the same check-in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rhythm.cadences import RhythmKind, period_of
from rhythm.context import FormContext, layout_of
from rhythm.dialogs import DialogContext
from rhythm.due import NEEDS_KEY_RESULTS, prompt_for
from rhythm.errors import CommandError, NotYourPrompt, StaleForm
from rhythm.forms import (
    ASKS_BLOCKERS,
    FormErrors,
    answers_of,
    build_form,
    matching_options,
    normalised,
    picker_options,
    validate,
    with_live_blockers,
)
from rhythm.messages import Form, Notice, Option
from rhythm.okr import Organisation
from rhythm.orgcache import Organisations
from rhythm.people import People
from rhythm.ports import Answering, ChatGateway, Clock, DeliveryError, Store
from rhythm.prompting import TITLES, done_notice
from rhythm.records import ON_LEAVE, Draft, KrState, PromptRecord

log = logging.getLogger(__name__)

SNOOZE_FOR = timedelta(hours=2)
CHANGED = (
    "Your key results changed since this form was opened: check your answers and submit again."
)

# The field ids on each page of a form, in order: how the adapter lays the form out (a modal
# holds 100 blocks, a card about 28 KB). The session needs it to know what was submitted.
Pager = Callable[[Form], Sequence[Sequence[str]]]


def one_page(form: Form) -> list[list[str]]:
    return [[f.id for f in form.fields]]


@dataclass(frozen=True, slots=True)
class FormPage:
    """A page of the form to show. `form.context` names this page; `answers` (field id ->
    text) replace the form's prefills: what the person typed so far. `again`: the page just
    submitted comes back, with its errors or warnings (Slack shows those in place)."""

    form: Form
    page: int
    answers: Mapping[str, str | None]
    again: bool = False


@dataclass(frozen=True, slots=True)
class CheckedIn:
    notice: Notice
    checkin_id: int
    created: bool  # False: the same submission had been stored already (a double click)
    revision: int = 1  # 2 and more: an edit of a check-in stored before
    spontaneous: bool = False  # the period's first, and no prompt had reached the person


def prompt_id_of(value: object) -> int:
    """The prompt a button names; StaleForm when it is not a prompt button of ours."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < len(value) <= 18:
        return int(value)
    raise StaleForm("That button is not one I know any more. Type `checkin` to check in.")


class CheckInSession:
    def __init__(
        self, *, store: Store, orgs: Organisations, people: People, chat: ChatGateway, clock: Clock
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.people = people
        self.chat = chat
        self.clock = clock

    # ---- the form -----------------------------------------------------------------------

    async def open(
        self,
        org_key: str,
        who: str,
        *,
        prompt_id: int | None = None,
        kind: RhythmKind | None = None,
    ) -> FormPage:
        """The form for a prompt, else for the person's open prompt of `kind` (weekly by
        default), else for the current period: the first page, with any draft."""
        org, person = await self.people.person(org_key, who)
        if prompt_id is not None:
            asked = await self._own_prompt(org, person, prompt_id)
            context = FormContext(org.key, asked.kind, asked.period, asked.id)
            await self._check_open(org, person, context)
        else:
            kind = kind or RhythmKind.WEEKLY
            still_open = await self.people.open_prompts(org.key, person)
            prompt = next((p for p in still_open if p.kind is kind), None)
            period = prompt.period if prompt else self._current_period(org, person, kind)
            context = FormContext(org.key, kind, period, prompt.id if prompt else None)
        if context.kind in NEEDS_KEY_RESULTS and not org.key_results_of(person):
            raise CommandError("You own no key results, so there is nothing to check in on.")
        form, _ = await self._form(org, person, context)
        draft = await self.store.load_draft(org.key, person, context.draft_key)
        return _page(form, context, 0, draft.answers)

    async def submit(
        self,
        org_key: str,
        who: str,
        context: str,
        answers: Mapping[str, str | None],
        *,
        pager: Pager = one_page,
        idempotency_key: str | None = None,
    ) -> FormPage | CheckedIn:
        """One page of the form, submitted. Before the last page: its errors, or the next
        page. The last page: the whole check-in stored, or the page to fix (errors, or
        unusual values to confirm by submitting them again). Nothing is stored before the
        whole form is valid; the same submission twice is stored once."""
        org, person = await self.people.person(org_key, who)
        ctx = FormContext.parse(context)
        if ctx.org != org.key:
            raise StaleForm("This form belongs to another organisation's workspace.")
        await self._check_open(org, person, ctx)
        form, states = await self._form(org, person, ctx)
        pages = [list(p) for p in pager(form)]
        if ctx.page >= len(pages):
            raise StaleForm("This form is not one I can read any more. Type `checkin` again.")
        draft = await self.store.load_draft(org.key, person, ctx.draft_key)
        on_page = set(pages[ctx.page])
        # An input of the page that did not come back is empty; other ids are not this page's.
        merged = {**draft.answers, **{field: answers.get(field) for field in pages[ctx.page]}}
        if ctx.layout != layout_of(form):
            await self._keep(org, person, ctx, replace(draft, answers=merged))
            return _page(form.with_errors({"": CHANGED}), ctx, 0, merged)
        last = ctx.page == len(pages) - 1
        key = idempotency_key or _fingerprint(person, ctx.draft_key, merged)
        if last and (done := await self.store.find_checkin(org.key, key)):
            stored_at = done.submitted_at or self.clock.now()
            notice = done_notice(org, person, ctx.kind, ctx.period, stored_at, done)
            return CheckedIn(notice, done.id, created=False)
        now = self.clock.now()
        outcome = validate(
            org, person, ctx.kind, merged, cycle=self._cycle(org, person, now),
            expected_progress=self._elapsed(org, person, now), states=states,
            confirmed=draft.confirmed,
        )  # fmt: skip
        flagged = outcome if isinstance(outcome, FormErrors) else FormErrors()
        if not last:  # the pages after this one are checked when they are submitted
            flagged = _only(flagged, on_page)
        if flagged.errors or flagged.warnings:
            # A warned value submitted again unchanged is taken: remember what was warned.
            warned = {f: normalised(merged.get(f)) for f in flagged.warnings}
            await self._keep(org, person, ctx, Draft(merged, {**draft.confirmed, **warned}))
            page = _first_page(pages, {**flagged.errors, **flagged.warnings}, ctx.page)
            shown = form.with_errors(flagged.errors, flagged.warnings)
            return _page(shown, ctx, page, merged, again=page == ctx.page)
        if not last:
            await self._keep(org, person, ctx, replace(draft, answers=merged))
            return _page(form, ctx, ctx.page + 1, merged)
        if isinstance(outcome, FormErrors):  # a last page's errors and warnings are all shown
            raise AssertionError("unreachable")
        saved = await self.store.save_checkin(
            org.key, outcome, period=ctx.period, answering=self._answering(org, person, ctx, now),
            submitted_at=now, idempotency_key=key,
        )  # fmt: skip
        if draft.answers or draft.confirmed:
            await self.store.clear_draft(org.key, person, ctx.draft_key)
        notice = done_notice(org, person, ctx.kind, ctx.period, now, saved, outcome, states)
        if saved.created:  # a double submission that lost the race changes nothing
            await self._close_prompt(org, person, saved.prompt, notice)
        return CheckedIn(notice, saved.id, saved.created, saved.revision, saved.spontaneous)

    async def edit(self, org_key: str, who: str, checkin_id: int) -> FormPage:
        """A confirmation's Edit: the same form, prefilled with that check-in's latest
        revision, while its period takes answers. Submitted, it stores the next revision."""
        org, person = await self.people.person(org_key, who)
        stored = await self.store.stored_checkin(org.key, checkin_id)
        if stored is None or stored.person != person:
            raise StaleForm("That check-in is not yours or no longer exists.")
        context = FormContext(org.key, stored.kind, stored.period, stored.prompt_id)
        await self._check_open(org, person, context)
        form, _ = await self._form(org, person, context)
        answers = answers_of(stored.draft)
        shown = {f.id: answers[f.id] for f in form.fields if f.id in answers}
        await self._keep(org, person, context, Draft(shown))
        return _page(form, context, 0, shown)

    async def abandon(self, org_key: str, who: str, context: str) -> None:
        """The person left the form without checking in: what they typed on its pages is
        forgotten, so the form opens afresh next time, from where things stand. (A dialog's
        form keeps no draft: leaving it forgets nothing.)"""
        if DialogContext.read(context) is not None:
            return
        org, person = await self.people.person(org_key, who)
        ctx = FormContext.parse(context)
        if ctx.org != org.key:
            raise StaleForm("This form belongs to another organisation's workspace.")
        await self.store.clear_draft(org.key, person, ctx.draft_key)

    async def suggestions(
        self, org_key: str, who: str, field_id: str, typed: str, *, limit: int
    ) -> tuple[Option, ...]:
        """The options of the form's picker `field_id` that match what the person typed so
        far, at most `limit`: what a platform lists while they type ("Blocked by")."""
        org, person = await self.people.person(org_key, who)
        cycle = self._cycle(org, person, self.clock.now())
        return matching_options(picker_options(org, field_id, cycle), typed, limit=limit)

    # ---- the prompt's other buttons -----------------------------------------------------

    async def snooze(self, org_key: str, who: str, prompt_id: int) -> Notice:
        org, person = await self.people.person(org_key, who)
        await self._own_prompt(org, person, prompt_id)
        until = self.clock.now() + SNOOZE_FOR
        await self.store.snooze(prompt_id, until=until)
        zone = org.person[person].timezone
        local = until.astimezone(org.person[person].zone).strftime("%H:%M")
        return Notice(f"😴 Snoozed: I will remind you after {local} ({zone}).")

    async def snooze_open(self, org_key: str, who: str) -> Notice:
        """Snooze every open check-in of the person (`snooze` typed as a command)."""
        org, person = await self.people.person(org_key, who)
        notice = Notice("You have no open check-ins to snooze.")
        for prompt in await self.people.open_prompts(org.key, person):
            notice = await self.snooze(org.key, person, prompt.id)
        return notice

    async def skip_period(self, org_key: str, who: str, prompt_id: int) -> Notice:
        """ "I'm off this week": no reminders for this prompt, and the digest counts the person
        as on leave rather than missing."""
        org, person = await self.people.person(org_key, who)
        prompt = await self._own_prompt(org, person, prompt_id)
        if prompt.answered_at is not None:
            return Notice("You already checked in for this period: nothing to skip.")
        await self.store.mark_failed(prompt_id, at=self.clock.now(), error=ON_LEAVE)
        return Notice(f"🌴 Enjoy your time off. {prompt.period} is marked as leave; no reminders.")

    # ---- what a context may be ------------------------------------------------------------

    async def _own_prompt(self, org: Organisation, person: str, prompt_id: int) -> PromptRecord:
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or prompt.person != person:
            raise NotYourPrompt()
        return prompt

    async def _check_open(
        self, org: Organisation, person: str, ctx: FormContext
    ) -> PromptRecord | None:
        """The context's prompt (the person's own, of that kind and period), and whether its
        period still takes answers: the current one, or the prompt's until its deadline."""
        now = self.clock.now()
        current = self._current_period(org, person, ctx.kind)
        if ctx.prompt is None:
            if ctx.period != current:
                raise _closed(ctx)
            return None
        prompt = await self._own_prompt(org, person, ctx.prompt)
        if (prompt.kind, prompt.period) != (ctx.kind, ctx.period):
            raise StaleForm("This form does not match its check-in. Type `checkin` again.")
        if ctx.period != current and now > prompt.deadline:
            raise _closed(ctx)
        return prompt

    def _answering(
        self, org: Organisation, person: str, ctx: FormContext, now: datetime
    ) -> Answering:
        """The prompt this check-in answers: the form's own, else the one the person's
        rhythm has (or will have) for this period."""
        if ctx.prompt is not None:
            return Answering(prompt_id=ctx.prompt)
        rhythm = org.covering_rhythm(org.person[person], ctx.kind)
        due = prompt_for(org, rhythm, org.person[person], now) if rhythm else None
        return Answering(due=due if due and due.period == ctx.period else None)

    # ---- building and showing -------------------------------------------------------------

    async def _form(
        self, org: Organisation, person: str, ctx: FormContext
    ) -> tuple[Form, Mapping[str, KrState]]:
        """The form of `ctx`, prefilled with where things stand now (read, never cached)."""
        states = await self.store.kr_states(org.key, person)
        cycle = self._cycle(org, person, self.clock.now())
        owned = [kr.key for kr in org.key_results_of(person, cycle)]
        initiatives = await self.store.initiative_statuses(org.key, owned) if owned else {}
        form = build_form(
            org, person, ctx.kind, cycle=cycle, context="", states=states, initiatives=initiatives
        )
        if ctx.kind in ASKS_BLOCKERS and owned:
            found = await self.store.blockers(org.key, key_results=owned)
            form = with_live_blockers(
                form, {b.key_result: b for b in found if b.raised_by == person}
            )
        return form, states

    async def _keep(self, org: Organisation, person: str, ctx: FormContext, draft: Draft) -> None:
        await self.store.save_draft(org.key, person, ctx.draft_key, draft)

    async def _close_prompt(
        self, org: Organisation, person: str, prompt: PromptRecord | None, notice: Notice
    ) -> None:
        """The prompt's message now says what was stored."""
        if prompt is None or not prompt.message_ref:
            return
        try:
            await self.chat.update_direct(org.key, org.person[person], prompt.message_ref, notice)
        except DeliveryError as error:  # the check-in is stored; a stale button is harmless
            log.warning("could not mark prompt %s done in chat: %s", prompt.id, error)

    def _current_period(self, org: Organisation, person: str, kind: RhythmKind) -> str:
        now = self.clock.now()
        today = now.astimezone(org.person[person].zone).date()
        return period_of(kind, today, self._cycle(org, person, now))

    @staticmethod
    def _cycle(org: Organisation, person: str, now: datetime) -> str:
        return org.current_cycle(now.astimezone(org.person[person].zone).date()).key

    @staticmethod
    def _elapsed(org: Organisation, person: str, now: datetime) -> float:
        today = now.astimezone(org.person[person].zone).date()
        return org.current_cycle(today).elapsed_share(today)


def _page(
    form: Form,
    ctx: FormContext,
    page: int,
    answers: Mapping[str, str | None],
    *,
    again: bool = False,
) -> FormPage:
    shown = replace(form, context=ctx.at(page, layout_of(form)).dump())
    return FormPage(shown, page, dict(answers), again)


def _closed(ctx: FormContext) -> StaleForm:
    return StaleForm(
        f"The {TITLES[ctx.kind].lower()} for {ctx.period} is closed. "
        "Type `checkin` for the current one."
    )


def _only(outcome: FormErrors, fields: set[str]) -> FormErrors:
    return FormErrors(
        {k: v for k, v in outcome.errors.items() if k in fields},
        {k: v for k, v in outcome.warnings.items() if k in fields},
    )


def _first_page(pages: Sequence[Sequence[str]], flagged: Mapping[str, str], fallback: int) -> int:
    """The first page holding a flagged field (`fallback` for form-wide errors only)."""
    found = [n for n, page in enumerate(pages) if any(f in flagged for f in page)]
    return min(found, default=fallback)


def _fingerprint(person: str, draft_key: str, answers: Mapping[str, str | None]) -> str:
    """Two identical submissions of the same form are one check-in (double clicks, retries)."""
    payload = json.dumps([person, draft_key, sorted((k, v or "") for k, v in answers.items())])
    return hashlib.sha256(payload.encode()).hexdigest()
