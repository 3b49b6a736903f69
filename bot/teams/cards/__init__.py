"""The core's neutral messages as Adaptive Cards for Microsoft Teams (plain dicts).

`card_for` draws any message but a form as one or more cards (one when it fits Teams' size
limit); `form_cards` draws one page of a form (a check-in's, a dialog's) and
`answers_from_submit` reads the submitted page back; `done_card` replaces a pressed card once
it is answered.
"""

from __future__ import annotations

from typing import Any

from bot.teams.cards.form import form_cards, form_pages, page_fields
from bot.teams.cards.messages import done_card, render
from bot.teams.cards.packing import CARD_BUDGET, card_size
from bot.teams.cards.submits import (
    ActionSubmit,
    FormSubmit,
    answers_from_submit,
    executed_data,
    parse_submit,
)
from rhythm.messages import Form, Message


def card_for(message: Message) -> list[dict[str, Any]]:
    """`message` as Adaptive Cards, several when it is too large for one Teams message."""
    if isinstance(message, Form):
        raise TypeError("forms are drawn page by page: use form_cards(form, page=...)")
    return render(message)


__all__ = [
    "CARD_BUDGET",
    "ActionSubmit",
    "FormSubmit",
    "answers_from_submit",
    "card_for",
    "card_size",
    "done_card",
    "executed_data",
    "form_cards",
    "form_pages",
    "page_fields",
    "parse_submit",
]
