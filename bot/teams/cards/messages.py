"""Adaptive Cards for the core's short messages: text, notices with buttons, tables, trees."""

from __future__ import annotations

from functools import singledispatch

from bot.teams.cards.elements import (
    ACTION,
    NBSP,
    Element,
    action_button,
    heading,
    indented,
    line,
    paragraph,
    run,
    subtle,
)
from bot.teams.cards.packing import pack_cards
from bot.teams.cards.report import report_cards
from rhythm.messages import Notice, Report, Table, Text, Tree, TreeNode

__all__ = ["ACTION", "action_button", "render"]

INDENT = NBSP * 4
MAX_ACTIONS = 6  # buttons Teams shows in one row of a card (web, desktop); more are hidden


@singledispatch
def render(message: object) -> list[Element]:
    raise TypeError(f"no Adaptive Card for {type(message).__name__}")


@render.register
def _text(message: Text) -> list[Element]:
    body = []
    gap = False
    for text in message.text.splitlines():
        if not text.strip():
            gap = True  # a blank line becomes space before the next paragraph
            continue
        body.append(line(indented(text), spacing="medium" if gap else "none"))
        gap = False
    return pack_cards(body or [line(NBSP)])


@render.register
def _notice(message: Notice) -> list[Element]:
    return notice_cards(message)


def notice_cards(message: Notice) -> list[Element]:
    title = heading(message.title)
    body = [line(text, spacing="small") for text in message.lines]
    if message.footer:
        body.append(subtle(message.footer, spacing="medium"))
    actions: list[Element] | None = [action_button(a) for a in message.actions] or None
    if actions and len(actions) > MAX_ACTIONS:
        # Teams shows a card's first six buttons and drops the others without a word (a
        # lead's list of who to nudge has up to ten): rows of six in the body instead.
        body.extend(
            {"type": "ActionSet", "actions": actions[i : i + MAX_ACTIONS], "spacing": "small"}
            for i in range(0, len(actions), MAX_ACTIONS)
        )
        actions = None
    return pack_cards(
        body, head=[title], continued_head=[_continued(message.title)], actions=actions
    )


def done_card(notice: Notice) -> Element:
    """The card that replaces a pressed card once answered (a check-in form, a prompt, a
    blocker's buttons, a dialog): no inputs, and only the buttons the notice itself has (a
    confirmation's Edit)."""
    cards = notice_cards(notice)
    if len(cards) != 1:
        raise ValueError("a done notice must fit one card")
    return cards[0]


@render.register
def _report(message: Report) -> list[Element]:
    return report_cards(message, {})  # no image sources: the gateway resolves them


# More columns than this do not fit a chat's card side by side: headers break mid-word
# ("Confidenc/e") and bars wrap. Each row is then its title over a list of label: value.
TABLE_COLUMNS = 4


@render.register
def _table(message: Table) -> list[Element]:
    if len(message.columns) > TABLE_COLUMNS:
        return _row_lists(message)
    width = len(message.columns)
    header = {"type": "TableRow", "cells": [_cell(c, bold=True) for c in message.columns]}
    rows = [
        {"type": "TableRow", "cells": [_cell(c) for c in (*row, *[""] * width)[:width]]}
        for row in message.rows
    ]
    table = {
        "type": "Table",
        # The first column holds titles: give it the room.
        "columns": [{"width": 3 if i == 0 else 2} for i in range(width)],
        "rows": [header, *rows],
        "firstRowAsHeader": True,
        "showGridLines": False,
    }
    body: list[Element] = [table]
    if message.footer:
        body.append(subtle(message.footer, spacing="small"))
    return pack_cards(
        body,
        head=[heading(message.title)],
        continued_head=[_continued(message.title)],
        full_width=True,
    )


def _row_lists(message: Table) -> list[Element]:
    """Each row as its first cell in bold over a FactSet of the other columns."""
    labels = message.columns[1:]
    body: list[Element] = []
    for row in message.rows:
        title = row[0] if row else ""
        cells = (*row[1:], *[""] * len(labels))[: len(labels)]
        facts = [
            {"title": label, "value": cell or "–"}
            for label, cell in zip(labels, cells, strict=True)
        ]
        body.append(line(title, weight="bolder", spacing="medium"))
        body.append({"type": "FactSet", "facts": facts, "spacing": "small"})
    if not message.rows:
        body.append(subtle("Nothing here yet.", spacing="small"))
    if message.footer:
        body.append(subtle(message.footer, spacing="medium"))
    return pack_cards(
        body, head=[heading(message.title)], continued_head=[_continued(message.title)]
    )


def _cell(text: str, *, bold: bool = False) -> Element:
    shown = line(text or "–", weight="bolder") if bold else line(text or "–")
    return {"type": "TableCell", "items": [shown]}


@render.register
def _tree(message: Tree) -> list[Element]:
    body: list[Element] = []
    for root in message.roots:
        _tree_lines(root, 0, body)
    if not body:
        body.append(subtle("Nothing here yet.", spacing="small"))
    return pack_cards(
        body,
        head=[heading(message.title)],
        continued_head=[_continued(message.title)],
        full_width=True,
    )


def _tree_lines(node: TreeNode, depth: int, out: list[Element]) -> None:
    style = {"weight": "bolder"} if depth == 0 else {}
    runs = [run(INDENT * depth + node.label, **style)]
    if node.detail:
        runs.append(run(f"  {node.detail}", isSubtle=True))
    out.append(paragraph(*runs, spacing="small" if depth == 0 else "none"))
    for child in node.children:
        _tree_lines(child, depth + 1, out)


def _continued(title: str) -> Element:
    return heading(f"{title} (continued)", size="default")
