"""Renders the core's neutral messages as Rich renderables for the terminal."""

from __future__ import annotations

from functools import singledispatch

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text as RichText
from rich.tree import Tree as RichTree

from rhythm.digest_model import AttentionItem, Digest, KrLine, ObjectiveLine, SubteamLine
from rhythm.messages import DigestMessage, FieldKind, Form, Notice, Table, Text, Tree, TreeNode
from rhythm.present import STATUS_EMOJI, progress_bar


@singledispatch
def render(message: object) -> RenderableType:
    raise TypeError(f"no console rendering for {type(message).__name__}")


@render.register
def _text(message: Text) -> RenderableType:
    return RichText(message.text)


@render.register
def _notice(message: Notice) -> RenderableType:
    body: list[RenderableType] = [RichText(line) for line in message.lines]
    if message.actions:
        buttons = RichText()
        for action in message.actions:
            style = "bold white on blue" if action.primary else "white on grey23"
            buttons.append(f" {action.label} ", style=style)
            buttons.append("  ")
        body.append(buttons)
    if message.footer:
        body.append(RichText(message.footer, style="dim"))
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
        caption=RichText(message.footer) if message.footer else None,
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
    parts: list[RenderableType] = []
    head = (
        f"{digest.kind.value.replace('_', ' ')} digest · {digest.period} · {digest.cycle} "
        f"{digest.elapsed_share:.0%} elapsed"
    )
    parts.append(RichText(head, style="dim"))
    if digest.attention:
        parts.append(RichText("Needs attention", style="bold"))
        parts.extend(_attention(a) for a in digest.attention)
        if digest.attention_more:
            parts.append(RichText(f"  …and {digest.attention_more} more, below", style="dim"))
    if digest.leaders:
        parts.append(RichText("Leaders first", style="bold"))
        parts.extend(RichText(f"  🧭 {n.person}: {n.text}") for n in digest.leaders)
    if digest.objectives:
        parts.append(_objectives_table(digest.objectives, digest.previous_period))
    if digest.subteams:
        parts.append(_subteams_table(digest.subteams))
    blockers = [
        _line(
            f"{b.person} on {b.subject}: {b.text}",
            f"blocked by {b.blocked_by}" if b.blocked_by else "",
        )
        for b in digest.blockers
    ]
    sections: tuple[tuple[str, list[RichText]], ...] = (
        (
            "Status changes",
            [
                _line(f"{c.title} ({c.owner}): {c.before.label} → {c.after.label}")
                for c in digest.status_changes
            ],
        ),
        ("Blockers", blockers),
        (
            "Blocking other teams",
            [_line(f"{b.person} on {b.subject}: {b.text}") for b in digest.blocking_others],
        ),
        ("Early warnings", [_line(f"⚠ {w.message}") for w in digest.other_warnings]),
        ("Notes", [_line(f"{n.person}: {n.text}") for n in digest.notes]),
    )
    for heading, lines in sections:
        if lines:
            parts.append(RichText(heading, style="bold"))
            parts.extend(lines)
    parts.append(RichText(digest.participation.line(), style="italic"))
    return Panel(
        Group(*parts),
        title=RichText(f"📣 {digest.team_name}"),
        title_align="left",
        border_style="green",
    )


def _attention(a: AttentionItem) -> RichText:
    line = RichText(f"  {STATUS_EMOJI[a.status]} ")
    line.append(a.title, style="bold")
    line.append(f" ({a.owner}): {a.why}")
    return line


def _objectives_table(objectives: tuple[ObjectiveLine, ...], previous: str) -> RichTable:
    """Objectives and their key results; the value column reads from the period before."""
    table = RichTable(box=None, show_header=True, header_style="bold")
    since = f"Since {previous}" if previous else "Value"
    for column in ("Objective / key result", "Progress", since, "Target", "Conf.", ""):
        table.add_column(column)
    for o in objectives:
        conf = o.confidence_text().removeprefix("confidence ") if o.confidence is not None else "–"
        title = RichText(f"🎯 {o.title}", style="bold")
        table.add_row(title, f"{progress_bar(o.progress)} {o.progress:.0%}", "", "", conf, "")
        for k in o.key_results:
            table.add_row(*_kr_cells(k))
            if k.has_story:
                table.add_row(_story(k))
    return table


def _story(k: KrLine) -> RichText:
    story = RichText("      ↳ ", style="dim")
    for i, (label, text) in enumerate(k.story()):
        story.append(f"{' · ' if i else ''}{label}: ", style="italic dim")
        story.append(text)
    return story


def _kr_cells(k: KrLine) -> tuple[RenderableType, ...]:
    delta = f" ({k.confidence_delta:+d})" if k.confidence_delta else ""
    status = RichText(STATUS_EMOJI[k.status])
    if not k.checked_in:
        status.append(" no update", style="dim")
    return (
        RichText.assemble(f"   {k.title}", (f" · {k.owner}", "dim")),
        f"{progress_bar(k.progress)} {k.progress:.0%}",
        k.change_text() or "–",
        k.target_text().removeprefix("target ") or "–",
        f"{k.confidence}{delta}" if k.confidence is not None else "–",
        status,
    )


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


def _line(text: str, emphasis: str = "") -> RichText:
    """A bullet line; built from plain strings so people's words are never read as markup."""
    line = RichText("  • ")
    line.append(text)
    if emphasis:
        line.append(f"  ⟵ {emphasis}", style="bold")
    return line
