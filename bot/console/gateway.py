"""A chat gateway that prints to the terminal: for the demo, `drumbeat chat` and servers
running with no chat platform configured."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rich.console import Console, RenderableType
from rich.rule import Rule
from rich.text import Text as RichText

from bot.console.render import render, render_report
from rhythm import markup
from rhythm.messages import Message, Notice, Report
from rhythm.okr import Person
from rhythm.ports import Leaving
from rhythm.wording import joined


@dataclass(frozen=True, slots=True)
class Sent:
    ref: str
    to: str  # a person's email or a channel
    message: Message
    thread: str | None = None
    updates: str | None = None  # the ref this message replaced


class ConsoleGateway:
    """Renders every message it is given and keeps them in `outbox`.

    `show_direct` decides whose direct messages are printed in full (the rest get one line,
    or nothing when `summarise_direct` is off), so a simulated organisation does not flood
    the screen. With `charts` (a folder), every chart a printed report carries is written
    there as a PNG file, and the report says where.
    """

    def __init__(
        self,
        *,
        console: Console,
        show_direct: Callable[[str], bool] = lambda email: True,
        show_post: Callable[[str, Message], bool] = lambda channel, message: True,
        summarise_direct: bool = True,
        charts: Path | None = None,
    ) -> None:
        self.console = console
        self.charts = charts
        self.show_direct = show_direct
        self.show_post = show_post
        self.summarise_direct = summarise_direct
        self.outbox: list[Sent] = []
        self._ids = itertools.count(1)

    def _ref(self, kind: str) -> str:
        return f"console:{kind}:{next(self._ids)}"

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if leaving is not None:
            await leaving()
        ref = self._ref("dm")
        self.outbox.append(Sent(ref, person.email, message))
        if self.show_direct(person.email):
            self.console.print(
                RichText.assemble(
                    (f"✉ to {person.name}", "bold cyan"), (f" ({person.timezone})", "dim")
                )
            )
            self.console.print(self.shown(message))
        elif self.summarise_direct:
            title = message.title if isinstance(message, Notice) else type(message).__name__
            self.console.print(f"✉ {person.name}: {title}", style="dim", markup=False)
        return ref

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        return None  # a terminal keeps no history to look in

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        self.outbox.append(Sent(self._ref("dm"), person.email, message, updates=ref))
        if self.show_direct(person.email):
            self.console.print(
                f"✎ {person.name}'s prompt now reads", style="bold cyan", markup=False
            )
            self.console.print(render(message))

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        ref = self._ref("post")
        self.outbox.append(Sent(ref, channel, message, thread=thread))
        where = f"{channel} ↳ thread" if thread else channel
        if not self.show_post(channel, message):
            self.console.print(f"# {where}: {_summary(message)}", style="dim", markup=False)
        elif thread:
            self.console.print(Rule(RichText(where, style="dim"), style="dim"))
            self.console.print(self.shown(message))
        else:
            self.console.print(Rule(RichText(where, style="bold green")))
            self.console.print(self.shown(message))
        return ref

    def shown(self, message: Message) -> RenderableType:
        """`message` rendered, its charts first written to `charts` when there is one."""
        if not isinstance(message, Report) or self.charts is None or not message.images:
            return render(message)
        return render_report(message, save_charts(message, self.charts))

    def sent_to(self, email: str) -> list[Sent]:
        return [s for s in self.outbox if s.to == email]


def save_charts(report: Report, folder: Path) -> dict[str, Path]:
    """Each chart of `report` as `folder`/NAME.png; the paths by image name."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = {}
    for image in report.images:
        path = folder / (image.name if image.name.endswith(".png") else f"{image.name}.png")
        path.write_bytes(image.png)
        saved[image.name] = path
    return saved


def _summary(message: Message) -> str:
    if isinstance(message, Report):
        return markup.plain(joined([message.title, message.summary, *message.facts]))
    return message.title if isinstance(message, Notice) else type(message).__name__
