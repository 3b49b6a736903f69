"""A report of sections (a digest) as Adaptive Cards, each kind of block drawn once.

Replies (a digest's sub-team details) are posted by the core as replies of their own, so only
the report itself is drawn here; a long report is spread over several cards.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.teams.cards.elements import (
    Element,
    action_button,
    container,
    heading,
    line,
    subtle,
)
from bot.teams.cards.packing import pack_cards
from rhythm import markup
from rhythm.sections import Block, Image, Line, Report, Section, Table, Tone

TONES: Mapping[Tone, dict[str, Any]] = {
    Tone.NORMAL: {},
    Tone.SUBTLE: {"isSubtle": True},
    Tone.ATTENTION: {"color": "attention", "weight": "bolder"},
    Tone.GOOD: {"color": "good"},
}


def report_cards(report: Report, sources: Mapping[str, str]) -> list[Element]:
    """`report` as cards; `sources` give each image's URL (https or a data URI) by image name,
    and an image without one shows its alt text instead."""
    title = markup.plain(report.title)
    head = [heading(report.title, size="large"), subtle(report.summary)]
    body = [section_element(s, sources) for s in report.sections]
    if report.footer:
        body.append(
            line(report.footer, isSubtle=True, italic=True, spacing="medium", separator=True)
        )
    continued = [heading(f"{title} (continued)", size="default")]
    return pack_cards(body, head=head, continued_head=continued, full_width=True)


def section_element(s: Section, sources: Mapping[str, str]) -> Element:
    items = [heading(s.title, size="default")] if s.title else []
    items += [block_element(b, sources) for b in s.blocks]
    return container(items, separator=s.separated, spacing="medium")


def block_element(block: Block, sources: Mapping[str, str]) -> Element:
    if isinstance(block, Line):
        return line_element(block)
    if isinstance(block, Table):
        return _facts(block)
    return image_element(block, sources.get(block.name))


def line_element(block: Line) -> Element:
    """A line with its bullet, tone and level; with a button, the button beside it."""
    bullet = f"{block.bullet} " if block.bullet else ""
    indent = "\u00a0" * 4 * block.level
    shown = line(
        f"{indent}{bullet}{block.text}", spacing="small" if not block.level else "none",
        **TONES[block.tone],
    )  # fmt: skip
    if block.action is None:
        return shown
    return {
        "type": "ColumnSet",
        "spacing": "small",
        "columns": [
            {"type": "Column", "width": "stretch", "items": [shown]},
            {
                "type": "Column",
                "width": "auto",
                "verticalContentAlignment": "center",
                "items": [{"type": "ActionSet", "actions": [action_button(block.action)]}],
            },
        ],
    }


def image_element(image: Image, src: str | None) -> Element:
    """The chart, or its alt text where no source could be given (no public address)."""
    if src is None:
        return line(f"📈 {image.summary or image.alt}", isSubtle=True, spacing="small")
    return {"type": "Image", "url": src, "altText": image.alt, "size": "stretch"}


def _facts(table: Table) -> Element:
    """A table as a title over each row's facts: reports' tables are short lists of pairs."""
    items: list[Element] = [line(table.title, weight="bolder")] if table.title else []
    for row in table.rows:
        facts = [{"title": c, "value": v or "–"} for c, v in zip(table.columns, row, strict=False)]
        items.append({"type": "FactSet", "facts": facts, "spacing": "small"})
    return container(items, spacing="small")
