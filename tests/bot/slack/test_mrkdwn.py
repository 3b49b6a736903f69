"""Escaping and cutting text for Slack: nothing people type can ping or disguise a link."""

from __future__ import annotations

import html

import pytest

from bot.slack.mrkdwn import ELLIPSIS, bold, escape, italic, split_text, truncate

ATTACKS = [
    "<!channel> the build is red",
    "<!here|here> look",
    "<!everyone>",
    "ping <@U0123ABC> and <#C0456DEF|general>",
    "<https://evil.example/steal|click here for the OKR sheet>",
    "<mailto:boss@acme.example|boss>",
    "<!subteam^S123|@leads>",
    "<!date^1392734382^{date}|Feb 18>",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_escaped_text_holds_no_control_sequence_and_reads_back_the_same(text: str):
    escaped = escape(text)
    assert "<" not in escaped
    assert ">" not in escaped
    assert html.unescape(escaped) == text


def test_ampersand_is_escaped_first_so_entities_are_not_doubled_or_lost():
    assert escape("R&D <3 > ops") == "R&amp;D &lt;3 &gt; ops"
    # Text that already looks escaped is people's text too: it must show as typed.
    assert escape("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"
    assert html.unescape(escape("&lt;!channel&gt;")) == "&lt;!channel&gt;"


def test_bare_at_channel_is_left_alone_because_we_never_send_link_names():
    assert escape("@channel @here") == "@channel @here"


def test_truncate_keeps_short_text_and_cuts_long_text_with_an_ellipsis():
    assert truncate("short", 10) == "short"
    assert truncate("x" * 10, 10) == "x" * 10
    cut = truncate("x" * 11, 10)
    assert len(cut) == 10
    assert cut.endswith(ELLIPSIS)
    with pytest.raises(ValueError, match="positive"):
        truncate("text", 0)


@pytest.mark.parametrize("limit", range(3, 12))
def test_truncate_never_splits_an_entity(limit: int):
    escaped = escape("a<b&c>d" * 3)
    cut = truncate(escaped, limit)
    assert len(cut) <= limit
    body = cut.removesuffix(ELLIPSIS)
    # every "&" still starts a whole entity
    for i, char in enumerate(body):
        if char == "&":
            assert body[i:].startswith(("&lt;", "&gt;", "&amp;")), (limit, cut)


def test_split_text_keeps_every_word_in_pieces_within_the_limit():
    words = [f"word{i}&<>" for i in range(800)]
    text = escape(" ".join(words[:400]) + "\n" + " ".join(words[400:]))
    pieces = split_text(text, 300)
    assert len(pieces) > 10
    assert all(0 < len(p) <= 300 for p in pieces)
    assert html.unescape(" ".join(pieces)).split() == " ".join(words).split()


def test_split_text_cuts_a_text_without_spaces_outside_entities():
    text = escape("<" * 1000)  # 4000 characters, no space to break at
    pieces = split_text(text, 999)
    assert all(len(p) <= 999 for p in pieces)
    assert all(p.startswith("&lt;") and p.endswith("&lt;") for p in pieces)
    assert "".join(pieces) == text


def test_bold_and_italic_escape_and_leave_empty_text_unformatted():
    assert bold("<@U1>") == "*&lt;@U1&gt;*"
    assert italic("a&b") == "_a&amp;b_"
    assert bold("") == ""
    assert italic("  ") == "  "
