"""A report as neutral sections: what the core says, for every adapter to lay out its own way.

A digest (and any long answer like it) is a title, a one-line summary and sections; a section
is a heading over blocks: lines, tables and images. Lines carry the core's two marks
(`rhythm.markup`) and a tone; adapters render each kind of block once, generically, so a new
section of a digest is written once, here in the core, and shows on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Action:
    id: str  # e.g. "checkin:open"; the value carries the prompt id
    label: str
    value: str = ""
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """A titled list of rows, e.g. `/okr mine` or `/okr status`."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    footer: str = ""


class Tone(StrEnum):
    NORMAL = "normal"
    SUBTLE = "subtle"  # secondary: a key result's numbers under its title, a footnote
    ATTENTION = "attention"  # a risk a leader must see: "blocked by Platform", a warning
    GOOD = "good"


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a section. `text` may carry the core's marks (**strong**, `code`);
    `bullet` is an emoji or "•" shown before it (adapters keep wrapped text right of it);
    `level` 1 is a line under the one before it (a key result's story under the key result).
    `action` is a button for this line (a key result's "Trend")."""

    text: str
    bullet: str = ""
    tone: Tone = Tone.NORMAL
    level: int = 0
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class Image:
    """A rendered chart: PNG bytes and the words that say the same for who cannot see it.
    `name` is a file name ("growth-2026-W48.png"); `summary` a one-line text stand-in (a
    Unicode sparkline) for where no image can be shown, like a terminal."""

    png: bytes
    alt: str
    name: str
    width: int
    height: int
    title: str = ""
    summary: str = ""


Block = Line | Table | Image


@dataclass(frozen=True, slots=True)
class Section:
    title: str  # "" for a section without a heading (the summary under the title)
    blocks: tuple[Block, ...]
    # A section that opens a new group a reader sees apart (an objective): adapters draw a
    # separator before it.
    separated: bool = True


@dataclass(frozen=True, slots=True)
class Report:
    """A message of sections. `summary` is one line under the title, and with the title the
    notification text; `footer` closes the report (a digest's participation line).
    `replies` are reports posted as replies under this one (a digest's sub-team details).
    `private` charts go to the person's own conversation with the bot, not where asked (a
    Slack ephemeral reply cannot carry a file)."""

    title: str
    summary: str
    sections: tuple[Section, ...]
    footer: str = ""
    replies: tuple[Report, ...] = ()
    private: bool = False
    facts: tuple[str, ...] = field(default=())  # a few words each, for the notification text
    tag: str = ""  # what it is ("digest:weekly"), for a caller that treats some kinds apart

    @property
    def images(self) -> tuple[Image, ...]:
        return tuple(b for s in self.sections for b in s.blocks if isinstance(b, Image))
