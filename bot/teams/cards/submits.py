"""What comes back when someone presses a card's button: `Activity.value`.

Teams merges the pressed Action.Submit's `data` with the card's inputs ({input id: value}),
all in one flat object. Inputs arrive as strings in Teams (numbers too, in some clients as
JSON numbers); an empty input arrives as "" or not at all. Nothing in it is trusted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.teams.cards.form import SUBMIT, form_pages
from bot.teams.cards.messages import ACTION
from rhythm.messages import Form


@dataclass(frozen=True, slots=True)
class FormSubmit:
    """A press of a form page's button: "Next", or the form's own submit label on the last."""

    context: str  # the Form's context, for Drumbeat.submit
    page: int
    pages: int

    @property
    def final(self) -> bool:
        return self.page >= self.pages - 1


@dataclass(frozen=True, slots=True)
class ActionSubmit:
    """A press of one of a notice's buttons (rhythm.messages.Action)."""

    action: str  # Action.id, e.g. "checkin:open"
    value: str  # Action.value, e.g. the prompt id


def parse_submit(value: object) -> FormSubmit | ActionSubmit | None:
    """The button behind an Action.Submit's value, or None when it is not one of ours."""
    if not isinstance(value, Mapping):
        return None
    kind = value.get("drumbeat")
    if kind == ACTION:
        action, argument = value.get("action"), value.get("value", "")
        if isinstance(action, str) and isinstance(argument, str):
            return ActionSubmit(action, argument)
    elif kind == SUBMIT:
        context, page, pages = (
            value.get("context"),
            _count(value.get("page")),
            _count(value.get("pages")),
        )
        if isinstance(context, str) and page is not None and pages and page < pages:
            return FormSubmit(context, page, pages)
    return None


def answers_from_submit(form: Form, value: Mapping[str, Any]) -> dict[str, str | None]:
    """{field id: text, or None when empty} for the fields of the page that was submitted.

    A multi-page form's pages arrive one by one: merge the pages' answers, and give the core
    the merged answers with the last page. A value that names no page of this form's layout
    gives only the fields it carries, so it never blanks answers given on other pages.
    """
    pages = form_pages(form)
    page, count = _count(value.get("page")), _count(value.get("pages"))
    if page is not None and count == len(pages) and page < count:
        fields = [f for section in pages[page] for f in section.fields]
    else:
        fields = [f for f in form.fields if f.id in value]
    return {f.id: _text(value.get(f.id)) for f in fields}


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


def _count(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw >= 0 else None
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    return None
