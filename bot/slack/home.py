"""The App Home tab: a person's key results, their next check-in, their team's latest digest
and, for admins, the deliveries that keep failing. One `type: home` view of at most 100 blocks:
long lists are cut with a pointer to the command that shows them whole."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.blocks import (
    INDENT,
    Block,
    actions_block,
    context,
    divider,
    header,
    line_sections,
    row_section,
    section,
)
from bot.slack.mrkdwn import bold, escape
from rhythm import markup
from rhythm.digest_model import Digest, ObjectiveLine
from rhythm.digest_report import digest_summary, digest_title, percent
from rhythm.messages import Action, Table, Text
from rhythm.present import progress_bar
from rhythm.prompting import OPEN

MAX_HOME_BLOCKS = 100
TREE = "home:tree"
HOME_ACTIONS_BLOCK = "home_actions"
DIGEST_BLOCKS = 12  # the condensed digest's share of the view
PROBLEM_BLOCKS = 12  # the delivery problems' share


def capped(lines: Sequence[str], max_blocks: int, more: str) -> list[Block]:
    """`lines` packed in sections, at most `max_blocks` blocks: when they do not all fit, the
    first lines that do, and a last block that says how many are left out and where `more`."""
    blocks = line_sections(lines)
    if len(blocks) <= max_blocks:
        return blocks
    kept: list[str] = []
    for line in lines:
        if len(line_sections([*kept, line])) > max_blocks - 1:
            break
        kept.append(line)
    return [*line_sections(kept), context(f"…and {len(lines) - len(kept)} more. {more}")]


def _key_result_blocks(key_results: Table | Text, room: int) -> list[Block]:
    if isinstance(key_results, Text):
        lines = [escape(line) for line in key_results.text.splitlines()]
        return capped(lines or ["–"], room, "`/okr mine` shows them all.")
    blocks: list[Block] = [section(bold(key_results.title))]
    footer = [context(escape(key_results.footer))] if key_results.footer else []
    rows = list(key_results.rows)
    fit = room - len(blocks) - len(footer)
    if len(rows) > fit:
        fit -= 1  # room for the "and N more" line
        footer.insert(0, context(f"…and {len(rows) - fit} more: `/okr mine` shows them all."))
    blocks += [row_section(key_results.columns, row) for row in rows[:fit]]
    return blocks + footer


def _digest_blocks(digest: Digest | None) -> list[Block]:
    if digest is None:
        return [context("_No digest for your team yet._")]
    title, summary = markup.plain(digest_title(digest)), digest_summary(digest)
    blocks = [section(f"{bold(escape(title))}\n{escape(summary)}")]
    objectives = [_objective(o) for o in digest.objectives]
    blocks += capped(objectives, DIGEST_BLOCKS - 3, "`/okr status` shows them all.")
    counts = [
        f"{icon} {n} {label if n == 1 else plural}"
        for icon, n, label, plural in (
            ("🚧", len(digest.blockers), "blocker", "blockers"),
            ("⛓", len(digest.blocking_others), "waits on this team", "wait on this team"),
            ("⚠️", len(digest.warnings), "early warning", "early warnings"),
        )
        if n
    ]
    if counts:
        blocks.append(context(" · ".join(counts) + " — the full digest is in the team channel"))
    blocks.append(context("👥 " + digest.participation.line(escape)))
    return blocks


def _objective(o: ObjectiveLine) -> str:
    """An objective's line: where it stands and, with a forecast, where it is heading."""
    shown = f"🎯 {escape(o.title)} — {progress_bar(o.progress)} {percent(o.progress)}"
    if o.confidence is not None:
        shown += f" · {o.confidence_text()}"
    if o.forecast is not None:
        shown += f"\n{INDENT}📈 {escape(o.forecast.words())}"
    return shown


def _problem_blocks(problems: Sequence[str]) -> list[Block]:
    blocks = [section("*Delivery problems*")]
    if not problems:
        return [*blocks, context("None: every prompt and digest was delivered.")]
    lines = [f"❗ {escape(p)}" for p in problems]
    return blocks + capped(lines, PROBLEM_BLOCKS - 1, "See the server log for the rest.")


def home_view(
    *,
    title: str,
    key_results: Table | Text,
    next_due: str,
    digest: Digest | None,
    is_admin: bool = False,
    problems: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The App Home view for one person (`views.publish`)."""
    top: list[Block] = [
        header(title),
        actions_block(
            (Action(OPEN, "Check in", primary=True), Action(TREE, "OKR tree")),
            HOME_ACTIONS_BLOCK,
        ),
        context(f"⏰ Next check-in: {escape(next_due)}"),
        divider(),
    ]
    bottom = [divider(), *_digest_blocks(digest)]
    if is_admin:
        bottom += [divider(), *_problem_blocks(problems)]
    room = MAX_HOME_BLOCKS - len(top) - len(bottom)
    return {"type": "home", "blocks": [*top, *_key_result_blocks(key_results, room), *bottom]}
