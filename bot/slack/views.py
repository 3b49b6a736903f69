"""The check-in modal's submissions. Slack waits for the acknowledgement to know what to do
with the modal, so the answer is computed first and sent as the acknowledgement:

- a page that is not the last: its errors (`response_action: errors`), or it is kept as a
  draft and the modal moves on to the next page (`update`);
- the last page: the core stores the whole check-in or rejects it. Errors on this page come
  back as `errors`; errors on an earlier page bring that page back (`update`) with what the
  person typed; a stored check-in closes the modal (`clear`) and the core updates the prompt.

Nothing is stored before the whole form is valid, and the same submission twice (a double
click, a retry) is one check-in: the core fingerprints it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.slack.identity import Caller
from bot.slack.metadata import ModalState
from bot.slack.modal import (
    HINT_LIMIT,
    answers_from_state,
    form_pages,
    page_of_field,
    view_errors,
)
from bot.slack.services import CHECKIN_VIEW, SlackServices, check_in_view
from rhythm.messages import Form
from rhythm.service import Accepted, parse_context

log = logging.getLogger(__name__)


def page_fields(form: Form, page: int) -> list[str]:
    return [f.id for section in form_pages(form)[page] for f in section.fields]


def earliest_page(form: Form, fallback: int) -> int:
    """The first page holding a field in error (`fallback` when only form-wide errors)."""
    pages = []
    for field_id in form.errors:
        try:
            pages.append(page_of_field(form, field_id))
        except KeyError:
            continue  # a form-wide error: shown wherever the person is
    return min(pages, default=fallback)


async def submit_view(
    services: SlackServices, ack: AsyncAck, body: dict[str, Any], team: str | None
) -> None:
    view = body["view"]
    try:
        state = ModalState.parse(str(view.get("private_metadata", "")))
    except ValueError as error:
        log.warning("a view this app did not open was submitted: %s", error)
        await ack()
        return
    try:
        caller = await services.people.caller(team, str(body["user"]["id"]))
        if state.org != caller.org:
            raise LookupError("This form belongs to another organisation's workspace.")
        await _submit(services, ack, caller, state, view["state"]["values"])
    except LookupError as error:  # the person or the prompt is gone: say so on the form
        await _refuse(ack, view, str(error))


async def _refuse(ack: AsyncAck, view: dict[str, Any], problem: str) -> None:
    first = next((b["block_id"] for b in view.get("blocks", []) if b.get("type") == "input"), None)
    if first is None:
        await ack()
    else:
        await ack(response_action="errors", errors={first: problem[:HINT_LIMIT]})


async def _submit(
    services: SlackServices,
    ack: AsyncAck,
    caller: Caller,
    state: ModalState,
    values: dict[str, Any],
) -> None:
    kind, _, prompt = parse_context(state.context)
    drumbeat = services.drumbeat
    form = await drumbeat.open_form(caller.org, caller.person, prompt_id=prompt, kind=kind)
    form = Form(form.title, form.intro, form.sections, state.context, form.submit_label)
    pages = form_pages(form)
    page = min(state.page, len(pages) - 1)
    answers = answers_from_state(form, values)
    if page < len(pages) - 1:
        await _next_page(services, ack, caller, form, state.at(page), answers)
        return
    outcome = await drumbeat.submit(caller.org, caller.person, state.context, answers)
    if isinstance(outcome, Accepted):
        await ack(response_action="clear")
        return
    rejected = outcome.form
    back = earliest_page(rejected, page)
    if back == page:
        await ack(response_action="errors", errors=view_errors(rejected, page))
        return
    # Keep this page's answers too, so nothing typed is lost on the way back.
    draft = {**await drumbeat.store.load_draft(caller.org, caller.person, state.context), **answers}
    await drumbeat.store.save_draft(caller.org, caller.person, state.context, draft)
    view = check_in_view(caller.org, rejected, page=back, answers=draft)
    await ack(response_action="update", view=view)


async def _next_page(
    services: SlackServices,
    ack: AsyncAck,
    caller: Caller,
    form: Form,
    state: ModalState,
    answers: dict[str, str | None],
) -> None:
    drumbeat = services.drumbeat
    errors = await drumbeat.submit_page(
        caller.org, caller.person, state.context, answers, fields=page_fields(form, state.page)
    )
    if errors:
        await ack(
            response_action="errors", errors=view_errors(form.with_errors(errors), state.page)
        )
        return
    draft = await drumbeat.store.load_draft(caller.org, caller.person, state.context)
    view = check_in_view(caller.org, form, page=state.page + 1, answers=draft)
    await ack(response_action="update", view=view)


def register(app: AsyncApp, services: SlackServices) -> None:
    @app.view_submission(CHECKIN_VIEW)
    async def check_in_submitted(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        await submit_view(services, ack, body, context.get("team_id"))
