"""The whole check-in flow through the real service and a real database (both backends):
tick, prompt, form, validation, storage, reminders, digests. Only chat is the console."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.cadences import RhythmKind
from rhythm.due import due_prompts
from rhythm.messages import DigestMessage, Message, Notice
from rhythm.okr import Organisation, Person
from rhythm.ports import DeliveryError, FixedClock
from rhythm.prompting import OPEN
from rhythm.service import Accepted, Drumbeat, Rejected
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

    async def send_direct(self, org: str, person: Person, message: Message) -> str:
        if person.email in self.failures:
            raise self.failures[person.email]
        return await super().send_direct(org, person, message)


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


@pytest.fixture
async def world(store: SqlStore) -> AsyncIterator[World]:
    org = load_organisation(ACME)
    await store.save_organisation(org)
    clock = FixedClock(MONDAY)
    chat = FlakyGateway(console=Console(file=io.StringIO(), width=120))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    drumbeat = Drumbeat(store=store, chat=router, clock=clock, worker="test")
    return World(org, store, drumbeat, chat, clock)


def valid_answers(form_fields: list[str], initial: dict[str, str | None]) -> dict:
    answers: dict[str, str | None] = {}
    for fid in form_fields:
        answers[fid] = initial[fid] or ""
        if fid.endswith(":value"):
            answers[fid] = "42"
        elif fid.endswith(":confidence"):
            answers[fid] = "7"
        elif fid.endswith(":moved"):
            answers[fid] = "Ran the pricing experiment"
    return answers


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
    form = await world.drumbeat.open_form("acme", PARIS_OWNER, prompt_id=prompt_id)
    fields = [f.id for f in form.fields]
    answers = valid_answers(fields, {f.id: f.initial for f in form.fields})
    value_field = next(f for f in fields if f.endswith(":value"))
    conf_field = next(f for f in fields if f.endswith(":confidence"))

    world.clock.set(MONDAY + timedelta(hours=9, minutes=14))
    rejected = await world.drumbeat.submit(
        "acme", PARIS_OWNER, form.context, {**answers, value_field: "ten", conf_field: "11"}
    )
    assert isinstance(rejected, Rejected)
    assert set(rejected.form.errors) == {value_field, conf_field}
    assert "not a number" in rejected.form.errors[value_field]
    assert await world.store.last_answers("acme", PARIS_OWNER) == {}
    assert (await world.store.get_prompt("acme", prompt_id)).answered_at is None

    accepted = await world.drumbeat.submit("acme", PARIS_OWNER, form.context, answers)
    assert isinstance(accepted, Accepted)
    assert accepted.created
    assert accepted.notice.title == "✅ Checked in at 10:14"  # Paris time
    stored = await world.store.get_prompt("acme", prompt_id)
    assert stored.answered_at == MONDAY + timedelta(hours=9, minutes=14)
    (answer,) = (await world.store.last_answers("acme", PARIS_OWNER)).values()
    assert (answer.value, answer.confidence) == (42.0, 7)
    updates = [s for s in world.chat.sent_to(PARIS_OWNER) if s.updates is not None]
    assert [u.updates for u in updates] == [stored.message_ref.partition("|")[2]]

    again = await world.drumbeat.submit("acme", PARIS_OWNER, form.context, answers)
    assert isinstance(again, Accepted)
    assert not again.created
    assert again.checkin_id == accepted.checkin_id


async def test_reminders_go_only_to_people_who_have_not_answered(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    form = await world.drumbeat.open_form(
        "acme", PARIS_OWNER, prompt_id=world.prompt_id(PARIS_OWNER)
    )
    answers = valid_answers([f.id for f in form.fields],
                            {f.id: f.initial for f in form.fields})  # fmt: skip
    assert isinstance(await world.drumbeat.submit("acme", PARIS_OWNER, form.context, answers),
                      Accepted)  # fmt: skip
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
    world.drumbeat.forget()
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
    form = await world.drumbeat.open_form(
        "acme", PARIS_OWNER, prompt_id=world.prompt_id(PARIS_OWNER)
    )
    answers = valid_answers([f.id for f in form.fields],
                            {f.id: f.initial for f in form.fields})  # fmt: skip
    await world.drumbeat.submit("acme", PARIS_OWNER, form.context, answers)
    deadline = MONDAY + timedelta(days=2, hours=9)  # Monday 10:00 Paris + 2 days
    await world.tick(deadline - timedelta(minutes=1))
    posts = [s for s in world.chat.outbox if s.to == "#acme-okrs"]
    assert posts == []
    await world.tick(deadline)
    posts = [s for s in world.chat.outbox if s.to == "#acme-okrs"]
    top = [p for p in posts if p.thread is None]
    assert len(top) == 1
    assert isinstance(top[0].message, DigestMessage)
    digest = top[0].message.digest
    assert digest.kind is RhythmKind.WEEKLY
    assert digest.period == "2026-W48"
    assert digest.participation.answered == 1
    assert "Lucas Bernard" not in digest.participation.missing
    replies = [p for p in posts if p.thread == top[0].ref]
    assert {r.message.digest.team for r in replies} == set(world.org.child_teams("acme"))
    await world.tick(deadline + timedelta(minutes=1))
    assert len([s for s in world.chat.outbox if s.to == "#acme-okrs" and s.thread is None]) == 1
