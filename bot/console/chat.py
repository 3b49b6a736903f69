"""`drumbeat chat --as EMAIL`: one person's chat with the bot, in the terminal."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from bot.app import Runtime
from bot.console.render import render
from rhythm.checkin import CheckedIn, FormPage
from rhythm.commands import help_text, run_command
from rhythm.messages import FieldKind, FormField

QUIT = {"quit", "exit", "bye"}


async def ask(console: Console, question: str, default: str | None = None) -> str | None:
    """One line from the person, without blocking the event loop; None at end of input."""
    try:
        answer = await asyncio.to_thread(
            Prompt.ask, question, console=console, default=default or "", show_default=bool(default)
        )
    except (EOFError, KeyboardInterrupt):
        return None
    return str(answer)


def _question(field: FormField, error: str | None, warning: str | None) -> str:
    label = f"[bold]{escape(field.label)}[/bold]"
    if field.kind is FieldKind.CHOICE:
        label += escape(" (" + " / ".join(f"{o.value}={o.label}" for o in field.options) + ")")
    if field.hint:
        label += f" [dim]{escape(field.hint)}[/dim]"
    if error:
        label = f"[red]⚠ {escape(error)}[/red]\n" + label
    elif warning:
        label = f"[yellow]⚠ {escape(warning)}[/yellow]\n" + label
    return label


async def fill_form(
    console: Console, page: FormPage, answers: dict[str, str | None]
) -> dict[str, str | None] | None:
    """Ask for each field (only those flagged when the form comes back); None if abandoned."""
    form = page.form
    console.print(render(form.with_answers(answers)))
    flagged = {**form.errors, **form.warnings}
    wanted = [f for f in form.fields if not flagged or f.id in flagged]
    for field in wanted:
        question = _question(field, form.errors.get(field.id), form.warnings.get(field.id))
        reply = await ask(console, question, answers.get(field.id, field.initial))
        if reply is None:
            return None
        answers[field.id] = reply
    return answers


async def check_in(rt: Runtime, org: str, who: str, page: FormPage, console: Console) -> None:
    answers = dict(page.answers)
    while True:
        filled = await fill_form(console, page, answers)
        if filled is None:
            console.print("Check-in abandoned; nothing was stored.")
            return
        outcome = await rt.drumbeat.checkins.submit(org, who, page.form.context, filled)
        if isinstance(outcome, CheckedIn):
            console.print(render(outcome.notice))
            return
        page = outcome
        if page.form.errors:
            count = len(page.form.errors)
            console.print(
                f"[red]{count} {'answer needs' if count == 1 else 'answers need'} fixing.[/red]"
            )
        else:
            console.print("[yellow]Please confirm the values flagged above.[/yellow]")


async def chat_loop(rt: Runtime, org: str, who: str, *, console: Console) -> None:
    tree, person = await rt.drumbeat.people.person(org, who)
    name = tree.person[person].name
    console.print(f"Hello {escape(name)}. Type a command, or [bold]quit[/bold].")
    console.print(render(help_text()))
    open_prompts = await rt.drumbeat.people.open_prompts(org, person)
    if open_prompts:
        kinds = ", ".join(f"{p.kind.value} {p.period}" for p in open_prompts)
        console.print(f"You have open check-ins: {kinds}. Type [bold]checkin[/bold] to answer.")
    while True:
        line = await ask(console, f"[cyan]{name}[/cyan]")
        if line is None or line.strip().lower() in QUIT:
            return
        reply = await run_command(rt.drumbeat, org, person, line)
        if reply.message is not None:
            console.print(render(reply.message))
        if reply.form is not None:
            await check_in(rt, org, person, reply.form, console)
