"""`drumbeat chat --as EMAIL`: one person's chat with the bot, in the terminal."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt

from bot.app import Runtime
from bot.console.render import render
from rhythm.commands import help_text, run_command
from rhythm.messages import FieldKind, Form, FormField
from rhythm.service import Accepted, Rejected

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


def _question(field: FormField, error: str | None) -> str:
    label = f"[bold]{escape(field.label)}[/bold]"
    if field.kind is FieldKind.CHOICE:
        label += escape(" (" + " / ".join(f"{o.value}={o.label}" for o in field.options) + ")")
    if field.hint:
        label += f" [dim]{escape(field.hint)}[/dim]"
    if error:
        label = f"[red]⚠ {escape(error)}[/red]\n" + label
    return label


async def fill_form(console: Console, form: Form, answers: dict[str, str]) -> dict[str, str] | None:
    """Ask for each field (only the ones in error when the form comes back); None if abandoned."""
    console.print(render(form))
    wanted = [f for f in form.fields if not form.errors or f.id in form.errors]
    for field in wanted:
        reply = await ask(
            console,
            _question(field, form.errors.get(field.id)),
            answers.get(field.id, field.initial),
        )
        if reply is None:
            return None
        answers[field.id] = reply
    return answers


async def check_in(rt: Runtime, org: str, who: str, form: Form, console: Console) -> None:
    answers: dict[str, str] = {}
    while True:
        filled = await fill_form(console, form, answers)
        if filled is None:
            console.print("Check-in abandoned; nothing was stored.")
            return
        outcome = await rt.drumbeat.submit(org, who, form.context, filled)
        if isinstance(outcome, Accepted):
            console.print(render(outcome.notice))
            return
        assert isinstance(outcome, Rejected)
        form = outcome.form
        console.print(f"[red]{len(form.errors)} answer(s) need fixing.[/red]")


async def chat_loop(rt: Runtime, org: str, who: str, *, console: Console) -> None:
    _, person = await rt.drumbeat.person(org, who)
    name = (await rt.drumbeat.organisation(org)).person[person].name
    console.print(f"Hello {escape(name)}. Type a command, or [bold]quit[/bold].")
    console.print(render(help_text()))
    open_prompts = await rt.drumbeat.open_prompts(org, person)
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
