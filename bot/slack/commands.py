"""`/okr`: acknowledged at once, run after the acknowledgement, answered through the response
URL (ephemeral unless the command ends with the word `share`), or with a modal (the check-in
form, `settings`).
A private report with charts (`/okr chart KEY`) goes to the person's DM with the app instead,
with an ephemeral word where they asked: an ephemeral message cannot carry a file.

The manifest registers `/okr` with `should_escape`, so Slack sends a mention as
`<@U123|name>` and `&`, `<`, `>` as entities: mentions become the person's email (what the core
takes in `status @user`), and the entities become the characters people typed.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.gateway import parse_ref
from bot.slack.identity import Caller
from bot.slack.services import SlackServices, say_problem
from bot.slack.webapi import SlackError
from bot.slack.workspaces import PLATFORM
from rhythm import markup
from rhythm.commands import parse, run_command
from rhythm.errors import DrumbeatError
from rhythm.messages import Message, Report, Text

COMMAND = "/okr"
PREFIX = "/okr "
SHARE = "share"
MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
LEADING_SYMBOLS = re.compile(r"^[^\w“\"'(]+")  # a title's emoji ("📈 Revenue")
# Commands that answer with a form, opened as a modal with the command's trigger id
OPENS_A_FORM = frozenset({"checkin", "settings"})
NOT_SENT = "I could not send it to our direct messages just now. Please try again in a minute."

log = logging.getLogger(__name__)


def split_share(text: str) -> tuple[str, bool]:
    """The command without a trailing `share`, and whether it was there."""
    words = text.split()
    if words and words[-1].lower() == SHARE:
        return " ".join(words[:-1]), True
    return text, False


def command_channel(command: dict[str, Any]) -> str | None:
    """Where the command was typed, as the core names channels; None in a direct message."""
    return core_channel(str(command.get("channel_id") or ""))


def core_channel(channel: str | None) -> str | None:
    """A Slack conversation id as the core names channels; None for a direct message."""
    if not channel or channel.startswith("D"):
        return None
    return f"{PLATFORM}:{channel}"


def sent_privately(report: Report) -> str:
    """What the person sees where they asked, once a private report went to their DM."""
    what = "chart" if len(report.images) == 1 else "charts"
    title = LEADING_SYMBOLS.sub("", markup.plain(report.title)).strip() or "your report"
    return f"I've sent the {what} of {title} to our direct messages."


async def answer(
    services: SlackServices,
    caller: Caller,
    message: Message,
    *,
    respond: AsyncRespond | None,
    share: bool = False,
    asked_in: str | None = None,
) -> None:
    """The core's reply to what the person asked (in `asked_in`, a conversation id). A private
    report with charts goes to their DM with the app, since an ephemeral reply cannot carry
    a file, and where they asked they are told so; anything else is told as usual."""
    if not (isinstance(message, Report) and message.private and message.images):
        await services.tell(caller, message, respond=respond, share=share)
        return
    try:
        ref = await services.gateway.post(caller.workspace, caller.user_id, message)
    except SlackError as error:
        title = markup.plain(message.title)
        log.warning("could not send %r to %s: %s", title, caller.person, error)
        await say_problem(services, caller, respond, NOT_SENT)
        return
    if respond is None or respond.response_url is None or parse_ref(ref)[0] == asked_in:
        return  # they asked in that DM, or have no other place: the report is the answer
    await services.tell(caller, Text(sent_privately(message)), respond=respond)


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
        await answer(
            services, caller, reply.message, respond=respond, share=share,
            asked_in=str(command.get("channel_id") or "") or None,
        )  # fmt: skip


def register(app: AsyncApp, services: SlackServices) -> None:
    @app.command(COMMAND)
    async def okr(
        ack: AsyncAck, command: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()  # within Slack's three seconds; the work below runs after it
        team = context.get("team_id")
        if parse(str(command.get("text", "")))[0] in OPENS_A_FORM:
            # opens a modal with the command's trigger id, which lasts three seconds: it does
            # not queue behind other people's work
            await run_slash_command(services, command, team, respond)
            return
        async with services.work:
            await run_slash_command(services, command, team, respond)
