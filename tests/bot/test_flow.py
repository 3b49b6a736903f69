"""The whole check-in flow through the real service and a real database (both backends):
tick, prompt, form, validation, storage, reminders, digests. Only chat is the console."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.cadences import RhythmKind
from rhythm.checkin import CheckedIn, FormPage
from rhythm.commands import run_command
from rhythm.context import FormContext
from rhythm.digest_model import Digest
from rhythm.due import due_prompts
from rhythm.errors import NotYourPrompt, StaleForm
from rhythm.markup import plain
from rhythm.messages import Form, Message, Notice, Report
from rhythm.okr import Organisation, Person
from rhythm.ports import DeliveryError, FixedClock, Leaving, NotLinked
from rhythm.prompting import OPEN
from rhythm.service import Drumbeat
from rhythm.ticking import LINK_RECHECK
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
PARIS_LEAD = "claire.martin@acme.example"  # acme lead, Paris: weekly at 10:00, leads 1 h early
PARIS_OWNER = "lucas.bernard@acme.example"  # growth member, Paris, one key result


class FlakyGateway(ConsoleGateway):
    """The console, with chosen people unreachable: for delivery-failure paths."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.failures: dict[str, DeliveryError] = {}

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if person.email in self.failures:
            raise self.failures[person.email]
        return await super().send_direct(org, person, message, tag=tag, leaving=leaving)


@dataclass
class World:
    org: Organisation
    store: SqlStore
    drumbeat: Drumbeat
    chat: FlakyGateway
    clock: FixedClock

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.drumbeat.tick(at)

    def prompts_to(self, email: str) -> list[Notice]:
        return [
            s.message
            for s in self.chat.sent_to(email)
            if isinstance(s.message, Notice) and s.updates is None
        ]

    def prompt_id(self, email: str) -> int:
        notice = self.prompts_to(email)[-1]
        return int(next(a.value for a in notice.actions if a.id == OPEN))

    async def check_in(
        self, email: str, *, prompt: bool = True, **changes: str
    ) -> CheckedIn | FormPage:
        """Open the form (from the prompt, else as `checkin` does) and submit valid answers
        with `changes` (field suffix -> answer, e.g. value="520")."""
        page = await self.drumbeat.checkins.open(
            "acme", email, prompt_id=self.prompt_id(email) if prompt else None
        )
        answers = valid_answers(page.form, changes)
        return await self.drumbeat.checkins.submit("acme", email, page.form.context, answers)


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[World]:
    org = load_organisation(ACME)
    await store.save_organisation(org)
    clock = FixedClock(MONDAY)
    chat = FlakyGateway(console=Console(file=io.StringIO(), width=120))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    drumbeat = Drumbeat(store=store, chat=router, clock=clock, worker="test")
    return World(org, store, drumbeat, chat, clock)


DEFAULTS = {"value": "42", "confidence": "7", "moved": "Ran the pricing experiment"}


def valid_answers(form: Form, changes: dict[str, str] | None = None) -> dict[str, str | None]:
    """Every field answered: its prefill, or a valid default; `changes` by field suffix."""
    wanted = {**DEFAULTS, **(changes or {})}
    return {
        f.id: wanted.get(f.id.rsplit(":", 1)[-1], f.initial or "")
        if f.id.startswith("kr:")
        else f.initial or ""
        for f in form.fields
    }


async def test_a_tick_prompts_exactly_the_people_due_and_a_second_tick_adds_nothing(world: World):
    at = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris
    await world.tick(at)
    expected = {p.person for p in due_prompts(world.org, at) if p.deadline > at}
    prompted = {s.to for s in world.chat.outbox}
    assert prompted == expected
    assert PARIS_LEAD in prompted
    assert PARIS_OWNER in prompted
    assert "ananya.iyer@acme.example" not in prompted  # Kolkata's weekly is Tuesday 11:30
    count = len(world.chat.outbox)
    await world.tick(at)
    await world.tick(at + timedelta(minutes=1))
    assert len(world.chat.outbox) == count


async def test_leads_are_prompted_an_hour_before_their_team(world: World):
    await world.tick(MONDAY + timedelta(hours=8, minutes=1))  # 09:01 Paris
    assert world.prompts_to(PARIS_LEAD)
    assert not world.prompts_to(PARIS_OWNER)
    await world.tick(MONDAY + timedelta(hours=9, minutes=1))
    assert world.prompts_to(PARIS_OWNER)


async def test_an_invalid_submission_stores_nothing_and_a_valid_one_closes_the_prompt(
    world: World,
):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    prompt_id = world.prompt_id(PARIS_OWNER)
    page = await world.drumbeat.checkins.open("acme", PARIS_OWNER, prompt_id=prompt_id)
    answers = valid_answers(page.form)
    value_field = next(f for f in answers if f.endswith(":value"))
    conf_field = next(f for f in answers if f.endswith(":confidence"))
    context = page.form.context
    before = await world.store.kr_states("acme", PARIS_OWNER)

    world.clock.set(MONDAY + timedelta(hours=9, minutes=14))
    rejected = await world.drumbeat.checkins.submit(
        "acme", PARIS_OWNER, context, {**answers, value_field: "ten", conf_field: "11"}
    )
    assert isinstance(rejected, FormPage)
    assert set(rejected.form.errors) == {value_field, conf_field}
    assert "not a number" in rejected.form.errors[value_field]
    assert rejected.answers[value_field] == "ten"  # shown again as typed
    assert await world.store.kr_states("acme", PARIS_OWNER) == before
    assert (await world.store.get_prompt("acme", prompt_id)).answered_at is None

    accepted = await world.drumbeat.checkins.submit("acme", PARIS_OWNER, context, answers)
    assert isinstance(accepted, CheckedIn)
    assert accepted.created
    assert accepted.notice.title == "✅ Checked in at 10:14 (Europe/Paris)"
    stored = await world.store.get_prompt("acme", prompt_id)
    assert stored.answered_at == MONDAY + timedelta(hours=9, minutes=14)
    (answer,) = (await world.store.kr_states("acme", PARIS_OWNER)).values()
    assert (answer.value, answer.confidence) == (42.0, 7)
    updates = [s for s in world.chat.sent_to(PARIS_OWNER) if s.updates is not None]
    assert [u.updates for u in updates] == [stored.message_ref.partition("|")[2]]

    again = await world.drumbeat.checkins.submit("acme", PARIS_OWNER, context, answers)
    assert isinstance(again, CheckedIn)
    assert not again.created
    assert again.checkin_id == accepted.checkin_id


async def test_the_confirmation_says_what_was_stored(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    [kr] = world.org.key_results_of(PARIS_OWNER)
    assert kr.metric is not None
    was = kr.metric.current

    done = await world.check_in(PARIS_OWNER, value="58", confidence="7", status="at_risk")

    assert isinstance(done, CheckedIn)
    unit = kr.metric.unit
    assert done.notice.lines[1] == (
        f"{kr.title}: 58{unit} (was {was:g}{unit}) · confidence 7 · at risk"
    )


async def test_reminders_go_only_to_people_who_have_not_answered(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    assert isinstance(await world.check_in(PARIS_OWNER), CheckedIn)
    for minutes in range(0, 60 * 10, 15):  # the rest of Monday, every quarter hour
        await world.tick(MONDAY + timedelta(hours=9, minutes=5 + minutes))

    def reminders(email: str) -> list[Notice]:
        return [n for n in world.prompts_to(email) if n.title.startswith("Reminder")]

    assert reminders(PARIS_OWNER) == []
    julien = "julien.moreau@acme.example"  # Paris, did not answer: reminded at +4 h and +8 h
    assert [n.title.split(":")[0] for n in reminders(julien)] == ["Reminder 1", "Reminder 2"]
    await world.tick(MONDAY + timedelta(days=1, hours=9))
    assert len(reminders(julien)) == 2  # max_reminders


async def test_a_reminder_due_in_quiet_hours_waits_for_the_morning(world: World):
    weekly = next(r for r in world.org.rhythms if r.key == "acme-weekly")
    slower = replace(weekly, reminder_after=timedelta(hours=5))
    org = replace(world.org, rhythms=tuple(slower if r is weekly else r for r in world.org.rhythms))
    await world.store.save_organisation(org)
    person = world.org.person[PARIS_OWNER]
    reminded_at = []
    for quarter in range(4 * 30):  # Monday 09:00 UTC and the 30 hours after, every 15 minutes
        before = len(world.prompts_to(PARIS_OWNER))
        await world.tick(MONDAY + timedelta(hours=9, minutes=15 * quarter))
        if len(world.prompts_to(PARIS_OWNER)) > before and before:
            reminded_at.append(world.clock.now().astimezone(person.zone))
    # Prompted at 10:00; reminder 1 at 15:00; reminder 2 falls due at 20:00, in quiet hours
    # (19:00-08:00), so it waits until 08:00 on Tuesday.
    assert [(t.strftime("%a %H:%M")) for t in reminded_at] == ["Mon 15:00", "Tue 08:00"]


async def test_a_permanent_failure_is_recorded_once_and_never_retried(world: World):
    world.chat.failures[PARIS_OWNER] = DeliveryError("user_not_found", permanent=True)
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    await world.tick(at + timedelta(minutes=10))
    failed = await world.store.failed_prompts("acme")
    assert [(p.person, p.failure) for p in failed] == [(PARIS_OWNER, "user_not_found")]


async def test_someone_unreachable_who_then_talks_to_the_bot_gets_the_periods_prompt(
    world: World,
):
    """Lucas had not installed the app when the weekly went out at 10:00; at 14:00 he does
    (or writes to the bot): the next tick sends him this week's check-in, once."""
    world.chat.failures[PARIS_OWNER] = DeliveryError("no Teams account linked", permanent=True)
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    assert [p.person for p in await world.store.failed_prompts("acme")] == [PARIS_OWNER]
    del world.chat.failures[PARIS_OWNER]
    await world.tick(at + timedelta(minutes=10))
    assert not world.prompts_to(PARIS_OWNER)  # failed for good: no retry by itself

    afternoon = MONDAY + timedelta(hours=13)
    world.clock.set(afternoon)
    await world.drumbeat.people.reachable("acme", PARIS_OWNER)
    await world.tick(afternoon + timedelta(minutes=1))
    await world.tick(afternoon + timedelta(minutes=2))

    assert len(world.prompts_to(PARIS_OWNER)) == 1
    assert await world.store.failed_prompts("acme") == []
    await world.drumbeat.people.reachable("acme", PARIS_OWNER)  # nothing more to revive
    await world.tick(afternoon + timedelta(minutes=3))
    assert len(world.prompts_to(PARIS_OWNER)) == 1


async def test_a_prompt_whose_deadline_passed_stays_failed_when_its_person_comes_back(
    world: World,
):
    world.chat.failures[PARIS_OWNER] = DeliveryError("no Teams account linked", permanent=True)
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    del world.chat.failures[PARIS_OWNER]
    [failed] = await world.store.failed_prompts("acme")

    late = failed.deadline + timedelta(minutes=1)
    world.clock.set(late)
    await world.drumbeat.people.reachable("acme", PARIS_OWNER)
    await world.tick(late + timedelta(minutes=1))

    assert not world.prompts_to(PARIS_OWNER)
    assert [p.id for p in await world.store.failed_prompts("acme")] == [failed.id]


CLAIRE = "claire.martin@acme.example"  # the top team's lead: an admin


def admin_notices(world: World) -> list[str]:
    said = [s.message for s in world.chat.sent_to(CLAIRE) if isinstance(s.message, Notice)]
    return [n.title for n in said if "could not be delivered" in n.title]


async def test_someone_not_linked_yet_waits_and_is_prompted_as_soon_as_they_are_linked(
    world: World,
):
    """Lucas has no chat account Drumbeat knows at 10:00: nothing failed, nobody is alarmed,
    and the tick right after he is linked sends this week's check-in, once."""
    world.chat.failures[PARIS_OWNER] = NotLinked("Teams has not introduced them to the bot yet")
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    report = await world.drumbeat.tick(at + timedelta(minutes=1))
    assert report.failed == 0
    assert await world.store.failed_prompts("acme") == []
    assert admin_notices(world) == []
    open_now = await world.store.open_prompts("acme", PARIS_OWNER, now=at)
    [waiting] = [p for p in open_now if p.waiting_for_link]
    assert waiting.waiting_since == at

    del world.chat.failures[PARIS_OWNER]
    soon = at + timedelta(minutes=5)
    await world.tick(soon)
    assert not world.prompts_to(PARIS_OWNER)  # it looks again by itself only every 10 minutes
    await world.drumbeat.people.link(
        "acme", PARIS_OWNER, platform="teams", user_id="aad-lucas", timezone=None
    )
    await world.tick(soon + timedelta(seconds=30))
    await world.tick(soon + timedelta(minutes=1))

    assert len(world.prompts_to(PARIS_OWNER)) == 1
    assert admin_notices(world) == []


async def test_someone_linked_while_their_send_was_under_way_is_prompted_on_the_next_tick(
    world: World,
):
    """The link lands between the tick reading the tree and the send failing for want of
    it: the wake finds the prompt claimed, so the tick itself looks again at once."""
    world.chat.failures[PARIS_OWNER] = NotLinked("Teams has not introduced them to the bot yet")
    real_send = world.chat.send_direct

    async def linked_meanwhile(org: str, person: Person, message: Message, **kw: Any) -> str:
        if person.email == PARIS_OWNER and PARIS_OWNER in world.chat.failures:
            await world.drumbeat.people.link(
                "acme", PARIS_OWNER, platform="teams", user_id="aad-lucas", timezone=None
            )
            raise world.chat.failures.pop(PARIS_OWNER)
        return await real_send(org, person, message, **kw)

    world.chat.send_direct = linked_meanwhile  # type: ignore[method-assign]
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)  # may send it already, if this tick claims again after the release
    await world.tick(at + timedelta(seconds=30))

    assert len(world.prompts_to(PARIS_OWNER)) == 1


async def test_someone_not_linked_yet_is_looked_for_again_now_and_then(world: World):
    """A Slack user who accepts the invitation says nothing to the bot: the waiting prompt
    looks again by itself."""
    world.chat.failures[PARIS_OWNER] = NotLinked("no one in the Slack workspace has their email")
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    del world.chat.failures[PARIS_OWNER]
    await world.tick(at + LINK_RECHECK - timedelta(seconds=1))
    assert not world.prompts_to(PARIS_OWNER)
    await world.tick(at + LINK_RECHECK)
    assert len(world.prompts_to(PARIS_OWNER)) == 1


async def test_someone_linked_after_the_deadline_is_not_asked_any_more(world: World):
    world.chat.failures[PARIS_OWNER] = NotLinked("Teams has not introduced them to the bot yet")
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    del world.chat.failures[PARIS_OWNER]
    deadline = max(d.deadline for d in due_prompts(world.org, at) if d.person == PARIS_OWNER)
    late = deadline + timedelta(minutes=1)
    world.clock.set(late)
    await world.drumbeat.people.link(
        "acme", PARIS_OWNER, platform="teams", user_id="aad-lucas", timezone=None
    )
    await world.tick(late + timedelta(minutes=1))

    assert not world.prompts_to(PARIS_OWNER)
    assert await world.store.failed_prompts("acme") == []


async def test_a_transient_failure_is_retried_after_retry_after(world: World):
    world.chat.failures[PARIS_OWNER] = DeliveryError(
        "ratelimited", permanent=False, retry_after=120
    )
    at = MONDAY + timedelta(hours=9, minutes=5)
    await world.tick(at)
    assert not world.prompts_to(PARIS_OWNER)
    del world.chat.failures[PARIS_OWNER]
    await world.tick(at + timedelta(minutes=1))
    assert not world.prompts_to(PARIS_OWNER)  # still waiting for Retry-After
    await world.tick(at + timedelta(minutes=3))
    assert len(world.prompts_to(PARIS_OWNER)) == 1
    assert await world.store.failed_prompts("acme") == []


async def test_after_downtime_the_current_period_is_caught_up_once_and_older_ones_never(
    world: World,
):
    await world.tick(MONDAY - timedelta(days=7) + timedelta(hours=12))  # last week, then down
    last_week = len(world.chat.outbox)
    await world.tick(MONDAY + timedelta(days=2, hours=12))  # back on Wednesday
    new = world.chat.outbox[last_week:]
    periods = {n.message.title.split("· ")[-1] for n in new if isinstance(n.message, Notice)}
    assert periods == {"2026-W48", "2026-11-25"} or periods == {"2026-W48"}
    assert PARIS_OWNER in {s.to for s in new}
    before = len(world.chat.outbox)
    await world.tick(MONDAY + timedelta(days=2, hours=12, minutes=1))
    assert len(world.chat.outbox) == before


async def test_the_weekly_digest_reaches_its_channel_at_the_deadline(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    assert isinstance(await world.check_in(PARIS_OWNER), CheckedIn)
    deadline = MONDAY + timedelta(days=2, hours=9)  # Monday 10:00 Paris + 2 days
    await world.tick(deadline - timedelta(minutes=1))
    posts = [s for s in world.chat.outbox if s.to == "#acme-okrs"]
    assert posts == []
    await world.tick(deadline)
    posts = [s for s in world.chat.outbox if s.to == "#acme-okrs"]
    top = [p for p in posts if p.thread is None]
    assert len(top) == 1
    report = top[0].message
    assert isinstance(report, Report)
    assert report.tag == "digest:weekly"
    assert "2026-W48" in report.summary
    assert report.facts[0].startswith("1/")
    assert "Lucas Bernard" not in report.footer
    replies = [p for p in posts if p.thread == top[0].ref]
    names = {world.org.team[t].name for t in world.org.child_teams("acme")}
    assert {plain(r.message.title).split(" · ")[0].removeprefix("📣 ") for r in replies} == names
    await world.tick(deadline + timedelta(minutes=1))
    assert len([s for s in world.chat.outbox if s.to == "#acme-okrs" and s.thread is None]) == 1


# ---- one answer per person per period -----------------------------------------------------

EARLY = MONDAY + timedelta(hours=8, minutes=30)  # 09:30 in Paris: before Lucas's 10:00 prompt
PROMPT_TIME = MONDAY + timedelta(hours=9, minutes=5)
DEADLINE = MONDAY + timedelta(days=2, hours=9)  # Wednesday 10:00 in Paris


async def weekly_digest(world: World, team: str = "growth") -> Digest:
    return await world.drumbeat.digests.digest("acme", team, at=world.clock.now())


async def test_a_check_in_before_the_prompt_answers_the_period(world: World):
    world.clock.set(EARLY)
    assert isinstance(await world.check_in(PARIS_OWNER, prompt=False), CheckedIn)

    for minutes in range(0, 60 * 12, 15):  # the prompt's time, and reminders' times, pass
        await world.tick(PROMPT_TIME + timedelta(minutes=minutes))

    assert world.prompts_to(PARIS_OWNER) == []  # neither prompted nor reminded
    assert world.prompts_to("julien.moreau@acme.example")  # the others were
    part = (await weekly_digest(world)).participation
    assert "Lucas Bernard" not in part.pending + part.missing
    assert part.spontaneous == 1
    assert (part.checked_in, part.on_time) == (1, 0)  # counted once: nobody had asked him


async def test_a_command_check_in_answers_the_open_prompt_and_updates_its_message(world: World):
    await world.tick(PROMPT_TIME)
    prompt_id = world.prompt_id(PARIS_OWNER)

    reply = await run_command(world.drumbeat, "acme", PARIS_OWNER, "checkin")
    assert reply.form is not None
    answers = valid_answers(reply.form.form)
    context = reply.form.form.context
    done = await world.drumbeat.checkins.submit("acme", PARIS_OWNER, context, answers)

    assert isinstance(done, CheckedIn)
    stored = await world.store.get_prompt("acme", prompt_id)
    assert stored is not None
    assert stored.answered_at is not None
    updated = [s for s in world.chat.sent_to(PARIS_OWNER) if s.updates is not None]
    assert [u.updates for u in updated] == [stored.message_ref.partition("|")[2]]
    part = (await weekly_digest(world)).participation
    assert part.spontaneous == 0  # he was asked


async def test_an_edit_is_a_revision_never_another_contribution(world: World):
    await world.tick(PROMPT_TIME)
    assert isinstance(await world.check_in(PARIS_OWNER), CheckedIn)
    world.clock.set(PROMPT_TIME + timedelta(hours=1))
    again = await world.check_in(PARIS_OWNER, prompt=False, value="43")

    assert isinstance(again, CheckedIn)
    assert "revision 2" in again.notice.lines[0]
    part = (await weekly_digest(world)).participation
    assert part.spontaneous == 0
    (state,) = (await world.store.kr_states("acme", PARIS_OWNER)).values()
    assert state.value == 43


async def test_an_unusual_value_is_confirmed_by_submitting_it_again(world: World):
    await world.tick(PROMPT_TIME)
    [kr] = world.org.key_results_of(PARIS_OWNER)
    assert kr.metric is not None
    far = str(kr.metric.target + 3 * abs(kr.metric.target - kr.metric.start))
    page = await world.drumbeat.checkins.open(
        "acme", PARIS_OWNER, prompt_id=world.prompt_id(PARIS_OWNER)
    )
    answers = {**valid_answers(page.form), f"kr:{kr.key}:value": far}
    before = await world.store.kr_states("acme", PARIS_OWNER)

    warned = await world.drumbeat.checkins.submit("acme", PARIS_OWNER, page.form.context, answers)

    assert isinstance(warned, FormPage)
    assert warned.again
    assert list(warned.form.warnings) == [f"kr:{kr.key}:value"]
    assert warned.form.errors == {}
    assert await world.store.kr_states("acme", PARIS_OWNER) == before  # nothing stored yet
    stored = await world.drumbeat.checkins.submit("acme", PARIS_OWNER, warned.form.context, answers)
    assert isinstance(stored, CheckedIn)
    (state,) = (await world.store.kr_states("acme", PARIS_OWNER)).values()
    assert state.value == float(far)


async def test_a_stale_or_tampered_form_is_refused_with_a_message(world: World):
    await world.tick(PROMPT_TIME)
    mine = await world.drumbeat.checkins.open(
        "acme", PARIS_OWNER, prompt_id=world.prompt_id(PARIS_OWNER)
    )
    someone_else = "julien.moreau@acme.example"
    context = FormContext.parse(mine.form.context)
    answers = valid_answers(mine.form)
    submit = world.drumbeat.checkins.submit

    with pytest.raises(NotYourPrompt):  # Lucas's prompt, submitted as Julien
        await submit("acme", someone_else, mine.form.context, answers)
    with pytest.raises(StaleForm, match="another organisation"):
        await submit("acme", PARIS_OWNER, replace(context, org="other").dump(), answers)
    last_week = replace(context, prompt=None, period="2026-W47").dump()
    with pytest.raises(StaleForm, match="closed"):
        await submit("acme", PARIS_OWNER, last_week, answers)
    with pytest.raises(StaleForm, match="does not match"):  # the prompt is weekly
        await submit("acme", PARIS_OWNER, replace(context, kind=RhythmKind.DAILY,
                                                  period="2026-11-23").dump(), answers)  # fmt: skip
    with pytest.raises(StaleForm):
        await submit("acme", PARIS_OWNER, replace(context, page=7).dump(), answers)
    invented = '{"v":1,"o":"acme","k":"weekly","p":"2026-W48","r":"abc","g":0,"f":""}'
    with pytest.raises(StaleForm):
        await submit("acme", PARIS_OWNER, invented, answers)
    changed = await submit("acme", PARIS_OWNER, replace(context, layout="other").dump(), answers)
    assert isinstance(changed, FormPage)
    assert "changed" in changed.form.errors[""]
    assert (await world.store.get_prompt("acme", context.prompt or 0)).answered_at is None


async def test_a_period_that_closed_is_refused_from_its_prompt_too(world: World):
    await world.tick(PROMPT_TIME)
    prompt_id = world.prompt_id(PARIS_OWNER)
    world.clock.set(MONDAY + timedelta(days=8))  # next week, past the deadline
    with pytest.raises(StaleForm, match="closed"):
        await world.drumbeat.checkins.open("acme", PARIS_OWNER, prompt_id=prompt_id)


async def test_a_rhythm_moved_earlier_and_a_person_added_are_prompted_this_period(world: World):
    weekly = next(r for r in world.org.rhythms if r.key == "acme-weekly")
    later = replace(weekly, local_time=time(16, 0))
    org = replace(world.org, rhythms=tuple(later if r is weekly else r for r in world.org.rhythms))
    await world.store.save_organisation(org)
    noon = MONDAY + timedelta(hours=11)  # 12:00 in Paris: the 16:00 prompts are not due
    await world.tick(noon)
    assert world.prompts_to(PARIS_OWNER) == []

    newcomer = replace(world.org.person[PARIS_OWNER], email="nina.new@acme.example", name="Nina")
    lucas_kr = world.org.key_results_of(PARIS_OWNER)[0]
    her_kr = replace(lucas_kr, key="kr-nina", owner=newcomer.email)
    # The file moved back to 10:00 and gained Nina, imported at noon.
    grown = replace(
        world.org,
        people=(*world.org.people, newcomer),
        key_results=(*world.org.key_results, her_kr),
    )
    await world.store.save_organisation(grown)

    await world.tick(noon + timedelta(minutes=1))
    assert len(world.prompts_to(PARIS_OWNER)) == 1  # 10:00 has passed: prompted now
    assert len(world.prompts_to(newcomer.email)) == 1
    await world.tick(noon + timedelta(minutes=2))
    assert len(world.prompts_to(PARIS_OWNER)) == 1  # once


async def test_after_a_crash_only_the_sends_that_had_left_are_in_doubt(world: World):
    """The fan-out is cut off while one DM is on its way and the others wait for their rate
    limit slot: only that one is in doubt (to be looked up before sending again); the queued
    ones are plain unsent prompts."""
    on_the_wire, never = asyncio.Event(), asyncio.Event()

    async def slow_send(org: str, person: Person, message: Message, *, tag: str | None = None,
                        leaving: Leaving | None = None) -> str:  # fmt: skip
        if person.email != PARIS_OWNER:
            await never.wait()  # queued behind the rate limit
        assert leaving is not None
        await leaving()
        on_the_wire.set()
        await never.wait()  # sent, and the process dies before the answer
        raise AssertionError("unreachable")

    world.chat.send_direct = slow_send  # type: ignore[method-assign]
    tick = asyncio.create_task(world.tick(MONDAY + timedelta(hours=9, minutes=5)))
    await asyncio.wait_for(on_the_wire.wait(), 5)
    tick.cancel()  # kill -9, as far as the database can tell
    with contextlib.suppress(asyncio.CancelledError):
        await tick

    found = [await world.store.get_prompt("acme", n) for n in range(1, 200)]
    prompts = [p for p in found if p is not None]
    assert len(prompts) > 1
    assert [p.person for p in prompts if p.in_doubt] == [PARIS_OWNER]
