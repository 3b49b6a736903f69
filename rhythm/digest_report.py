"""A digest as a report of neutral sections: its layout and wording, written once.

Slack, Teams and the terminal render `Report`s generically; what a digest says and in which
order is decided here. People's words (titles, names, blockers) go in as they are, marked
`literal`: whatever stars or backticks they hold, adapters show them as typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rhythm.blocker_lines import line as tracked_line
from rhythm.chart_model import ChartSpec
from rhythm.digest_model import (
    AttentionItem,
    BlockerLine,
    Digest,
    KrLine,
    LeaderNote,
    ObjectiveLine,
    StatusChange,
    SubteamLine,
)
from rhythm.markup import literal as lit
from rhythm.markup import strong
from rhythm.present import STATUS_EMOJI, progress_bar
from rhythm.sections import Action, Block, Image, Line, Report, Section, Tone
from rhythm.wording import joined, plural

CHART_ACTION = "chart:open"  # a key result's "Trend" button; its value is the key result's key


def percent(share: float | None) -> str:
    return f"{share:.0%}" if share is not None else "–"


def kind_label(digest: Digest) -> str:
    return digest.kind.value.replace("_", " ")


def digest_title(digest: Digest) -> str:
    return f"📣 {lit(digest.team_name)} · {kind_label(digest)} digest"


def digest_summary(digest: Digest) -> str:
    return joined([
        digest.period,
        f"{digest.cycle} {digest.elapsed_share:.0%} elapsed",
        f"progress {percent(digest.progress)}",
    ])  # fmt: skip


def digest_report(digest: Digest, images: Mapping[str, Image] | None = None) -> Report:
    """`digest` as sections, in reading order; `images` are its rendered charts by spec name
    (a chart that was not rendered is simply left out). Sub-team details become replies."""
    images = images or {}
    sections = [
        _section("Needs attention", _attention(digest)),
        _section("Where it is heading", _image(digest.chart, images)),
        _section("Leaders first", [_note(n, "🧭") for n in digest.leaders]),
        *(_objective(o) for o in digest.objectives),
        _section("Teams", [
            *(_subteam(s) for s in digest.subteams),
            Line("Each team's own digest follows as a reply.", tone=Tone.SUBTLE),
        ] if digest.subteams else []),
        _section("Status changes", [_change(c) for c in digest.status_changes]),
        _section("Blockers", [
            *([Line(lit(digest.blockers_summary), tone=Tone.SUBTLE)]
              if digest.blockers_summary else []),
            *(tracked_line(b, raised=True) for b in digest.tracked_blockers),
            *(_blocker(b) for b in digest.blockers),
        ]),
        _section("Blocking other teams", [
            *(tracked_line(b, raised=False) for b in digest.tracked_waiting),
            *(_waiting(b) for b in digest.blocking_others),
        ]),
        _section("Early warnings", [
            Line(lit(w.message), "⚠️", Tone.ATTENTION) for w in digest.other_warnings
        ]),
        _section("Rhythm health", [
            *_image(digest.health, images), *(Line(lit(t), "🥁") for t in digest.health_lines),
        ]),
        _section("Calibration", [Line(lit(t), "🎯") for t in digest.calibration]),
        _section("Notes", [_note(n, "📝") for n in digest.notes]),
    ]  # fmt: skip
    facts = [digest.participation.tally]
    if digest.blockers or digest.tracked_blockers:
        live = sum(1 for b in digest.tracked_blockers if not b.resolved)
        facts.append(plural(len(digest.blockers) + live, "blocker"))
    return Report(
        title=digest_title(digest),
        summary=digest_summary(digest),
        sections=tuple(s for s in sections if s is not None),
        footer="👥 " + digest.participation.line(lit),
        replies=tuple(digest_report(d) for d in digest.details),
        facts=tuple(facts),
        tag=f"digest:{digest.kind.value}",
    )


def _section(title: str, blocks: Iterable[Block]) -> Section | None:
    blocks = tuple(blocks)
    return Section(title, blocks) if blocks else None


def _attention(digest: Digest) -> list[Line]:
    lines: list[Line] = []
    for a in digest.attention:
        lines.extend(_attention_item(a))
    if lines and digest.attention_more:
        lines.append(Line(f"…and {digest.attention_more} more, below", tone=Tone.SUBTLE))
    return lines


def _attention_item(a: AttentionItem) -> list[Line]:
    text = f"{strong(a.title)} ({lit(a.owner)}): {lit(a.why)}"
    shown = [Line(text, STATUS_EMOJI[a.status])]
    if a.forecast:
        shown.append(Line(a.forecast, "↳", Tone.SUBTLE, level=1))
    return shown


def _image(spec: ChartSpec | None, images: Mapping[str, Image]) -> list[Image]:
    """The rendered chart of `spec`, if there is one (a chart that was not drawn is left out)."""
    return [images[spec.name]] if spec is not None and spec.name in images else []


def _objective(o: ObjectiveLine) -> Section:
    standing = [f"{progress_bar(o.progress)} {percent(o.progress)}", o.confidence_text(delta=True)]
    if o.forecast is not None:
        standing.append(o.forecast.words())
    lines = [Line(joined(standing), tone=Tone.SUBTLE)]
    for kr in o.key_results:
        lines.extend(_key_result(kr))
    return Section(f"🎯 {lit(o.title)}", tuple(lines))


def _key_result(kr: KrLine) -> list[Line]:
    trend = Action(CHART_ACTION, "Trend", kr.key) if kr.forecast is not None else None
    delta = f" ({kr.confidence_delta:+d})" if kr.confidence_delta else ""
    standing = joined([
        f"{progress_bar(kr.progress)} {percent(kr.progress)}",
        kr.change_text(),
        kr.target_text(),
        f"confidence {kr.confidence}/10{delta}" if kr.confidence is not None else "",
        kr.status.label if kr.status else "",  # in words too: the dot's colour is not enough
        kr.update_text(),
    ])  # fmt: skip
    lines = [
        Line(f"{lit(kr.title)} · {lit(kr.owner)}", STATUS_EMOJI[kr.status], action=trend),
        Line(standing, tone=Tone.SUBTLE, level=1),
    ]
    if kr.forecast is not None:
        words = kr.forecast.words(
            unit=kr.unit, span=kr.span, locale=kr.locale, today=kr.forecast.by
        )
        lines.append(Line(f"📈 {words}", tone=Tone.SUBTLE, level=1))
    if kr.has_story:
        told = joined(f"{label}: {lit(text)}" for label, text in kr.story())
        lines.append(Line(told, "↳", level=1))
    return lines


def _subteam(s: SubteamLine) -> Line:
    return Line(joined([
        strong(s.name),
        f"{progress_bar(s.progress)} {s.progress:.0%}" if s.progress is not None else "",
        f"confidence {s.confidence:.1f}" if s.confidence is not None else "",
        s.tally,
        f"⚠️ {s.attention} need{'s' if s.attention == 1 else ''} attention" if s.attention else "",
    ]), "▸")  # fmt: skip


def _blocker(b: BlockerLine) -> Line:
    by = f" is blocked by {strong(b.blocked_by)}" if b.blocked_by else ""
    return Line(f"{strong(b.person)} on {lit(b.subject)}{by}: {lit(b.text)}", "🚧")


def _waiting(b: BlockerLine) -> Line:
    on = strong(b.blocked_by) if b.blocked_by else "this team"
    return Line(f"{strong(b.person)} on {lit(b.subject)} is waiting on {on}: {lit(b.text)}", "⛓")


def _note(n: LeaderNote, bullet: str) -> Line:
    return Line(f"{strong(n.person)}: {lit(n.text)}", bullet)


def _change(c: StatusChange) -> Line:
    change = f"{c.before.label} → {c.after.label}"
    return Line(f"{lit(c.title)} ({lit(c.owner)}): {change}", STATUS_EMOJI[c.after])
