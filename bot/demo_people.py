"""The demo's simulated people: how each behaves, and what they type into their forms.

What an owner writes comes from their own key results (`examples/acme-demo.yaml`: what moved
each one, its next steps, whom its owner waits on), and the values they report move towards
their targets a little each week, written as precisely as the OKR file writes that metric.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from bot.resources import resource
from rhythm.forms import kr_field, note_field
from rhythm.messages import Form
from rhythm.okr import Metric, Organisation, Team

SCRIPT = resource("examples", "acme-demo.yaml")
REFLECTIONS = ("{}: more of that next month.", "What worked: {}.", "{}, so we keep at it.")


@dataclass(frozen=True, slots=True)
class Lines:
    """What the owner of one key result writes in the demo."""

    moved: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    blocked_by: str | None = None  # a team key
    blockers: str = ""


def load_script(path: Path = SCRIPT) -> dict[str, Lines]:
    """Each key result's lines, by key result key."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        key: Lines(
            tuple(entry.get("moved", ())),
            tuple(entry.get("next", ())),
            entry.get("blocked_by"),
            entry.get("blockers", ""),
        )
        for key, entry in data["key_results"].items()
    }


def decimals(metric: Metric) -> int:
    """How many decimals the file writes this metric's values with: 8.9 M€ one, 3200 none."""
    values = (metric.start, metric.target, metric.current)
    return max(len(f"{value:.6f}".rstrip("0").partition(".")[2]) for value in values)


class Persona(StrEnum):
    ON_TIME = "answers on time"
    LATE = "answers late"
    NEVER = "never answers"
    BLOCKED = "reports a blocker"
    SPONTANEOUS = "also checks in unprompted"


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


class Owners:
    """Writes the answers of the simulated people, with a seeded random choice of words."""

    def __init__(self, *, org: Organisation, script: dict[str, Lines], rng: random.Random) -> None:
        self.org = org
        self.script = script
        self.rng = rng
        self.personas = cast(org)

    def answers(self, person: str, form: Form, *, week: int) -> dict[str, str]:
        """Every field of `form`, as `person` fills it in in the simulation's `week` (0, 1, …)."""
        persona = self.personas.get(person, Persona.ON_TIME)
        out: dict[str, str] = {}
        for f in form.fields:
            kind, key, part = [*f.id.split(":"), "", ""][:3]
            out[f.id] = f.initial or ""
            if kind == "note":
                out[f.id] = self._note(person, key)
            elif kind == "kr":
                out[f.id] = self._kr_answer(key, part, f.initial, persona, week)
        if persona is Persona.BLOCKED:
            out.update(self._blocker(person, form))
        return out

    def _lines_of(self, person: str) -> list[Lines]:
        return [self.script.get(kr.key, Lines()) for kr in self.org.key_results_of(person)]

    def _note(self, person: str, name: str) -> str:
        """A daily focus is one of the person's next steps; a monthly reflection, what moved
        one of their key results. Optional notes are left empty, as most people do."""
        lines = self._lines_of(person)
        if name == "focus":
            steps = [step for line in lines for step in line.next]
            return self.rng.choice(steps) if steps else "Planning the week with the team"
        if name in ("reflection", "learnings"):
            moved = [m for line in lines for m in line.moved]
            if not moved:
                return "Pairing with the team on their key results paid off."
            return self.rng.choice(REFLECTIONS).format(self.rng.choice(moved))
        return ""

    def _blocker(self, person: str, form: Form) -> dict[str, str]:
        """The blocked owner's first key result waits on another team (the one its lines
        name, else the first team that is not theirs)."""
        krs = self.org.key_results_of(person)
        if not krs:
            return {}
        lines = self.script.get(krs[0].key, Lines())
        team = self.org.team[lines.blocked_by] if lines.blocked_by else self._other_team(person)
        text = lines.blockers or f"Waiting on {team.name} for what we need from them"
        ids = {f.id for f in form.fields}
        blockers, blocked_by = kr_field(krs[0].key, "blockers"), kr_field(krs[0].key, "blocked_by")
        if blockers not in ids:  # a daily pulse: the notes' blocker
            blockers, blocked_by = note_field("blockers"), note_field("blocked_by")
        return {f: v for f, v in ((blockers, text), (blocked_by, team.key)) if f in ids}

    def _kr_answer(
        self, key: str, part: str, initial: str | None, persona: Persona, week: int
    ) -> str:
        kr = self.org.key_result[key]
        metric = kr.metric
        lines = self.script.get(key, Lines())
        if part == "value" and metric is not None:
            return self._value(metric, initial, persona)
        if part == "confidence":
            base = int(initial) if initial else self.rng.randint(5, 8)
            if persona is Persona.BLOCKED and week >= 1:
                return str(max(0, base - 3))  # an early warning for the digest
            return str(min(10, max(0, base + self.rng.choice((-1, 0, 0, 1)))))
        if part == "moved":
            return self.rng.choice(lines.moved) if lines.moved else ""
        if part == "next":
            return self.rng.choice(lines.next) if lines.next else initial or ""
        if part == "score":
            return initial or "0"
        return initial or ""

    def _value(self, metric: Metric, initial: str | None, persona: Persona) -> str:
        """This week's value: a step of up to 6% of the way towards the target, never past
        it, written as precisely as the file writes the metric (whole teams, 8.9 M€)."""
        if metric.milestone:
            done = persona is not Persona.BLOCKED and self.rng.random() < 0.15
            return "1" if done else (initial or "0")
        current = float(initial) if initial else metric.current
        moved = current + (metric.target - metric.start) * self.rng.uniform(0.0, 0.06)
        upward = metric.target >= metric.start
        value = min(moved, metric.target) if upward else max(moved, metric.target)
        places = decimals(metric)
        return f"{round(value, places):.{places}f}"

    def _other_team(self, person: str) -> Team:
        own = {m.team for m in self.org.person[person].memberships}
        candidates = [t for t in self.org.teams if t.key not in own and t.parent is not None]
        return candidates[0]
