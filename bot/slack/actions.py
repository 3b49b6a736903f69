"""Buttons: "Check in" opens the modal (views.open must use the trigger id within three seconds,
so the form is built first and nothing else happens before the call), "Snooze 2h" answers
with an ephemeral notice, "I'm off this week" replaces the prompt with the core's notice, and
the App Home's "OKR tree" opens the tree in a read-only modal, and a digest key result's
"Trend" runs `/okr chart <key>` for whoever pressed it (the chart goes to their DM).

The buttons whose answer the core decides whole (`rhythm.buttons.BUTTONS`: a blocker's On
it / Not us / Resolved, a lead's Nudge, a confirmation's Edit) share one handler: the core's
notice in place of the message or beside it, or its form as a modal (Not us, Edit), which
needs the click's trigger id, so they run at once too.

And the options of a picker too long for a static select ("Blocked by" in a large
organisation): each `block_suggestion` is answered with the core's matches for what was typed,
in the acknowledgement itself, within Slack's three seconds."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.blocks import Block, action_pattern, context, core_action_id, message_chunks, plain
from bot.slack.commands import PREFIX, answer, core_channel
from bot.slack.home import TREE
from bot.slack.identity import Caller
from bot.slack.inbound import BlockAction, BlockSuggestion, MalformedPayload, parse_body
from bot.slack.modal import ACTION_ID, MAX_MODAL_BLOCKS, MAX_OPTIONS, TITLE_LIMIT, option_list
from bot.slack.services import SlackServices, say_problem
from bot.slack.webapi import SlackError
from rhythm.buttons import BUTTONS, Shown
from rhythm.checkin import CheckInSession, prompt_id_of
from rhythm.commands import run_command
from rhythm.digest_report import CHART_ACTION
from rhythm.errors import DrumbeatError
from rhythm.messages import Message, Notice, Text
from rhythm.prompting import OFF, OPEN, SNOOZE

log = logging.getLogger(__name__)


def message_view(title: str, message: Message, more: str) -> dict[str, Any]:
    """A read-only modal showing `message` (cut, with `more` said, past a modal's blocks)."""
    blocks: list[Block] = [b for chunk in message_chunks(message) for b in chunk]
    if len(blocks) > MAX_MODAL_BLOCKS:
        blocks = [*blocks[: MAX_MODAL_BLOCKS - 1], context(more)]
    return {
        "type": "modal",
        "title": plain(title, TITLE_LIMIT),
        "close": plain("Close", TITLE_LIMIT),
        "blocks": blocks,
    }


async def open_check_in(
    services: SlackServices, caller: Caller, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """A prompt's Check in (its value names the prompt), or the App Home's (no value: the
    open prompt if there is one, else a check-in nobody asked for)."""
    value = body["actions"][0].get("value")
    checkins = services.drumbeat.checkins
    prompt = prompt_id_of(value) if value else None
    page = await checkins.open(caller.org, caller.person, prompt_id=prompt)
    await services.open_form(caller, str(body["trigger_id"]), page, respond=respond)
    await services.drumbeat.people.reachable(caller.org, caller.person)


def prompt_button(
    act: Callable[[CheckInSession, str, str, int], Awaitable[Notice]], *, replace: bool
) -> Handler:
    """A prompt's Snooze or I'm-off button: the core acts on the prompt, the person sees its
    notice (in place of the prompt's buttons when they have nothing left to do)."""

    async def handle(
        services: SlackServices, caller: Caller, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        prompt = prompt_id_of(body["actions"][0].get("value"))
        notice = await act(services.drumbeat.checkins, caller.org, caller.person, prompt)
        await services.tell(caller, notice, respond=respond, replace=replace)

    return handle


snooze = prompt_button(CheckInSession.snooze, replace=False)
off_this_week = prompt_button(CheckInSession.skip_period, replace=True)


async def show_tree(
    services: SlackServices, caller: Caller, body: dict[str, Any], respond: AsyncRespond
) -> None:
    reply = await run_command(services.drumbeat, caller.org, caller.person, "tree")
    view = message_view("OKR tree", reply.message or Text("No tree."), "`/okr tree` shows it all.")
    try:
        await services.api.call(
            caller.workspace, "views.open", paced=False, trigger_id=str(body["trigger_id"]),
            view=view,
        )  # fmt: skip
    except SlackError as error:
        log.warning("could not open the tree for %s: %s", caller.person, error)


async def open_chart(
    services: SlackServices, caller: Caller, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """A digest key result's "Trend" (its value is the key result's key): the core's
    `chart <key>` for whoever pressed it, answered as that command is."""
    key = str(body["actions"][0].get("value") or "")
    pressed = parse_body(body)
    where = pressed.channel_id if isinstance(pressed, BlockAction) else None
    reply = await run_command(
        services.drumbeat, caller.org, caller.person, f"chart {key}",
        prefix=PREFIX, channel=core_channel(where),
    )  # fmt: skip
    if reply.message is not None:
        await answer(services, caller, reply.message, respond=respond, asked_in=where)


async def press(
    services: SlackServices, caller: Caller, body: dict[str, Any], respond: AsyncRespond
) -> None:
    """One of the core's buttons: what it answers is shown in place of the message (its
    buttons are done with) or beside it, or opened as a modal with the click's trigger."""
    pressed = parse_body(body)
    if not isinstance(pressed, BlockAction):  # bolt routed it as a block action: never
        raise MalformedPayload("not a block_actions payload")
    action = core_action_id(pressed.action_id)
    outcome = await services.drumbeat.buttons.press(
        caller.org, caller.person, action, pressed.value
    )
    if isinstance(outcome, Shown):
        await services.tell(caller, outcome.notice, respond=respond, replace=outcome.replace)
    else:
        await services.open_form(caller, pressed.trigger_id, outcome, respond=respond)


async def suggest(
    services: SlackServices, ack: AsyncAck, body: dict[str, Any], team: str | None
) -> None:
    """The options matching what the person typed in a picker, as Slack lists them; none for
    a payload or a person we cannot read (an options answer has no room for a message, and
    an apology in their DM for each key typed would be worse)."""
    try:
        typed = parse_body(body)
        if not isinstance(typed, BlockSuggestion):
            raise MalformedPayload("not a block_suggestion")
        caller = await services.people.caller(team, typed.user_id)
        found = await services.drumbeat.checkins.suggestions(
            caller.org, caller.person, typed.block_id, typed.value, limit=MAX_OPTIONS
        )
    except MalformedPayload as malformed:
        log.warning("block_suggestion not read: %s", malformed.reason)
        found = ()
    except DrumbeatError as refusal:
        log.info("no options for a block_suggestion: %s", refusal.message)
        found = ()
    except SlackError as error:  # who typed could not be looked up: nothing to offer them
        log.warning("no options for a block_suggestion: %s", error)
        found = ()
    await ack(**option_list(found))


def register(app: AsyncApp, services: SlackServices) -> None:
    # Buttons that open a modal use the click's trigger id, which lasts three seconds: they
    # do not queue behind other people's work.
    at_once: tuple[tuple[str, Handler], ...] = (
        (OPEN, open_check_in), (TREE, show_tree), *((b, press) for b in sorted(BUTTONS)),
    )  # fmt: skip
    for action_id, handler in at_once:
        app.action(action_pattern(action_id))(_listener(services, handler, queued=False))
    queued: tuple[tuple[str, Handler], ...] = (
        (SNOOZE, snooze), (OFF, off_this_week), (CHART_ACTION, open_chart),
    )  # fmt: skip
    for action_id, handler in queued:
        app.action(action_pattern(action_id))(_listener(services, handler, queued=True))

    # Every input of the check-in modal has the same action id; the block id names the field.
    @app.options(ACTION_ID)
    async def options_typed(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
        await suggest(services, ack, body, context.get("team_id"))


Handler = Callable[[SlackServices, Caller, dict[str, Any], AsyncRespond], Awaitable[None]]
Listener = Callable[[AsyncAck, dict[str, Any], dict[str, Any], AsyncRespond], Awaitable[None]]


def _listener(services: SlackServices, handler: Handler, *, queued: bool) -> Listener:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not queued:
            await _handle(services, handler, body, context.get("team_id"), respond)
            return
        async with services.work:
            await _handle(services, handler, body, context.get("team_id"), respond)

    listener.__name__ = handler.__name__  # bolt names its log lines after the listener
    return listener


async def _handle(
    services: SlackServices,
    handler: Handler,
    body: dict[str, Any],
    team: str | None,
    respond: AsyncRespond,
) -> None:
    """Who clicked, then the handler; a refusal is told to the person, anything else goes
    to the app's error handler."""
    caller: Caller | None = None
    try:
        caller = await services.people.caller(team, str(body["user"]["id"]))
        await handler(services, caller, body, respond)
    except DrumbeatError as refusal:
        await say_problem(services, caller, respond, refusal.message)
