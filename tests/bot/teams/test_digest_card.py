"""A digest as Adaptive Cards: what needs attention first, each key result's change and, at
risk, what moved and what comes next; valid for Teams and against the official schema, with
no separator left dangling. Built from the same week at Acme as the Slack digest tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.teams.cards import card_for
from rhythm.digest_model import Digest
from rhythm.digest_report import CHART_ACTION, digest_report
from rhythm.present import fmt_change, fmt_value
from tests.bot.slack.test_blocks import acme_digest, acme_facts, all_details, forecast_digest
from tests.bot.teams.test_cards import assert_sendable, body_text, texts
from tests.bot.teams.test_picker_card import schema_problems


def cards_of(digest: Digest) -> list[dict[str, Any]]:
    cards = card_for(digest_report(digest))
    assert_sendable(cards)
    for card in cards:
        assert schema_problems(card) == []
    return cards


def test_the_digest_opens_with_what_needs_attention():
    digest = acme_digest()
    shown = texts(cards_of(digest)[0])
    opening = shown.index("Needs attention")
    assert shown.index("📣 Acme · weekly digest") < opening < shown.index("Leaders first")
    first = "".join(shown[opening + 1 : opening + 4])
    assert first == (
        "🟡 Onboarding completion rate from 40% to 70% (Lucas Bernard): blocked by Platform; "
        "27% done with 61% of 2026-Q4 gone"
    )
    assert f"…and {digest.attention_more} more, below" in shown


def test_a_key_result_shows_its_change_its_target_and_at_risk_its_story():
    facts = acme_facts()
    onboarding = replace(
        facts.current["onboarding-completion"], moved="Checklist shipped", next_step="A/B test"
    )
    current = {**facts.current, "onboarding-completion": onboarding}
    growth = acme_digest("growth", replace(facts, current=current))
    text = body_text(cards_of(growth))
    change = f"{fmt_change(45, 48, '%', span=30)} · target {fmt_value(70, '%', span=30)}"
    assert f"{change} · confidence 6/10 (-1) · at risk" in text
    assert "What moved: Checklist shipped · Next step: A/B test" in text
    assert "What moved, next step: not said" in text  # Sofia said nothing of either


def test_no_card_line_has_a_stray_separator():
    for digest in (acme_digest(), *all_details(acme_digest())):
        for card in cards_of(digest):
            for shown in texts(card):
                assert not shown.rstrip().endswith(("·", "—")), shown
                assert "· ·" not in shown, shown


def test_a_forecast_key_result_has_a_trend_button_and_the_card_stays_valid() -> None:
    shown, kr = forecast_digest()
    cards = cards_of(shown)
    buttons = [a for card in cards for a in _actions(card) if a.get("verb") == CHART_ACTION]
    assert [(b["title"], b["data"]["value"]) for b in buttons] == [("Trend", kr.key)]
    assert "needs +2/week, averaging +1/week → projected 55% (score 0.50) by 31 Dec" in (
        body_text(cards)
    )


def _actions(element: Any) -> list[dict[str, Any]]:
    if isinstance(element, dict):
        found = [element] if element.get("type") == "Action.Execute" else []
        return found + [a for v in element.values() for a in _actions(v)]
    if isinstance(element, list):
        return [a for v in element for a in _actions(v)]
    return []
