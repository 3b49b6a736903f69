"""Keeping cards under Teams' message size limit by spreading a body over several cards.

Teams refuses activities over about 28 KB. botbuilder sends JSON with `ensure_ascii`, so
every non-ASCII character costs six bytes (an emoji twelve); sizes here are measured the
same way, and each card stays within `CARD_BUDGET` to leave room for the activity envelope.
Elements that do not fit are split where that keeps them readable: a container between its
items, a table between rows (repeating the header row), a paragraph between words.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from typing import Any

from bot.teams.cards.elements import Element, adaptive_card

CARD_BUDGET = 25_000
SEPARATOR = 2  # ", " between two list items


def card_size(card: Any) -> int:
    """Bytes of `card` as botbuilder puts it on the wire."""
    return len(json.dumps(card, ensure_ascii=True, allow_nan=False))


def pack_cards(
    body: Sequence[Element],
    *,
    head: Sequence[Element] = (),
    continued_head: Sequence[Element] = (),
    actions: list[Element] | None = None,
    full_width: bool = False,
    budget: int = CARD_BUDGET,
) -> list[Element]:
    """`head` then `body` in as few cards as fit `budget`; later cards start with
    `continued_head`, and only the last one carries `actions`."""
    cards: list[Element] = []
    pending = deque(body)
    while True:
        items = list(continued_head if cards else head)
        room = budget - card_size(adaptive_card(items, actions=actions, full_width=full_width))
        placed = False
        fresh = room - SEPARATOR  # what an element may take on a card of its own
        while pending:
            element = pending.popleft()
            part, rest = take(element, room - SEPARATOR, fresh)
            if part is not None:
                items.append(part)
                room -= card_size(part) + SEPARATOR
                placed = True
            if rest is not None:
                pending.appendleft(rest)
                if not placed:
                    raise ValueError(
                        f"a {element.get('type')} of {card_size(element)} bytes cannot be split "
                        f"to fit a card of {budget} bytes"
                    )
                break
        last = not pending
        cards.append(adaptive_card(items, actions=actions if last else None, full_width=full_width))
        if last:
            return cards


def take(element: Element, room: int, fresh: int) -> tuple[Element | None, Element | None]:
    """The largest leading part of `element` that fits in `room` bytes, and the rest.

    `fresh` is the room `element` would have at the top of a new card: a paragraph that fits
    there moves on whole rather than being cut mid-sentence.
    """
    size = card_size(element)
    if size <= room:
        return element, None
    kind = element.get("type")
    if kind == "RichTextBlock":
        if size <= fresh:
            return None, element
        return _take_list(element, "inlines", room, fresh)
    if kind == "Container":
        return _take_list(element, "items", room, fresh)
    if kind == "Table":
        header = 1 if element.get("firstRowAsHeader", True) and element.get("rows") else 0
        return _take_list(element, "rows", room, fresh, keep=header)
    if kind == "TextRun":
        return _take_text(element, room)
    return None, element


def _take_list(
    element: Element, key: str, room: int, fresh: int, *, keep: int = 0
) -> tuple[Element | None, Element | None]:
    """Split `element[key]`, repeating its first `keep` entries (a header row) in both parts."""
    entries: list[Element] = element[key]
    taken = entries[:keep]
    used = card_size({**element, key: taken})
    inner = fresh - used - SEPARATOR  # an entry's room at the top of a new card
    index = keep
    while index < len(entries):
        part, rest = take(entries[index], room - used - SEPARATOR, inner)
        if part is not None:
            taken.append(part)
            used += card_size(part) + SEPARATOR
        if rest is not None:
            remaining = [rest, *entries[index + 1 :]]
            break
        index += 1
    else:
        remaining = []
    if len(taken) == keep:
        return None, element
    tail = {**_continuation(element), key: entries[:keep] + remaining} if remaining else None
    return {**element, key: taken}, tail


def _take_text(text_run: Element, room: int) -> tuple[Element | None, Element | None]:
    """Split a text run at a word boundary near the longest prefix that fits."""
    text: str = text_run["text"]
    shell = card_size({**text_run, "text": ""})
    low, high = 0, len(text)  # the longest prefix that fits lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if shell + card_size(text[:middle]) - 2 <= room:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return None, text_run
    space = text.rfind(" ", 0, low)
    cut = space + 1 if space > low * 0.8 else low  # a word boundary, unless it wastes a lot
    return {**text_run, "text": text[:cut]}, {**text_run, "text": text[cut:]}


def _continuation(element: Element) -> Element:
    """The properties a split-off rest keeps: no separator line, no id (ids are unique)."""
    kept = {k: v for k, v in element.items() if k not in ("separator", "id")}
    if kept.get("type") != "TextRun":
        kept["spacing"] = "none"
    return kept
