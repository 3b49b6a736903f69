"""A confirmation's "Checked in at 22:43" always says which timezone 22:43 is in: the person's
own, on every path (a check-in, the same one submitted twice, a revision after they changed
their timezone) and on every adapter (Slack, Teams, the terminal); so do a reminder's deadline
and a snooze's end."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.console.render import render
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.slack.blocks import fallback_text, message_chunks
from bot.teams.cards import done_card
from rhythm.cadences import RhythmKind
from rhythm.checkin import CheckedIn
from rhythm.commands import run_command
from rhythm.messages import Notice
from rhythm.ports import FixedClock
from rhythm.prompting import reminder_notice
from rhythm.records import PromptRecord
from rhythm.service import Drumbeat
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
LUCAS = "lucas.bernard@acme.example"  # Europe/Paris in the OKR file
LATE = datetime(2026, 11, 25, 21, 43, tzinfo=UTC)  # 22:43 in Paris, 16:43 in New York


@pytest.fixture
async def drumbeat(store: SqlStore) -> Drumbeat:
    await store.save_organisation(load_organisation(ACME))
    chat = ConsoleGateway(console=Console(file=io.StringIO()))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    return Drumbeat(store=store, chat=router, clock=FixedClock(LATE))


async def check_in(drumbeat: Drumbeat, confidence: str = "7") -> CheckedIn:
    page = await drumbeat.checkins.open("acme", LUCAS)
    answers = {f.id: f.initial for f in page.form.fields}
    answers |= {f.id: confidence for f in page.form.fields if f.id.endswith(":confidence")}
    outcome = await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)
    assert isinstance(outcome, CheckedIn), outcome
    again = await drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)
    assert isinstance(again, CheckedIn)
    assert (again.checkin_id, again.created) == (outcome.checkin_id, False)
    assert again.notice.title == outcome.notice.title  # a double click says the same
    return outcome


def shown_everywhere(notice: Notice) -> list[str]:
    """What Slack, Teams and the terminal show of `notice`."""
    console = Console(file=io.StringIO(), width=120)
    console.print(render(notice))
    return [
        fallback_text(notice) + json.dumps(message_chunks(notice), ensure_ascii=False),
        json.dumps(done_card(notice), ensure_ascii=False),
        console.file.getvalue(),  # type: ignore[attr-defined]
    ]


async def test_a_check_in_names_the_persons_timezone_everywhere(drumbeat: Drumbeat):
    done = await check_in(drumbeat)
    assert done.notice.title == "✅ Checked in at 22:43 (Europe/Paris)"
    for shown in shown_everywhere(done.notice):
        assert "22:43 (Europe/Paris)" in shown


async def test_a_revision_after_a_new_timezone_names_that_one(drumbeat: Drumbeat):
    await check_in(drumbeat)
    await run_command(drumbeat, "acme", LUCAS, "timezone America/New_York")
    clock = drumbeat.clock
    assert isinstance(clock, FixedClock)
    clock.set(LATE + timedelta(minutes=1))
    revised = await check_in(drumbeat, confidence="6")
    assert revised.notice.title == "✅ Checked in at 16:44 (America/New_York)"
    assert any("revision 2" in line for line in revised.notice.lines)
    for shown in shown_everywhere(revised.notice):
        assert "16:44 (America/New_York)" in shown


def test_a_reminder_says_which_timezone_its_deadline_is_in():
    org = load_organisation(ACME)
    prompt = PromptRecord(
        id=3, rhythm="acme-weekly", kind=RhythmKind.WEEKLY, person=LUCAS, period="2026-W48",
        scheduled_for=LATE, deadline=LATE + timedelta(hours=12), is_lead=False,
    )  # fmt: skip
    [line] = reminder_notice(org, prompt, 1).lines
    assert line.endswith("due Thu 10:43 (Europe/Paris).")
