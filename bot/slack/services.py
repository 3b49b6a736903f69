"""What the Slack listeners share: the core, the gateway (and its Web API), who is who, and the
two ways back to a person: a response URL, or a modal opened with a trigger id."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.slack.blocks import fallback_text, message_chunks
from bot.slack.gateway import SlackGateway
from bot.slack.identity import Caller, SlackPeople
from bot.slack.modal import modal_view
from bot.slack.webapi import SlackError, SlackWebApi
from rhythm.checkin import FormPage
from rhythm.messages import Message, Text
from rhythm.service import Drumbeat

log = logging.getLogger(__name__)

CHECKIN_VIEW = "checkin"
MAX_RESPONSES = 5  # Slack accepts five posts to one response_url
BUSY = "Slack is busy right now, so the form could not open. Try again in a moment."
SORRY = "Sorry, something went wrong on my side. Please try again in a minute."


# How many acknowledged requests do their work at once. The rest wait their turn: a burst of
# 200 commands then neither queues on the database pool nor keeps the event loop from
# acknowledging the next requests in time.
WORKERS = 8


@dataclass(frozen=True, slots=True)
class SlackServices:
    drumbeat: Drumbeat
    gateway: SlackGateway
    people: SlackPeople
    work: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WORKERS))

    @property
    def api(self) -> SlackWebApi:
        return self.gateway.api

    async def open_form(
        self, caller: Caller, trigger_id: str, page: FormPage, *, respond: AsyncRespond | None
    ) -> None:
        """Open a form of the core's (the check-in, a dialog) as a modal with the click's or
        command's trigger id: at once, never paced behind other calls (the trigger lasts
        three seconds). A refusal is told."""
        try:
            await self.api.call(
                caller.workspace, "views.open", paced=False, trigger_id=trigger_id,
                view=check_in_view(page),
            )  # fmt: skip
        except SlackError as error:
            problem = BUSY if error.code == "ratelimited" else f"Could not open the form: {error}"
            log.warning("views.open for %s failed: %s", caller.person, error)
            await say_problem(self, caller, respond, problem)

    async def tell(
        self,
        caller: Caller,
        message: Message,
        *,
        respond: AsyncRespond | None,
        share: bool = False,
        replace: bool = False,
    ) -> None:
        """Answer a person: through the response URL when the request came with one (an
        ephemeral reply unless `share`; `replace` rewrites the message whose button was
        clicked), else in their DM with the app."""
        if respond is None or respond.response_url is None:
            await self.gateway.post(caller.workspace, caller.user_id, message)
            return
        chunks = message_chunks(message)
        text = fallback_text(message)
        for number, blocks in enumerate(chunks[:MAX_RESPONSES]):
            await respond(
                text=text,
                blocks=blocks,
                response_type="in_channel" if share else "ephemeral",
                replace_original=replace and number == 0,
            )


def check_in_view(page: FormPage) -> dict[str, Any]:
    """A page of a core form (the check-in's, or a dialog's) as a modal. The core's form
    context travels as the view's private_metadata, unread here, and comes back untouched
    with the submission; every form shares one callback id, the core tells them apart."""
    return modal_view(
        page.form.with_answers(page.answers),
        page=page.page,
        private_metadata=page.form.context,
        callback_id=CHECKIN_VIEW,
    )


async def say_problem(
    services: SlackServices, caller: Caller | None, respond: AsyncRespond | None, problem: str
) -> None:
    """A refusal (the core's, or Slack's), told to the person who asked (best effort)."""
    if respond is not None and respond.response_url is not None:
        message = Text(problem)
        await respond(
            text=fallback_text(message),
            blocks=message_chunks(message)[0],
            response_type="ephemeral",
            replace_original=False,
        )
    elif caller is not None:
        try:
            await services.tell(caller, Text(problem), respond=None)
        except SlackError as error:
            log.warning("could not tell %s: %s (%s)", caller.person, problem, error)
