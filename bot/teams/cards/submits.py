"""What comes back when someone presses a card's button.

Teams merges the pressed button's `data` with the card's inputs ({input id: value}), all in
one flat object: an Action.Execute's arrives in an `adaptiveCard/action` invoke, as
`value.action.data`; an Action.Submit's (the fallback of older clients, and the buttons of
cards sent before Drumbeat used Action.Execute) as a message's `value`. Both are read the
same way. Inputs arrive as strings in Teams (numbers too, in some clients as JSON numbers);
an empty input arrives as "" or not at all. Nothing in it is trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.teams.cards.form import CARD_KEY, SUBMIT
from bot.teams.cards.messages import ACTION


@dataclass(frozen=True, slots=True)
class FormSubmit:
    """A press of a form page's button: "Next", or the form's own submit label on the last.
    `context` is the core's (a check-in's or a dialog's), handed back to it as it came;
    `card` names the drawing of the form that was pressed ("" on cards drawn before)."""

    context: str
    card: str = ""


@dataclass(frozen=True, slots=True)
class ActionSubmit:
    """A press of one of a notice's buttons (rhythm.messages.Action)."""

    action: str  # Action.id, e.g. "checkin:open"
    value: str  # Action.value, e.g. the prompt id


def executed_data(value: object) -> object:
    """The pressed button's data with the inputs, from an `adaptiveCard/action` invoke's
    value ({"action": {"type": "Action.Execute", "verb", "data"}, "trigger"}); None when it
    holds none."""
    action = value.get("action") if isinstance(value, Mapping) else None
    return action.get("data") if isinstance(action, Mapping) else None


def parse_submit(value: object) -> FormSubmit | ActionSubmit | None:
    """The button behind a press's data (an Action.Submit's value, an Action.Execute's
    data), or None when it is not one of ours."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get("drumbeat")
    if kind == ACTION:
        action, argument = value.get("action"), value.get("value", "")
        if isinstance(action, str) and isinstance(argument, str):
            return ActionSubmit(action, argument)
    elif kind == SUBMIT:
        context, card = value.get("context"), value.get(CARD_KEY, "")
        if isinstance(context, str):
            return FormSubmit(context, card if isinstance(card, str) else "")
    return None


def answers_from_submit(value: Mapping[str, Any]) -> dict[str, str | None]:
    """{input id: text, or None when empty} for every input the card sent. Which of them
    belong to the submitted page is the check-in session's business (an input of the page
    that is missing is taken as empty)."""
    return {
        key: _text(raw)
        for key, raw in value.items()
        if isinstance(key, str) and key not in BUTTON_KEYS and _is_input(raw)
    }


# The button's own data, not inputs.
BUTTON_KEYS = frozenset({"drumbeat", "context", CARD_KEY, "action", "value"})


def _is_input(raw: object) -> bool:
    """What an input of ours sends: text, a number, a toggle, or nothing."""
    return raw is None or isinstance(raw, str | int | float | bool)


def _text(raw: object) -> str | None:
    if isinstance(raw, bool):  # before int: bool is an int
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None
        return str(int(raw)) if raw.is_integer() else repr(raw)
    if isinstance(raw, str):
        return raw if raw.strip() else None
    return None  # absent, null, or a shape no input of ours sends
