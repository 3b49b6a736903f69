"""Block Kit for the core's messages: prompts, replies, tables, trees and team digests.

`message_chunks` returns one list of blocks per Slack message: the gateway posts the first as
the message and the others as replies in its thread. Every chunk stays inside Slack's limits
(50 blocks, 3000 characters per section, 150 per header, and a total of text per message that
Slack enforces without documenting it), so a long digest is split, never rejected.

Everything people or the OKR file wrote goes through `mrkdwn.escape` before it lands in a
text object, so nobody can ping a channel or disguise a link through a check-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import singledispatch
from typing import Any

from bot.slack.mrkdwn import bold, escape, italic, marked, split_text, truncate
from rhythm import markup
from rhythm.digest_model import (
    AttentionItem,
    BlockerLine,
    Digest,
    KrLine,
    ObjectiveLine,
    Participation,
)
from rhythm.messages import (
    Action,
    DigestMessage,
    Form,
    Message,
    Notice,
    Table,
    Text,
    Tree,
    TreeNode,
)
from rhythm.present import STATUS_EMOJI, progress_bar
from rhythm.wording import joined, shorten

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


def button(action: Action) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(action.label, BUTTON_LABEL_LIMIT),
        "action_id": action.id,
    }
    # An empty value is left out: a button without one is always valid, an empty string in a
    # Block Kit payload often is not. The click then arrives without a `value` key.
    if action.value:
        element["value"] = action.value[:BUTTON_VALUE_LIMIT]
    if action.primary:
        element["style"] = "primary"
    return element


def actions_block(actions: Sequence[Action], block_id: str) -> Block:
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [button(a) for a in actions[:MAX_BUTTONS]],
    }


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
def _digest_message(message: DigestMessage) -> list[list[Block]]:
    return pack(digest_groups(message.digest))


# ---- digests ------------------------------------------------------------------------------


def kind_label(digest: Digest) -> str:
    return digest.kind.value.replace("_", " ")


def percent(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else EMPTY


def kr_line(k: KrLine) -> str:
    delta = f" ({k.confidence_delta:+d})" if k.confidence_delta else ""
    conf = f"confidence {k.confidence}{delta}" if k.confidence is not None else "no confidence"
    standing = joined([
        f"{progress_bar(k.progress)} {percent(k.progress)}",
        escape(k.change_text()),
        escape(k.target_text()),
        conf,
        "" if k.checked_in else "_no update_",
    ])  # fmt: skip
    return f"{INDENT}{STATUS_EMOJI[k.status]} {escape(k.title)} · {escape(k.owner)} — {standing}"


def story_line(k: KrLine) -> str:
    """What moved a key result at risk and what its owner does next, under its line."""
    told = joined(f"_{label}:_ {escape(text)}" for label, text in k.story())
    return f"{INDENT}{INDENT}↳ {told}"


def objective_lines(o: ObjectiveLine) -> list[str]:
    head = f"🎯 {bold(o.title)}\n{progress_bar(o.progress)} {percent(o.progress)} · "
    lines = [head + escape(o.confidence_text())]
    for k in o.key_results:
        lines.append(kr_line(k))
        if k.has_story:
            lines.append(story_line(k))
    return lines


def attention_line(a: AttentionItem) -> str:
    return f"{STATUS_EMOJI[a.status]} {bold(a.title)} ({escape(a.owner)}): {escape(a.why)}"


def attention_lines(digest: Digest) -> list[str]:
    lines = [attention_line(a) for a in digest.attention]
    if lines and digest.attention_more:
        lines.append(f"_…and {digest.attention_more} more, below._")
    return lines


def blocker_line(b: BlockerLine) -> str:
    by = f" is blocked by {bold(b.blocked_by)}" if b.blocked_by else ""
    return f"🚧 {bold(b.person)} on {italic(b.subject)}{by}: {escape(b.text)}"


def waiting_line(b: BlockerLine) -> str:
    on = bold(b.blocked_by) if b.blocked_by else "this team"
    return f"⛓ {bold(b.person)} on {italic(b.subject)} is waiting on {on}: {escape(b.text)}"


def participation_line(p: Participation) -> str:
    return "👥 " + p.line(escape)


def subteams_line(digest: Digest) -> str:
    teams = [
        joined(
            [
                f"{escape(s.name)} {percent(s.progress)}",
                s.tally,
                f"⚠️ {s.attention}" if s.attention else "",
            ]
        )
        for s in digest.subteams
    ]
    return "*Teams* (details in the thread): " + "  |  ".join(teams)


def digest_summary(digest: Digest) -> str:
    """The one-line summary under the digest's header (also the notification text)."""
    return (
        f"{escape(digest.period)} · {escape(digest.cycle)} {digest.elapsed_share:.0%} elapsed"
        f" · progress {percent(digest.progress)}"
    )


def digest_groups(digest: Digest) -> list[list[Block]]:
    """The digest of one team as groups of blocks that belong together, in reading order."""
    title = f"📣 {digest.team_name} · {kind_label(digest)} digest"
    groups: list[list[Block]] = [[header(title), context(digest_summary(digest))]]
    groups.append(titled_sections("Needs attention", attention_lines(digest)))
    leaders = [f"🧭 {bold(n.person)}: {escape(n.text)}" for n in digest.leaders]
    groups.append(titled_sections("Leaders first", leaders))
    for objective in digest.objectives:
        groups.append(line_sections(objective_lines(objective)))
    if digest.subteams:
        groups.append([context(subteams_line(digest))])
    changes = [
        f"{STATUS_EMOJI[c.after]} {escape(c.title)} ({escape(c.owner)}): "
        f"{c.before.label} → {c.after.label}"
        for c in digest.status_changes
    ]
    blockers = [blocker_line(b) for b in digest.blockers]
    waiting = [waiting_line(b) for b in digest.blocking_others]
    warnings = [f"⚠️ {escape(w.message)}" for w in digest.other_warnings]
    notes = [f"📝 {bold(n.person)}: {escape(n.text)}" for n in digest.notes]
    for heading, lines in (
        ("Status changes", changes),
        ("Blockers", blockers),
        ("Blocking other teams", waiting),
        ("Early warnings", warnings),
        ("Notes", notes),
    ):
        groups.append(titled_sections(heading, lines))
    groups.append([divider(), context(participation_line(digest.participation))])
    return [g for g in groups if g]


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
def _digest_text(message: DigestMessage) -> str:
    d = message.digest
    text = f"📣 {escape(d.team_name)} {kind_label(d)} digest · {digest_summary(d)} · "
    text += d.participation.tally
    if d.blockers:
        text += f" · {len(d.blockers)} blocker{'s' if len(d.blockers) != 1 else ''}"
    return truncate(text, FALLBACK_LIMIT)
