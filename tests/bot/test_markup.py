"""The core's two marks, and how each adapter shows them: never as raw backticks or stars."""

from __future__ import annotations

import io

from rich.console import Console

from bot.console.render import render
from bot.slack.blocks import fallback_text, message_chunks
from bot.teams.cards.messages import render as card
from rhythm.markup import Mark, Span, plain, spans
from rhythm.messages import Notice, Text


def test_code_and_emphasis_are_cut_out_and_the_rest_is_plain() -> None:
    assert spans("Type `checkin` to tell **Sofia**.") == [
        Span("Type ", Mark.PLAIN), Span("checkin", Mark.CODE), Span(" to tell ", Mark.PLAIN),
        Span("Sofia", Mark.STRONG), Span(".", Mark.PLAIN),
    ]  # fmt: skip


def test_a_lone_mark_is_text() -> None:
    for text in ("5 * 3 = 15", "it`s", "**", "``", "a ** b", ""):
        assert spans(text) == [Span(text, Mark.PLAIN)]


def test_emphasis_inside_code_is_code() -> None:
    assert spans("`**x**`") == [Span("**x**", Mark.CODE)]
    assert plain("Type `checkin` or **help**") == "Type checkin or help"


HELP = Text("Type `checkin` to check in, **now**.")


def test_slack_shows_code_in_backticks_and_emphasis_in_bold() -> None:
    [[section]] = message_chunks(HELP)
    assert section["text"]["text"] == "Type `checkin` to check in, *now*."
    assert fallback_text(HELP) == "Type checkin to check in, now."


def test_slack_escapes_inside_the_marks_too() -> None:
    [[section]] = message_chunks(Text("`<!channel>` and **<@U1>**"))
    assert section["text"]["text"] == "`&lt;!channel&gt;` and *&lt;@U1&gt;*"


def test_teams_shows_code_in_monospace_and_emphasis_bolder_never_the_marks() -> None:
    [message] = card(Notice("Hi", lines=(HELP.text,)))
    runs = [r for block in message["body"] if block["type"] == "RichTextBlock"
            for r in block["inlines"]]  # fmt: skip
    assert "`" not in str(message)
    assert "**" not in str(message)
    assert {"type": "TextRun", "text": "checkin", "fontType": "monospace"} in runs
    assert {"type": "TextRun", "text": "now", "weight": "bolder"} in runs


def test_the_terminal_shows_no_marks() -> None:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(render(HELP))
    assert out.getvalue().strip() == "Type checkin to check in, now."
