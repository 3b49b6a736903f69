"""The modals' submissions: the check-in form's, and the core's small dialogs (`settings`, a
blocker's "Not us"), all handed to the core as they came (`rhythm.submissions`), which tells
them apart by their context. Slack waits for the acknowledgement to know what to do with the
modal, so the core's answer is worked out first and sent as the acknowledgement:

- the same page with errors or values to confirm: `response_action: errors` (Slack shows them
  under the inputs, and keeps what the person typed);
- another page (the next one, or an earlier one with an error): `update`;
- stored: `clear`, and the core updates the prompt's message;
- a dialog taken: `clear`, then the core's notice in the person's DM with the app.

The form context (private_metadata) is the core's and stays opaque here: the core checks it
and every answer; a refusal (a form that is stale, tampered with or another organisation's)
is shown on the form.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.modal import HINT_LIMIT, answers_from_state, slack_pages, view_errors
from bot.slack.services import CHECKIN_VIEW, SlackServices, check_in_view
from bot.slack.webapi import SlackError
from rhythm.checkin import CheckedIn
from rhythm.dialogs import Done
from rhythm.errors import DrumbeatError

log = logging.getLogger(__name__)


async def submit_view(
    services: SlackServices, ack: AsyncAck, body: dict[str, Any], team: str | None
) -> None:
    view = body["view"]
    try:
        caller = await services.people.caller(team, str(body["user"]["id"]))
        outcome = await services.drumbeat.submissions.submit(
            caller.org, caller.person, str(view.get("private_metadata") or ""),
            answers_from_state(view["state"]["values"]), pager=slack_pages,
        )  # fmt: skip
    except DrumbeatError as refusal:  # the person, the workspace or the form: say it here
        await refuse(ack, view, refusal.message)
        return
    if isinstance(outcome, CheckedIn):
        await ack(response_action="clear")
    elif isinstance(outcome, Done):
        await ack(response_action="clear")  # Slack waits for nothing more: say it in the DM
        try:
            await services.tell(caller, outcome.notice, respond=None)
        except SlackError as error:  # what was submitted is taken; only the word is lost
            log.warning("could not tell %s: %s", caller.person, error)
    elif outcome.again:
        await ack(response_action="errors", errors=view_errors(outcome.form, outcome.page))
    else:
        await ack(response_action="update", view=check_in_view(outcome))


async def refuse(ack: AsyncAck, view: object, problem: str) -> None:
    """`problem` under the first input of the view (a modal has nowhere else to say it)."""
    first = first_input(view)
    if first is not None:
        await ack(response_action="errors", errors={first: problem[:HINT_LIMIT]})
    else:
        await ack()


def first_input(view: object) -> str | None:
    """The block id of a view's first input, if it has one."""
    blocks = view.get("blocks") if isinstance(view, dict) else None
    inputs = [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []
    first = next((b.get("block_id") for b in inputs if b.get("type") == "input"), None)
    return first if isinstance(first, str) else None


def register(app: AsyncApp, services: SlackServices) -> None:
    @app.view_submission(CHECKIN_VIEW)
    async def check_in_submitted(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        await submit_view(services, ack, body, context.get("team_id"))
