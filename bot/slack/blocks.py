"""Block Kit for the core's messages: prompts, replies, tables, trees and team digests.

`message_chunks` returns one list of blocks per Slack message: the gateway posts the first as
the message and the others as replies in its thread. Every chunk stays inside Slack's limits
(50 blocks, 3000 characters per section, 150 per header, and a total of text per message that
Slack enforces without documenting it), so a long digest is split, never rejected.

Everything people or the OKR file wrote goes through `mrkdwn.escape` before it lands in a
text object, so nobody can ping a channel or disguise a link through a check-in.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import singledispatch
from typing import Any

from bot.slack.mrkdwn import bold, escape, italic, marked, split_text, truncate
from rhythm import markup
from rhythm.messages import (
    Action,
    Form,
    Message,
    Notice,
    Report,
    Table,
    Text,
    Tree,
    TreeNode,
)
from rhythm.sections import Line, Section, Tone
from rhythm.wording import shorten

Block = dict[str, Any]

MAX_MESSAGE_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTONS = 25
BUTTON_LABEL_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
FALLBACK_LIMIT = 3000
# chat.postMessage answers `msg_blocks_too_long` once the text of all blocks passes roughly
# 12,000 characters (undocumented; measured in slackapi/bolt-js#2509): keep a margin.
CHUNK_TEXT_BUDGET = 10_000
PROMPT_ACTIONS_BLOCK = "prompt_actions"
REPEAT = "#"  # numbers a repeated action id in one actions block: `nudge:send#2`
EMPTY = "–"  # Slack rejects empty text objects


# ---- single blocks ------------------------------------------------------------------------


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object of raw `text`, escaped and shortened to `limit` at a word boundary
    (cut again only when escaping made it longer)."""
    shown = truncate(escape(shorten(text, limit)), limit)
    return {"type": "plain_text", "text": shown or EMPTY, "emoji": True}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_LIMIT)}


def section(mrkdwn: str) -> Block:
    """A section of already escaped mrkdwn (cut to the section limit as a last resort)."""
    return {"type": "section", "text": mrkdwn_text(mrkdwn, SECTION_LIMIT)}


def context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [mrkdwn_text(mrkdwn, SECTION_LIMIT)]}


def mrkdwn_text(mrkdwn: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(mrkdwn, limit) or EMPTY}


def divider() -> Block:
    return {"type": "divider"}


def button(action: Action, *, action_id: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(action.label, BUTTON_LABEL_LIMIT),
        "action_id": action_id or action.id,
    }
    # An empty value is left out: a button without one is always valid, an empty string in a
    # Block Kit payload often is not. The click then arrives without a `value` key.
    if action.value:
        element["value"] = action.value[:BUTTON_VALUE_LIMIT]
    if action.primary:
        element["style"] = "primary"
    return element


def actions_block(actions: Sequence[Action], block_id: str) -> Block:
    """Buttons side by side. Block Kit wants the action ids of a block unique, and the core
    may give several buttons one id (a lead's "Nudge" per person, told apart by their
    values): the second and later of an id are numbered (`nudge:send#2`), and
    `core_action_id` reads the core's id back."""
    seen: Counter[str] = Counter()
    elements = []
    for action in actions[:MAX_BUTTONS]:
        seen[action.id] += 1
        number = seen[action.id]
        unique = action.id if number == 1 else f"{action.id}{REPEAT}{number}"
        elements.append(button(action, action_id=unique))
    return {"type": "actions", "block_id": block_id, "elements": elements}


def action_pattern(action_id: str) -> re.Pattern[str]:
    """What a click on the core's `action_id` carries, numbered or not (`actions_block`)."""
    return re.compile(rf"^{re.escape(action_id)}(?:{re.escape(REPEAT)}[0-9]+)?$")


def core_action_id(action_id: str) -> str:
    """The core's action id of a clicked button (without `actions_block`'s number)."""
    base, sep, number = action_id.rpartition(REPEAT)
    return base if sep and base and number.isdigit() else action_id


def line_sections(lines: Iterable[str], limit: int = SECTION_LIMIT) -> list[Block]:
    """Escaped mrkdwn lines packed into as few sections as the section limit allows; a line
    longer than a section is split over several."""
    out: list[Block] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in split_text(line, limit):
            if current and size + 1 + len(piece) > limit:
                out.append(section("\n".join(current)))
                current, size = [], 0
            size += len(piece) + (1 if current else 0)
            current.append(piece)
    if current:
        out.append(section("\n".join(current)))
    return out


def titled_sections(title: str, lines: Sequence[str]) -> list[Block]:
    """A bold title (a fixed label, not escaped) over escaped lines, packed in sections."""
    return line_sections([f"*{title}*", *lines]) if lines else []


# ---- chunking -----------------------------------------------------------------------------


def text_size(value: object) -> int:
    """Characters of text in blocks, counted as Slack's cumulative limit does: every `text`."""
    if isinstance(value, dict):
        return sum(
            len(v) if k == "text" and isinstance(v, str) else text_size(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return sum(text_size(v) for v in value)
    return 0


def pack(
    groups: Iterable[Sequence[Block]],
    *,
    first_tail: Sequence[Block] = (),
    max_blocks: int = MAX_MESSAGE_BLOCKS,
    text_budget: int = CHUNK_TEXT_BUDGET,
) -> list[list[Block]]:
    """Groups of blocks (a title with its lines) packed into chunks: a group moves to the next
    chunk whole when it fits there, and is split only when it is bigger than a chunk.
    `first_tail` ends the first chunk (a prompt's buttons belong to the message itself)."""
    tail_blocks, tail_text = len(first_tail), text_size(list(first_tail))
    chunks: list[list[Block]] = [[]]
    sizes = [0]

    def room(blocks: int, text: int) -> bool:
        first = len(chunks) == 1
        max_here = max_blocks - (tail_blocks if first else 0)
        budget_here = text_budget - (tail_text if first else 0)
        return len(chunks[-1]) + blocks <= max_here and sizes[-1] + text <= budget_here

    def add(block: Block) -> None:
        size = text_size(block)
        if chunks[-1] and not room(1, size):
            chunks.append([])
            sizes.append(0)
        chunks[-1].append(block)
        sizes[-1] += size

    for group in groups:
        group_text = text_size(list(group))
        if chunks[-1] and not room(len(group), group_text):
            chunks.append([])
            sizes.append(0)
        for block in group:
            add(block)
    chunks[0].extend(first_tail)
    return [chunk for chunk in chunks if chunk]


# ---- messages -----------------------------------------------------------------------------


@singledispatch
def message_chunks(message: Message) -> list[list[Block]]:
    """The Block Kit messages for `message`: the first is the message, the rest thread replies."""
    raise TypeError(f"no Block Kit message for {type(message).__name__}")


@message_chunks.register
def _form(message: Form) -> list[list[Block]]:
    raise TypeError("a Form is shown as a modal (bot.slack.modal), not as a message")


@message_chunks.register
def _text(message: Text) -> list[list[Block]]:
    return pack([[s] for s in line_sections([marked(message.text or EMPTY)])])


@message_chunks.register
def _notice(message: Notice) -> list[list[Block]]:
    body = line_sections([bold(message.title), *(marked(line) for line in message.lines)])
    tail: list[Block] = []
    if message.actions:
        tail.append(actions_block(message.actions, PROMPT_ACTIONS_BLOCK))
    if message.footer:
        tail.append(context(marked(message.footer)))
    return pack([[s] for s in body], first_tail=tail)


def row_section(columns: Sequence[str], row: Sequence[str]) -> Block:
    """One table row: its first cell in bold, the other cells as labelled fields."""
    cells = [(c, v) for c, v in zip(columns[1:], row[1:], strict=False) if v.strip()]
    fields = [
        {"type": "mrkdwn", "text": truncate(f"{bold(c)}\n{escape(v)}", FIELD_LIMIT)}
        for c, v in cells[:MAX_FIELDS]
    ]
    extra = [f"{bold(c)}: {escape(v)}" for c, v in cells[MAX_FIELDS:]]
    first = row[0] if row else ""
    block: Block = {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": truncate("\n".join([bold(first) or EMPTY, *extra]), SECTION_LIMIT),
        },
    }
    if fields:
        block["fields"] = fields
    return block


@message_chunks.register
def _table(message: Table) -> list[list[Block]]:
    groups: list[list[Block]] = [[header(message.title)]]
    groups += [[row_section(message.columns, row)] for row in message.rows]
    if not message.rows:
        groups.append([section("_Nothing to show._")])
    if message.footer:
        groups.append([context(marked(message.footer))])
    return pack(groups)


INDENT = "\u2003\u2003"  # em spaces: Slack keeps them at the start of a line


def tree_lines(nodes: Sequence[TreeNode], depth: int = 0) -> list[str]:
    lines = []
    for node in nodes:
        detail = f"  ·  {italic(node.detail)}" if node.detail else ""
        lines.append(f"{INDENT * depth}{escape(node.label)}{detail}")
        lines.extend(tree_lines(node.children, depth + 1))
    return lines


@message_chunks.register
def _tree(message: Tree) -> list[list[Block]]:
    lines = tree_lines(message.roots) or ["_No objectives yet._"]
    return pack([[header(message.title)], *([s] for s in line_sections(lines))])


@message_chunks.register
def _report(message: Report) -> list[list[Block]]:
    return pack(report_groups(message))


# ---- reports ------------------------------------------------------------------------------


def report_groups(report: Report) -> list[list[Block]]:
    """A report as groups of blocks that belong together (a section), in reading order. Its
    images are not in the message: the gateway uploads them into the message's thread."""
    groups: list[list[Block]] = [
        [header(markup.plain(report.title)), context(marked(report.summary))]
    ]
    for s in report.sections:
        groups.append(section_blocks(s))
    if report.footer:
        groups.append([divider(), context(marked(report.footer))])
    return [g for g in groups if g]


def section_blocks(s: Section) -> list[Block]:
    """A section's title in bold over its blocks: runs of lines packed into as few sections as
    fit, a line with a button as a section of its own with the button beside it."""
    blocks: list[Block] = [divider()] if s.separated else []
    lines = [bold(markup.plain(s.title))] if s.title else []
    for block in s.blocks:
        if isinstance(block, Line) and block.action is None:
            lines.append(line_mrkdwn(block))
            continue
        blocks += line_sections(lines)
        lines = []
        if isinstance(block, Line):
            blocks.append(button_section(block))
        elif isinstance(block, Table):
            blocks += [row_section(block.columns, row) for row in block.rows]
        else:
            blocks.append(context(f"📈 {escape(block.summary or block.alt)}"))
    return blocks + line_sections(lines)


def line_mrkdwn(line: Line) -> str:
    """A line as mrkdwn: indented by its level, bullet first; a subtle line in italics."""
    text = marked(line.text)
    if line.tone is Tone.SUBTLE and text:
        text = f"_{text}_" if "_" not in text and "*" not in text else text
    bullet = f"{line.bullet} " if line.bullet else ""
    return f"{INDENT * line.level}{bullet}{text}"


def button_section(line: Line) -> Block:
    block = section(line_mrkdwn(line))
    if line.action is not None:
        block["accessory"] = button(line.action)
    return block


# ---- notification text --------------------------------------------------------------------


@singledispatch
def fallback_text(message: Message) -> str:
    """The plain `text` Slack shows in notifications and to screen readers (escaped too: it
    is parsed for mentions like any message text)."""
    raise TypeError(f"no Slack text for {type(message).__name__}")


@fallback_text.register
def _form_text(message: Form) -> str:
    raise TypeError("a Form is shown as a modal (bot.slack.modal), not as a message")


@fallback_text.register
def _text_text(message: Text) -> str:
    return truncate(escape(markup.plain(message.text)) or EMPTY, FALLBACK_LIMIT)


@fallback_text.register
def _notice_text(message: Notice) -> str:
    first = f": {message.lines[0]}" if message.lines else ""
    return truncate(escape(markup.plain(message.title + first)), FALLBACK_LIMIT)


@fallback_text.register
def _table_text(message: Table) -> str:
    return truncate(escape(message.title) or EMPTY, FALLBACK_LIMIT)


@fallback_text.register
def _tree_text(message: Tree) -> str:
    return truncate(escape(message.title) or EMPTY, FALLBACK_LIMIT)


@fallback_text.register
def _report_text(message: Report) -> str:
    parts = [message.title, message.summary, *message.facts]
    return truncate(escape(markup.plain(" · ".join(p for p in parts if p))), FALLBACK_LIMIT)
