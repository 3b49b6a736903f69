"""Small constructors for Adaptive Card elements.

Every piece of text goes into a `TextRun` inside a `RichTextBlock`: unlike a `TextBlock`, a
text run is never read as Markdown, so people's words (a blocker, a name, a key-result title)
show exactly as typed. There is nothing to escape and nothing that could be mis-escaped.

Every button is an `Action.Execute` (Teams' Universal Actions): pressing it sends the bot an
`adaptiveCard/action` invoke, and the bot's HTTP answer holds the card that takes the pressed
one's place, with no message sent through the Bot Framework (so no rate limit in between).
Teams asks for card version 1.5 with it; clients too old for it use its `fallback`, an
`Action.Submit` with the same data, which comes back as a message the bot also reads.
"""

from __future__ import annotations

from typing import Any

from rhythm.markup import Mark, spans
from rhythm.sections import Action

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
EXECUTE = "Action.Execute"
SUBMIT_ACTION = "Action.Submit"
NBSP = "\u00a0"  # leading spaces collapse in the renderer's HTML; these do not
ACTION = "action"  # the "drumbeat" key of a button's data

Element = dict[str, Any]


def run(text: str, **style: Any) -> Element:
    """A text run: `weight`, `size`, `color`, `isSubtle`, `italic`, `fontType` as styles."""
    return {"type": "TextRun", "text": text, **style}


def paragraph(*runs: Element, **props: Any) -> Element:
    """A block of text runs; `props` are block properties such as `spacing` or `separator`."""
    return {"type": "RichTextBlock", "inlines": list(runs), **props}


def line(
    text: str, *, spacing: str | None = None, separator: bool = False, **style: Any
) -> Element:
    """One paragraph of the core's text in `style`: its `code` in monospace and its
    **emphasis** bolder (a RichTextBlock shows no markdown: its marks are made runs)."""
    return paragraph(*marked_runs(text, **style), **_block_props(spacing, separator))


def marked_runs(text: str, **style: Any) -> list[Element]:
    """The text runs of the core's marked-up `text` (see `rhythm.markup`)."""
    marks = {
        Mark.PLAIN: {},
        Mark.CODE: {"fontType": "monospace"},
        Mark.STRONG: {"weight": "bolder"},
    }
    return [run(span.text, **(style | marks[span.mark])) for span in spans(text)]


def heading(text: str, *, size: str = "medium", separator: bool = False) -> Element:
    return line(text, weight="bolder", size=size, separator=separator, spacing="medium")


def subtle(text: str, *, spacing: str | None = "none") -> Element:
    return line(text, isSubtle=True, size="small", spacing=spacing)


def container(
    items: list[Element], *, spacing: str | None = None, separator: bool = False, **props: Any
) -> Element:
    return {"type": "Container", "items": items, **_block_props(spacing, separator), **props}


def indented(text: str) -> str:
    """`text` with its leading spaces made visible (help texts indent their lines)."""
    stripped = text.lstrip(" ")
    return NBSP * (len(text) - len(stripped)) + stripped


def button(title: str, *, verb: str, data: Element, positive: bool = False) -> Element:
    """A button that Teams answers with an `adaptiveCard/action` invoke carrying `data`
    (with the card's inputs merged in) and `verb`; older clients send the same data as an
    Action.Submit."""
    style = {"style": "positive"} if positive else {}
    fallback = {"type": SUBMIT_ACTION, "title": title, "data": dict(data), **style}
    return {"type": EXECUTE, "title": title, "verb": verb, "data": data, **style,
            "fallback": fallback}  # fmt: skip


def action_button(action: Action) -> Element:
    """A core action's button: its verb is the action's id, its data says which action and
    value."""
    data = {"drumbeat": ACTION, "action": action.id, "value": action.value}
    return button(action.label, verb=action.id, data=data, positive=action.primary)


def adaptive_card(
    body: list[Element], *, actions: list[Element] | None = None, full_width: bool = False
) -> Element:
    """A card at the lowest version its content needs: 1.5 for tables and for buttons, in
    its actions or in the body (Teams' Universal Actions ask for 1.5), else 1.4."""
    buttons = any(a.get("type") == EXECUTE for a in actions or ())
    newest = buttons or any(_has_table(e) or _has_execute(e) for e in body)
    card: Element = {
        "$schema": SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.5" if newest else "1.4",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    if full_width:
        card["msteams"] = {"width": "Full"}  # Teams' own extension: use the message's width
    return card


def _has_table(element: Element) -> bool:
    if element.get("type") == "Table":
        return True
    return any(_has_table(child) for child in element.get("items", ()))


def _has_execute(element: Element) -> bool:
    """A row of buttons in the body (an ActionSet) with an Action.Execute."""
    return element.get("type") == "ActionSet" and any(
        a.get("type") == EXECUTE for a in element.get("actions", ())
    )


def _block_props(spacing: str | None, separator: bool) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if spacing:
        props["spacing"] = spacing
    if separator:
        props["separator"] = True
    return props
