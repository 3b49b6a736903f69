"""Renders the core's neutral messages as Rich renderables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatch

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText
from rich.tree import Tree as RichTree

from rhythm.digest_model import AttentionItem, Digest, KrLine, ObjectiveLine, SubteamLine
from rhythm.markup import Mark, spans
from rhythm.messages import DigestMessage, FieldKind, Form, Notice, Table, Text, Tree, TreeNode
from rhythm.present import STATUS_EMOJI, progress_bar
from rhythm.wording import joined


@singledispatch
def render(message: object) -> RenderableType:
    raise TypeError(f"no console rendering for {type(message).__name__}")


def marked(text: str, style: str = "") -> RichText:
    """The core's marked-up `text` (see `rhythm.markup`): what to type in cyan, emphasis
    bold; nothing in it is read as Rich markup."""
    shown = RichText(style=style)
    for span in spans(text):
        shown.append(span.text, style=MARK_STYLES[span.mark])
    return shown


MARK_STYLES = {Mark.PLAIN: "", Mark.CODE: "bold cyan", Mark.STRONG: "bold"}


@render.register
def _text(message: Text) -> RenderableType:
    return marked(message.text)


@render.register
def _notice(message: Notice) -> RenderableType:
    body: list[RenderableType] = [marked(line) for line in message.lines]
    if message.actions:
        buttons = RichText()
        for action in message.actions:
            style = "bold white on blue" if action.primary else "white on grey23"
            buttons.append(f" {action.label} ", style=style)
            buttons.append("  ")
        body.append(buttons)
    if message.footer:
        body.append(marked(message.footer, style="dim"))
    return Panel(
        Group(*body), title=RichText(message.title), title_align="left", border_style="cyan"
    )


@render.register
def _form(message: Form) -> RenderableType:
    parts: list[RenderableType] = [RichText(message.intro, style="dim")]
    for section in message.sections:
        table = RichTable.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for field in section.fields:
            shown = field.initial or ""
            if field.kind is FieldKind.CHOICE and field.options:
                labels = {o.value: o.label for o in field.options}
                shown = labels.get(shown, shown) or " / ".join(labels.values())
            cell = RichText(shown or "…", style="" if shown else "dim")
            if field.id in message.errors:
                cell.append(f"  ⚠ {message.errors[field.id]}", style="bold red")
            elif field.id in message.warnings:
                cell.append(f"  ⚠ {message.warnings[field.id]}", style="bold yellow")
            table.add_row(field.label + (" *" if field.required else ""), cell)
        title = section.title + (f" — {section.subtitle}" if section.subtitle else "")
        parts.append(Panel(table, title=RichText(title), title_align="left", border_style="grey50"))
    if "" in message.errors:
        parts.append(RichText(message.errors[""], style="bold red"))
    return Panel(
        Group(*parts),
        title=RichText(f"📝 {message.title}"),
        title_align="left",
        border_style="magenta",
    )


@render.register
def _table(message: Table) -> RenderableType:
    table = RichTable(
        title=RichText(message.title),
        caption=marked(message.footer) if message.footer else None,
        title_justify="left",
    )
    for column in message.columns:
        table.add_column(column)
    for row in message.rows:
        table.add_row(*(RichText(cell) for cell in row))
    return table


def _tree_node(parent: RichTree, node: TreeNode) -> None:
    branch = parent.add(RichText.assemble(node.label, (f"  {node.detail}", "dim")))
    for child in node.children:
        _tree_node(branch, child)


@render.register
def _tree(message: Tree) -> RenderableType:
    root = RichTree(RichText(message.title, style="bold"))
    for node in message.roots:
        _tree_node(root, node)
    return root


@render.register
def _digest_message(message: DigestMessage) -> RenderableType:
    return render_digest(message.digest)


def render_digest(digest: Digest) -> RenderableType:
    """One team's digest: lists with hanging indents, so a long title or blocker wraps under
    itself and never under its bullet, at any terminal width."""
    parts: list[RenderableType] = []
    head = (
        f"{digest.kind.value.replace('_', ' ')} digest · {digest.period} · {digest.cycle} "
        f"{digest.elapsed_share:.0%} elapsed"
    )
    parts.append(RichText(head, style="dim"))
    attention = [(STATUS_EMOJI[a.status], _attention(a)) for a in digest.attention]
    if digest.attention_more:
        attention.append(("", RichText(f"…and {digest.attention_more} more, below", style="dim")))
    leaders = [("🧭", RichText.assemble((n.person, "bold"), f": {n.text}")) for n in digest.leaders]
    changes = [
        ("•", RichText(f"{c.title} ({c.owner}): {c.before.label} → {c.after.label}"))
        for c in digest.status_changes
    ]
    blockers = [
        (
            "•",
            _emphasised(
                f"{b.person} on {b.subject}: {b.text}",
                b.blocked_by and f"blocked by {b.blocked_by}",
            ),
        )
        for b in digest.blockers
    ]
    waiting = [
        ("•", RichText(f"{b.person} on {b.subject}: {b.text}")) for b in digest.blocking_others
    ]
    warnings = [("⚠", RichText(w.message)) for w in digest.other_warnings]
    notes = [("•", RichText(f"{n.person}: {n.text}")) for n in digest.notes]
    parts += _section("Needs attention", attention)
    parts += _section("Leaders first", leaders)
    parts += [_objective(o) for o in digest.objectives]
    if digest.subteams:
        parts.append(_subteams_table(digest.subteams))
    for heading, items in (
        ("Status changes", changes),
        ("Blockers", blockers),
        ("Blocking other teams", waiting),
        ("Early warnings", warnings),
        ("Notes", notes),
    ):
        parts += _section(heading, items)
    parts.append(RichText(digest.participation.line(), style="italic"))
    return Panel(
        Group(*parts),
        title=RichText(f"📣 {digest.team_name}"),
        title_align="left",
        border_style="green",
    )


Item = tuple[str, RichText]  # a bullet (an emoji, "•", or "") and its text


def _section(heading: str, items: Sequence[Item]) -> list[RenderableType]:
    return [RichText(heading, style="bold"), _bulleted(items)] if items else []


def _bulleted(items: Sequence[Item], indent: int = 2) -> RichTable:
    """Items in two columns, bullet and text: wrapped text stays right of its bullet."""
    grid = RichTable.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for bullet, text in items:
        grid.add_row(" " * indent + bullet, text)
    return grid


def _attention(a: AttentionItem) -> RichText:
    return RichText.assemble((a.title, "bold"), f" ({a.owner}): {a.why}")


def _objective(o: ObjectiveLine) -> RenderableType:
    """An objective's line, then each key result: title and owner, where it stands and, at
    risk, what moved and what comes next."""
    standing = f"{progress_bar(o.progress)} {o.progress:.0%} · {o.confidence_text()}"
    head = RichText.assemble((f"🎯 {o.title}", "bold"), "  ", (standing, "dim"))
    return Group(
        head, _bulleted([(STATUS_EMOJI[k.status], _key_result(k)) for k in o.key_results], 3)
    )


def _key_result(k: KrLine) -> RichText:
    delta = f" ({k.confidence_delta:+d})" if k.confidence_delta else ""
    standing = joined([
        f"{progress_bar(k.progress)} {k.progress:.0%}",
        k.change_text(),
        k.target_text(),
        f"confidence {k.confidence}{delta}" if k.confidence is not None else "",
    ])  # fmt: skip
    shown = RichText.assemble(k.title, (f" · {k.owner}", "dim"), "\n", standing)
    if not k.checked_in:
        shown.append(" · no update", style="dim")
    if k.has_story:
        shown.append("\n")
        for i, (label, text) in enumerate(k.story()):
            shown.append(f"{' · ' if i else ''}{label}: ", style="italic dim")
            shown.append(text)
    return shown


def _subteams_table(subteams: tuple[SubteamLine, ...]) -> RichTable:
    sub = RichTable(title="Teams", title_justify="left", box=None, header_style="bold")
    for column in ("Team", "Progress", "Conf.", "Checked in", "Attention"):
        sub.add_column(column)
    for s in subteams:
        progress = f"{progress_bar(s.progress)} {s.progress:.0%}" if s.progress is not None else "–"
        conf = f"{s.confidence:.1f}" if s.confidence is not None else "–"
        checked_in = f"{s.checked_in}/{s.expected}" if s.expected else "–"
        sub.add_row(RichText(s.name), progress, conf, checked_in, str(s.attention or "–"))
    return sub


def _emphasised(text: str, emphasis: str) -> RichText:
    """Plain `text` (people's words are never read as markup) with a bold note after it."""
    shown = RichText(text)
    if emphasis:
        shown.append(f"  ⟵ {emphasis}", style="bold")
    return shown
