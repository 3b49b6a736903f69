"""The little markup of the core's texts, for every adapter to render its own way.

Two marks only, both as people already write them in chat: `checkin` for what a person types
(a command, a key) and **Sofia** for emphasis. Slack shows them as code and bold, Teams as
monospace and bolder text runs, the terminal in its colours; nothing else is interpreted, so
a title with a lone ` or * in it stays as it is.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple


class Mark(StrEnum):
    PLAIN = "plain"
    CODE = "code"
    STRONG = "strong"


class Span(NamedTuple):
    text: str
    mark: Mark


# A code span first (its content is never read for emphasis), then emphasis; neither is empty
# nor spans lines.
_MARKED = re.compile(r"`(?P<code>[^`\n]+)`|\*\*(?P<strong>[^*\n]+)\*\*")


def spans(text: str) -> list[Span]:
    """`text` cut into plain, code and strong spans, the marks removed."""
    found: list[Span] = []
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            found.append(Span(text[at : match.start()], Mark.PLAIN))
        code, strong = match.group("code"), match.group("strong")
        found.append(Span(code, Mark.CODE) if code is not None else Span(strong, Mark.STRONG))
        at = match.end()
    if at < len(text) or not found:
        found.append(Span(text[at:], Mark.PLAIN))
    return found


def plain(text: str) -> str:
    """`text` without its marks, for where no styling is possible (a notification preview)."""
    return "".join(span.text for span in spans(text))


def code(text: str) -> str:
    """`text` marked as something to type."""
    return f"`{text}`"


def strong(text: str) -> str:
    return f"**{text}**"
