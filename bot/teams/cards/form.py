"""The check-in form as Adaptive Cards, one page per card when it is too long for one.

Pages are laid out from the form's structure alone (fields without their prefilled values or
errors), so the same form gives the same pages whether it comes fresh from the core, back
with errors, or prefilled with what the person typed: a page number names the same fields on
every rendering. Each page leaves room under `CARD_BUDGET` for prefills and error lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from bot.teams.cards.elements import (
    Element,
    adaptive_card,
    button,
    container,
    heading,
    line,
    subtle,
)
from bot.teams.cards.packing import CARD_BUDGET, SEPARATOR, card_size
from rhythm.messages import FieldKind, Form, FormField, FormSection

SUBMIT = "submit"  # the "drumbeat" key of the form's submit button
SUBMIT_VERB = "checkin:submit"  # its Action.Execute verb
CARD_KEY = "card"  # the submit button's data: which drawing of the form it was (see form_cards)
NEXT_LABEL = "Next"
LAYOUT_BUDGET = 15_000  # bytes of structure per page; the rest is for prefills and errors
ERROR_SHOWN = 300  # characters of one error message shown under its field
ORPHAN_ERRORS_SHOWN = 5
CHOICE_SPAN = 20  # a whole-number field with at most this range is a drop-down
# Bytes of choices a picker may take on a card (one "Blocked by" per key result, each with
# every team and key result), and never more than half a page's layout. A bigger
# organisation's picker is a text input that takes a name or key, which the core resolves:
# a static list would crowd the card out.
PICK_BUDGET = 8_000
TEXT_KINDS = (FieldKind.TEXT, FieldKind.LONG_TEXT)
TOO_LONG = "Your earlier answer was too long to show here."


def form_pages(form: Form) -> list[tuple[FormSection, ...]]:
    """The sections of each page; a section too long for one page continues on the next."""
    bare = _structure(form)
    pages: list[tuple[FormSection, ...]] = []
    current: list[FormSection] = []
    base = card_size(_page_card(bare, (), page=0, pages=999))
    used = base

    def flush() -> None:
        nonlocal current, used
        pages.append(tuple(current))
        current, used = [], base

    for section, structure in zip(form.sections, bare.sections, strict=True):
        cost = _section_cost(structure)
        if used + cost > LAYOUT_BUDGET and current:
            flush()
        if used + cost <= LAYOUT_BUDGET:
            current.append(section)
            used += cost
            continue
        chunk: list[int] = []  # positions of the fields on the current page
        for index in range(len(section.fields)):
            if chunk and used + _section_cost(_part(structure, [*chunk, index])) > LAYOUT_BUDGET:
                current.append(_part(section, chunk))
                flush()
                chunk = []
            if not chunk and used + _section_cost(_part(structure, [index])) > LAYOUT_BUDGET:
                raise ValueError(f"the form field {section.fields[index].id!r} fits no card")
            chunk.append(index)
        part = _part(section, chunk)
        current.append(part)
        used += _section_cost(_part(structure, chunk))
    if current or not pages:
        flush()
    return pages


def form_cards(form: Form, *, page: int = 0, card: str = "") -> dict[str, Any]:
    """Page `page` of the form as a card: inputs prefilled, errors under their fields.

    The form's context goes into the submit button's data as it is (the core's, never read
    here: a check-in's or a dialog's). `card`, when given, names this drawing of the form
    (the bot's own, next to the context): the same card pressed twice sends the same name,
    a form drawn again (an Edit of a check-in, in the same message) another one."""
    pages = form_pages(form)
    if not 0 <= page < len(pages):
        raise IndexError(f"the form has {len(pages)} page(s), not a page {page}")
    drawn = _page_card(form, pages[page], page=page, pages=len(pages), card=card)
    dropped: list[str] = []
    while card_size(drawn) > CARD_BUDGET:
        # Only very long prefilled texts get here: show them empty rather than not at all.
        longest = max(
            (
                f
                for s in pages[page]
                for f in s.fields
                if f.kind in TEXT_KINDS and f.initial and f.id not in dropped
            ),
            key=lambda f: len(f.initial or ""),
            default=None,
        )
        if longest is None:
            raise ValueError(f"page {page} of the form does not fit a card")
        dropped.append(longest.id)
        shown = _without_prefill(pages[page], dropped)
        drawn = _page_card(form, shown, page=page, pages=len(pages), card=card)
    return drawn


def page_fields(form: Form) -> list[list[str]]:
    """The field ids on each page: how the check-in session knows what a card held."""
    return [[f.id for s in page for f in s.fields] for page in form_pages(form)]


def _structure(form: Form) -> Form:
    """The form without what varies between renderings of it: prefills, errors, warnings,
    and its context (the session lays out a form it has not given a context yet)."""
    bare = _map_fields(form.sections, lambda f: replace(f, initial=None))
    return replace(form, sections=bare, errors={}, warnings={}, context="")


def _part(section: FormSection, positions: list[int]) -> FormSection:
    title = section.title if positions[0] == 0 else f"{section.title} (continued)"
    return replace(section, title=title, fields=tuple(section.fields[i] for i in positions))


def _without_prefill(sections: tuple[FormSection, ...], ids: list[str]) -> tuple[FormSection, ...]:
    return _map_fields(
        sections, lambda f: replace(f, initial=None, hint=TOO_LONG) if f.id in ids else f
    )


def _map_fields(
    sections: tuple[FormSection, ...], change: Callable[[FormField], FormField]
) -> tuple[FormSection, ...]:
    return tuple(replace(s, fields=tuple(change(f) for f in s.fields)) for s in sections)


def _section_cost(section: FormSection) -> int:
    return card_size(_section(section, {}, {}, first=False)) + SEPARATOR


def _page_card(
    form: Form, sections: tuple[FormSection, ...], *, page: int, pages: int, card: str = ""
) -> dict[str, Any]:
    where = f" · page {page + 1} of {pages}" if pages > 1 else ""
    head = [heading(form.title, size="large"), subtle(form.intro + where)]
    head.extend(_error_summary(form))
    body = [_section(s, form.errors, form.warnings, first=i == 0) for i, s in enumerate(sections)]
    final = page == pages - 1
    data = {"drumbeat": SUBMIT, "context": form.context, **({CARD_KEY: card} if card else {})}
    submit = button(
        form.submit_label if final else NEXT_LABEL, verb=SUBMIT_VERB, data=data, positive=True
    )
    return adaptive_card([*head, *body], actions=[submit], full_width=True)


def _error_summary(form: Form) -> list[Element]:
    fields = {f.id for f in form.fields}
    lines: list[Element] = []
    warned = [fid for fid in form.warnings if fid in fields and fid not in form.errors]
    if warned:
        count = len(warned)
        text = (
            f"⚠ {count} answer{' looks' if count == 1 else 's look'} unusual: submit again to keep"
        )
        # The default colour, bolder: Teams' "warning" is a pale yellow on a light theme.
        lines.append(line(text, weight="bolder", spacing="medium"))
    if not form.errors:
        return lines
    on_fields = [fid for fid in form.errors if fid in fields]
    if on_fields:
        count = len(on_fields)
        text = f"⚠ {count} answer{' needs' if count == 1 else 's need'} fixing"
        lines.append(line(text, color="attention", weight="bolder", spacing="medium"))
    others = [message for fid, message in form.errors.items() if fid not in fields]
    for message in others[:ORPHAN_ERRORS_SHOWN]:
        lines.append(line(f"⚠ {message[:ERROR_SHOWN]}", color="attention", spacing="small"))
    if len(others) > ORPHAN_ERRORS_SHOWN:
        more = len(others) - ORPHAN_ERRORS_SHOWN
        lines.append(line(f"… and {more} more", color="attention", spacing="none"))
    return lines


def _section(
    section: FormSection,
    errors: Mapping[str, str],
    warnings: Mapping[str, str],
    *,
    first: bool,
) -> Element:
    # A dialog's one section has no title (`settings`): the form's title says it all.
    items = [line(section.title, weight="bolder", size="medium")] if section.title else []
    if section.subtitle:
        items.append(subtle(section.subtitle))
    for field in section.fields:
        items.extend(_field(field, errors.get(field.id), warnings.get(field.id)))
    return container(items, separator=not first, spacing="default" if first else "large")


def _field(field: FormField, error: str | None, warning: str | None) -> list[Element]:
    items = [_input(field)]
    if field.hint:
        items.append(subtle(field.hint))
    if error:
        items.append(line(f"⚠ {error[:ERROR_SHOWN]}", color="attention", spacing="none"))
    elif warning:
        items.append(line(f"⚠ {warning[:ERROR_SHOWN]}", weight="bolder", spacing="none"))
    return items


def _input(field: FormField) -> Element:
    element: Element = {"id": field.id, "label": field.label}
    if field.kind is FieldKind.CHOICE:
        element.update(_choices([(o.label, o.value) for o in field.options], field.initial))
    elif field.kind is FieldKind.PICK and _pick_fits(field):
        element.update(_choices(_pick_titles(field), field.initial, style="filtered"))
    elif field.kind is FieldKind.INTEGER and _small_range(field):
        low, high = int(field.minimum or 0), int(field.maximum or 0)
        element.update(
            _choices([(str(n), str(n)) for n in range(low, high + 1)], _whole(field.initial))
        )
    elif field.kind in (FieldKind.NUMBER, FieldKind.INTEGER):
        # No min/max: Teams clients clamp to them (-5 would silently become 0); the core
        # checks the range and says what is wrong.
        element["type"] = "Input.Number"
        value = _parsed(field.initial)
        if value is not None:
            element["value"] = value
    else:
        element["type"] = "Input.Text"
        if field.kind is FieldKind.LONG_TEXT:
            element["isMultiline"] = True
        element["maxLength"] = field.max_length
        if field.initial:
            element["value"] = _typed_form(field, field.initial)
    if field.required:
        element["isRequired"] = True
        element["errorMessage"] = _required_message(field, element["type"])
    return {"type": element.pop("type"), **element}


def _choices(
    options: list[tuple[str, str]], initial: str | None, *, style: str = "compact"
) -> Element:
    """A drop-down; `filtered` (card 1.5) lets people type to narrow it down."""
    element: Element = {
        "type": "Input.ChoiceSet",
        "style": style,
        "choices": [{"title": title, "value": value} for title, value in options],
    }
    if initial is not None and any(value == initial for _, value in options):
        element["value"] = initial
    else:
        element["placeholder"] = "Type a name…" if style == "filtered" else "Choose…"
    return element


def _pick_titles(field: FormField) -> list[tuple[str, str]]:
    """A picker's options with their group in the title: a card's choices have no headings,
    and typing the group's words ("platform") then finds its members too."""
    return [(f"{o.label} · {o.group}" if o.group else o.label, o.value) for o in field.options]


def _typed_form(field: FormField, initial: str) -> str:
    """A picker's chosen option as a person would type it (its label, which the core reads
    back), for a picker shown as a text input; any other text as it is."""
    if field.kind is FieldKind.PICK:
        return next((o.label for o in field.options if o.value == initial), initial)
    return initial


def _pick_fits(field: FormField) -> bool:
    choices = [{"title": title, "value": value} for title, value in _pick_titles(field)]
    return card_size(choices) <= min(PICK_BUDGET, LAYOUT_BUDGET // 2)


def _small_range(field: FormField) -> bool:
    low, high = field.minimum, field.maximum
    return (
        low is not None
        and high is not None
        and float(low).is_integer()
        and float(high).is_integer()
        and 0 <= high - low <= CHOICE_SPAN
    )


def _required_message(field: FormField, kind: str) -> str:
    """What Teams says, before sending anything, when a required input is empty or invalid."""
    if kind == "Input.ChoiceSet":
        return "Please choose one."
    if kind == "Input.Number":
        low, high = field.minimum, field.maximum
        if low is not None and high is not None:
            return f"Enter a number from {_number(low)} to {_number(high)}."
        return "Enter a number."
    return "Please fill this in."


def _parsed(text: str | None) -> int | float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return _number(value) if math.isfinite(value) else None


def _whole(text: str | None) -> str | None:
    value = _parsed(text)
    return str(int(value)) if value is not None and float(value).is_integer() else None


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
