"""Slack text safety: escaping and length limits for anything people or the OKR file wrote.

Slack reads `<...>` as a control sequence in message text: `<!channel>` and `<!here>` notify a
whole channel, `<@U123>` mentions a person and `<https://evil|click>` shows a link under a label
of the sender's choosing. Escaping `&`, `<` and `>` as HTML entities, as Slack documents, turns
all of them into the literal characters people typed. Bare words such as `@channel` or `@here`
stay plain text because we never send `link_names` (chat.postMessage only turns them into
mentions when that flag is set), so they need no escaping.

Formatting characters (`*`, `_`, `~`, backticks) are left alone: they can change how a line
looks, never whom it notifies or where a link goes.
"""

from __future__ import annotations

from rhythm.markup import Mark, spans

ELLIPSIS = "…"
_ENTITY_MAX = len("&amp;")


def escape(text: str) -> str:
    """`text` with Slack's three control characters as entities (`&` first, so the entities
    written for `<` and `>` are not escaped again)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def marked(text: str) -> str:
    """The core's marked-up `text` (see `rhythm.markup`) as escaped mrkdwn: code stays in
    backticks, emphasis becomes Slack's *bold*."""
    shown = {Mark.PLAIN: "{}", Mark.CODE: "`{}`", Mark.STRONG: "*{}*"}
    return "".join(shown[span.mark].format(escape(span.text)) for span in spans(text))


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending with an ellipsis when cut.

    Safe on escaped text: a cut never splits an entity such as `&amp;` (Slack would show the
    stub `&am` literally)."""
    if limit < 1:
        raise ValueError(f"limit must be positive, not {limit}")
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    amp = text.rfind("&", max(0, cut - _ENTITY_MAX + 1), cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    return text[:cut] + ELLIPSIS


def bold(text: str) -> str:
    """Escaped `text` in bold; an empty string stays empty (`**` would show literally)."""
    return f"*{escape(text)}*" if text.strip() else escape(text)


def italic(text: str) -> str:
    return f"_{escape(text)}_" if text.strip() else escape(text)


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, broken at the last newline (else space)
    before the limit and never inside an entity: for content that must be kept whole."""
    if limit < 2 * _ENTITY_MAX:
        raise ValueError(f"limit too small to split safely: {limit}")
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut == -1:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut == -1:
            cut = limit
            amp = rest.rfind("&", cut - _ENTITY_MAX + 1, cut)
            if amp != -1 and ";" not in rest[amp:cut]:
                cut = amp
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest or not pieces:
        pieces.append(rest)
    return pieces
