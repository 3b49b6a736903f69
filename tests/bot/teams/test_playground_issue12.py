# ruff: noqa: F811  (the fixtures come from test_playground)
"""Edit after a check-in and `blockers`, end to end in the Microsoft 365 Agents Playground
(test_playground's fixture: the real app on SQLite, the Playground playing Teams, its HTTP
routes pressed as its page does): what Claire, the Playground's current user, sees."""

from __future__ import annotations

from typing import Any

import pytest

from rhythm.prompting import EDIT
from tests.bot.teams.test_bot import filled, inputs, submit_data, texts
from tests.bot.teams.test_playground import (  # noqa: F401
    Session,
    card_answer,
    card_of,
    form_button,
    playground_cli,
    teams,
    with_text,
)

pytestmark = pytest.mark.slow


def edit_button(card: dict[str, Any]) -> dict[str, Any]:
    [button] = [a for a in card["actions"] if a["data"]["action"] == EDIT]
    return dict(button)


async def test_the_confirmation_has_edit_which_opens_the_form_prefilled(teams: Session):
    await teams.say("checkin")
    sent = await teams.seen("createMessage", teams.chat, lambda m: bool(m.get("attachments")))
    form = card_of(sent)
    values = {i: e["value"] for i, e in inputs(form).items() if i.endswith(":value")}
    assert values
    changed = {i: str(float(v) + 0.1) for i, v in values.items()}

    done = card_answer(await teams.press(
        sent["messageId"], form_button(form), {**filled(form), **changed}
    ))  # fmt: skip
    assert "Checked in" in texts(done)
    edit = edit_button(done)
    assert edit["type"] == "Action.Execute"
    assert edit["title"] == "Edit"

    again = card_answer(await teams.press(sent["messageId"], edit, edit["data"]))

    assert submit_data(again)["drumbeat"] == "submit"  # the form, in the same message
    shown = {i: e["value"] for i, e in inputs(again).items() if i.endswith(":value")}
    assert {i: float(v) for i, v in shown.items()} == {i: float(v) for i, v in changed.items()}
    revised = card_answer(await teams.press(sent["messageId"], form_button(again), filled(again)))
    assert "revision 2" in texts(revised)
    assert await teams.checkins() == 2


async def test_blockers_answers(teams: Session):
    await teams.say("blockers")

    reply = await teams.seen("createMessage", teams.chat, with_text("Blockers · Acme"))
    card = card_of(reply)
    assert "Raised by Acme" in texts(card)
    assert "Waiting on Acme" in texts(card)
