# ruff: noqa: F811  (the `world` fixture comes from test_flow)
"""Blockers with a lifecycle, leads' missing lists and nudges, Edit after submit and history,
through the real service and a real database (both backends); chat is the console."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from rhythm.blocker_news import ACKNOWLEDGE, NOT_US, RESOLVE
from rhythm.buttons import Shown
from rhythm.checkin import CheckedIn, FormPage
from rhythm.commands import run_command
from rhythm.dialogs import Done
from rhythm.forms import REROUTE_FIELD
from rhythm.markup import plain
from rhythm.messages import Notice, Table
from rhythm.nudges import NUDGE
from rhythm.ports import DeliveryError, NotLinked
from rhythm.prompting import EDIT
from rhythm.records import BlockerState, PersonSettings
from rhythm.sections import Report
from tests.bot.test_flow import MONDAY, PARIS_OWNER, World, valid_answers, world  # noqa: F401

# The flows on SQLite; what storage does under them runs on both backends in tests/storage,
# and the races and replicas below run here on both.
SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

LUCAS = PARIS_OWNER  # growth, owns onboarding-completion
SOFIA = "sofia.rossi@acme.example"  # growth's lead
ANANYA = "ananya.iyer@acme.example"  # platform's lead
RAVI = "ravi.kumar@acme.example"  # platform member
LEA = "lea.fontaine@acme.example"  # mobile's lead
MONDAY_10 = MONDAY + timedelta(hours=9, minutes=5)  # 10:05 in Paris: growth is prompted


def notices_to(world: World, email: str) -> list[Notice]:
    return [
        s.message for s in world.chat.sent_to(email)
        if isinstance(s.message, Notice) and s.updates is None
    ]  # fmt: skip


def titled(world: World, email: str, start: str) -> list[Notice]:
    return [n for n in notices_to(world, email) if plain(n.title).startswith(start)]


async def submit(world: World, email: str, **changes: str) -> CheckedIn | FormPage | Done:
    prompts = [p for p in await world.drumbeat.people.open_prompts("acme", email)]
    page = await world.drumbeat.checkins.open(
        "acme", email, prompt_id=prompts[0].id if prompts else None
    )
    answers = valid_answers(page.form, changes)
    outcome = await world.drumbeat.submissions.submit("acme", email, page.form.context, answers)
    await world.drumbeat.courier.settle()
    return outcome


async def blocked_by_platform(world: World, text: str = "Waiting on the SSO fix") -> int:
    await world.tick(MONDAY_10)
    done = await submit(world, LUCAS, blockers=text, blocked_by="team:platform")
    assert isinstance(done, CheckedIn)
    [blocker] = (await world.drumbeat.blockers.of_team(world.org, "growth")).raised
    return blocker.id


async def press(world: World, who: str, action: str, value: object) -> Shown | FormPage:
    pressed = await world.drumbeat.buttons.press("acme", who, action, value)
    await world.drumbeat.courier.settle()
    return pressed


@SQLITE
async def test_a_blocker_naming_a_team_reaches_its_lead_with_three_buttons_at_once(world: World):
    blocker = await blocked_by_platform(world)

    [asked] = titled(world, ANANYA, "🚧 Lucas Bernard is waiting on Platform")
    assert [a.id for a in asked.actions] == [ACKNOWLEDGE, NOT_US, RESOLVE]
    assert {a.value for a in asked.actions} == {str(blocker)}
    said = plain(" ".join(asked.lines))
    assert "Lucas Bernard (Growth) is blocked on" in said
    assert "“Waiting on the SSO fix”" in said
    [told] = titled(world, LUCAS, "📣 Your blocker on")
    assert "Ananya Iyer" in plain(told.lines[0])
    assert not notices_to(world, RAVI)  # a member of platform, not its lead

    await world.tick(MONDAY_10 + timedelta(minutes=1))  # the tick delivers nothing twice
    assert len(titled(world, ANANYA, "🚧")) == 1


@SQLITE
async def test_on_it_tells_the_reporter_and_a_second_press_is_told_who_was_first(world: World):
    blocker = await blocked_by_platform(world)
    pressed = await press(world, ANANYA, ACKNOWLEDGE, str(blocker))
    assert isinstance(pressed, Shown)
    assert pressed.replace
    assert "You're on it" in pressed.notice.title
    [heard] = titled(world, LUCAS, "👍 Ananya Iyer is on it")
    assert "Platform" in plain(heard.lines[0])

    again = await press(world, ANANYA, ACKNOWLEDGE, str(blocker))
    assert isinstance(again, Shown)
    assert "Ananya Iyer is on it already" in again.notice.title
    assert len(titled(world, LUCAS, "👍")) == 1


@SQLITE
async def test_only_the_team_it_waits_on_may_answer(world: World):
    blocker = await blocked_by_platform(world)
    with pytest.raises(Exception, match="Only Platform") as refused:
        await press(world, RAVI, ACKNOWLEDGE, str(blocker))
    assert type(refused.value).__name__ == "CommandError"
    with pytest.raises(Exception, match="not one I know"):
        await press(world, ANANYA, ACKNOWLEDGE, "not-a-number")


@SQLITE
async def test_not_us_asks_which_team_and_reroutes_it(world: World):
    blocker = await blocked_by_platform(world)
    form = await press(world, ANANYA, NOT_US, str(blocker))
    assert isinstance(form, FormPage)
    assert [f.id for f in form.form.fields] == [REROUTE_FIELD]

    unknown = await world.drumbeat.submissions.submit(
        "acme", ANANYA, form.form.context, {REROUTE_FIELD: "mobil"}
    )
    assert isinstance(unknown, FormPage)
    assert unknown.again
    assert "Did you mean `mobile`?" in unknown.form.errors[REROUTE_FIELD]
    same = await world.drumbeat.submissions.submit(
        "acme", ANANYA, form.form.context, {REROUTE_FIELD: "team:platform"}
    )
    assert isinstance(same, FormPage)
    assert "already waits on Platform" in same.form.errors[REROUTE_FIELD]

    done = await world.drumbeat.submissions.submit(
        "acme", ANANYA, form.form.context, {REROUTE_FIELD: "team:mobile"}
    )
    await world.drumbeat.courier.settle()
    assert isinstance(done, Done)
    [asked] = titled(world, LEA, "🚧 Lucas Bernard is waiting on Mobile")
    assert "Sent on by Ananya Iyer" in plain(" ".join(asked.lines))
    [heard] = titled(world, LUCAS, "↪️ Your blocker now waits on Mobile")
    assert "not Platform's" in plain(heard.lines[0])
    stored = await world.store.blocker("acme", blocker)
    assert stored is not None
    assert stored.state is BlockerState.REROUTED
    assert stored.waiting_on_team == "mobile"
    twice = await world.drumbeat.submissions.submit(
        "acme", ANANYA, form.form.context, {REROUTE_FIELD: "team:mobile"}
    )  # the form sent again: told where it went, nothing changes
    assert isinstance(twice, Done)
    assert twice.notice.title == "It now waits on Mobile"
    await world.drumbeat.courier.settle()
    assert len(titled(world, LEA, "🚧")) == 1


@SQLITE
async def test_resolved_by_the_button_tells_the_reporter(world: World):
    blocker = await blocked_by_platform(world)
    pressed = await press(world, ANANYA, RESOLVE, str(blocker))
    assert isinstance(pressed, Shown)
    assert pressed.notice.title == "✅ Marked resolved"
    assert titled(world, LUCAS, "✅ Ananya Iyer resolved your blocker")
    later = await press(world, ANANYA, ACKNOWLEDGE, str(blocker))
    assert isinstance(later, Shown)
    assert "Already resolved by Ananya Iyer" in later.notice.title


@SQLITE
async def test_the_next_check_in_without_a_blocker_resolves_it_and_both_sides_hear(world: World):
    blocker = await blocked_by_platform(world)
    world.clock.set(MONDAY_10 + timedelta(hours=2))
    again = await submit(world, LUCAS, blockers="", blocked_by="none")  # an edit: revision 2
    assert isinstance(again, CheckedIn)
    stored = await world.store.blocker("acme", blocker)
    assert stored is not None
    assert stored.state is BlockerState.RESOLVED
    assert titled(world, LUCAS, "✅ Your blocker on")
    assert titled(world, ANANYA, "✅ Resolved: Lucas Bernard's blocker")


@SQLITE
async def test_digests_show_blockers_with_age_and_state_on_both_sides(world: World):
    blocker = await blocked_by_platform(world)
    await press(world, ANANYA, ACKNOWLEDGE, str(blocker))
    later = MONDAY_10 + timedelta(days=9)
    world.clock.set(later)

    growth = await world.drumbeat.digests.digest("acme", "growth", at=later, period_at=MONDAY_10)
    assert growth.blockers_summary == "1 blocker open, oldest 9 days, waiting on Platform"
    [line] = growth.tracked_blockers
    assert (line.state, line.age_days) == ("Ananya Iyer is on it", 9)
    assert not [b for b in growth.blockers if b.person == "Lucas Bernard"]  # said once
    platform = await world.drumbeat.digests.digest("acme", "platform", at=later)
    assert [b.person for b in platform.tracked_waiting] == ["Lucas Bernard"]
    report = await world.drumbeat.reports.digest(growth)
    text = plain(" ".join(b.text for s in report.sections for b in s.blocks if hasattr(b, "text")))
    assert "waiting on Platform" in text
    assert "9 days" in text

    await press(world, ANANYA, RESOLVE, str(blocker))
    this_week = await world.drumbeat.digests.digest("acme", "growth", at=later)
    assert [b.resolved for b in this_week.tracked_blockers] == [True]  # once, as resolved
    next_week = later + timedelta(days=7)
    world.clock.set(next_week)
    gone = await world.drumbeat.digests.digest("acme", "growth", at=next_week)
    assert gone.tracked_blockers == ()


@SQLITE
async def test_blockers_command_lists_both_sides(world: World):
    await blocked_by_platform(world)
    mine = await run_command(world.drumbeat, "acme", SOFIA, "blockers")
    assert isinstance(mine.message, Report)
    assert plain(mine.message.summary).startswith("1 blocker open")
    theirs = await run_command(world.drumbeat, "acme", ANANYA, "blockers platform")
    assert isinstance(theirs.message, Report)
    waiting = theirs.message.sections[1]
    assert "Lucas Bernard" in plain(waiting.blocks[0].text)  # type: ignore[union-attr]
    wrong = await run_command(world.drumbeat, "acme", SOFIA, "blockers platfrom")
    assert "Did you mean `platform`?" in wrong.message.text  # type: ignore[union-attr]


# ---- the lead's list and nudges ---------------------------------------------------------------


async def after_the_deadline(world: World) -> None:
    """Growth prompted Monday; its weekly deadline passes; Camille and Lucas did not answer."""
    await world.tick(MONDAY_10)
    prompts = await world.drumbeat.people.open_prompts("acme", LUCAS)
    deadline = prompts[0].deadline
    await world.tick(deadline + timedelta(minutes=1))


@SQLITE
async def test_a_lead_gets_one_list_of_who_is_missing_with_a_nudge_button_each(world: World):
    await after_the_deadline(world)
    [listed] = titled(world, SOFIA, "📋")
    names = [plain(line) for line in listed.lines]
    assert any(n.startswith("Lucas Bernard") for n in names)
    assert {a.id for a in listed.actions} == {NUDGE}
    assert "Nudge Lucas" in [a.label for a in listed.actions]
    await world.tick(world.clock.now() + timedelta(minutes=5))
    assert len(titled(world, SOFIA, "📋")) == 1  # one per period


@SQLITE
async def test_people_on_leave_are_never_listed_and_a_lead_may_turn_the_list_off(world: World):
    await world.tick(MONDAY_10)
    [prompt] = await world.drumbeat.people.open_prompts("acme", LUCAS)
    await world.drumbeat.checkins.skip_period("acme", LUCAS, prompt.id)
    await world.store.save_person_settings("acme", "thomas.keller@acme.example",
                                           PersonSettings(missing_list=False))  # fmt: skip
    await world.tick(prompt.deadline + timedelta(minutes=1))
    for listed in titled(world, SOFIA, "📋"):
        assert not any(plain(line).startswith("Lucas") for line in listed.lines)


@SQLITE
async def test_nudge_sends_one_reminder_in_the_leads_name_and_the_week_is_capped(world: World):
    await after_the_deadline(world)
    [listed] = titled(world, SOFIA, "📋")
    lucas_button = next(a for a in listed.actions if a.label == "Nudge Lucas")
    sent = await press(world, SOFIA, NUDGE, lucas_button.value)
    assert isinstance(sent, Shown)
    assert not sent.replace
    assert sent.notice.title == "👋 Sent: I reminded Lucas Bernard for you."
    [nudge] = titled(world, LUCAS, "👋 Sofia Rossi asked me to remind you")
    assert any(a.value == lucas_button.value for a in nudge.actions)  # the prompt's buttons
    again = await press(world, SOFIA, NUDGE, lucas_button.value)
    assert isinstance(again, Shown)
    assert "already nudged for this check-in" in again.notice.title
    assert len(titled(world, LUCAS, "👋")) == 1
    with pytest.raises(Exception, match="Only Lucas Bernard's team leads"):
        await press(world, ANANYA, NUDGE, lucas_button.value)


@SQLITE
async def test_reminders_and_nudges_share_the_weekly_cap(world: World):
    await world.tick(MONDAY_10)
    [prompt] = await world.drumbeat.people.open_prompts("acme", LUCAS)
    week = f"{MONDAY.isocalendar()[0]}-W{MONDAY.isocalendar()[1]:02d}"
    for n in range(3):  # three other nudges this week already (another rhythm's, say)
        from rhythm.records import Spend

        await world.store.nudge("acme", Spend(LUCAS, week, f"elsewhere:{n}", 3, MONDAY_10))
    for minutes in range(0, 60 * 10, 15):
        await world.tick(MONDAY_10 + timedelta(minutes=minutes))
    assert not titled(world, LUCAS, "Reminder")
    capped = await press(world, SOFIA, NUDGE, str(prompt.id))
    assert isinstance(capped, Shown)
    assert "already nudged this week" in capped.notice.title


# ---- edit after submit, history ------------------------------------------------------------


@SQLITE
async def test_edit_opens_the_same_form_prefilled_and_stores_a_revision(world: World):
    await world.tick(MONDAY_10)
    first = await submit(world, LUCAS, value="51", confidence="6", moved="Shipped the tour")
    assert isinstance(first, CheckedIn)
    [edit] = [a for a in first.notice.actions if a.id == EDIT]
    page = await press(world, LUCAS, EDIT, edit.value)
    assert isinstance(page, FormPage)
    value_field = next(f for f in page.answers if f.endswith(":value"))
    assert page.answers[value_field] == "51"
    assert page.answers[next(f for f in page.answers if f.endswith(":moved"))] == "Shipped the tour"

    answers = {**valid_answers(page.form), **page.answers, value_field: "55"}
    world.clock.set(MONDAY_10 + timedelta(hours=1))
    second = await world.drumbeat.submissions.submit("acme", LUCAS, page.form.context, answers)
    assert isinstance(second, CheckedIn)
    assert second.created
    assert "revision 2" in second.notice.lines[0]
    digest = await world.drumbeat.digests.digest("acme", "growth")
    [kr] = [k for o in digest.objectives for k in o.key_results if k.owner == "Lucas Bernard"]
    assert kr.checked_in
    assert "55" in kr.target_text() + kr.change_text()
    updated = [s for s in world.chat.sent_to(LUCAS) if s.updates is not None]
    assert "revision 2" in plain(updated[-1].message.lines[0])  # type: ignore[union-attr]
    with pytest.raises(Exception, match="not yours"):
        await press(world, SOFIA, EDIT, edit.value)


@SQLITE
async def test_history_of_a_key_result_and_of_a_person(world: World):
    await world.tick(MONDAY_10)
    await submit(world, LUCAS, value="51", moved="Shipped the tour", blockers="SSO",
                 blocked_by="team:platform")  # fmt: skip
    [kr] = world.org.key_results_of(LUCAS)
    by_kr = await run_command(world.drumbeat, "acme", SOFIA, f"history {kr.key}")
    assert isinstance(by_kr.message, Table)
    [row] = by_kr.message.rows
    assert row[1] == "Lucas Bernard"
    assert row[5] == "Shipped the tour"
    assert row[6] == "SSO (waiting on Platform)"
    by_person = await run_command(world.drumbeat, "acme", SOFIA, f"history @{LUCAS}")
    assert isinstance(by_person.message, Table)
    assert by_person.message.rows[0][0] == kr.title
    nobody = await run_command(world.drumbeat, "acme", SOFIA, "history nobody")
    assert "No key result or person “nobody”" in nobody.message.text  # type: ignore[union-attr]
    usage = await run_command(world.drumbeat, "acme", SOFIA, "history")
    assert "Usage" in usage.message.text  # type: ignore[union-attr]


@SQLITE
async def test_settings_is_a_small_form_that_turns_the_list_off(world: World):
    reply = await run_command(world.drumbeat, "acme", SOFIA, "settings")
    assert reply.form is not None
    [field] = reply.form.form.fields
    assert field.initial == "on"
    empty = await world.drumbeat.submissions.submit("acme", SOFIA, reply.form.form.context, {})
    assert isinstance(empty, FormPage)
    assert empty.form.errors
    done = await world.drumbeat.submissions.submit(
        "acme", SOFIA, reply.form.form.context, {field.id: "off"}
    )
    assert isinstance(done, Done)
    assert (await world.store.person_settings("acme", [SOFIA]))[SOFIA].missing_list is False
    await after_the_deadline(world)
    assert not titled(world, SOFIA, "📋")


# ---- exactly once: replicas, races, crashes ----------------------------------------------------


async def test_two_replicas_delivering_at_once_send_each_message_once(world: World):
    from bot.routing import ChatRouter
    from rhythm.service import Drumbeat

    await world.tick(MONDAY_10)
    page = await world.drumbeat.checkins.open("acme", LUCAS)
    answers = valid_answers(page.form, {"blockers": "SSO", "blocked_by": "team:platform"})
    await world.drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)  # no kick
    router = ChatRouter(gateways={"console": world.chat}, fallback="console")
    other = Drumbeat(store=world.store, chat=router, clock=world.clock, worker="replica-2")
    await asyncio.gather(world.drumbeat.blockers.announce("acme"), other.blockers.announce("acme"))
    await asyncio.gather(world.drumbeat.courier.deliver("acme"), other.courier.deliver("acme"))
    assert len(titled(world, ANANYA, "🚧")) == 1
    assert len(titled(world, LUCAS, "📣")) == 1


async def test_two_leads_pressing_at_once_make_one_change(world: World):
    blocker = await blocked_by_platform(world)
    first, second = await asyncio.gather(
        press(world, ANANYA, ACKNOWLEDGE, str(blocker)),
        press(world, "thomas.keller@acme.example", ACKNOWLEDGE, str(blocker)),  # engineering
    )
    titles = sorted(p.notice.title for p in (first, second) if isinstance(p, Shown))
    assert sum("You're on it" in t for t in titles) == 1
    assert sum("is on it already" in t for t in titles) == 1
    assert len(titled(world, LUCAS, "👍")) == 1


@SQLITE
async def test_a_send_in_doubt_is_looked_up_before_it_is_sent_again(world: World):
    await world.tick(MONDAY_10)
    page = await world.drumbeat.checkins.open("acme", LUCAS)
    answers = valid_answers(page.form, {"blockers": "SSO", "blocked_by": "team:platform"})
    await world.drumbeat.checkins.submit("acme", LUCAS, page.form.context, answers)
    await world.drumbeat.blockers.announce("acme")
    # A replica claimed the messages, began sending the lead's and died: in doubt.
    claimed = await world.store.claim_outbox(
        "acme", now=world.clock.now(), worker="dead", limit=10, lease=timedelta(seconds=30)
    )
    to_lead = next(m for m in claimed if m.person == ANANYA)
    assert await world.store.mark_outbox_attempt(to_lead.id, at=world.clock.now(), worker="dead")
    ref = await world.chat.send_direct("acme", world.org.person[ANANYA], to_lead.notice,
                                       tag=f"note:{to_lead.id}")  # fmt: skip
    world.clock.set(world.clock.now() + timedelta(seconds=31))  # its lease has run out
    found: list[str] = []

    async def find_direct(org: str, person: object, tag: str, *, since: object) -> str | None:
        found.append(tag)
        return ref if tag == f"note:{to_lead.id}" else None

    world.chat.find_direct = find_direct  # type: ignore[method-assign]
    await world.drumbeat.courier.deliver("acme")
    assert found == [f"note:{to_lead.id}"]
    assert len(titled(world, ANANYA, "🚧")) == 1  # found, not sent again
    assert len(titled(world, LUCAS, "📣")) == 1  # the other message, sent once


@SQLITE
async def test_a_permanent_failure_stays_with_its_message_and_the_rest_go_on(world: World):
    world.chat.failures[ANANYA] = DeliveryError("user_not_found", permanent=True)
    await blocked_by_platform(world)
    assert not titled(world, ANANYA, "🚧")
    assert len(titled(world, LUCAS, "📣")) == 1
    del world.chat.failures[ANANYA]
    await world.tick(MONDAY_10 + timedelta(minutes=5))
    assert not titled(world, ANANYA, "🚧")  # failed for good: not retried


@SQLITE
async def test_a_transient_failure_is_retried(world: World):
    world.chat.failures[ANANYA] = DeliveryError("timeout", permanent=False, maybe_done=False)
    await blocked_by_platform(world)
    del world.chat.failures[ANANYA]
    await world.tick(MONDAY_10 + timedelta(minutes=2))
    assert len(titled(world, ANANYA, "🚧")) == 1


@SQLITE
async def test_news_nobody_could_deliver_for_a_day_is_dropped(world: World):
    world.chat.failures[SOFIA] = NotLinked("not in the workspace")
    await after_the_deadline(world)
    world.clock.set(world.clock.now() + timedelta(days=2))
    del world.chat.failures[SOFIA]
    await world.tick(world.clock.now())
    assert not titled(world, SOFIA, "📋")  # two days late: dropped, not sent


@SQLITE
async def test_the_same_submission_again_is_confirmed_as_it_was_stored(world: World):
    await world.tick(MONDAY_10)
    page = await world.drumbeat.checkins.open("acme", LUCAS)
    answers = valid_answers(page.form, {"value": "51"})
    first = await world.drumbeat.submissions.submit("acme", LUCAS, page.form.context, answers)
    world.clock.set(MONDAY_10 + timedelta(hours=1))
    again = await world.drumbeat.submissions.submit("acme", LUCAS, page.form.context, answers)
    assert isinstance(first, CheckedIn)
    assert isinstance(again, CheckedIn)
    assert not again.created
    assert again.notice.title == first.notice.title == "✅ Checked in at 10:05 (Europe/Paris)"


@SQLITE
async def test_next_weeks_form_carries_the_live_blocker_so_keeping_it_keeps_it(world: World):
    blocker = await blocked_by_platform(world)
    next_week = MONDAY_10 + timedelta(days=7)
    await world.tick(next_week)
    page = await world.drumbeat.checkins.open("acme", LUCAS)
    fields = {f.id.rsplit(":", 1)[-1]: f for f in page.form.fields if f.id.startswith("kr:")}
    assert fields["blockers"].initial == "Waiting on the SSO fix"
    assert fields["blocked_by"].initial == "team:platform"
    assert "Solved?" in fields["blocked_by"].hint
    kept = valid_answers(page.form)  # every prefill as it is
    await world.drumbeat.submissions.submit("acme", LUCAS, page.form.context, kept)
    await world.drumbeat.courier.settle()
    stored = await world.store.blocker("acme", blocker)
    assert stored is not None
    assert stored.live
    assert not titled(world, ANANYA, "✅")  # nobody told it was resolved
