"""One team's digest as Adaptive Cards, in the order of the console's digest.

The core posts each sub-team's detail as its own reply, so only `digest` itself is drawn here
(its `details` are not); a long digest is spread over several cards.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.teams.cards.elements import Element, container, heading, line, paragraph, run, subtle
from bot.teams.cards.packing import pack_cards
from rhythm.digest_model import (
    AttentionItem,
    BlockerLine,
    Digest,
    KrLine,
    ObjectiveLine,
    SubteamLine,
)
from rhythm.messages import DigestMessage
from rhythm.present import STATUS_EMOJI, progress_bar
from rhythm.wording import joined


def digest_cards(message: DigestMessage) -> list[Element]:
    digest = message.digest
    title = f"📣 {digest.team_name}"
    head = [heading(title, size="large"), subtle(_headline(digest))]
    body: list[Element] = []
    if digest.attention:
        items = [_attention(a) for a in digest.attention]
        if digest.attention_more:
            items.append(subtle(f"…and {digest.attention_more} more, below", spacing="small"))
        body.append(_section("Needs attention", items))
    if digest.leaders:
        leaders = [line(f"🧭 {n.person}: {n.text}") for n in digest.leaders]
        body.append(_section("Leaders first", leaders))
    body.extend(_objective(o) for o in digest.objectives)
    if digest.subteams:
        body.append(_section("Teams", [line(_subteam(s)) for s in digest.subteams]))
    changes = [
        line(f"{c.title} ({c.owner}): {c.before.label} → {c.after.label}")
        for c in digest.status_changes
    ]
    for name, lines in (
        ("Status changes", changes),
        ("Blockers", [_blocker(b) for b in digest.blockers]),
        ("Blocking other teams", [_blocker(b) for b in digest.blocking_others]),
        (
            "Early warnings",
            [line(f"⚠ {w.message}", color="warning") for w in digest.other_warnings],
        ),
        ("Notes", [line(f"{n.person}: {n.text}") for n in digest.notes]),
    ):
        if lines:
            body.append(_section(name, lines))
    participation = digest.participation.line()
    body.append(line(participation, isSubtle=True, italic=True, spacing="medium", separator=True))
    continued = [heading(f"{title} (continued)", size="default")]
    return pack_cards(body, head=head, continued_head=continued, full_width=True)


def _headline(digest: Digest) -> str:
    return (
        f"{digest.kind.value.replace('_', ' ')} digest · {digest.period} · {digest.cycle} "
        f"{digest.elapsed_share:.0%} elapsed"
    )


def _subteam(s: SubteamLine) -> str:
    return joined([
        s.name,
        f"{progress_bar(s.progress)} {s.progress:.0%}" if s.progress is not None else "",
        f"confidence {s.confidence:.1f}" if s.confidence is not None else "",
        s.tally,
        f"⚠ {s.attention} need{'s' if s.attention == 1 else ''} attention" if s.attention else "",
    ])  # fmt: skip


def _attention(a: AttentionItem) -> Element:
    return paragraph(
        run(f"{STATUS_EMOJI[a.status]} {a.title}", weight="bolder"),
        run(f" ({a.owner}): ", isSubtle=True),
        run(a.why, color="attention"),
        spacing="small",
    )


def _section(title: str, lines: Sequence[Element]) -> Element:
    return container([heading(title, size="default"), *lines], separator=True, spacing="medium")


def _objective(objective: ObjectiveLine) -> Element:
    confidence = objective.confidence_text(delta=True)
    progress = f"{progress_bar(objective.progress)} {objective.progress:.0%}"
    items = [
        line(f"🎯 {objective.title}", weight="bolder"),
        line(f"{progress} · {confidence}", spacing="none"),
    ]
    for kr in objective.key_results:
        items.extend(_key_result(kr))
    return container(items, separator=True, spacing="medium")


def _key_result(kr: KrLine) -> list[Element]:
    delta = f" ({kr.confidence_delta:+d})" if kr.confidence_delta else ""
    parts = [
        f"{progress_bar(kr.progress)} {kr.progress:.0%}",
        kr.change_text(),
        kr.target_text(),
        f"confidence {kr.confidence}/10{delta}" if kr.confidence is not None else "",
        STATUS_EMOJI[kr.status] + (f" {kr.status.label}" if kr.status else ""),
        "" if kr.checked_in else "no update",
    ]
    shown = [
        paragraph(run(f"📈 {kr.title}"), run(f" · {kr.owner}", isSubtle=True), spacing="small"),
        subtle(joined(parts)),
    ]
    if kr.has_story:
        told: list[Element] = []
        for label, text in kr.story():
            told += [
                run(f"{' · ' if told else ''}{label}: ", italic=True, isSubtle=True),
                run(text),
            ]
        shown.append(paragraph(*told, spacing="none"))
    return shown


def _blocker(blocker: BlockerLine) -> Element:
    runs = [run(f"{blocker.person} on {blocker.subject}: ", weight="bolder"), run(blocker.text)]
    if blocker.blocked_by:
        cause = f"  ⟵ blocked by {blocker.blocked_by}"
        runs.append(run(cause, weight="bolder", color="attention"))
    return paragraph(*runs, spacing="small")
