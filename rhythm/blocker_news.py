"""Who hears about a blocker's change, and in which words: pure functions of the tree.

A blocker that names a team waits on that team's leads (the nearest team above with leads,
else the admins); one that names a key result waits on its owner. They get the blocker with
three buttons; the reporter hears every answer; an auto-resolve is told to both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rhythm.markup import literal, strong
from rhythm.messages import Action, Notice
from rhythm.okr import Organisation, Person
from rhythm.records import BlockerEvent, BlockerEventKind, BlockerRecord, Outgoing
from rhythm.wording import shorten

ACKNOWLEDGE = "blocker:ack"
NOT_US = "blocker:notus"
RESOLVE = "blocker:resolve"
TEXT_SHOWN = 500  # of a blocker's text in a message; the digest and `blockers` show less


def waiting_on_name(org: Organisation, blocker: BlockerRecord) -> str:
    """Whom the blocker waits on, as a reader knows them: a team's name, or "the owner of
    <key result>" when it names a key result without a team."""
    team = org.team.get(blocker.waiting_on_team or "")
    if team is not None:
        return team.name
    kr = org.key_result.get(blocker.waiting_on_kr or "")
    return f"the owner of {kr.title}" if kr else "nobody any more"


def answerers(org: Organisation, blocker: BlockerRecord) -> tuple[Person, ...]:
    """Who can remove the blocker: the named key result's owner, else the named team's leads
    (or the nearest team above it that has leads), else the admins; never the reporter."""
    found: tuple[Person, ...] = ()
    kr = org.key_result.get(blocker.waiting_on_kr or "")
    owner = kr.owner if kr else None
    if owner is not None and owner in org.person and owner != blocker.raised_by:
        found = (org.person[owner],)
    waiting = blocker.waiting_on_team
    if not found and waiting is not None and waiting in org.team:
        for team in org.ancestors(waiting):
            leads = tuple(p for p in org.leads(team) if p.email != blocker.raised_by)
            if leads:
                found = leads
                break
    if not found:
        found = tuple(p for p in org.admin_people if p.email != blocker.raised_by)
    return found


def may_answer(org: Organisation, person: str, blocker: BlockerRecord) -> bool:
    """On it / Not us: whoever it waits on, the leads above the team it waits on, admins."""
    if org.is_admin(person) or any(p.email == person for p in answerers(org, blocker)):
        return True
    return bool(blocker.waiting_on_team) and org.leads_or_admin(
        person, blocker.waiting_on_team or ""
    )


def news(org: Organisation, event: BlockerEvent) -> list[Outgoing]:
    """The messages one change of a blocker makes, each keyed to be written once."""
    blocker = event.blocker
    reporter = org.person.get(blocker.raised_by)
    kr = org.key_result.get(blocker.key_result)
    if reporter is None or kr is None:
        return []  # the tree lost them since: nobody to tell about what
    told: list[tuple[Person, Notice]] = []
    on = strong(literal(kr.title))
    waits = literal(waiting_on_name(org, blocker))
    who = literal(_name(org, event.by))
    them = answerers(org, blocker)
    if event.kind is BlockerEventKind.RAISED:
        told += [(p, ask_notice(org, blocker)) for p in them]
        told.append((reporter, Notice(
            f"📣 Your blocker on {kr.title} went to {waiting_on_name(org, blocker)}",
            (f"I've sent it to {_names(them)}. You will hear each answer here.",),
        )))  # fmt: skip
    elif event.kind is BlockerEventKind.ACKNOWLEDGED:
        told.append((reporter, Notice(
            f"👍 {_name(org, event.by)} is on it",
            (f"Your blocker on {on} ({waits}): {who} is working on it.",),
        )))  # fmt: skip
    elif event.kind is BlockerEventKind.REROUTED:
        came_from = literal(_team_name(org, event.from_team))
        told += [(p, ask_notice(org, blocker, sent_on_by=event.by)) for p in them]
        told.append((reporter, Notice(
            f"↪️ Your blocker now waits on {waiting_on_name(org, blocker)}",
            (f"{who} says it is not {came_from}'s: I've sent it to {_names(them)}.",),
        )))  # fmt: skip
    elif event.auto:
        line = f"{literal(reporter.name)}'s latest check-in on {on} reports no blocker."
        told.append((reporter, Notice(
            f"✅ Your blocker on {kr.title} is resolved",
            (f"Your latest check-in reports none, so I told {_names(them)}.",),
        )))  # fmt: skip
        told += [(p, Notice(f"✅ Resolved: {reporter.name}'s blocker", (line,))) for p in them]
    elif event.by == blocker.raised_by:
        told += [(p, Notice(
            f"✅ {reporter.name} resolved their blocker",
            (f"The blocker on {on} that waited on {waits} is resolved.",),
        )) for p in them]  # fmt: skip
    else:
        told.append((reporter, Notice(
            f"✅ {_name(org, event.by)} resolved your blocker",
            (f"Your blocker on {on} ({waits}) is marked resolved by {who}.",),
        )))  # fmt: skip
    return [Outgoing(f"blocker:{event.id}:{p.email}", p.email, n) for p, n in told]


def ask_notice(
    org: Organisation, blocker: BlockerRecord, *, sent_on_by: str | None = None
) -> Notice:
    """What the people it waits on get: who is blocked, on what, in their words, and the
    three answers."""
    reporter = org.person[blocker.raised_by]
    kr = org.key_result[blocker.key_result]
    team = org.team.get(org.team_of(reporter.email) or "")
    where = f" ({literal(team.name)})" if team else ""
    lines = [
        f"{strong(literal(reporter.name))}{where} is blocked on {strong(literal(kr.title))}.",
        f"“{literal(shorten(blocker.text, TEXT_SHOWN))}”" if blocker.text else "",
    ]
    if sent_on_by is not None:
        lines.append(f"Sent on by {literal(_name(org, sent_on_by))}.")
    value = str(blocker.id)
    return Notice(
        f"🚧 {reporter.name} is waiting on {waiting_on_name(org, blocker)}",
        tuple(line for line in lines if line),
        actions=(
            Action(ACKNOWLEDGE, "On it", value, primary=True),
            Action(NOT_US, "Not us", value),
            Action(RESOLVE, "Resolved", value),
        ),
        footer=f"Raised {_day(reporter, blocker.raised_at)}. {reporter.name} hears each answer.",
    )


def answered_notice(title: str, org: Organisation, blocker: BlockerRecord) -> Notice:
    """What replaces the buttons of whoever answered."""
    kr = org.key_result.get(blocker.key_result)
    reporter = org.person.get(blocker.raised_by)
    about = f"{reporter.name if reporter else blocker.raised_by}'s blocker on "
    return Notice(title, (about + (literal(kr.title) if kr else blocker.key_result),))


def _day(person: Person, at: datetime) -> str:
    return at.astimezone(person.zone).strftime("%a %d %b")


def _name(org: Organisation, person: str | None) -> str:
    found = org.person.get(person or "")
    return found.name if found else "Someone"


def _team_name(org: Organisation, team: str | None) -> str:
    found = org.team.get(team or "")
    return found.name if found else "their team"


def _names(people: Sequence[Person]) -> str:
    names = [literal(p.name) for p in people]
    if not names:
        return "nobody (no lead or admin to tell)"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
