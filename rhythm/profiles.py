"""What chat platforms teach us about people, applied over the OKR file's tree.

The OKR file is the source of truth for who is who; a chat platform fills its gaps. A linked
Slack or Teams id fills an id the file left out, a chat timezone fills a timezone the file
left out (the person inherited their team's), and a timezone the person set themselves with
`timezone` wins over both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from rhythm.okr import Organisation, Person


@dataclass(frozen=True, slots=True)
class ChatProfile:
    person: str
    slack_user_id: str | None = None
    teams_user_id: str | None = None
    chat_timezone: str | None = None
    chosen_timezone: str | None = None


def inherited_timezone(org: Organisation, person: Person) -> str:
    """The timezone a person gets when the file gives none: their first team's."""
    if person.memberships and person.memberships[0].team in org.team:
        return org.team[person.memberships[0].team].timezone
    return "UTC"


def with_profiles(org: Organisation, profiles: Iterable[ChatProfile]) -> Organisation:
    by_person = {p.person: p for p in profiles}
    if not by_person:
        return org
    people = tuple(_apply(org, person, by_person.get(person.email)) for person in org.people)
    return replace(org, people=people)


def _apply(org: Organisation, person: Person, profile: ChatProfile | None) -> Person:
    if profile is None:
        return person
    timezone = person.timezone
    if profile.chosen_timezone:
        timezone = profile.chosen_timezone
    elif profile.chat_timezone and person.timezone == inherited_timezone(org, person):
        timezone = profile.chat_timezone
    return replace(
        person,
        slack_user_id=person.slack_user_id or profile.slack_user_id,
        teams_user_id=person.teams_user_id or profile.teams_user_id,
        timezone=timezone,
    )
