"""The App Home tab: key results, the next check-in, the team's digest and, for admins, the
delivery problems; always a valid `type: home` view within 100 blocks."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

from bot.slack.home import HOME_ACTIONS_BLOCK, MAX_HOME_BLOCKS, TREE, home_view
from rhythm.forecast import ObjectiveForecast
from rhythm.messages import Table, Text
from rhythm.present import progress_bar
from rhythm.prompting import OPEN
from tests.bot.slack.blockkit import view_problems
from tests.bot.slack.test_blocks import INJECTION, LUCAS, acme, acme_digest, kr_table

NEXT_DUE = "Monday 30 Nov, 10:00 (Europe/Paris)"


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def lucas_home(**more: Any) -> dict[str, Any]:
    growth = acme_digest().details[0].details[0]
    arguments: dict[str, Any] = {
        "title": "Lucas Bernard's OKRs",
        "key_results": kr_table(acme(), LUCAS),
        "next_due": NEXT_DUE,
        "digest": growth,
    } | more
    return home_view(**arguments)


def test_a_persons_home_shows_key_results_next_check_in_and_the_team_digest():
    view = lucas_home()
    assert view_problems(view) == []
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == "Lucas Bernard's OKRs"
    text = shown(view)
    assert "Onboarding completion rate from 40% to 70%" in text
    kr = acme().key_result["onboarding-completion"]
    assert kr.metric is not None
    assert progress_bar(kr.progress(kr.metric.current)) in text
    assert "7/10" in text  # confidence column
    assert f"Next check-in: {NEXT_DUE}" in text
    assert "📣 Growth · weekly digest" in text
    assert "🎯 Turn sign-ups into active teams — ▓▓▓░░░░░░░ 26% · confidence 5.0 ↓" in text
    assert "🚧 1 blocker · ⚠️ 3 early warnings — the full digest is in the team channel" in text
    assert "2/2 checked in" in text
    assert "Delivery problems" not in text


def test_the_home_buttons_open_a_check_in_and_the_tree():
    [actions] = [b for b in lucas_home()["blocks"] if b["type"] == "actions"]
    assert actions["block_id"] == HOME_ACTIONS_BLOCK
    checkin, tree = actions["elements"]
    assert (checkin["action_id"], checkin["text"]["text"], checkin["style"]) == (
        OPEN, "Check in", "primary"
    )  # fmt: skip
    assert "value" not in checkin  # no prompt: a spontaneous check-in
    assert (tree["action_id"], tree["text"]["text"]) == (TREE, "OKR tree")


def test_admins_see_delivery_problems_escaped():
    problems = ("Slack: user_not_found for hugo.petit@acme.example", INJECTION)
    view = lucas_home(is_admin=True, problems=problems)
    assert view_problems(view) == []
    text = shown(view)
    assert "*Delivery problems*" in text
    assert "user_not_found for hugo.petit@acme.example" in text
    assert "<" not in text
    assert "&lt;!channel&gt;" in text
    assert "None: every prompt" in shown(lucas_home(is_admin=True))


def test_no_digest_yet_and_key_results_as_text():
    view = lucas_home(digest=None, key_results=Text("You own no key results <@U1>."))
    assert view_problems(view) == []
    text = shown(view)
    assert "No digest for your team yet" in text
    assert "You own no key results &lt;@U1&gt;." in text


def test_a_huge_home_is_cut_to_a_hundred_valid_blocks():
    rows = tuple((f"Key result {i}", "▓░░ 10%", f"{i} / 100", "5/10", "") for i in range(300))
    table = Table("Everything", ("Key result", "Progress", "Value", "Confidence", "Status"), rows)
    many_objectives = acme_digest()
    many_objectives = replace(
        many_objectives,
        objectives=tuple(replace(many_objectives.objectives[0], title=f"Objective {i} " + "o" * 80)
                         for i in range(400)),
    )  # fmt: skip
    problems = tuple(f"Problem {i}: " + "p" * 200 for i in range(500))
    view = home_view(title="Everything", key_results=table, next_due=NEXT_DUE,
                     digest=many_objectives, is_admin=True, problems=problems)  # fmt: skip
    assert view_problems(view) == []
    assert len(view["blocks"]) == MAX_HOME_BLOCKS
    text = shown(view)
    assert "Key result 0" in text
    assert "more: `/okr mine` shows them all" in text
    assert "more. `/okr status` shows them all" in text
    assert "more. See the server log" in text
    assert "*Delivery problems*" in text


def test_the_left_out_count_is_exact():
    rows = tuple((f"KR {i}", "x") for i in range(150))
    view = home_view(title="T", key_results=Table("KRs", ("Key result", "Progress"), rows),
                     next_due="soon", digest=None)  # fmt: skip
    assert view_problems(view) == []
    row_blocks = [b for b in view["blocks"] if b["type"] == "section" and "fields" in b]
    left_out = 150 - len(row_blocks)
    assert f"…and {left_out} more" in shown(view)


def test_an_objectives_forecast_shows_under_it() -> None:
    growth = acme_digest().details[0].details[0]
    objective = growth.objectives[0]
    heading = ObjectiveForecast(objective.key, 0.52, 0.4, 0.61, 2, date(2026, 12, 31))
    digest = replace(growth, objectives=(replace(objective, forecast=heading),))
    text = shown(lucas_home(digest=digest))
    assert "📈 projected score 0.52 (0.40–0.61) by 31 Dec" in text
