"""Small text rules every renderer shares: shortening at a word boundary, joining without
stray separators."""

from __future__ import annotations

from collections.abc import Iterable

ELLIPSIS = "…"
SEPARATOR = " · "
# A cut goes back at most this share of the room to find a space: a word longer than that
# has no boundary worth keeping (a pasted URL, say) and is cut inside.
_LONGEST_WORD_SHARE = 0.5


def plural(count: int, noun: str, many: str | None = None) -> str:
    """ "1 prompt", "2 prompts", "0 prompts"; `many` for a noun that is not made with an s."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole when it fits, else cut at the last word
    boundary that leaves room for an ellipsis (never mid-word, unless one word is longer than
    half the limit) and without the punctuation the cut leaves dangling."""
    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = max(text.rfind(" ", 0, room + 1), text.rfind("\n", 0, room + 1))
    if cut < room * _LONGEST_WORD_SHARE:
        cut = room
    return text[:cut].rstrip(" \n,;:·—–-") + ELLIPSIS


def joined(parts: Iterable[str], separator: str = SEPARATOR) -> str:
    """The non-blank `parts` joined by `separator`: an absent part leaves no separator."""
    return separator.join(p for p in parts if p.strip())
