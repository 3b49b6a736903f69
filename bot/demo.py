"""`drumbeat demo`: two simulated weeks of the sample organisation's drumbeat.

Everything real runs: a fresh SQLite database with its migrations, the OKR file import, the
scheduler's tick, prompts, reminders, validation, storage and digests. Only the clock and the
people are simulated: owners answer on time, late or never, one reports a blocker on another
team, one checks in spontaneously, one is on leave (from the sample file).
"""

from __future__ import annotations

import heapq
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from bot.app import runtime
from bot.console.gateway import ConsoleGateway
from bot.console.render import render
from bot.okrfile import load_organisation
from bot.settings import Settings
from rhythm.cadences import RhythmKind
from rhythm.checkin import FormPage
from rhythm.messages import DigestMessage, Form, Message, Notice
from rhythm.okr import Organisation, Team
from rhythm.ports import FixedClock
from rhythm.prompting import OPEN
from rhythm.service import Drumbeat

DEMO_START = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
STEP = timedelta(minutes=30)  # every rhythm time in the sample falls on :00 or :30
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme.yaml"

MOVED = (
    "Shipped the onboarding checklist to 20% of sign-ups",
    "Two enterprise pilots converted",
    "Cache hit rate up after the CDN change",
    "Support macros cut handling time",
    "Partner webinar brought qualified leads",
)
NEXT = (
    "Roll out to everyone",
    "Review with design",
    "Pair with platform on the API",
    "Run A/B test",
)
FOCUS = ("Customer interviews", "Finishing the migration", "Pipeline review", "Hiring loop")


class Persona(StrEnum):
    ON_TIME = "answers on time"
    LATE = "answers late"
    NEVER = "never answers"
    BLOCKED = "reports a blocker"
    SPONTANEOUS = "also checks in unprompted"


@dataclass(order=True)
class Answer:
    at: datetime
    person: str = field(compare=False)
    prompt: int = field(compare=False)


def cast(org: Organisation) -> dict[str, Persona]:
    """Leads answer on time (leaders share first); a few owners get a quirk each."""
    owners = [p.email for p in org.people if org.key_results_of(p.email)]
    members = [
        e
        for e in owners
        if not org.person[e].time_off
        and not any(org.is_lead(e, m.team) for m in org.person[e].memberships)
    ]
    cast = dict.fromkeys(owners, Persona.ON_TIME)
    quirks = (Persona.NEVER, Persona.LATE, Persona.BLOCKED, Persona.SPONTANEOUS)
    for email, persona in zip(members, quirks, strict=False):
        cast[email] = persona
    return cast


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
    ) -> None:
        self.drumbeat = drumbeat
        self.outbox = outbox
        self.clock = clock
        self.org = org
        self.console = console
        self.quiet = quiet
        self.rng = random.Random(2026)
        self.personas = cast(org)
        self.featured = next(iter(self.personas), "")
        self.queue: list[Answer] = []
        self.read = 0
        self.stats: Counter[str] = Counter()
        self.invalid_shown = False

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
        answers = self.answers(person, form)
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
            self.console.print(render(outcome.form))

    def answers(self, person: str, form: Form) -> dict[str, str]:
        persona = self.personas.get(person, Persona.ON_TIME)
        week = (self.clock.now() - DEMO_START).days // 7
        out: dict[str, str] = {}
        for f in form.fields:
            kind, key, part = [*f.id.split(":"), "", ""][:3]
            out[f.id] = f.initial or ""
            if kind == "note":
                out[f.id] = self.rng.choice(FOCUS) if f.required else ""
            elif kind == "kr":
                out[f.id] = self._kr_answer(key, part, f.initial, persona, week)
        if persona is Persona.BLOCKED and week >= 0:
            other = self._other_team(person)
            for f in form.fields:
                if f.id.endswith(":blockers") or f.id == "note:blockers":
                    out[f.id] = f"Waiting on {other.name} for the API we need"
                if f.id.endswith(":blocked_by") or f.id == "note:blocked_by":
                    out[f.id] = other.key
                    break
        return out

    def _kr_answer(
        self, key: str, part: str, initial: str | None, persona: Persona, week: int
    ) -> str:
        kr = self.org.key_result[key]
        metric = kr.metric
        if part == "value" and metric is not None:
            if metric.milestone:
                return "1" if self.rng.random() < 0.15 else (initial or "0")
            current = float(initial) if initial else metric.start
            step = (metric.target - metric.start) * self.rng.uniform(0.0, 0.06)
            return (
                f"{current + step:.4g}"
                if metric.unit != "" or step % 1
                else f"{round(current + step)}"
            )
        if part == "confidence":
            base = int(initial) if initial else self.rng.randint(5, 8)
            if persona is Persona.BLOCKED and week >= 1:
                return str(max(0, base - 3))  # an early warning for the digest
            return str(min(10, max(0, base + self.rng.choice((-1, 0, 0, 1)))))
        if part == "moved":
            return self.rng.choice(MOVED)
        if part == "next":
            return initial or self.rng.choice(NEXT)
        if part == "score":
            return initial or "0"
        return initial or ""

    def _other_team(self, person: str) -> Team:
        own = {m.team for m in self.org.person[person].memberships}
        candidates = [t for t in self.org.teams if t.key not in own and t.parent is not None]
        return candidates[0]


def _show_post(channel: str, message: Message) -> bool:
    return not isinstance(message, DigestMessage) or message.digest.kind is RhythmKind.WEEKLY


async def run_demo(console: Console, *, weeks: int = 2, quiet: bool = False) -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="drumbeat-demo-") as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}", _env_file=None
        )
        org = load_organisation(EXAMPLE)
        clock = FixedClock(DEMO_START)
        featured = next(iter(cast(org)), "")
        gateway = ConsoleGateway(
            console=console,
            show_direct=lambda email: not quiet and email == featured,
            show_post=_show_post if not quiet else _only_weekly_top,
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
            )
            _introduce(console, org, sim)
            await sim.run(DEMO_START + timedelta(weeks=weeks))
            await _summary(console, rt.drumbeat, org, sim, time.perf_counter() - started)


def _only_weekly_top(channel: str, message: Message) -> bool:
    return isinstance(message, DigestMessage) and message.digest.kind is RhythmKind.WEEKLY


def _introduce(console: Console, org: Organisation, sim: Simulation) -> None:
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
    console.print(
        f"Direct messages are shown in full for [bold]{org.person[sim.featured].name}[/bold]; "
        "everyone else's as one line."
    )


async def _summary(
    console: Console, drumbeat: Drumbeat, org: Organisation, sim: Simulation, seconds: float
) -> None:
    console.print(Rule("[bold]Two weeks later[/bold]"))
    root = org.root_teams()[0]
    digest = await drumbeat.digests.digest(
        org.key, root, at=drumbeat.clock.now() - timedelta(days=1)
    )
    console.print(digest.participation.line())
    failed = await drumbeat.store.failed_prompts(org.key)
    console.print(
        f"{sim.stats['prompts']} prompts, {sim.stats['reminders']} reminders, "
        f"{sim.stats['check-ins']} check-ins stored ({sim.stats['spontaneous']} spontaneous), "
        f"{sim.stats['digests']} digests posted, {len(failed)} undeliverable; "
        f"simulated in {seconds:.1f} s."
    )
