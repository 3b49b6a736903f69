"""Blockers as a reader sees them: state, age, whom they wait on. The digest and the
`blockers` command say them the same way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from rhythm.blocker_news import waiting_on_name
from rhythm.digest_model import Digest, TrackedBlocker
from rhythm.markup import literal, strong
from rhythm.okr import Organisation
from rhythm.records import BlockerRecord, BlockerState, TeamBlockers
from rhythm.sections import Line, Report, Section, Tone
from rhythm.wording import plural, shorten

TEXT_SHOWN = 200


def tracked(org: Organisation, blocker: BlockerRecord, now: datetime) -> TrackedBlocker:
    person = org.person.get(blocker.raised_by)
    kr = org.key_result.get(blocker.key_result)
    return TrackedBlocker(
        person=person.name if person else blocker.raised_by,
        subject=kr.title if kr else blocker.key_result,
        text=shorten(blocker.text, TEXT_SHOWN),
        waiting_on=waiting_on_name(org, blocker),
        state=_state(org, blocker),
        age_days=max(0, (now - blocker.raised_at).days),
        resolved=not blocker.live,
    )


def _state(org: Organisation, blocker: BlockerRecord) -> str:
    if blocker.state is BlockerState.ACKNOWLEDGED:
        by = org.person.get(blocker.acknowledged_by or "")
        return f"{by.name if by else 'someone'} is on it"
    if blocker.state is BlockerState.REROUTED:
        return "sent on"
    if blocker.state is BlockerState.RESOLVED:
        return "resolved"
    return "open"


def summary(blockers: Sequence[TrackedBlocker]) -> str:
    """ "3 blockers open, oldest 9 days, waiting on Platform and Data" ("" for none open)."""
    live = [b for b in blockers if not b.resolved]
    if not live:
        return ""
    oldest = max(b.age_days for b in live)
    on = [name for name, _ in Counter(b.waiting_on for b in live).most_common()]
    waits = on[0] if len(on) == 1 else ", ".join(on[:-1]) + " and " + on[-1]
    return f"{plural(len(live), 'blocker')} open, oldest {_days(oldest)}, waiting on {waits}"


def _days(days: int) -> str:
    return "today" if days == 0 else plural(days, "day")


def line(b: TrackedBlocker, *, raised: bool) -> Line:
    """A raised blocker reads "Ana on Onboarding → Platform: “…” · open · 9 days"; one
    waiting on this team "Ana (Growth's) on Onboarding: …"."""
    age = "raised today" if b.age_days == 0 else _days(b.age_days)
    if b.resolved:
        words = f"{strong(literal(b.person))} on {literal(b.subject)}: resolved"
        return Line(words + (f" · “{literal(b.text)}”" if b.text else ""), "✅", Tone.GOOD)
    about = f"{strong(literal(b.person))} on {literal(b.subject)}"
    who = f" → waiting on {strong(literal(b.waiting_on))}" if raised else ""
    said = f": “{literal(b.text)}”" if b.text else ""
    tone = Tone.ATTENTION if b.age_days >= 7 else Tone.NORMAL
    return Line(f"{about}{who}{said} · {literal(b.state)} · {age}", "🚧" if raised else "⛓", tone)


def with_blockers(org: Organisation, digest: Digest, found: TeamBlockers, now: datetime) -> Digest:
    """The digest with its team's tracked blockers; a plain blocker line the tracked one
    says better (same person, same key result) is left out."""
    raised = tuple(tracked(org, b, now) for b in found.raised)
    waiting = tuple(tracked(org, b, now) for b in found.waiting)
    said = {(b.person, b.subject) for b in (*raised, *waiting)}
    return replace(
        digest,
        tracked_blockers=raised,
        tracked_waiting=waiting,
        blockers_summary=summary(raised),
        blockers=tuple(b for b in digest.blockers if (b.person, b.subject) not in said),
        blocking_others=tuple(
            b for b in digest.blocking_others if (b.person, b.subject) not in said
        ),
    )


def blockers_report(org: Organisation, team: str, found: TeamBlockers, now: datetime) -> Report:
    """`blockers [team]`: what the team raised, and what waits on it."""
    name = org.team[team].name
    raised = [tracked(org, b, now) for b in found.raised if b.live]
    waiting = [tracked(org, b, now) for b in found.waiting if b.live]
    sections = [
        Section(f"Raised by {literal(name)}", tuple(line(b, raised=True) for b in raised)
                or (Line("Nothing: no open blocker on its key results.", tone=Tone.SUBTLE),)),
        Section(f"Waiting on {literal(name)}", tuple(line(b, raised=False) for b in waiting)
                or (Line("Nothing waits on it.", tone=Tone.SUBTLE),)),
    ]  # fmt: skip
    summary_line = summary(raised) or "No open blockers raised"
    if waiting:
        summary_line += f" · {plural(len(waiting), 'blocker')} waiting on {name}"
    return Report(f"🚧 Blockers · {literal(name)}", literal(summary_line), tuple(sections))
