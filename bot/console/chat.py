"""`drumbeat chat --as EMAIL`: one person's chat with the bot, in the terminal.

A check-in form is asked one question at a time, and every answer goes to the core's check-in
session as a page of its own (`answer_pages`): the session validates it at once, with the
rules a whole form is checked with, so a typo is asked again before the next question, and
nothing is stored before the last answer is in.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.text import Text as RichText

from bot.app import Runtime
from bot.console.gateway import save_charts
from bot.console.render import marked, render, render_report
from rhythm.checkin import CheckedIn, FormPage
from rhythm.commands import help_text, run_command
from rhythm.context import MAX_PAGE
from rhythm.dialogs import Done
from rhythm.errors import DrumbeatError
from rhythm.messages import FieldKind, Form, FormField, FormSection, Report

QUIT = {"quit", "exit", "bye"}
CANCEL = "cancel"


async def ask(console: Console, question: str | RichText, default: str | None = None) -> str | None:
    """One line from the person, without blocking the event loop; None at end of input."""
    try:
        answer = await asyncio.to_thread(
            Prompt.ask, question, console=console, default=default or "", show_default=bool(default)
        )
    except (EOFError, KeyboardInterrupt):
        return None
    return str(answer)


def answer_pages(form: Form) -> list[list[str]]:
    """One field per page, so each answer is checked as soon as it is typed; a form with more
    fields than a context can number pages gets two or more per page instead."""
    ids = [f.id for f in form.fields]
    size = max(1, math.ceil(len(ids) / (MAX_PAGE + 1)))
    return [ids[n : n + size] for n in range(0, len(ids), size)]


# ---- choices: their values, their labels or their numbers ------------------------------------


def _words(text: str) -> str:
    """An answer as compared with a choice: any case, spaces, underscores or hyphens."""
    return " ".join(text.replace("_", " ").replace("-", " ").casefold().split())


def _numbered(field: FormField) -> bool:
    # Options whose values are numbers ("0 Not done", "1 Done") are typed by value: numbering
    # them as well would make "1" mean two things.
    return not any(option.value.isdigit() for option in field.options)


def choice_value(field: FormField, reply: str) -> str:
    """The option `reply` names (by value, label or, when listed with numbers, number), else
    `reply` as typed: the core refuses it with the choices it takes."""
    wanted = _words(reply)
    numbered = _numbered(field)
    for number, option in enumerate(field.options, 1):
        if wanted in (_words(option.value), _words(option.label)):
            return option.value
        if numbered and wanted == str(number):
            return option.value
    return reply


def _choices(field: FormField) -> str:
    numbered = _numbered(field)
    listed = (
        f"{number if numbered else option.value} {option.label}"
        for number, option in enumerate(field.options, 1)
    )
    return " (" + " / ".join(listed) + ")"


def _shown(field: FormField, value: str | None) -> str | None:
    """A prefilled answer as the person would type it: a choice by its label."""
    if field.kind is FieldKind.CHOICE:
        labels = {option.value: option.label for option in field.options}
        return labels.get(value or "", value)
    return value


# ---- asking ------------------------------------------------------------------------------


def _question(field: FormField, error: str | None, warning: str | None) -> RichText:
    """The question, under what went wrong with the last answer and the field's hint."""
    question = RichText()
    if error:
        question.append_text(marked(f"⚠ {error}", "red")).append("\n")
    elif warning:
        question.append_text(marked(f"⚠ {warning}", "yellow")).append("\n")
    if field.hint:
        question.append_text(marked(field.hint, "dim")).append("\n")
    question.append(field.label, style="bold")
    if field.kind is FieldKind.CHOICE:
        question.append(_choices(field))
    return question


def _section_of(form: Form) -> Mapping[str, FormSection]:
    return {f.id: section for section in form.sections for f in section.fields}


def _to_ask(page: FormPage, pages: Sequence[Sequence[str]]) -> list[FormField]:
    """The page's fields; when it came back, only those flagged on it."""
    by_id = {f.id: f for f in page.form.fields}
    fields = [by_id[fid] for fid in pages[page.page]]
    flagged = {**page.form.errors, **page.form.warnings}
    if page.again and any(f.id in flagged for f in fields):
        return [f for f in fields if f.id in flagged]
    return fields


def _default(field: FormField, page: FormPage) -> str | None:
    """What Enter keeps: the answer given so far, unless it was refused or doubted (a wrong
    answer is never offered back: a doubted one is kept by typing it again), else the
    form's prefill."""
    if field.id in page.form.errors or field.id in page.form.warnings:
        return _shown(field, field.initial)
    return _shown(field, page.answers.get(field.id, field.initial))


class Cancelled(Exception):
    """The person typed `cancel` (or closed the input) in the middle of the form."""


class FormFiller:
    """Asks one person the questions of one check-in form and hands each page to the core."""

    def __init__(self, rt: Runtime, org: str, who: str, console: Console) -> None:
        self.session = rt.drumbeat.checkins
        self.submissions = rt.drumbeat.submissions
        self.org = org
        self.who = who
        self.console = console
        self._section: tuple[str, str] | None = None

    async def run(self, page: FormPage) -> None:
        self.console.print(render(page.form.with_answers(page.answers)))
        self.console.print(
            "[dim]One question at a time: Enter keeps the answer in brackets, "
            f"[bold]{CANCEL}[/bold] leaves the form.[/dim]"
        )
        try:
            while True:
                answers = await self._ask_page(page)
                outcome = await self.submissions.submit(
                    self.org, self.who, page.form.context, answers, pager=answer_pages
                )
                if isinstance(outcome, CheckedIn | Done):
                    self.console.print(render(outcome.notice))
                    return
                page = outcome
        except Cancelled:
            await self.session.abandon(self.org, self.who, page.form.context)
            self.console.print("Cancelled: nothing was stored.")

    async def _ask_page(self, page: FormPage) -> dict[str, str | None]:
        if "" in page.form.errors:  # about the whole form, e.g. key results that changed
            self.console.print(marked(f"⚠ {page.form.errors['']}", "red"))
        pages = answer_pages(page.form)
        answers = {fid: page.answers.get(fid) for fid in pages[page.page]}
        sections = _section_of(page.form)
        for field in _to_ask(page, pages):
            self._announce(sections[field.id])
            error, warning = page.form.errors.get(field.id), page.form.warnings.get(field.id)
            reply = await ask(self.console, _question(field, error, warning), _default(field, page))
            if reply is None or reply.strip().casefold() == CANCEL:
                raise Cancelled()
            chosen = field.kind is FieldKind.CHOICE
            answers[field.id] = choice_value(field, reply) if chosen else reply
        return answers

    def _announce(self, section: FormSection) -> None:
        """The key result (or part of the form) the next questions are about, once."""
        shown = (section.title, section.subtitle)
        if shown == self._section:
            return
        self._section = shown
        subtitle = f" [dim]— {escape(section.subtitle)}[/dim]" if section.subtitle else ""
        self.console.print(f"\n[bold magenta]{escape(section.title)}[/bold magenta]{subtitle}")


async def check_in(rt: Runtime, org: str, who: str, page: FormPage, console: Console) -> None:
    try:
        await FormFiller(rt, org, who, console).run(page)
    except DrumbeatError as error:  # e.g. the period closed while the form was open
        console.print(marked(error.message))


CHARTS = Path("drumbeat-charts")  # where the charts a reply carries are written, as PNG files


async def chat_loop(
    rt: Runtime, org: str, who: str, *, console: Console, charts: Path = CHARTS
) -> None:
    tree, person = await rt.drumbeat.people.person(org, who)
    name = tree.person[person].name
    console.print(f"Hello {escape(name)}. Type a command, or [bold]quit[/bold].")
    console.print(render(help_text()))
    open_prompts = await rt.drumbeat.people.open_prompts(org, person)
    if open_prompts:
        kinds = ", ".join(f"{p.kind.value} {p.period}" for p in open_prompts)
        console.print(f"You have open check-ins: {kinds}. Type [bold]checkin[/bold] to answer.")
    while True:
        line = await ask(console, f"[cyan]{escape(name)}[/cyan]")
        if line is None or line.strip().lower() in QUIT:
            return
        reply = await run_command(rt.drumbeat, org, person, line)
        if isinstance(reply.message, Report) and reply.message.images:
            console.print(render_report(reply.message, save_charts(reply.message, charts)))
        elif reply.message is not None:
            console.print(render(reply.message))
        if reply.form is not None:
            await check_in(rt, org, person, reply.form, console)
