"""Renders the core's neutral messages as Rich renderables for the terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import singledispatch
from pathlib import Path

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText
from rich.tree import Tree as RichTree

from rhythm.markup import Mark, spans
from rhythm.messages import FieldKind, Form, Notice, Table, Text, Tree, TreeNode
from rhythm.sections import Block, Image, Line, Report, Tone


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
def _report(message: Report) -> RenderableType:
    return render_report(message)


def render_report(report: Report, saved: Mapping[str, Path] | None = None) -> RenderableType:
    """A report as a panel: each section a bold heading over its blocks, lines with hanging
    indents so a long title or blocker wraps under itself, never under its bullet. An image
    shows as its one-line summary and, once `saved`, the file it was written to."""
    saved = saved or {}
    parts: list[RenderableType] = [marked(report.summary, style="dim")]
    for section in report.sections:
        if section.title:
            parts.append(marked(section.title, style="bold"))
        parts.extend(_blocks(section.blocks, saved))
    if report.footer:
        parts.append(marked(report.footer, style="italic"))
    return Panel(
        Group(*parts), title=marked(report.title), title_align="left", border_style="green"
    )


def _blocks(blocks: Sequence[Block], saved: Mapping[str, Path]) -> list[RenderableType]:
    out: list[RenderableType] = []
    lines: list[Line] = []
    for block in blocks:
        if isinstance(block, Line):
            lines.append(block)
            continue
        if lines:
            out.append(_lines(lines))
            lines = []
        out.append(_image(block, saved) if isinstance(block, Image) else _table(block))
    if lines:
        out.append(_lines(lines))
    return out


TONE_STYLES = {
    Tone.NORMAL: "",
    Tone.SUBTLE: "dim",
    Tone.ATTENTION: "bold yellow",
    Tone.GOOD: "green",
}


def _lines(lines: Sequence[Line]) -> RichTable:
    """Lines in two columns, bullet and text: wrapped text stays right of its bullet."""
    grid = RichTable.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for line in lines:
        text = marked(line.text, style=TONE_STYLES[line.tone])
        if line.action is not None:
            text.append(f"  [{line.action.label}]", style="dim")
        grid.add_row("  " * (line.level + 1) + line.bullet, text)
    return grid


def _image(image: Image, saved: Mapping[str, Path]) -> RichText:
    shown = RichText.assemble(("📈 ", ""), (image.title or image.name, "bold"))
    if image.summary:
        shown.append(f"  {image.summary}")
    if image.name in saved:
        shown.append(f"\n   chart: {saved[image.name]}", style="dim")
    return shown
