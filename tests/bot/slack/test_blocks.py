"""Block Kit messages for the core's messages, checked against Slack's limits by the validators
in blockkit.py (which are checked here too: they must reject what Slack rejects).

Digests are built by the real core (`build_digest`) from the sample organisation
examples/acme.yaml and a week of hand-made check-in facts."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.okrfile import load_organisation
from bot.slack.blocks import (
    CHUNK_TEXT_BUDGET,
    FALLBACK_LIMIT,
    INDENT,
    MAX_MESSAGE_BLOCKS,
    PROMPT_ACTIONS_BLOCK,
    action_pattern,
    core_action_id,
    fallback_text,
    message_chunks,
)
from rhythm.cadences import RhythmKind
from rhythm.digest import build_digest
from rhythm.digest_model import BlockerLine, Digest, DigestScope, KrLine, LeaderNote
from rhythm.digest_report import CHART_ACTION, digest_report
from rhythm.forecast import Forecast, Method
from rhythm.messages import Action, Message, Notice, Table, Text, Tree, TreeNode
from rhythm.okr import KeyResult, Organisation
from rhythm.present import fmt_change, fmt_value, progress_bar
from rhythm.prompting import OPEN, SNOOZE, kr_summary, prompt_actions
from rhythm.records import DigestFacts, KrState, NoteFact, PromptFact, Snapshot
from rhythm.status import Status
from tests.bot.slack.blockkit import block_problems, message_problems, text_size
from tests.rhythm.orgs import fresh_form

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
LUCAS = "lucas.bernard@acme.example"
SOFIA = "sofia.rossi@acme.example"
CLAIRE = "claire.martin@acme.example"
ANANYA = "ananya.iyer@acme.example"
EMILY = "emily.carter@acme.example"
WEEK = (date(2026, 11, 23), date(2026, 11, 29))
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
INJECTION = "<!channel> <@U0BOSS> see <https://evil.example/steal|the OKR sheet> & <!here>"


@functools.cache
def acme() -> Organisation:
    return load_organisation(ACME)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def snap(person: str, value: float | None, confidence: int | None, status: Status | None,
         day: int = 24, **more: Any) -> Snapshot:  # fmt: skip
    return Snapshot(person, at(day), value, confidence, status, **more)


def acme_facts(*, blocker: str = "waiting for the onboarding API") -> DigestFacts:
    """A week at Acme: Lucas is blocked by Platform, Sofia's confidence fell, Emily (sales) waits
    on Platform too, Claire (the lead) moved ARR, Ananya checked in before anyone asked."""
    return DigestFacts(
        current={
            "onboarding-completion": snap(
                LUCAS, 48, 6, Status.AT_RISK, blockers=blocker, blocked_by_team="platform"
            ),
            "trial-conversion": snap(SOFIA, 9, 4, Status.AT_RISK),
            "arr": snap(CLAIRE, 8.6, 7, Status.ON_TRACK, moved="Two enterprise pilots converted"),
            "p95-latency": snap(ANANYA, 650, 8, Status.ON_TRACK),
        },
        previous={
            "onboarding-completion": snap(LUCAS, 45, 7, Status.ON_TRACK, day=17),
            "trial-conversion": snap(SOFIA, 9, 8, Status.ON_TRACK, day=17),
            "arr": snap(CLAIRE, 8.4, 7, Status.ON_TRACK, day=17),
        },
        prompts=(
            PromptFact(CLAIRE, is_lead=True, deadline=at(24), answered_at=at(23, 9)),
            PromptFact(LUCAS, is_lead=False, deadline=at(24), answered_at=at(24, 9)),
            PromptFact(SOFIA, is_lead=True, deadline=at(24), answered_at=at(24, 15)),
            PromptFact(EMILY, is_lead=False, deadline=at(24), answered_at=None),
        ),
        spontaneous={ANANYA: 1},
        streaks={CLAIRE: 6, LUCAS: 3},
        notes=(NoteFact(LUCAS, at(24), {"focus": "Checklist experiment"}),),
        blocking_others=(
            (
                "midmarket-arr",
                "sales",
                snap(
                    EMILY,
                    100,
                    5,
                    Status.AT_RISK,
                    blockers="need EU residency for two deals",
                    blocked_by_team="platform",
                ),
            ),
        ),
        values={kr.key: kr.metric.current for kr in acme().key_results if kr.metric},
    )


def acme_digest(team: str = "acme", facts: DigestFacts | None = None) -> Digest:
    scope = DigestScope(team, RhythmKind.WEEKLY, "2026-W48", "2026-W47", "2026-Q4",
                        date(2026, 11, 25), WEEK)  # fmt: skip
    return build_digest(acme(), scope, facts or acme_facts(), now=NOW)


def current(kr: KeyResult) -> float | None:
    """The value the store holds for a key result nobody reported on: the file's."""
    return kr.metric.current if kr.metric else None


def now(kr: KeyResult) -> float:
    return kr.progress(current(kr))


def kr_table(org: Organisation, person: str) -> Table:
    """What `/okr mine` shows, built from the organisation like the command builds it."""
    rows = tuple(
        (kr.title, f"{progress_bar(now(kr))} {now(kr):.0%}",
         f"{kr.metric.current} / {kr.metric.target}" if kr.metric else "no metric", "7/10",
         "on track")
        for kr in org.key_results_of(person)
    )  # fmt: skip
    columns = ("Key result", "Progress", "Value", "Confidence", "Status")
    return Table(f"{org.person[person].name}'s key results", columns, rows, "No open check-ins.")


def okr_tree(org: Organisation) -> Tree:
    def objective(key: str) -> TreeNode:
        children = [TreeNode(f"📈 {kr.title}", kr.owner or "") for kr in org.key_results_in(key)]
        children += [objective(o.key) for o in org.child_objectives(key)]
        return TreeNode(f"🎯 {org.objective[key].title}", "", tuple(children))

    roots = [o.key for o in org.objectives if o.parent is None]
    return Tree(f"{org.name} · OKR tree 2026-Q4", tuple(objective(k) for k in roots))


def texts(chunks: list[list[dict[str, Any]]]) -> str:
    """Every text string in the chunks, one per line."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                found.append(item) if key == "text" and isinstance(item, str) else walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(chunks)
    return "\n".join(found)


def assert_valid(chunks: list[list[dict[str, Any]]]) -> None:
    assert chunks
    for number, chunk in enumerate(chunks):
        assert block_problems(chunk) == [], f"chunk {number}"


# ---- every kind of message ----------------------------------------------------------------


def sample_messages() -> list[Message]:
    org = acme()
    return [
        Text("Commands:\n  /okr mine  — your key results"),
        Notice("Weekly check-in · 2026-W48",
               tuple(kr_summary(kr, KrState(current(kr), 7)) for kr in org.key_results_of(LUCAS)),
               prompt_actions(42), "Please answer by Tue 24 Nov 18:00 (Europe/Paris)."),
        kr_table(org, "julien.moreau@acme.example"),
        okr_tree(org),
        digest_report(acme_digest()),
        *(digest_report(d) for d in acme_digest().details),
    ]  # fmt: skip


@pytest.mark.parametrize("message", sample_messages(), ids=lambda m: type(m).__name__)
def test_every_message_renders_to_valid_block_kit(message: Message):
    chunks = message_chunks(message)
    assert_valid(chunks)
    assert len(chunks) == 1  # ordinary messages fit in one
    text = fallback_text(message)
    assert 0 < len(text) <= FALLBACK_LIMIT


def test_a_form_is_not_a_message():
    form = fresh_form(acme(), LUCAS, RhythmKind.WEEKLY, cycle="2026-Q4", context="c")
    with pytest.raises(TypeError, match="modal"):
        message_chunks(form)
    with pytest.raises(TypeError, match="modal"):
        fallback_text(form)
    with pytest.raises(TypeError):
        message_chunks("just a string")  # type: ignore[arg-type]


def test_a_prompt_has_its_buttons_in_a_stable_actions_block():
    [chunk] = message_chunks(sample_messages()[1])
    [actions] = [b for b in chunk if b["type"] == "actions"]
    assert actions["block_id"] == PROMPT_ACTIONS_BLOCK
    buttons = actions["elements"]
    assert [b["action_id"] for b in buttons][:2] == [OPEN, SNOOZE]
    assert {b["value"] for b in buttons} == {"42"}
    assert [b.get("style") for b in buttons] == ["primary"] + [None] * (len(buttons) - 1)
    assert chunk[-1]["type"] == "context"  # the footer
    assert "Europe/Paris" in chunk[-1]["elements"][0]["text"]


def test_a_button_without_a_value_leaves_the_value_out():
    notice = Notice("Start", actions=(replace(prompt_actions(1)[0], value=""),))
    [chunk] = message_chunks(notice)
    assert "value" not in chunk[-1]["elements"][0]


def test_buttons_sharing_an_action_id_are_numbered_and_read_back_as_the_cores():
    # A lead's missing list: one "Nudge" per person, told apart by their values. Block Kit
    # wants the action ids of one block unique.
    nudges = tuple(Action("nudge:send", f"Nudge {n}", str(n)) for n in range(1, 4))
    notice = Notice("3 have not checked in", actions=(*nudges, Action("other", "Other", "x")))
    [chunk] = message_chunks(notice)
    assert block_problems(chunk) == []
    [actions] = [b for b in chunk if b["type"] == "actions"]
    ids = [b["action_id"] for b in actions["elements"]]
    assert ids == ["nudge:send", "nudge:send#2", "nudge:send#3", "other"]
    assert [core_action_id(i) for i in ids] == ["nudge:send"] * 3 + ["other"]
    assert all(action_pattern("nudge:send").search(i) for i in ids[:3])
    assert not action_pattern("nudge:send").search("other")
    for unlike in ("nudge:send#", "nudge:send#x", "nudge:sendx", "xnudge:send#2"):
        assert not action_pattern("nudge:send").search(unlike), unlike
    assert core_action_id("#2") == "#2"
    assert core_action_id("a#b") == "a#b"


def test_a_long_prompt_keeps_its_buttons_in_the_first_message():
    lines = tuple(f"Key result {i}: " + "x" * 900 for i in range(40))
    chunks = message_chunks(Notice("Weekly check-in", lines, prompt_actions(7), "footer"))
    assert len(chunks) > 1
    assert_valid(chunks)
    assert chunks[0][-2]["block_id"] == PROMPT_ACTIONS_BLOCK
    assert all(b["type"] != "actions" for chunk in chunks[1:] for b in chunk)
    for i in range(40):
        assert f"Key result {i}: " in texts(chunks)


# ---- tables, trees, text ------------------------------------------------------------------


def test_a_table_row_is_a_section_with_labelled_fields():
    table = kr_table(acme(), "julien.moreau@acme.example")
    [chunk] = message_chunks(table)
    assert chunk[0]["type"] == "header"
    assert chunk[0]["text"]["text"] == "Julien Moreau's key results"
    rows = [b for b in chunk if b["type"] == "section"]
    assert len(rows) == len(table.rows) == 2
    assert rows[0]["text"]["text"] == "*Weekly active teams from 3,200 to 4,500*"
    assert [f["text"].split("\n")[0] for f in rows[0]["fields"]] == [
        "*Progress*", "*Value*", "*Confidence*", "*Status*"
    ]  # fmt: skip
    assert chunk[-1]["elements"][0]["text"] == "No open check-ins."


def test_a_long_table_is_split_and_keeps_every_row():
    rows = tuple((f"KR {i} <@U{i}>", "▓▓░░ 20%", f"{i} / 100") for i in range(130))
    chunks = message_chunks(Table("Everything", ("Key result", "Progress", "Value"), rows, "end"))
    assert len(chunks) >= 3
    assert_valid(chunks)
    shown = texts(chunks)
    assert all(f"*KR {i} &lt;@U{i}&gt;*" in shown for i in range(130))
    assert chunks[-1][-1]["type"] == "context"


def test_a_wide_table_puts_columns_past_ten_fields_in_the_text():
    columns = tuple(f"C{i}" for i in range(14))
    [chunk] = message_chunks(Table("Wide", columns, (tuple(f"v{i}" for i in range(14)),)))
    assert_valid([chunk])
    row = chunk[1]
    assert len(row["fields"]) == 10
    assert "*C11*: v11" in row["text"]["text"]


def test_an_empty_table_says_so():
    [chunk] = message_chunks(Table("Nothing", ("a", "b"), ()))
    assert_valid([chunk])
    assert "Nothing to show" in texts([chunk])


def test_a_tree_indents_each_level():
    [chunk] = message_chunks(okr_tree(acme()))
    shown = texts([chunk])
    assert "🎯 Grow revenue" in shown or "🎯 " in shown.split("\n")[1]
    lines = shown.split("\n")
    assert any(line.startswith(INDENT + "📈 ") for line in lines)
    assert any(line.startswith(INDENT * 2) for line in lines)  # aligned objectives go deeper


def test_a_huge_tree_is_split_into_valid_chunks():
    def node(depth: int, i: int) -> TreeNode:
        children = tuple(node(depth + 1, j) for j in range(6)) if depth < 3 else ()
        return TreeNode(f"Objective {depth}.{i} & co", "detail " * 5, children)

    chunks = message_chunks(Tree("Big", tuple(node(0, i) for i in range(4))))
    assert len(chunks) > 1
    assert_valid(chunks)
    assert texts(chunks).count("Objective") == 4 * (1 + 6 + 36 + 216)


def test_long_text_is_split_into_sections_and_chunks():
    text = "\n".join(f"line {i} " + "y" * 200 for i in range(200))  # 42,000 characters
    chunks = message_chunks(Text(text))
    assert len(chunks) >= 5
    assert_valid(chunks)
    assert all(f"line {i} " in texts(chunks) for i in range(200))
    assert len(fallback_text(Text(text))) <= FALLBACK_LIMIT


# ---- digests ------------------------------------------------------------------------------


def test_the_company_digest_reads_like_the_console_one():
    digest = acme_digest()
    [chunk] = message_chunks(digest_report(digest))
    shown = texts([chunk])
    assert chunk[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "📣 Acme · weekly digest", "emoji": True},
    }
    assert "2026-W48 · 2026-Q4" in shown
    for objective in digest.objectives:
        assert f"*🎯 {objective.title}*" in shown
        assert progress_bar(objective.progress) in shown
    assert "🟢 Annual recurring revenue from 8.0 to 10.0 M€ · Claire Martin\n" in shown
    # the change since last week, then the target
    arr = f"{fmt_change(8.4, 8.6, 'M€', span=2)} · target {fmt_value(10, 'M€', span=2)}"
    assert f"{arr} · confidence 7/10 · on track_\n" in shown
    nrr = f"{fmt_value(106, '%', span=8)} · target {fmt_value(112, '%', span=8)}"
    assert f"Marcus Johnson\n{INDENT}_▓▓░░░░░░░░ 25% · {nrr} · no update_" in shown
    assert "*Lucas Bernard* on Onboarding completion rate from 40% to 70% is blocked by " \
           "*Platform*: waiting for the onboarding API" in shown  # fmt: skip
    assert "*Status changes*" in shown
    assert "on track → at risk" in shown
    assert "*Early warnings*" in shown
    assert "🧭 *Claire Martin*: " in shown  # leaders first
    assert "*Teams*\n▸ *Product*" in shown
    assert "Engineering" in shown
    assert "Go-to-market" in shown
    assert "missing: Emily Carter" in shown
    assert "4/5 checked in (2 on time, 1 late, 1 spontaneous)" in shown


def test_the_digest_opens_with_what_needs_attention():
    digest = acme_digest()
    shown = texts(message_chunks(digest_report(digest)))
    lines = shown.splitlines()
    opening = lines.index("*Needs attention*")
    assert opening < lines.index("*Leaders first*") < shown.index("🎯")
    assert len(digest.attention) == 5
    top = lines[opening + 1 : opening + 7]
    assert top[0] == (
        "🟡 *Onboarding completion rate from 40% to 70%* (Lucas Bernard): blocked by Platform; "
        "27% done with 61% of 2026-Q4 gone"
    )
    assert [line.split("*")[1] for line in top[:5]] == [a.title for a in digest.attention]
    assert top[5] == f"_…and {digest.attention_more} more, below_"
    # Each key result appears once up there; its warnings are not repeated below.
    warnings = shown[shown.index("*Early warnings*") :]
    for item in digest.attention:
        assert item.title not in warnings.split("*Notes*")[0]
    assert "Net promoter score from 31 to 45 is at 36%" in warnings


def test_a_sub_team_digest_shows_confidence_changes_and_what_moved_at_risk():
    growth = acme_digest().details[0].details[0]
    assert growth.team == "growth"
    shown = texts(message_chunks(digest_report(growth)))
    conversion = f"{fmt_value(9, '%', span=4)}, unchanged · target {fmt_value(12, '%', span=4)}"
    assert (
        f"Sofia Rossi\n{INDENT}_▓▓░░░░░░░░ 25% · {conversion} · confidence 4/10 (-4) · at risk_\n"
        in shown
    )
    assert "_▓▓▓░░░░░░░ 26% · confidence 5.0 ↓ (-2.5)_\n" in shown
    # Both are at risk: each says what moved and what comes next, even when left blank
    assert shown.count(f"{INDENT}↳ What moved, next step: not said") == 2
    assert "*Teams*" not in shown  # no sub-teams of its own


def test_an_at_risk_key_result_tells_what_moved_and_what_comes_next():
    facts = acme_facts()
    onboarding = replace(
        facts.current["onboarding-completion"], moved="Checklist shipped", next_step="A/B test"
    )
    trial = replace(facts.current["trial-conversion"], next_step="Call the ten biggest trials")
    current = {**facts.current, "onboarding-completion": onboarding, "trial-conversion": trial}
    growth = acme_digest("growth", replace(facts, current=current))
    shown = texts(message_chunks(digest_report(growth)))
    assert f"{INDENT}↳ What moved: Checklist shipped · Next step: A/B test" in shown
    assert "↳ What moved: not said · Next step: Call the ten biggest trials" in shown


def test_no_digest_line_has_a_stray_separator():
    for digest in (acme_digest(), *all_details(acme_digest())):
        for line in texts(message_chunks(digest_report(digest))).splitlines():
            assert not line.rstrip().endswith(("·", "—", ":", ";")), line
            assert "· ·" not in line, line
            assert "·  ·" not in line, line
            assert not line.lstrip().startswith("·"), line


def test_a_long_team_name_is_shortened_at_a_word_boundary_in_the_header():
    name = " ".join(["Platform"] * 30)  # 269 characters
    chunks = message_chunks(digest_report(replace(acme_digest(), team_name=name)))
    assert_valid(chunks)
    shown = chunks[0][0]["text"]["text"]
    assert len(shown) <= 150
    assert shown.endswith("Platform…")
    assert shown.startswith("📣 Platform Platform")


def all_details(digest: Digest) -> list[Digest]:
    return [d for detail in digest.details for d in (detail, *all_details(detail))]


def test_a_sub_team_digest_shows_who_waits_on_it():
    platform = next(d for d in acme_digest().details if d.team == "engineering").details[0]
    assert platform.team == "platform"
    [chunk] = message_chunks(digest_report(platform))
    assert_valid([chunk])
    shown = texts([chunk])
    assert "*Blocking other teams*" in shown
    assert "*Emily Carter* on New mid-market ARR from 0 to 900 k€ is waiting on *" in shown
    assert "need EU residency for two deals" in shown


def test_a_digest_with_huge_blockers_is_split_into_valid_chunks_in_order():
    base = acme_digest()
    blockers = tuple(
        BlockerLine(f"Person {i}", f"KR {i}", f"[{i:02d}] " + ("blocked & waiting " * 160)[:2895],
                    "Platform")
        for i in range(40)
    )  # fmt: skip
    digest = replace(base, blockers=blockers)
    chunks = message_chunks(digest_report(digest))
    assert len(chunks) > 5
    assert_valid(chunks)
    for chunk in chunks:
        assert len(chunk) <= MAX_MESSAGE_BLOCKS
        assert text_size(chunk) <= CHUNK_TEXT_BUDGET
    shown = texts(chunks)
    positions = [shown.index(f"[{i:02d}] ") for i in range(40)]
    assert positions == sorted(positions)
    assert chunks[0][0]["type"] == "header"
    assert "checked in" in texts([chunks[-1]])  # participation closes the digest


def test_a_digest_with_many_objectives_stays_within_fifty_blocks_per_chunk():
    base = acme_digest()
    objectives = tuple(replace(base.objectives[0], title=f"Objective {i}") for i in range(140))
    chunks = message_chunks(digest_report(replace(base, objectives=objectives)))
    assert len(chunks) > 2
    assert_valid(chunks)
    assert all(f"*🎯 Objective {i}*" in texts(chunks) for i in range(140))


def test_text_from_people_and_the_okr_file_is_escaped_everywhere():
    base = acme_digest(facts=acme_facts(blocker=INJECTION))
    digest = replace(
        base,
        team_name="Acme <!channel>",
        notes=(LeaderNote("<@U0EVIL>", "acme", INJECTION),),
        leaders=(LeaderNote("Claire <!here>", "acme", INJECTION),),
        objectives=(replace(base.objectives[0], title="<https://evil.example|Grow>"),),
    )
    message = digest_report(digest)
    chunks = message_chunks(message)
    assert_valid(chunks)
    payload = json.dumps(chunks, ensure_ascii=False)
    # We never write a control sequence ourselves, so none may appear at all.
    assert "<" not in payload
    assert ">" not in payload
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt; see &lt;https://evil.example/steal|the OKR sheet" \
           "&gt; &amp; &lt;!here&gt;" in payload  # fmt: skip
    assert "<" not in fallback_text(message)
    assert "Acme &lt;!channel&gt;" in fallback_text(message)


@pytest.mark.parametrize(
    "message",
    [
        Text(INJECTION),
        Notice(INJECTION, (INJECTION,), prompt_actions(1), INJECTION),
        Table(INJECTION, (INJECTION, INJECTION), ((INJECTION, INJECTION),), INJECTION),
        Tree(INJECTION, (TreeNode(INJECTION, INJECTION, (TreeNode(INJECTION),)),)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_no_message_kind_lets_a_mention_or_link_through(message: Message):
    chunks = message_chunks(message)
    assert_valid(chunks)
    assert "<" not in json.dumps(chunks)
    assert "&lt;!channel&gt;" in texts(chunks)
    assert "<" not in fallback_text(message)


def test_the_digest_notification_text_summarises_it():
    text = fallback_text(digest_report(acme_digest()))
    assert text.startswith("📣 Acme · weekly digest · 2026-W48 · 2026-Q4")
    assert "4/5 checked in" in text
    assert "1 blocker" in text


# ---- the validators reject what Slack rejects ---------------------------------------------


def section(text: str, **more: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **more}


def number(**element: Any) -> dict[str, Any]:
    return {"type": "input", "block_id": "n", "label": {"type": "plain_text", "text": "N"},
            "element": {"type": "number_input", "action_id": "value", **element}}  # fmt: skip


def select(**element: Any) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in ("a", "b")]
    return {"type": "input", "block_id": "s", "label": {"type": "plain_text", "text": "S"},
            "element": {"type": "static_select", "action_id": "value", "options": options,
                        **element}}  # fmt: skip


def button(**more: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go", **more}
    ]}  # fmt: skip


GOOD = [
    {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
    section("hello", block_id="one"),
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "small"}]},
    {"type": "divider"},
    button(value="1", style="primary"),
    number(is_decimal_allowed=True, min_value="0", initial_value="2.5"),
    select(initial_option={"text": {"type": "plain_text", "text": "a"}, "value": "a"}),
]

BAD = {
    "51 blocks": [{"type": "divider"}] * 51,
    "no blocks": [],
    "section over 3000": [section("x" * 3001)],
    "header over 150": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    "header in mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "*x*"}}],
    "empty text": [section("")],
    "eleven fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
    "field over 2000": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
    "block id twice": [section("a", block_id="same"), section("b", block_id="same")],
    "block id over 255": [section("a", block_id="b" * 256)],
    "action id over 255": [button(action_id="a" * 256)],
    "unknown block": [{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}],
    "misspelt attribute": [{"type": "section", "txt": {"type": "mrkdwn", "text": "x"}}],
    "unknown attribute": [section("x", colour="red")],
    "empty button value": [button(value="")],
    "bad button style": [button(style="loud")],
    "number as a number": [number(is_decimal_allowed=True, initial_value=5)],
    "decimal in an integer input": [number(is_decimal_allowed=False, initial_value="7.5")],
    "initial below min": [number(is_decimal_allowed=True, min_value="0", initial_value="-1")],
    "no decimal flag": [number(initial_value="1")],
    "initial option not offered": [
        select(initial_option={"text": {"type": "plain_text", "text": "z"}, "value": "z"})
    ],
    "101 options": [
        select(
            options=[
                {"text": {"type": "plain_text", "text": str(i)}, "value": str(i)}
                for i in range(101)
            ]
        )
    ],
    "text input over 3000": [
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "T"},
            "element": {"type": "plain_text_input", "max_length": 3001},
        }
    ],
    "too much text in total": [section("x" * 2900) for _ in range(5)],
    "eleven context elements": [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}
    ],
}


def test_the_validator_accepts_valid_blocks():
    assert block_problems(GOOD) == []


@pytest.mark.parametrize("name", list(BAD))
def test_the_validator_rejects_what_slack_rejects(name: str):
    assert block_problems(BAD[name]) != [], name


def test_the_validator_takes_a_views_limits_when_asked():
    assert block_problems([{"type": "divider"}] * 100, max_blocks=100, max_text=None) == []
    assert block_problems([section("x" * 2900) for _ in range(5)], max_text=None) == []


def test_the_message_validator_checks_the_whole_call():
    chunk = message_chunks(digest_report(acme_digest()))[0]
    text = fallback_text(digest_report(acme_digest()))
    assert message_problems({"channel": "C1", "text": text, "blocks": chunk}) == []
    assert message_problems({"channel": "C1", "text": text, "blocks": json.dumps(chunk)}) == []
    assert message_problems({"channel": "C1", "text": "plain"}) == []
    assert message_problems({"channel": "C1"}) != []
    assert message_problems({"text": "no channel"}) != []
    assert message_problems({"channel": "C1", "text": "x" * 40_001}) != []
    assert message_problems({"channel": "C1", "blocks": "[not json"}) != []
    assert message_problems({"channel": "C1", "blocks": [{"type": "divider"}] * 51}) != []


def forecast_digest() -> tuple[Digest, KrLine]:
    """Growth's digest with its first key result forecast (55% by 31 Dec), and that line."""
    growth = acme_digest("growth")
    objective = growth.objectives[0]
    kr = objective.key_results[0]
    forecast = Forecast(
        kr.key, Method.TREND, date(2026, 12, 31), 55.0, 50.0, 60.0, 0.5, 0.33, 0.67,
        1.0, 2.0, 48.0, 6, 4,
    )  # fmt: skip
    lines = (replace(kr, forecast=forecast), *objective.key_results[1:])
    return replace(growth, objectives=(replace(objective, key_results=lines),)), kr


def test_a_forecast_key_result_has_a_trend_button_beside_it() -> None:
    digest, kr = forecast_digest()
    chunks = message_chunks(digest_report(digest))
    assert_valid(chunks)
    [with_button] = [b for chunk in chunks for b in chunk if "accessory" in b]
    assert with_button["accessory"]["action_id"] == CHART_ACTION
    assert with_button["accessory"]["value"] == kr.key
    assert kr.title in with_button["text"]["text"]
