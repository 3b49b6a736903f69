"""`/okr`: acknowledged at once, run after the acknowledgement, answered through the response
URL (ephemeral unless the command ends with the word `share`), or with the check-in modal.

The manifest registers `/okr` with `should_escape`, so Slack sends a mention as
`<@U123|name>` and `&`, `<`, `>` as entities: mentions become the person's email (what the core
takes in `status @user`), and the entities become the characters people typed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.identity import Caller
from bot.slack.services import SlackServices, say_problem
from bot.slack.webapi import SlackError
from bot.slack.workspaces import PLATFORM
from rhythm.commands import parse, run_command
from rhythm.errors import DrumbeatError

COMMAND = "/okr"
PREFIX = "/okr "
SHARE = "share"
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def split_share(text: str) -> tuple[str, bool]:
    """The command without a trailing `share`, and whether it was there."""
    words = text.split()
    if words and words[-1].lower() == SHARE:
        return " ".join(words[:-1]), True
    return text, False


def command_channel(command: dict[str, Any]) -> str | None:
    """Where the command was typed, as the core names channels; None in a direct message."""
    channel = str(command.get("channel_id") or "")
    if not channel or channel.startswith("D"):
        return None
    return f"{PLATFORM}:{channel}"


async def plain_text(services: SlackServices, caller: Caller, text: str) -> str:
    """The command as the person typed it: mentions as emails when the person is known."""
    people: dict[str, str] = {}
    for user_id in set(MENTION.findall(text)):
        try:
            people[user_id] = (await services.people.caller(caller.team, user_id)).person
        except (DrumbeatError, SlackError):
            continue  # an unknown person stays a mention; the command says who it cannot find
    plain = MENTION.sub(lambda m: people.get(m.group(1), m.group(0)), text)
    return html.unescape(plain)


async def run_slash_command(
    services: SlackServices, command: dict[str, Any], team: str | None, respond: AsyncRespond
) -> None:
    try:
        caller = await services.people.caller(team, str(command["user_id"]))
    except DrumbeatError as refusal:
        await say_problem(services, None, respond, refusal.message)
        return
    text, share = split_share(await plain_text(services, caller, str(command.get("text", ""))))
    reply = await run_command(
        services.drumbeat, caller.org, caller.person, text,
        prefix=PREFIX, channel=command_channel(command),
    )  # fmt: skip
    if reply.form is not None:
        await services.open_form(caller, str(command["trigger_id"]), reply.form, respond=respond)
    await services.drumbeat.people.reachable(caller.org, caller.person)
    if reply.message is not None:
        await services.tell(caller, reply.message, respond=respond, share=share)


def register(app: AsyncApp, services: SlackServices) -> None:
    @app.command(COMMAND)
    async def okr(
        ack: AsyncAck, command: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()  # within Slack's three seconds; the work below runs after it
        team = context.get("team_id")
        if parse(str(command.get("text", "")))[0] == "checkin":
            # opens a modal with the command's trigger id, which lasts three seconds: it does
            # not queue behind other people's work
            await run_slash_command(services, command, team, respond)
            return
        async with services.work:
            await run_slash_command(services, command, team, respond)
