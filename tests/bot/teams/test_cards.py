"""Every card the bot sends to Teams, built from real core messages (the Acme organisation on a
real database, real commands, real check-ins and digests), passes the rules Teams applies to
bot cards; long content is spread over several cards; a submitted card reads back into answers
the core accepts."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from bot.teams.cards import (
    CARD_BUDGET,
    ActionSubmit,
    FormSubmit,
    answers_from_submit,
    card_for,
    card_size,
    done_card,
    form_cards,
    form_pages,
    page_fields,
    parse_submit,
)
from bot.teams.cards.messages import TABLE_COLUMNS
from rhythm.cadences import RhythmKind
from rhythm.checkin import CheckedIn, FormPage
from rhythm.commands import run_command
from rhythm.digest_model import Digest
from rhythm.digest_report import digest_report
from rhythm.forms import CheckInDraft, validate
from rhythm.markup import plain
from rhythm.messages import (
    Action,
    Form,
    Message,
    Notice,
    Table,
    Text,
    Tree,
    TreeNode,
)
from rhythm.okr import (
    Cycle,
    Initiative,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Team,
)
from rhythm.ports import FixedClock
from rhythm.prompting import EDIT, OPEN, SNOOZE
from rhythm.service import Drumbeat
from storage.store import SqlStore, open_store
from tests.bot.teams.cardrules import card_problems
from tests.databases import Backend
from tests.rhythm.orgs import file_states, fresh_form

ACME = Path(__file__).resolve().parents[3] / "examples" / "acme.yaml"
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
LUCAS = "lucas.bernard@acme.example"  # growth, Paris, one key result
MARKUP = "**bold** _it_ [click](https://evil.example) <at>everyone</at> ${name} # not a heading"


@pytest.fixture
async def store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """SQLite only: what a card shows does not depend on the database (storage tests run
    on both backends)."""
    url = await Backend("sqlite", sqlite_template=sqlite_template).new_database(tmp_path)
    async with open_store(url) as opened:
        yield opened


@dataclass
class World:
    org: Organisation
    drumbeat: Drumbeat
    chat: ConsoleGateway
    clock: FixedClock

    async def tick(self, at: datetime) -> None:
        self.clock.set(at)
        await self.drumbeat.tick(at)

    def prompt_to(self, email: str) -> Notice:
        notices = [s.message for s in self.chat.sent_to(email) if isinstance(s.message, Notice)]
        return next(n for n in reversed(notices) if any(a.id == OPEN for a in n.actions))

    def prompted_since(self, sent: int) -> dict[str, int]:
        """{person: prompt id} of the weekly prompts sent after the first `sent` messages."""
        return {
            s.to: int(a.value)
            for s in self.chat.outbox[sent:]
            if isinstance(s.message, Notice) and s.message.title.startswith("Weekly check-in")
            for a in s.message.actions
            if a.id == OPEN
        }

    async def check_in(self, email: str, prompt: int | None = None, **overrides: str) -> CheckedIn:
        """A weekly check-in with plausible answers; `overrides` by key-result field part."""
        form = (await self.drumbeat.checkins.open("acme", email, prompt_id=prompt)).form
        answers = plausible_answers(form)
        for fid in answers:
            part = fid.rsplit(":", 1)[-1]
            if fid.startswith("kr:") and part in overrides:
                answers[fid] = overrides[part]
        outcome = await self.drumbeat.checkins.submit("acme", email, form.context, answers)
        assert isinstance(outcome, CheckedIn), getattr(outcome, "form", None)
        return outcome


@pytest.fixture
async def world(store: SqlStore) -> World:
    org = load_organisation(ACME)
    await store.save_organisation(org)
    clock = FixedClock(MONDAY)
    chat = ConsoleGateway(console=Console(file=io.StringIO(), width=120))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    return World(org, Drumbeat(store=store, chat=router, clock=clock, worker="test"), chat, clock)


def plausible_answers(form: Form) -> dict[str, str | None]:
    answers: dict[str, str | None] = {}
    for field in form.fields:
        part = field.id.rsplit(":", 1)[-1]
        answers[field.id] = field.initial
        if part == "value":
            answers[field.id] = field.initial or "1"
        elif part == "confidence":
            answers[field.id] = "7"
        elif part == "moved":
            answers[field.id] = "Shipped the checklist"
    return answers


# ---- looking into cards ---------------------------------------------------------------------


def walk(node: object) -> Iterator[dict[str, Any]]:
    """Every object in a card, depth first, in reading order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def texts(card: dict[str, Any]) -> list[str]:
    return [n["text"] for n in walk(card.get("body", [])) if n.get("type") == "TextRun"]


def inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in walk(card["body"]) if str(n.get("type", "")).startswith("Input.")]


def assert_sendable(cards: list[dict[str, Any]]) -> None:
    assert cards
    for card in cards:
        assert card_problems(card) == []
        assert card_size(card) <= CARD_BUDGET
        assert not any(n.get("type") == "TextBlock" for n in walk(card)), "text outside TextRuns"


def body_text(cards: list[dict[str, Any]]) -> str:
    """The text of all cards in order, without the headings repeated on continuation cards."""
    return "".join(t for card in cards for t in texts(card) if not t.endswith("(continued)"))


def teams_submit(card: dict[str, Any], **typed: str | int | float) -> dict[str, Any]:
    """The `value` of the activity Teams sends when the card's submit button is pressed:
    the button's data merged with every input (as strings; empty ones as "")."""
    (button,) = card["actions"]
    value: dict[str, Any] = dict(button["data"])
    for element in inputs(card):
        shown = element.get("value", "")
        value[element["id"]] = shown if isinstance(shown, str) else json.dumps(shown)
    for suffix, typed_value in typed.items():
        for element in inputs(card):
            if element["id"].endswith(f":{suffix}"):
                value[element["id"]] = typed_value
    return value


# ---- the rules themselves -------------------------------------------------------------------


def good_card() -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": "Hello", "wrap": True},
            {
                "type": "ColumnSet",
                "columns": [
                    {"type": "Column", "items": [{"type": "Input.Text", "id": "a", "label": "A"}]}
                ],
            },
            {
                "type": "Table",
                "columns": [{"width": 1}],
                "rows": [
                    {
                        "type": "TableRow",
                        "cells": [{"type": "TableCell", "items": [{"type": "Image", "url": "x"}]}],
                    }
                ],
            },
        ],
        "actions": [
            {
                "type": "Action.ShowCard",
                "title": "More",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [{"type": "Input.Number", "id": "b", "isRequired": True}],
                    "actions": [{"type": "Action.Submit", "title": "Go", "data": {"k": 1}}],
                },
            }
        ],
    }


def test_a_card_using_rich_features_correctly_passes_the_rules():
    assert card_problems(good_card()) == []


def test_the_rules_reject_a_version_teams_does_not_render():
    card = good_card() | {"version": "1.6"}
    assert any("newer than Teams' 1.5" in p for p in card_problems(card))
    assert card_problems(good_card() | {"type": "Card"}) == ["card: type must be 'AdaptiveCard'"]


def test_the_rules_reject_elements_and_properties_newer_than_the_card():
    card = good_card() | {"version": "1.2"}
    problems = card_problems(card)
    assert any("Table needs version 1.5" in p for p in problems)
    assert any("Input.Text.label needs version 1.3" in p for p in problems)
    assert any("Input.Number.isRequired needs version 1.3" in p for p in problems)  # in ShowCard
    execute = {"type": "Action.Execute", "title": "Go", "verb": "x"}
    older = {"type": "AdaptiveCard", "version": "1.3", "body": [], "actions": [execute]}
    assert any("Action.Execute needs version 1.4" in p for p in card_problems(older))


def test_the_rules_reject_unknown_types_and_properties_and_missing_ones():
    card = good_card()
    card["body"].append({"type": "Input.Slider", "id": "s"})
    card["body"].append({"type": "TextBlock", "txt": "typo"})
    card["actions"].append({"type": "Action.Submit", "data": {}})
    problems = card_problems(card)
    assert any("unknown element type 'Input.Slider'" in p for p in problems)
    assert any("unknown property 'txt'" in p for p in problems)
    assert any("TextBlock needs a non-empty 'text'" in p for p in problems)
    assert any("Action.Submit needs a non-empty 'title'" in p for p in problems)


def test_the_rules_check_an_action_s_fallback_and_an_execute_s_verb():
    card = good_card()
    fallback = {"type": "Action.Submit", "data": {}, "colour": "red"}
    card["actions"].append({"type": "Action.Execute", "title": "Go", "fallback": fallback})
    card["actions"].append({"type": "Action.Execute", "title": "Go", "verb": "x",
                            "fallback": "Action.Submit"})  # fmt: skip
    problems = card_problems(card)
    assert any("Action.Execute needs a non-empty 'verb'" in p for p in problems)
    where = "card.actions[1].fallback"
    assert f"{where}: Action.Submit needs a non-empty 'title'" in problems
    assert f"{where}: unknown property 'colour' on Action.Submit" in problems
    assert any("actions[2]: fallback must be an action or 'drop'" in p for p in problems)


def test_the_rules_reject_duplicate_input_ids_even_inside_a_show_card():
    card = good_card()
    card["actions"][0]["card"]["body"].append({"type": "Input.Text", "id": "a"})
    assert any("id 'a' is also used at card.body[1]" in p for p in card_problems(card))


def test_the_rules_reject_nulls_and_cards_over_the_size_limit():
    card = good_card()
    card["body"][0]["color"] = None
    assert "card.body[0].color: null value" in card_problems(card)
    big = good_card()
    big["body"] = [{"type": "TextBlock", "text": "x" * 1000} for _ in range(30)]
    assert any("over Teams' 28000" in p for p in card_problems(big))


def test_the_rules_reject_more_cells_than_columns_and_bad_enumerations():
    card = good_card()
    card["body"][2]["rows"][0]["cells"].append({"type": "TableCell", "items": []})
    card["body"][0]["weight"] = "heavy"
    problems = card_problems(card)
    assert any("more cells than the 1 columns" in p for p in problems)
    assert any("TextBlock.weight cannot be 'heavy'" in p for p in problems)
    assert any("TableCell needs a non-empty 'items'" in p for p in problems)


# ---- messages from the core -----------------------------------------------------------------


async def test_help_text_keeps_its_lines(world: World):
    reply = await run_command(world.drumbeat, "acme", LUCAS, "help")
    assert isinstance(reply.message, Text)
    cards = card_for(reply.message)
    assert_sendable(cards)
    paragraphs = [
        "".join(r["text"] for r in p["inlines"])
        for p in walk(cards[0]["body"])
        if p.get("type") == "RichTextBlock"
    ]
    assert paragraphs[0] == "Commands:"
    assert "help" in paragraphs[1]
    assert "what I can do" in paragraphs[1]
    assert len(paragraphs) == len([x for x in reply.message.text.splitlines() if x.strip()])


async def test_a_prompt_has_a_check_in_button_and_a_snooze_button(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))  # 10:05 in Paris
    notice = world.prompt_to(LUCAS)
    (card,) = card_for(notice)
    assert_sendable([card])
    assert card["version"] == "1.5"  # what Teams asks of cards with Universal Actions
    assert len(card["actions"]) == len(notice.actions)
    prompt_id = next(a.value for a in notice.actions if a.id == OPEN)
    check_in, snooze = card["actions"][:2]
    data = {"drumbeat": "action", "action": OPEN, "value": prompt_id}
    assert check_in == {
        "type": "Action.Execute",
        "title": "Check in",
        "verb": OPEN,
        "data": data,
        "style": "positive",
        # Older Teams clients, which know no Action.Execute, show this one instead.
        "fallback": {"type": "Action.Submit", "title": "Check in", "data": data,
                     "style": "positive"},
    }  # fmt: skip
    assert "style" not in snooze
    assert "style" not in snooze["fallback"]
    assert snooze["verb"] == SNOOZE
    for action, button in zip(notice.actions, card["actions"], strict=True):
        assert parse_submit(button["data"]) == ActionSubmit(action.id, action.value)
        assert parse_submit(button["fallback"]["data"]) == ActionSubmit(action.id, action.value)
    assert SNOOZE in {a.id for a in notice.actions}
    assert texts(card)[0] == notice.title
    assert notice.footer in texts(card)


def test_people_s_words_stay_as_typed_never_markdown():
    """In TextRuns, which Teams never reads as Markdown: no link, mention or template. Only
    the core's two marks (`code`, **emphasis**) are made runs of their own, as on Slack."""
    notice = Notice(MARKUP, (MARKUP,), (Action("x", MARKUP),), footer=MARKUP)
    (card,) = card_for(notice)
    assert_sendable([card])
    unmarked = MARKUP.replace("**bold**", "bold")
    assert texts(card) == ["bold", unmarked.removeprefix("bold")] * 3
    assert card["actions"][0]["title"] == MARKUP


async def test_mine_and_status_are_tables(world: World):
    for command in ("mine", "status", "status Engineering", "status ananya.iyer@acme.example"):
        reply = await run_command(world.drumbeat, "acme", LUCAS, command)
        assert isinstance(reply.message, Table), command
        cards = card_for(reply.message)
        assert_sendable(cards)
        (card,) = cards
        if len(reply.message.columns) > TABLE_COLUMNS:  # mine: too wide to sit side by side
            facts = [n for n in walk(card) if n.get("type") == "FactSet"]
            assert len(facts) == len(reply.message.rows)
            continue
        assert card["version"] == "1.5"  # Table is 1.5
        (table,) = [n for n in walk(card) if n.get("type") == "Table"]
        assert len(table["columns"]) == len(reply.message.columns)
        assert len(table["rows"]) == 1 + len(reply.message.rows)
        footer = card["body"][-1]
        assert "".join(r["text"] for r in footer["inlines"]) == plain(reply.message.footer)


async def test_the_tree_indents_children_under_their_parents(world: World):
    reply = await run_command(world.drumbeat, "acme", LUCAS, "tree")
    assert isinstance(reply.message, Tree)
    cards = card_for(reply.message)
    assert_sendable(cards)
    labels = texts(cards[0])
    company = next(i for i, t in enumerate(labels) if "Grow into a business" in t)
    arr = next(i for i, t in enumerate(labels) if "Annual recurring revenue" in t)
    assert company < arr
    assert labels[arr].startswith("\u00a0" * 4)
    assert not labels[company].startswith("\u00a0")
    assert any(t.lstrip("\u00a0").startswith("🛠") for t in labels)  # initiatives, deeper


def test_a_table_too_long_for_one_card_repeats_its_header_on_every_card():
    rows = tuple((f"Key result {i} " + "é" * 200, "▓▓▓░░ 60%", "6/10", "🟢") for i in range(300))
    table = Table("Everyone's key results", ("Key result", "Progress", "Value", ""), rows)
    cards = card_for(table)
    assert len(cards) > 3
    assert_sendable(cards)
    shown = []
    for card in cards:
        (element,) = [n for n in walk(card) if n.get("type") == "Table"]
        header = element["rows"][0]["cells"][0]["items"][0]["inlines"][0]["text"]
        assert header == "Key result"
        shown += [r["cells"][0]["items"][0]["inlines"][0]["text"] for r in element["rows"][1:]]
    assert shown == [row[0] for row in rows]


def test_a_table_too_wide_for_a_chat_card_lists_each_row_as_label_and_value():
    """Five columns side by side break their headers mid-word in a chat's card."""
    rows = tuple(
        (f"Key result {i}", "▓▓▓░░ 60%", "52% → target 70%", "7/10", "on track") for i in range(300)
    )
    columns = ("Key result", "Progress", "Value", "Confidence", "Status")
    cards = card_for(Table("Everyone's key results", columns, rows))
    assert len(cards) > 1
    assert_sendable(cards)
    assert not [n for card in cards for n in walk(card) if n.get("type") == "Table"]
    facts = [n["facts"] for card in cards for n in walk(card) if n.get("type") == "FactSet"]
    assert len(facts) == len(rows)
    assert facts[0] == [
        {"title": c, "value": v} for c, v in zip(columns[1:], rows[0][1:], strict=True)
    ]
    titles = [t for card in cards for t in texts(card) if t.startswith("Key result ")]
    assert titles == [row[0] for row in rows]


def test_a_huge_tree_is_spread_over_cards_in_order():
    leaves = tuple(TreeNode(f"📈 Key result {i}", "Owner · 10 → 20 · 50%") for i in range(600))
    tree = Tree("Big org", (TreeNode("🎯 Everything", "", leaves),))
    cards = card_for(tree)
    assert len(cards) > 1
    assert_sendable(cards)
    shown = [t.lstrip("\u00a0") for card in cards for t in texts(card)]
    assert [t for t in shown if t.startswith("📈")] == [f"📈 Key result {i}" for i in range(600)]


def test_a_form_is_not_a_card_for_card_for():
    form = Form("t", "i", (), "c")
    with pytest.raises(TypeError, match="form_cards"):
        card_for(form)


# ---- digests --------------------------------------------------------------------------------


async def two_weeks_of_check_ins(world: World, *, blocker: str = "") -> None:
    """Paris is prompted on two Mondays; owners check in, Lucas is blocked by Platform and
    loses confidence in week two."""
    owners = [p.email for p in world.org.people if world.org.key_results_of(p.email)]
    for week in range(2):
        monday = MONDAY + timedelta(weeks=week)
        sent = len(world.chat.outbox)
        await world.tick(monday + timedelta(hours=9, minutes=5))
        prompts = world.prompted_since(sent)
        world.clock.set(monday + timedelta(hours=10))
        for email in owners:
            if email == LUCAS:
                await world.check_in(
                    email,
                    prompts.get(email),
                    confidence=str(7 - 4 * week),
                    status="at_risk" if week else "on_track",
                    blockers=blocker or f"Waiting for the signup API. {MARKUP}",
                    blocked_by="platform",
                )
            elif email != "julien.moreau@acme.example":  # Julien never answers
                await world.check_in(
                    email, prompts.get(email), blockers=blocker if blocker and week else ""
                )


async def test_a_real_digest_with_its_sub_team_details(world: World):
    await two_weeks_of_check_ins(world)
    world.clock.set(MONDAY + timedelta(days=9))
    digest = await world.drumbeat.digests.digest("acme", "acme")
    # Lucas's blocker names a team: it is tracked (state, age), not a plain blocker line.
    assert [b.person for b in digest.tracked_blockers] == ["Lucas Bernard"]
    assert digest.status_changes
    assert digest.warnings
    everything = []
    for shown in all_digests(digest):
        cards = card_for(digest_report(shown))
        assert_sendable(cards)
        assert len(cards) == 1
        assert texts(cards[0])[0] == f"📣 {shown.team_name} · weekly digest"
        everything.append(body_text(cards))
    text = "\n".join(everything)
    assert "Lucas Bernard on Onboarding completion rate from 40% to 70% is blocked by" in text
    assert f"is blocked by Platform: Waiting for the signup API. {MARKUP}" in text
    assert "confidence 3/10 (-4)" in text
    assert "on track → at risk" in text
    participation = everything[0].rpartition("checked in (")[2].split(" · ")
    (waiting,) = [p for p in participation if p.startswith(("missing", "still to answer"))]
    assert "Julien Moreau" in waiting
    assert "Lucas Bernard" not in waiting
    assert any(p.startswith("streaks: ") for p in participation)
    for objective in digest.objectives:
        assert f"🎯 {objective.title}" in text


def all_digests(digest: Digest) -> Iterator[Digest]:
    yield digest
    for detail in digest.details:
        yield from all_digests(detail)


async def test_long_blockers_spread_a_digest_over_several_cards(world: World):
    blocker = ("Waiting on **Platform** for the API — «übersetzt» 🚧 " * 60)[:2900]
    await two_weeks_of_check_ins(world, blocker=blocker)
    world.clock.set(MONDAY + timedelta(days=9))
    digest = await world.drumbeat.digests.digest("acme", "acme")
    assert sum(b.text == blocker for b in digest.blockers) >= 8
    cards = card_for(digest_report(digest))
    assert len(cards) >= 2
    assert_sendable(cards)
    assert texts(cards[1])[0] == "📣 Acme · weekly digest (continued)"
    assert body_text(cards).count(blocker) == sum(b.text == blocker for b in digest.blockers)
    assert "checked in (" in texts(cards[-1])[-1]  # participation closes the last card


def test_one_enormous_paragraph_is_split_between_words():
    words = " ".join(f"word{i}" for i in range(6000))
    cards = card_for(Notice("Long", (words,)))
    assert len(cards) > 1
    assert_sendable(cards)
    pieces = [t for card in cards for t in texts(card)][1:]
    assert "".join(p for p in pieces if p != "Long (continued)") == words
    assert all(p.endswith(" ") for p in pieces[:-1] if p != "Long (continued)")


# ---- check-in forms -------------------------------------------------------------------------


async def test_a_rejected_form_shows_each_error_under_its_field(world: World):
    form = (await world.drumbeat.checkins.open("acme", LUCAS)).form
    answers = plausible_answers(form)
    value_id = next(f.id for f in form.fields if f.id.endswith(":value"))
    blocked_by_id = next(f.id for f in form.fields if f.id.endswith(":blocked_by"))
    moved_id = next(f.id for f in form.fields if f.id.endswith(":moved"))
    typed = {**answers, value_id: "ten", blocked_by_id: "nowhere", moved_id: MARKUP}
    outcome = await world.drumbeat.checkins.submit(
        "acme", LUCAS, form.context, typed, pager=page_fields
    )
    assert isinstance(outcome, FormPage)
    assert set(outcome.form.errors) == {value_id, blocked_by_id}
    assert outcome.page == 0
    shown = outcome.form.with_answers(outcome.answers)
    card = form_cards(shown)
    assert_sendable([card])
    assert "⚠ 2 answers need fixing" in texts(card)
    body = list(walk(card["body"]))
    for fid in (value_id, blocked_by_id):
        at = next(i for i, n in enumerate(body) if n.get("id") == fid)
        after = [
            n
            for n in body[at + 1 :]
            if n.get("type") in ("TextRun", "Input.Text", "Input.Number", "Input.ChoiceSet")
        ]
        error = next(n for n in after if n.get("color") == "attention")
        assert error["text"] == f"⚠ {outcome.form.errors[fid]}"
        assert after.index(error) <= 1  # right under the field, after its hint at most
    by_id = {e["id"]: e for e in inputs(card)}
    assert by_id[moved_id]["value"] == MARKUP  # what was typed comes back
    # a picker shows no answer that is none of its choices (a forged or stale one)
    assert (by_id[blocked_by_id]["type"], by_id[blocked_by_id]["style"]) == (
        "Input.ChoiceSet", "filtered"
    )  # fmt: skip
    assert "value" not in by_id[blocked_by_id]


async def test_a_submitted_card_reads_back_into_answers_the_core_accepts(world: World):
    await world.tick(MONDAY + timedelta(hours=9, minutes=5))
    prompt_id = int(next(a.value for a in world.prompt_to(LUCAS).actions if a.id == OPEN))
    form = (await world.drumbeat.checkins.open("acme", LUCAS, prompt_id=prompt_id)).form
    assert len(form_pages(form)) == 1
    card = form_cards(form)
    assert_sendable([card])
    assert {e["id"] for e in inputs(card)} == {f.id for f in form.fields}
    assert card["actions"][0]["title"] == form.submit_label
    value = teams_submit(card, value="55", confidence="8", moved="", next="Ship it")
    submitted = parse_submit(value)
    assert submitted == FormSubmit(form.context)
    answers = answers_from_submit(value)
    assert set(answers) == {f.id for f in form.fields}
    assert next(v for k, v in answers.items() if k.endswith(":moved")) is None
    assert next(v for k, v in answers.items() if k.endswith(":value")) == "55"
    outcome = await world.drumbeat.checkins.submit(
        "acme", LUCAS, submitted.context, answers, pager=page_fields
    )
    assert isinstance(outcome, CheckedIn)
    done = done_card(outcome.notice)
    assert_sendable([done])
    [edit] = done["actions"]  # the confirmation's one button: Edit, which stores a revision
    assert (edit["title"], edit["data"]["action"]) == ("Edit", EDIT)
    assert edit["data"]["value"] == str(outcome.checkin_id)
    assert inputs(done) == []
    assert texts(done)[0] == outcome.notice.title


def test_numbers_may_come_back_as_json_numbers_and_junk_is_ignored():
    form = fresh_form(many_krs(1), ADA, RhythmKind.WEEKLY, cycle="2026-Q4", context="c")
    card = form_cards(form)
    value = teams_submit(card)
    value_id = next(f.id for f in form.fields if f.id.endswith(":value"))
    conf_id = next(f.id for f in form.fields if f.id.endswith(":confidence"))
    next_id = next(f.id for f in form.fields if f.id.endswith(":next"))
    value.update({value_id: 42.0, conf_id: 7, next_id: {"nested": "junk"}, "msteams": {}})
    answers = answers_from_submit(value)
    assert (answers[value_id], answers[conf_id]) == ("42", "7")
    assert next_id not in answers  # junk is no answer: the page's field counts as empty
    assert answers_from_submit({value_id: 3.5}) == {value_id: "3.5"}
    assert "drumbeat" not in answers
    assert "context" not in answers
    assert "msteams" not in answers


@pytest.mark.parametrize(
    "value",
    [
        None,
        "checkin",
        {},
        {"drumbeat": "other"},
        {"drumbeat": "submit"},
        {"drumbeat": "submit", "context": 5},
        {"drumbeat": "submit", "context": ["c"]},
        {"drumbeat": "action", "action": ["x"], "value": "1"},
    ],
)
def test_values_that_are_not_our_buttons_are_not_read_as_ours(value: object):
    assert parse_submit(value) is None


# ---- a person with forty key results --------------------------------------------------------

ADA = "ada@example.org"
Q4 = Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))


def many_krs(count: int, *, initiatives: int = 0) -> Organisation:
    """One person owning `count` key results with long (100-character) keys and titles; every
    fourth key result has an initiative, and the first one `initiatives` more."""
    team = Team("team", "Team")
    person = Person(ADA, "Ada", memberships=(Membership("team"),))
    objective = Objective("objective", "Everything at once", Q4.key, owner_team="team")
    key_results = tuple(
        KeyResult(
            f"kr-{i:03d}-" + "k" * 93,
            objective.key,
            f"Key result {i}: " + "a long title that explains the metric " * 2,
            ADA,
            Metric(0, 100, i, "%"),
        )
        for i in range(count)
    )
    work = [Initiative(f"ini-{i}", key_results[i].key, f"Work {i}") for i in range(0, count, 4)]
    work += [Initiative(f"more-{i}", key_results[0].key, f"More {i}") for i in range(initiatives)]
    return Organisation(
        "big", "Big", (team,), (person,), (Q4,), (objective,), key_results, tuple(work)
    )


def test_a_section_longer_than_a_page_continues_on_the_next():
    form = fresh_form(
        many_krs(1, initiatives=120), ADA, RhythmKind.WEEKLY, cycle=Q4.key, context="c"
    )
    (initiatives,) = [s for s in form.sections if s.title.startswith("Initiatives")]
    pages = form_pages(form)
    parts = [s for sections in pages for s in sections if s.title.startswith("Initiatives")]
    assert len(parts) > 1
    assert parts[0].title == initiatives.title
    assert all(p.title == f"{initiatives.title} (continued)" for p in parts[1:])
    assert [f for p in parts for f in p.fields] == list(initiatives.fields)
    for number in range(len(pages)):
        assert_sendable([form_cards(form, page=number)])


@pytest.mark.parametrize("kind", list(RhythmKind))
def test_forty_key_results_make_pages_that_each_fit_and_cover_every_field_once(kind: RhythmKind):
    form = fresh_form(many_krs(40), ADA, kind, cycle=Q4.key, context=f"{kind.value}|p|")
    pages = form_pages(form)
    if kind is not RhythmKind.DAILY:
        assert len(pages) > 1
    on_pages = [f.id for sections in pages for s in sections for f in s.fields]
    assert sorted(on_pages) == sorted(f.id for f in form.fields)
    for number in range(len(pages)):
        card = form_cards(form, page=number)
        assert_sendable([card])
        (button,) = card["actions"]
        final = number == len(pages) - 1
        assert button["title"] == (form.submit_label if final else "Next")
        assert (button["type"], button["verb"]) == ("Action.Execute", "checkin:submit")
        assert button["data"] == {"drumbeat": "submit", "context": form.context}
        assert button["fallback"]["type"] == "Action.Submit"
        assert button["fallback"]["data"] == button["data"]


def test_errors_and_prefills_never_move_fields_to_another_page():
    org = many_krs(40)
    form = fresh_form(org, ADA, RhythmKind.WEEKLY, cycle=Q4.key, context="c")
    typed: dict[str, str | None] = {}
    for field in form.fields:  # a mistake in every field the core checks, text everywhere
        part = field.id.rsplit(":", 1)[-1]
        typed[field.id] = {"value": "ten", "confidence": "eleven", "blocked_by": "Nowhere"}.get(
            part, "Shipped the onboarding checklist to 20% of sign-ups — größer als gedacht"
        )
    outcome = validate(org, ADA, RhythmKind.WEEKLY, typed, cycle=Q4.key, expected_progress=0.5,
                       states=file_states(org, ADA))  # fmt: skip
    assert not isinstance(outcome, CheckInDraft)
    assert len(outcome.errors) == 4 * 40 + 10  # value, confidence, status, blocked by; initiatives
    shown = form.with_errors(outcome.errors).with_answers(typed)
    assert [[f.id for s in p for f in s.fields] for p in form_pages(shown)] == [
        [f.id for s in p for f in s.fields] for p in form_pages(form)
    ]
    for number in range(len(form_pages(shown))):
        card = form_cards(shown, page=number)
        assert_sendable([card])
        assert "⚠ 170 answers need fixing" in texts(card)
        for element in inputs(card):
            if element["type"] == "Input.Text":
                assert element["value"] == typed[element["id"]]


def test_a_paged_form_submitted_page_by_page_gives_the_core_a_complete_check_in():
    org = many_krs(40)
    form = fresh_form(org, ADA, RhythmKind.WEEKLY, cycle=Q4.key, context="weekly|2026-W48|")
    merged: dict[str, str | None] = {}
    pages = len(form_pages(form))
    for number in range(pages):
        value = teams_submit(form_cards(form, page=number), value="50", confidence="6")
        assert parse_submit(value) == FormSubmit(form.context)
        page_answers = answers_from_submit(value)
        assert not set(page_answers) & set(merged)  # each page answers its own fields
        merged.update(page_answers)
    assert set(merged) == {f.id for f in form.fields}
    draft = validate(org, ADA, RhythmKind.WEEKLY, merged, cycle=Q4.key, expected_progress=0.5,
                     states=file_states(org, ADA))  # fmt: skip
    assert isinstance(draft, CheckInDraft)
    assert len(draft.kr_updates) == 40
    assert {u.value for u in draft.kr_updates} == {50.0}


def test_a_prefilled_text_too_long_to_fit_is_left_empty_rather_than_breaking_the_card():
    form = fresh_form(many_krs(12), ADA, RhythmKind.WEEKLY, cycle=Q4.key, context="c")
    huge = {f.id: "🚧" * 600 for f in form.fields if f.id.endswith((":moved", ":blockers"))}
    shown = form.with_answers(huge)
    for number in range(len(form_pages(shown))):
        card = form_cards(shown, page=number)
        assert_sendable([card])
    first = form_cards(shown, page=0)
    assert any(e.get("value") == "🚧" * 600 for e in inputs(first))  # those that fit stay
    assert "Your earlier answer was too long to show here." in texts(first)


def messages_of_every_kind() -> list[Message]:
    return [Text("hi"), Notice("n"), Table("t", ("a",), ()), Tree("t", ())]


@pytest.mark.parametrize("message", messages_of_every_kind(), ids=lambda m: type(m).__name__)
def test_even_empty_messages_make_valid_cards(message: Message):
    assert_sendable(card_for(message))
