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


# Private-use characters around text taken as it is (people's words): never read for marks.
_OPEN, _CLOSE = "\ue000", "\ue001"
# Literal text first, then a code span (its content is never read for emphasis), then
# emphasis; neither is empty nor spans lines.
_MARKED = re.compile(
    f"{_OPEN}(?P<literal>[^{_CLOSE}]*){_CLOSE}"
    r"|`(?P<code>[^`\n]+)`"
    f"|\\*\\*(?P<strong>(?:[^*\n{_OPEN}]|{_OPEN}[^{_CLOSE}]*{_CLOSE})+)\\*\\*"
)


def spans(text: str) -> list[Span]:
    """`text` cut into plain, code and strong spans, the marks removed."""
    found: list[Span] = []
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            found.append(Span(text[at : match.start()], Mark.PLAIN))
        literal, code, strong = match.group("literal", "code", "strong")
        if literal is not None:
            found.append(Span(literal, Mark.PLAIN))
        elif code is not None:
            found.append(Span(code, Mark.CODE))
        else:
            found.append(Span(_unmarked(strong), Mark.STRONG))
        at = match.end()
    if at < len(text) or not found:
        found.append(Span(text[at:], Mark.PLAIN))
    return _merged(found)


def _merged(found: list[Span]) -> list[Span]:
    """Neighbours of one mark as one span (literal text next to plain text is plain text)."""
    merged: list[Span] = []
    for span in found:
        if merged and merged[-1].mark is span.mark:
            merged[-1] = Span(merged[-1].text + span.text, span.mark)
        else:
            merged.append(span)
    return merged


def plain(text: str) -> str:
    """`text` without its marks, for where no styling is possible (a notification preview)."""
    return "".join(span.text for span in spans(text))


def literal(text: str) -> str:
    """`text` shown exactly as it is: people's words and the OKR file's titles are never read
    as marks, whatever stars or backticks they hold."""
    return f"{_OPEN}{_unmarked(text)}{_CLOSE}"


def _unmarked(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def code(text: str) -> str:
    """`text` marked as something to type."""
    return f"`{text}`"


def strong(text: str) -> str:
    """Emphasis; `text` itself is taken literally (a name with stars in it stays as it is)."""
    return f"**{literal(text)}**"
