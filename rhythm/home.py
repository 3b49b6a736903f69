"""A person's home screen (Slack's App Home): their key results, what is due, their team."""

from __future__ import annotations

import calendar
from dataclasses import dataclass

from rhythm.cadences import RhythmKind
from rhythm.commands import key_results_table
from rhythm.digest_model import Digest
from rhythm.messages import Table, Text
from rhythm.prompting import TITLES
from rhythm.service import Drumbeat


@dataclass(frozen=True, slots=True)
class Home:
    title: str
    key_results: Table | Text
    next_due: str
    digest: Digest | None
    is_admin: bool = False
    problems: tuple[str, ...] = ()


async def build_home(drumbeat: Drumbeat, org_key: str, who: str) -> Home:
    org, person = await drumbeat.people.person(org_key, who)
    team = org.team_of(person)
    digest = await drumbeat.digests.digest(org.key, team) if team else None
    is_admin = org.is_admin(person)
    return Home(
        title=f"{org.person[person].name} · {org.name}",
        key_results=await key_results_table(drumbeat, org.key, person),
        next_due=await next_due(drumbeat, org.key, person),
        digest=digest,
        is_admin=is_admin,
        problems=await delivery_problems(drumbeat, org.key) if is_admin else (),
    )


async def next_due(drumbeat: Drumbeat, org_key: str, person: str) -> str:
    """The open check-ins with their deadlines, else when the person's rhythms prompt next."""
    org = await drumbeat.organisation(org_key)
    who = org.person[person]
    open_prompts = await drumbeat.people.open_prompts(org.key, person)
    if open_prompts:
        return " · ".join(
            f"{TITLES[p.kind]} {p.period} due {p.deadline.astimezone(who.zone):%a %d %b %H:%M}"
            for p in open_prompts
        )
    when = []
    for kind in RhythmKind:
        rhythm = org.covering_rhythm(who, kind)
        if rhythm is None:
            continue
        at = rhythm.local_time.strftime("%H:%M")
        if kind is RhythmKind.DAILY:
            when.append(f"{TITLES[kind]} every working day at {at}")
        elif kind is RhythmKind.WEEKLY:
            when.append(f"{TITLES[kind]} on {calendar.day_name[rhythm.weekday]}s at {at}")
        elif kind is RhythmKind.MONTHLY:
            when.append(f"{TITLES[kind]} on day {rhythm.day_of_month} at {at}")
        else:
            when.append(f"{TITLES[kind]} {rhythm.days_before_end} days before the cycle ends")
    if not when:
        return "No rhythm prompts you yet."
    return "Nothing open. Next: " + "; ".join(when) + f" ({who.timezone})."


async def delivery_problems(drumbeat: Drumbeat, org_key: str) -> tuple[str, ...]:
    """What admins should fix: people the bot cannot reach, channels that stopped working."""
    org = await drumbeat.organisation(org_key)
    lines = [
        f"{org.person[u.person].name if u.person in org.person else u.person}: {u.reason} "
        f"(since {u.since:%d %b %H:%M} UTC)"
        for u in await drumbeat.store.unreachable_people(org.key)
    ]
    lines += [
        f"{s.team} digest → {s.channel}: {s.failure}"
        for s in await drumbeat.store.subscriptions(org.key)
        if s.failure
    ]
    return tuple(lines)
