"""Nudges: reminders and leads' nudges share one weekly allowance per person, and a lead
hears who is missing once a check-in's deadline has passed.

Every reminder and every lead's nudge spends one of the person's `nudges_per_week` (3 unless
the organisation says otherwise) for the ISO week in their timezone; the rest are dropped.
Spending is keyed (a reminder's number, a prompt's nudge), so two replicas or a double click
spend it once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from rhythm.courier import Courier
from rhythm.errors import CommandError, NotYourPrompt
from rhythm.markup import literal, strong
from rhythm.messages import Action, Notice
from rhythm.okr import Organisation, Person
from rhythm.orgcache import Organisations
from rhythm.people import People
from rhythm.ports import Clock, Store
from rhythm.prompting import TITLES, prompt_actions
from rhythm.records import Outgoing, PromptRecord, Spend, Spent

log = logging.getLogger(__name__)

NUDGE = "nudge:send"
# Missed prompts whose deadline passed longer ago than this are not listed any more (a first
# start after a long stop does not send last month's lists).
LOOK_BACK = timedelta(days=1)
MAX_BUTTONS = 10  # per list: a Slack actions block takes 25, a Teams card fewer
# How often a process looks for lists to write: reading two days of unanswered prompts costs
# about half a second at 10,000 people (bench/tick.py), too much for every minute's tick. A
# lead's list comes at most this long after the last deadline, from whichever replica.
LIST_EVERY = timedelta(minutes=5)


def week_of(person: Person, moment: datetime) -> str:
    year, week, _ = moment.astimezone(person.zone).isocalendar()
    return f"{year}-W{week:02d}"


class Nudges:
    def __init__(
        self, *, store: Store, orgs: Organisations, people: People, clock: Clock, courier: Courier
    ) -> None:
        self.store = store
        self.orgs = orgs
        self.people = people
        self.clock = clock
        self.courier = courier
        self._listed: dict[str, datetime] = {}  # when this process last looked, per org

    async def spend_reminder(self, org: Organisation, prompt: PromptRecord, number: int) -> bool:
        """Whether reminder `number` of `prompt` may go out: it spends one of the person's
        nudges this week (False when they are used up)."""
        person = org.person[prompt.person]
        now = self.clock.now()
        spend = Spend(person.email, week_of(person, now), f"reminder:{prompt.id}:{number}",
                      org.nudges_per_week, now)  # fmt: skip
        spent = await self.store.nudge(org.key, spend)
        if spent is Spent.CAPPED:
            log.info("reminder %s of prompt %s dropped: %s was nudged %s times this week",
                     number, prompt.id, person.name, org.nudges_per_week)  # fmt: skip
        return spent is Spent.SPENT

    async def nudge(self, org_key: str, who: str, prompt_id: int) -> Notice:
        """A lead's Nudge: one friendly reminder in the lead's name, if the person still owes
        the check-in and has nudges left this week."""
        org, lead = await self.people.person(org_key, who)
        prompt = await self.store.get_prompt(org.key, prompt_id)
        if prompt is None or prompt.person not in org.person:
            raise NotYourPrompt()
        person = org.person[prompt.person]
        if not any(org.leads_or_admin(lead, t.team) for t in person.memberships):
            raise CommandError(f"Only {person.name}'s team leads can nudge them.")
        if prompt.answered_at is not None:
            return Notice(f"✅ {person.name} has checked in since: no nudge needed.")
        if prompt.failure is not None:
            return Notice(f"{person.name}'s check-in is closed ({prompt.failure}): no nudge.")
        now = self.clock.now()
        spend = Spend(person.email, week_of(person, now), f"nudge:{prompt.id}",
                      org.nudges_per_week, now)  # fmt: skip
        message = Outgoing(f"nudge:{prompt.id}", person.email, nudge_notice(org, lead, prompt))
        spent = await self.store.nudge(org.key, spend, message)
        if spent is Spent.ALREADY:
            return Notice(f"{person.name} was already nudged for this check-in.")
        if spent is Spent.CAPPED:
            return Notice(
                f"{person.name} was already nudged this week",
                (f"They got {org.nudges_per_week} reminders and nudges already; I won't add "
                 "another.",),
            )  # fmt: skip
        self.courier.deliver_soon(org.key)
        return Notice(f"👋 Sent: I reminded {person.name} for you.")

    async def missing_lists(self, org: Organisation, now: datetime) -> int:
        """Write each lead's list of their people who missed a check-in whose deadline has
        passed: one per lead, rhythm and period, once the last of those people's deadlines
        has passed, only when someone is missing, and not for leads who turned it off.
        Looked for every `LIST_EVERY`; the lists' keys keep them to one each."""
        last = self._listed.get(org.key)
        if last is not None and last <= now < last + LIST_EVERY:
            return 0
        self._listed[org.key] = now
        open_prompts = await self.store.missed_prompts(
            org.key, deadline_from=now - LOOK_BACK, deadline_until=now + LOOK_BACK
        )
        by_lead: dict[tuple[str, str, str], list[PromptRecord]] = defaultdict(list)
        for prompt in open_prompts:
            person = org.person.get(prompt.person)
            if person is None or _away(org, person, prompt) or not _had_time(prompt):
                continue
            for lead in _leads_of(org, person):
                by_lead[(prompt.rhythm, prompt.period, lead.email)].append(prompt)
        ready = {key: ps for key, ps in by_lead.items() if all(p.deadline <= now for p in ps)}
        if not ready:
            return 0
        settings = await self.store.person_settings(org.key, sorted({k[2] for k in ready}))
        messages = [
            Outgoing(
                f"missing:{rhythm}:{period}:{lead}",
                lead,
                missing_notice(org, org.person[lead], prompts),
            )
            for (rhythm, period, lead), prompts in sorted(ready.items())
            if settings[lead].missing_list
        ]
        return await self.store.enqueue(org.key, messages, at=now) if messages else 0


def _had_time(prompt: PromptRecord) -> bool:
    """Asked before its deadline: a prompt sent late (the service was down) missed nothing."""
    return prompt.sent_at is not None and prompt.sent_at < prompt.deadline


def _away(org: Organisation, person: Person, prompt: PromptRecord) -> bool:
    """On leave or on holiday on the deadline's day: never listed as missing."""
    day = prompt.deadline.astimezone(person.zone).date()
    return person.is_off(day) or org.is_holiday(person, day)


def _leads_of(org: Organisation, person: Person) -> Iterable[Person]:
    """The leads of each team the person is a member of (not themselves)."""
    seen: set[str] = set()
    for membership in person.memberships:
        for lead in org.leads(membership.team):
            if lead.email != person.email and lead.email not in seen:
                seen.add(lead.email)
                yield lead


def missing_notice(org: Organisation, lead: Person, prompts: Sequence[PromptRecord]) -> Notice:
    first = prompts[0]
    people = sorted(prompts, key=lambda p: org.person[p.person].name)
    count = len(people)
    lines = [
        f"{strong(literal(org.person[p.person].name))}{_team_words(org, p.person)}" for p in people
    ]
    actions = tuple(
        Action(NUDGE, f"Nudge {org.person[p.person].name.split()[0]}", str(p.id))
        for p in people[:MAX_BUTTONS]
    )
    more = f" The first {MAX_BUTTONS} have a Nudge button." if count > MAX_BUTTONS else ""
    verb = "has" if count == 1 else "have"
    return Notice(
        f"📋 {count} of your people {verb} not checked in · {TITLES[first.kind]} {first.period}",
        tuple(lines),
        actions=actions,
        footer="Nudge sends one friendly reminder in your name (at most "
        f"{org.nudges_per_week} reminders a week reach anyone).{more} "
        "Turn this list off with `settings`.",
    )


def _team_words(org: Organisation, person: str) -> str:
    team = org.team.get(org.team_of(person) or "")
    return f" · {literal(team.name)}" if team else ""


def nudge_notice(org: Organisation, lead: str, prompt: PromptRecord) -> Notice:
    person = org.person[prompt.person]
    due = prompt.deadline.astimezone(person.zone).strftime("%a %d %b %H:%M")
    name = org.person[lead].name
    return Notice(
        f"👋 {name} asked me to remind you",
        (
            f"Your {TITLES[prompt.kind].lower()} for {prompt.period} is still open: "
            f"{literal(name)} and your team are waiting for it. It takes a minute.",
        ),
        actions=prompt_actions(prompt.id),
        footer=f"It was due {due} ({person.timezone}); late is better than never.",
    )
