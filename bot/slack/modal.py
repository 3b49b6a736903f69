"""The check-in form as Slack modals, and the way back from a view_submission to answers.

A modal holds at most 100 blocks, so a person with many key results gets several pages: each
page is a view of its own ("Next" submits it and the app pushes or updates to the next page;
the last page's submit button is the form's). Pages depend only on the form's sections and
fields, never on its errors, so a field stays on the same page when the form comes back with
errors. Errors are shown three ways: `view_errors` for `response_action: errors` (Slack shows
them under the inputs of the current view), the field's hint, and a summary section at the top
of the page that also names errors on other pages.

Each field is one input block whose `block_id` is the field id (keys are at most 200
characters, so a field id always fits Slack's 255) and whose element's `action_id` is always
"value". Slack keeps what people typed across `views.update` when block_id and action_id stay
the same.

A picker ("Blocked by") is a static select with its options under their group headings when
they fit one (100 options in all), else an external select: Slack then asks for the options
matching what is typed (`block_suggestion`, bot/slack/actions.py), and the core answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bot.slack.blocks import (
    EMPTY,
    SECTION_LIMIT,
    Block,
    context,
    header,
    plain,
    section,
)
from bot.slack.mrkdwn import bold, escape, truncate
from rhythm.messages import FieldKind, Form, FormField, FormSection, Option

MAX_MODAL_BLOCKS = 100
TITLE_LIMIT = 24  # modal title, submit and close
PRIVATE_METADATA_LIMIT = 3000
ID_LIMIT = 255  # block_id and action_id
LABEL_LIMIT = 2000
HINT_LIMIT = 2000
PLACEHOLDER_LIMIT = 150
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100  # in a static select, counted over all its groups; in an options answer
MIN_QUERY_LENGTH = 1  # an external select asks for options from the first character typed
OTHER_GROUP = "Other"  # the heading of ungrouped options in a menu whose others have one
INPUT_LIMIT = 3000  # plain_text_input max_length
ACTION_ID = "value"
PAGE_BLOCKS = 3  # intro, page n of m, error summary: reserved on every page


# ---- pages --------------------------------------------------------------------------------


def _section_blocks(section: FormSection) -> int:
    return 1 + (1 if section.subtitle else 0) + len(section.fields)


def _split_section(section: FormSection, room: int) -> list[FormSection]:
    """A section too big for one page as several, each with the title and at most `room`
    blocks."""
    per_part = room - 1 - (1 if section.subtitle else 0)
    fields = section.fields
    return [
        FormSection(section.title, fields[i : i + per_part], section.subtitle)
        for i in range(0, len(fields), per_part)
    ]


def form_pages(form: Form) -> list[tuple[FormSection, ...]]:
    """The form's sections split into pages that each fit a modal: greedily, in order, a
    section whole when it fits and split by fields only when it is bigger than a page."""
    room = MAX_MODAL_BLOCKS - PAGE_BLOCKS
    pages: list[list[FormSection]] = [[]]
    used = 0
    for whole in form.sections:
        parts = [whole] if _section_blocks(whole) <= room else _split_section(whole, room)
        for part in parts:
            size = _section_blocks(part)
            if pages[-1] and used + size > room:
                pages.append([])
                used = 0
            pages[-1].append(part)
            used += size
    return [tuple(page) for page in pages]


def slack_pages(form: Form) -> list[list[str]]:
    """The field ids on each page: how the check-in session knows what a modal held."""
    return [[f.id for s in page for f in s.fields] for page in form_pages(form)]


def block_id_for(field_id: str) -> str:
    """The input block id of a field: the field id itself."""
    if len(field_id) > ID_LIMIT:
        raise ValueError(f"a field id longer than Slack's block ids: {field_id[:60]}…")
    return field_id


# ---- inputs -------------------------------------------------------------------------------


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None and raw.strip() else None
    except ValueError:
        return None


def _num_text(value: float) -> str:
    """A number as number_input wants it: digits, never an exponent (str(1e-07) has one)."""
    if float(value).is_integer():
        return str(int(value))
    return format(Decimal(repr(float(value))), "f")


def _option(option: Option) -> dict[str, Any]:
    return {"text": plain(option.label, OPTION_TEXT_LIMIT), "value": option.value}


def _number_element(field: FormField, initial: str | None) -> dict[str, Any]:
    decimal = field.kind is FieldKind.NUMBER
    element: dict[str, Any] = {
        "type": "number_input",
        "action_id": ACTION_ID,
        "is_decimal_allowed": decimal,
    }
    if field.minimum is not None:
        element["min_value"] = _num_text(field.minimum)
    if field.maximum is not None:
        element["max_value"] = _num_text(field.maximum)
    value = _number(initial)
    # Slack rejects the whole view when a prefill breaks the input's own rules: leave out a
    # last answer that no longer fits (the person types a new one and the core checks it).
    fits = (
        value is not None
        and (decimal or value.is_integer())
        and (field.minimum is None or value >= field.minimum)
        and (field.maximum is None or value <= field.maximum)
    )
    if fits and value is not None:
        element["initial_value"] = _num_text(value)
    return element


def _select_element(field: FormField, initial: str | None) -> dict[str, Any]:
    options = [o for o in field.options if len(o.value) <= OPTION_VALUE_LIMIT][:MAX_OPTIONS]
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ACTION_ID,
        "placeholder": plain("Choose…", PLACEHOLDER_LIMIT),
        "options": [_option(o) for o in options],
    }
    chosen = next((o for o in options if o.value == initial), None)
    if chosen is not None:
        element["initial_option"] = _option(chosen)
    return element


def option_list(options: Sequence[Option]) -> dict[str, Any]:
    """`options` as a select's (or a block_suggestion answer's) `options`, or under their
    headings as `option_groups` when they have any (Slack wants every option in a group then).
    """
    if not any(o.group for o in options):
        return {"options": [_option(o) for o in options]}
    groups: dict[str, list[Option]] = {}
    for option in options:
        groups.setdefault(option.group or OTHER_GROUP, []).append(option)
    return {
        "option_groups": [
            {"label": plain(label, OPTION_TEXT_LIMIT), "options": [_option(o) for o in members]}
            for label, members in groups.items()
        ]
    }


def _pick_element(field: FormField, initial: str | None) -> dict[str, Any]:
    """A picker: a static select with its groups when all its options fit one (100), else an
    external select whose options the app gives for what is typed (a block_suggestion)."""
    options = [o for o in field.options if len(o.value) <= OPTION_VALUE_LIMIT]
    element: dict[str, Any]
    if len(options) <= MAX_OPTIONS:
        element = {
            "type": "static_select",
            "action_id": ACTION_ID,
            "placeholder": plain("Choose or type a name…", PLACEHOLDER_LIMIT),
            **option_list(options),
        }
    else:
        element = {
            "type": "external_select",
            "action_id": ACTION_ID,
            "placeholder": plain("Type a name…", PLACEHOLDER_LIMIT),
            "min_query_length": MIN_QUERY_LENGTH,
        }
    chosen = next((o for o in options if o.value == initial), None)
    if chosen is not None:
        element["initial_option"] = _option(chosen)
    return element


def _text_element(field: FormField, initial: str | None) -> dict[str, Any]:
    limit = max(1, min(field.max_length, INPUT_LIMIT))
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ACTION_ID,
        "max_length": limit,
    }
    if field.kind is FieldKind.LONG_TEXT:
        element["multiline"] = True
    if initial:
        # A prefill is a value people edit, not text Slack formats: it is never escaped.
        element["initial_value"] = initial[:limit]
    return element


def input_block(field: FormField, *, initial: str | None, error: str | None) -> Block:
    if field.kind in (FieldKind.NUMBER, FieldKind.INTEGER):
        element = _number_element(field, initial)
    elif field.kind is FieldKind.CHOICE and field.options:
        element = _select_element(field, initial)
    elif field.kind is FieldKind.PICK and field.options:
        element = _pick_element(field, initial)
    else:
        element = _text_element(field, initial)
    block: Block = {
        "type": "input",
        "block_id": block_id_for(field.id),
        "label": plain(field.label, LABEL_LIMIT),
        "element": element,
        "optional": not field.required,
    }
    hint = f"⚠️ {error}" if error else field.hint
    if hint:
        block["hint"] = plain(hint, HINT_LIMIT)
    return block


# ---- views --------------------------------------------------------------------------------


def _short_title(form: Form, page: int, pages: int) -> str:
    name = form.title.split(" · ")[0] or "Check-in"
    if pages > 1:
        numbered = f"{name} {page + 1}/{pages}"
        return numbered if len(numbered) <= TITLE_LIMIT else f"Check-in {page + 1}/{pages}"
    return name


def _error_summary(form: Form, pages: Sequence[tuple[FormSection, ...]], page: int) -> str:
    """Every error and warning of the form, those on other pages with their page number."""
    labels = {f.id: (n, f.label) for n, p in enumerate(pages) for s in p for f in s.fields}
    lines = []
    for field_id, message in _flagged(form).items():
        if field_id in labels:
            number, label = labels[field_id]
            where = "" if number == page else f"Page {number + 1} · "
            lines.append(f"⚠️ {where}{bold(label)}: {escape(message)}")
        else:
            lines.append(f"⚠️ {escape(message)}")
    return "\n".join(lines)


def modal_view(
    form: Form,
    *,
    page: int = 0,
    private_metadata: str,
    callback_id: str = "checkin",
) -> dict[str, Any]:
    """Page `page` of `form` as a `type: modal` view."""
    if len(private_metadata) > PRIVATE_METADATA_LIMIT:
        raise ValueError(
            f"private_metadata has {len(private_metadata)} characters, Slack allows "
            f"{PRIVATE_METADATA_LIMIT}"
        )
    pages = form_pages(form)
    if not 0 <= page < len(pages):
        raise IndexError(f"page {page} of a form with {len(pages)} page(s)")
    last = page == len(pages) - 1
    blocks: list[Block] = []
    if page == 0:
        intro = f"{bold(form.title)}\n{escape(form.intro)}" if form.intro else bold(form.title)
        blocks.append(section(intro))
    if len(pages) > 1:
        following = "" if last else f" · “Next” keeps your answers and opens page {page + 2}"
        blocks.append(context(f"Page {page + 1} of {len(pages)}{following}"))
    summary = _error_summary(form, pages, page)
    if summary:
        blocks.append(section(truncate(summary, SECTION_LIMIT)))
    for part in pages[page]:
        blocks.append(header(part.title))
        if part.subtitle:
            blocks.append(context(escape(part.subtitle)))
        for field in part.fields:
            flag = form.errors.get(field.id) or form.warnings.get(field.id)
            blocks.append(input_block(field, initial=field.initial, error=flag))
    submit = form.submit_label if last else "Next"
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(_short_title(form, page, len(pages)), TITLE_LIMIT),
        "submit": plain(submit or EMPTY, TITLE_LIMIT),
        "close": plain("Cancel", TITLE_LIMIT),
        "blocks": blocks,
    }
    if private_metadata:  # an empty string is left out, as Slack's own SDK does
        view["private_metadata"] = private_metadata
    return view


def _flagged(form: Form) -> dict[str, str]:
    """The form's errors, and its warnings where a field has no error."""
    return {**form.warnings, **form.errors}


def view_errors(form: Form, page: int) -> dict[str, str]:
    """{block_id: message} for `response_action: errors`: the errors and warnings of fields
    on `page` (Slack shows both in red under the input; a warning says to submit again).

    A form-wide error (field id "") has no input of its own; it goes to the page's first
    input so that Slack shows it at all."""
    fields = [f for s in form_pages(form)[page] for f in s.fields]
    flagged = _flagged(form)
    out = {
        block_id_for(f.id): truncate(flagged[f.id], HINT_LIMIT) for f in fields if f.id in flagged
    }
    general = form.errors.get("")
    if general and fields:
        first = block_id_for(fields[0].id)
        out[first] = truncate(f"{general} {out[first]}" if first in out else general, HINT_LIMIT)
    return out


# ---- submissions --------------------------------------------------------------------------


def _state_value(action: Mapping[str, Any]) -> str | None:
    """What one input holds in `view.state.values`: number and text inputs as their string,
    a select as its option's value; empty as None."""
    if "selected_option" in action:
        option = action["selected_option"]
        value = option.get("value") if isinstance(option, Mapping) else None
    else:
        value = action.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None  # empty, or a shape no input of ours sends
    text = str(value)
    return text if text.strip() else None


def answers_from_state(values: Mapping[str, Any]) -> dict[str, str | None]:
    """field id -> answer from a view_submission's `view.state.values` (block_id -> action_id
    -> {type, value | selected_option}). Which of them are fields of the page is the check-in
    session's business."""
    answers: dict[str, str | None] = {}
    for block_id, actions in values.items():
        if isinstance(actions, Mapping) and isinstance(actions.get(ACTION_ID), Mapping):
            answers[block_id] = _state_value(actions[ACTION_ID])
    return answers
