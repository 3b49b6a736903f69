"""`drumbeat demo`: simulated weeks (two by default) of the sample organisation's drumbeat.

Everything real runs: a fresh SQLite database with its migrations, the OKR file import, the
scheduler's tick, prompts, reminders, validation, storage and digests. Only the clock and the
people are simulated: owners answer on time, late or never, one reports a blocker on another
team, one checks in spontaneously, one is on leave (from the sample file). What they write
comes from their key results (`examples/acme-demo.yaml`), and the values they report move as
their metrics do, at the precision the file writes them with. The sample is moved to the
quarter the demo runs in (`bot.sample`), and so is the fortnight it simulates.
"""

from __future__ import annotations

import heapq
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from bot.app import runtime
from bot.console.gateway import ConsoleGateway
from bot.console.render import render
from bot.demo_people import Owners, Persona, cast, load_script
from bot.sample import sample_organisation
from bot.settings import Settings
from rhythm.cadences import RhythmKind
from rhythm.checkin import FormPage
from rhythm.messages import Form, Message, Notice, Report
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.prompting import OPEN
from rhythm.service import Drumbeat

# The Monday the simulation starts on, as the sample file has it; moved with the sample.
SAMPLE_MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
STEP = timedelta(minutes=30)  # every rhythm time in the sample falls on :00 or :30
WEEKS_IN_WORDS = ("One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight")


@dataclass(order=True)
class Answer:
    at: datetime
    person: str = field(compare=False)
    prompt: int = field(compare=False)


class Simulation:
    def __init__(
        self,
        *,
        drumbeat: Drumbeat,
        outbox: ConsoleGateway,
        clock: FixedClock,
        org: Organisation,
        console: Console,
        quiet: bool,
        start: datetime,
        owners: Owners,
    ) -> None:
        self.drumbeat = drumbeat
        self.outbox = outbox
        self.clock = clock
        self.org = org
        self.console = console
        self.quiet = quiet
        self.owners = owners
        self.rng = owners.rng
        self.personas = owners.personas
        self.featured = next(iter(self.personas), "")
        self.queue: list[Answer] = []
        self.read = 0
        self.stats: Counter[str] = Counter()
        self.invalid_shown = False
        self.start = start

    async def run(self, until: datetime) -> None:
        while self.clock.now() < until:
            now = self.clock.now()
            report = await self.drumbeat.tick(now)
            self.stats.update(
                prompts=report.created, reminders=report.reminded, digests=report.digests
            )
            self._read_outbox()
            while self.queue and self.queue[0].at <= now:
                answer = heapq.heappop(self.queue)
                await self._answer(answer.person, answer.prompt)
            await self._spontaneous(now)
            self.clock.advance(STEP)

    def _read_outbox(self) -> None:
        """Each new prompt in a person's DMs schedules their answer, by persona."""
        for sent in self.outbox.outbox[self.read :]:
            message = sent.message
            if not isinstance(message, Notice) or not message.actions:
                continue
            if message.title.startswith("Reminder"):
                continue
            action = next((a for a in message.actions if a.id == OPEN), None)
            persona = self.personas.get(sent.to, Persona.ON_TIME)
            if action is None or persona is Persona.NEVER:
                continue
            delay = timedelta(minutes=self.rng.randint(10, 120))
            if persona is Persona.LATE:
                delay = timedelta(days=2, hours=self.rng.randint(3, 6))
            heapq.heappush(self.queue, Answer(self.clock.now() + delay, sent.to, int(action.value)))
        self.read = len(self.outbox.outbox)

    async def _answer(self, person: str, prompt_id: int) -> None:
        page = await self.drumbeat.checkins.open(self.org.key, person, prompt_id=prompt_id)
        await self._submit(person, page)

    async def _spontaneous(self, now: datetime) -> None:
        """The spontaneous owner updates on Thursday afternoons without being asked."""
        for person, persona in self.personas.items():
            local = now.astimezone(self.org.person[person].zone)
            if (
                persona is Persona.SPONTANEOUS
                and local.weekday() == 3
                and local.hour == 15
                and local.minute < STEP.seconds // 60
            ):
                page = await self.drumbeat.checkins.open(self.org.key, person)
                if not self.quiet:
                    self.console.print(
                        f"[dim]{escape(self.org.person[person].name)} checks in unprompted[/dim]"
                    )
                await self._submit(person, page, spontaneous=True)

    async def _submit(self, person: str, page: FormPage, *, spontaneous: bool = False) -> None:
        form = page.form
        week = (self.clock.now() - self.start).days // 7
        answers = self.owners.answers(person, form, week=week)
        show = person == self.featured and not self.quiet and not self.invalid_shown
        if show:
            self.invalid_shown = True
            self.console.print(
                Rule(escape(f"{self.org.person[person].name} opens the check-in form"))
            )
            await self._show_a_mistake(person, form, answers)
        outcome = await self.drumbeat.checkins.submit(self.org.key, person, form.context, answers)
        if isinstance(outcome, FormPage):  # the simulation's own answers must always be valid
            flagged = {**outcome.form.errors, **outcome.form.warnings}
            raise RuntimeError(f"demo answers rejected: {flagged}")
        self.stats["check-ins"] += 1
        self.stats["spontaneous"] += spontaneous

    async def _show_a_mistake(self, person: str, form: Form, answers: dict[str, str]) -> None:
        """Show the form as the person sees it, and what happens when they mistype."""
        self.console.print(render(form))
        wrong = dict(answers)
        value_field = next((f.id for f in form.fields if f.id.endswith(":value")), None)
        conf_field = next((f.id for f in form.fields if f.id.endswith(":confidence")), None)
        if value_field:
            wrong[value_field] = "ten"
        if conf_field:
            wrong[conf_field] = "12"
        outcome = await self.drumbeat.checkins.submit(self.org.key, person, form.context, wrong)
        if isinstance(outcome, FormPage):
            self.console.print(
                "[bold]A typo on the first try: the form comes back, nothing is stored[/bold]"
            )
            self.console.print(render(outcome.form.with_answers(outcome.answers)))


def _in_full(channel: str, message: Message) -> bool:
    """Weekly and monthly digests in full; the daily pulse's (one a day) as one line."""
    daily = f"digest:{RhythmKind.DAILY.value}"
    return (
        isinstance(message, Report) and message.tag.startswith("digest:") and message.tag != daily
    )


async def run_demo(
    console: Console,
    *,
    weeks: int = 2,
    quiet: bool = False,
    today: date | None = None,
    charts: Path | None = None,
) -> None:
    """The demo, on the sample moved to the quarter of `today` (the real one by default);
    the digests' charts are written to `charts` as PNG files."""
    started = time.perf_counter()
    org, shift = sample_organisation(today or datetime.now(UTC).date())
    start = SAMPLE_MONDAY + timedelta(weeks=shift.weeks)
    with tempfile.TemporaryDirectory(prefix="drumbeat-demo-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}", _env_file=None
        )
        clock = FixedClock(start)
        featured = next(iter(cast(org)), "")
        gateway = ConsoleGateway(
            console=console,
            show_direct=lambda email: not quiet and email == featured,
            show_post=_in_full,
            summarise_direct=not quiet,
            charts=charts,
        )
        async with runtime(
            settings, console=console, gateways={"console": gateway}, clock=clock
        ) as rt:
            await rt.store.save_organisation(org)
            console.print(
                Rule(
                    f"[bold]Drumbeat demo[/bold] · {org.name} · {len(org.people)} people "
                    f"in {len({p.timezone for p in org.people})} timezones"
                )
            )
            sim = Simulation(
                drumbeat=rt.drumbeat,
                outbox=gateway,
                clock=clock,
                org=org,
                console=console,
                quiet=quiet,
                start=start,
                owners=Owners(org=org, script=load_script(), rng=random.Random(2026)),
            )
            _introduce(console, org, sim, weeks)
            await sim.run(start + timedelta(weeks=weeks))
            await _summary(console, rt.drumbeat, org, sim, weeks, time.perf_counter() - started)


def _introduce(console: Console, org: Organisation, sim: Simulation, weeks: int) -> None:
    table = Table(title="Who does what", title_justify="left")
    for column in ("Person", "Team", "Timezone", "Behaviour"):
        table.add_column(column)
    for person in org.people:
        persona = sim.personas.get(person.email)
        leave = (
            f"on leave {person.time_off[0].start:%d %b}–{person.time_off[0].end:%d %b}"
            if person.time_off
            else ""
        )
        behaviour = ", ".join(
            x for x in (persona.value if persona else "no key results", leave) if x
        )
        team = org.team[person.memberships[0].team].name if person.memberships else ""
        lead = (
            " (lead)"
            if person.memberships and org.is_lead(person.email, person.memberships[0].team)
            else ""
        )
        table.add_row(person.name, team + lead, person.timezone, behaviour)
    console.print(table)
    last = sim.start + timedelta(weeks=weeks, days=-1)
    shown = (
        "Only the digests are shown."
        if sim.quiet
        else f"Direct messages are shown in full for "
        f"[bold]{escape(org.person[sim.featured].name)}[/bold]; everyone else's as one line."
    )
    console.print(
        f"Simulated: {_day(sim.start)} to {_day(last)} {last.year}, half an hour at a time, in "
        f"{org.current_cycle(sim.start.date()).key}. {shown}"
    )


def _day(moment: datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B}"  # "Monday 23 November"


async def _summary(
    console: Console,
    drumbeat: Drumbeat,
    org: Organisation,
    sim: Simulation,
    weeks: int,
    seconds: float,
) -> None:
    later = f"{WEEKS_IN_WORDS[weeks - 1]} week{'s' if weeks > 1 else ''} later"
    console.print(Rule(f"[bold]{later}[/bold]"))
    root = org.root_teams()[0]
    digest = await drumbeat.digests.digest(
        org.key, root, at=drumbeat.clock.now() - timedelta(days=1)
    )
    line = f"{digest.team_name}, week {digest.period}: {digest.participation.line()}"
    console.print(line, markup=False)
    failed = await drumbeat.store.failed_prompts(org.key)
    console.print(
        f"{sim.stats['prompts']} prompts, {sim.stats['reminders']} reminders, "
        f"{sim.stats['check-ins']} check-ins stored ({sim.stats['spontaneous']} spontaneous), "
        f"{sim.stats['digests']} digests posted, {len(failed)} undeliverable; "
        f"simulated in {seconds:.1f} s."
    )
