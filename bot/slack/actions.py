"""Buttons: "Check in" opens the modal (views.open must use the trigger id within three seconds,
so the form is built first and nothing else happens before the call), "Snooze 2h" answers
with an ephemeral notice, "I'm off this week" replaces the prompt with the core's notice, and
the App Home's "OKR tree" opens the tree in a read-only modal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.blocks import Block, context, message_chunks, plain
from bot.slack.home import TREE
from bot.slack.identity import Caller
from bot.slack.modal import MAX_MODAL_BLOCKS, TITLE_LIMIT
from bot.slack.services import SlackServices, say_problem
from bot.slack.webapi import SlackError
from rhythm.commands import run_command
from rhythm.messages import Message, Notice, Text
from rhythm.prompting import OFF, OPEN, SNOOZE
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)


def prompt_id(action: dict[str, Any]) -> int | None:
    value = str(action.get("value") or "")
    return int(value) if value.isdigit() else None


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


async def _caller(
    services: SlackServices, body: dict[str, Any], team: str | None, respond: AsyncRespond
) -> Caller | None:
    try:
        caller = await services.people.caller(team, str(body["user"]["id"]))
    except LookupError as error:
        await say_problem(services, None, respond, str(error))
        return None
    return caller


async def open_check_in(
    services: SlackServices, body: dict[str, Any], team: str | None, respond: AsyncRespond
) -> None:
    caller = await _caller(services, body, team, respond)
    if caller is None:
        return
    prompt = prompt_id(body["actions"][0])
    try:
        if prompt is not None:
            form = await services.drumbeat.open_form(caller.org, caller.person, prompt_id=prompt)
        else:  # the App Home's button: the open prompt if there is one, else a spontaneous one
            reply = await run_command(services.drumbeat, caller.org, caller.person, "checkin")
            if reply.form is None:
                await services.tell(caller, reply.message or Text("Nothing to check in on."),
                                    respond=respond)  # fmt: skip
                return
            form = reply.form
        await services.open_form(caller, str(body["trigger_id"]), form)
    except LookupError as error:
        await say_problem(services, caller, respond, str(error))
    except SlackError as error:
        await say_problem(services, caller, respond, f"Could not open the form: {error}")
    await services.drumbeat.reachable(caller.org, caller.person)


def prompt_button(
    act: Callable[[Drumbeat, str, str, int], Awaitable[Notice]], *, replace: bool
) -> Handler:
    """A prompt's Snooze or I'm-off button: the core acts on the prompt, the person sees its
    notice (in place of the prompt's buttons when they have nothing left to do)."""

    async def handle(
        services: SlackServices, body: dict[str, Any], team: str | None, respond: AsyncRespond
    ) -> None:
        caller = await _caller(services, body, team, respond)
        prompt = prompt_id(body["actions"][0])
        if caller is None or prompt is None:
            return
        try:
            notice = await act(services.drumbeat, caller.org, caller.person, prompt)
        except LookupError as error:
            await say_problem(services, caller, respond, str(error))
            return
        await services.tell(caller, notice, respond=respond, replace=replace)

    return handle


snooze = prompt_button(Drumbeat.snooze, replace=False)
off_this_week = prompt_button(Drumbeat.off_this_week, replace=True)


async def show_tree(
    services: SlackServices, body: dict[str, Any], team: str | None, respond: AsyncRespond
) -> None:
    caller = await _caller(services, body, team, respond)
    if caller is None:
        return
    reply = await run_command(services.drumbeat, caller.org, caller.person, "tree")
    view = message_view("OKR tree", reply.message or Text("No tree."), "`/okr tree` shows it all.")
    try:
        await services.api.call(
            caller.workspace, "views.open", trigger_id=str(body["trigger_id"]), view=view
        )
    except SlackError as error:
        log.warning("could not open the tree for %s: %s", caller.person, error)


def register(app: AsyncApp, services: SlackServices) -> None:
    # Buttons that open a modal use the click's trigger id, which lasts three seconds: they
    # do not queue behind other people's work.
    for action_id, handler in ((OPEN, open_check_in), (TREE, show_tree)):
        app.action(action_id)(_listener(services, handler, queued=False))
    for action_id, handler in ((SNOOZE, snooze), (OFF, off_this_week)):
        app.action(action_id)(_listener(services, handler, queued=True))


Handler = Callable[[SlackServices, dict[str, Any], str | None, AsyncRespond], Awaitable[None]]
Listener = Callable[[AsyncAck, dict[str, Any], dict[str, Any], AsyncRespond], Awaitable[None]]


def _listener(services: SlackServices, handler: Handler, *, queued: bool) -> Listener:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not queued:
            await handler(services, body, context.get("team_id"), respond)
            return
        async with services.work:
            await handler(services, body, context.get("team_id"), respond)

    listener.__name__ = handler.__name__  # bolt names its log lines after the listener
    return listener
