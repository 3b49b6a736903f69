"""Charts in Teams, against the local Bot Framework connector (tests/peers/teams_connector.py)
on both backends: inline as a data URI while the card stays under Teams' message size, else
a signed link Drumbeat serves, else the chart's alt text; and the "Trend" button."""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botbuilder.schema import ConversationAccount, ConversationReference

from bot.teams.cards.packing import CARD_BUDGET, card_size
from bot.teams.chart_sources import ChartSources
from bot.teams.gateway import reference_dict
from rhythm.chart_links import ChartLinks, data_uri
from rhythm.ports import FixedClock
from rhythm.records import Conversation
from rhythm.sections import Image, Line, Report, Section
from tests.bot.teams.cardrules import card_problems
from tests.bot.teams.test_gateway import BOT, TENANT, World, cards_of, world
from tests.bot.teams.test_invoke import LUCAS, MESSAGE, MONDAY, Bot, bot
from tests.bot.teams.test_picker_card import schema_problems
from tests.peers.teams_connector import Call

__all__ = ["bot", "world"]  # fixtures

CHANNEL = "19:growth@thread.tacv2"
PUBLIC = "https://okr.example.com"


def chart(name: str, size: int) -> Image:
    # Random bytes do not compress: a PNG's worth of `size` bytes.
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(size)
    return Image(png=png, alt=f"{name}: 52% → 58%", name=f"{name}.png", width=800, height=400,
                 summary=f"{name} ▁▂▄▆")  # fmt: skip


def report(*images: Image) -> Report:
    lines = (Line("**Activation** · 52% → 58%", bullet="🟢"),)
    return Report(
        "📊 Growth · 2026-W48", "3 of 4 checked in", (Section("Growth", (*lines, *images)),)
    )


def images_of(card: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(card, dict):
        if card.get("type") == "Image":
            found.append(card)
        for value in card.values():
            found += images_of(value)
    elif isinstance(card, list):
        for value in card:
            found += images_of(value)
    return found


async def in_channel(world: World) -> None:
    reference = ConversationReference(
        conversation=ConversationAccount(
            id=CHANNEL, tenant_id=TENANT, conversation_type="channel", is_group=True
        ),
        bot=BOT, channel_id="msteams", service_url=world.connector.url,
    )  # fmt: skip
    world.connector.add_conversation(CHANNEL, tenant=TENANT, group=True)
    await world.store.save_conversation(
        Conversation("teams", CHANNEL, reference_dict(reference), "acme")
    )


def with_links(world: World, public_url: str | None = PUBLIC) -> ChartLinks:
    links = ChartLinks(store=world.store, clock=FixedClock(MONDAY), public_url=public_url)
    world.gateway.charts = ChartSources(links=links)
    return links


def posted(world: World) -> list[dict[str, Any]]:
    return [card for call in world.connector.delivered() for card in cards_of(call)]


async def test_a_small_chart_travels_inside_the_card(world: World) -> None:
    await in_channel(world)
    links = with_links(world)
    small = chart("growth", 4_000)

    await world.gateway.post_channel("acme", CHANNEL, report(small))

    [card] = posted(world)
    [image] = images_of(card)
    assert image["url"] == data_uri(small)
    assert image["altText"] == small.alt
    assert card_problems(card) == []
    assert schema_problems(card) == []
    assert card_size(card) <= CARD_BUDGET
    assert await links.prune() == 0  # nothing was published for it


async def test_a_big_chart_is_a_signed_link_to_its_png(world: World) -> None:
    await in_channel(world)
    links = with_links(world)
    big = chart("growth", 30_000)  # 40 KB as base64: over any card's budget

    await world.gateway.post_channel("acme", CHANNEL, report(big))

    [card] = posted(world)
    [image] = images_of(card)
    url = urlsplit(image["url"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC
    chart_id = url.path.removeprefix("/charts/").removesuffix(".png")
    query = parse_qs(url.query)
    assert await links.open(chart_id, query["expires"][0], query["signature"][0]) == big.png
    assert card_problems(card) == []
    assert schema_problems(card) == []


async def test_charts_inline_while_they_fit_and_link_the_rest(world: World) -> None:
    await in_channel(world)
    with_links(world)
    # Each fits a card on its own; together they would need a second card.
    first, second = chart("growth", 9_000), chart("platform", 10_000)

    await world.gateway.post_channel("acme", CHANNEL, report(first, second))

    [card] = posted(world)
    urls = {i["altText"]: i["url"] for i in images_of(card)}
    assert urls[first.alt] == data_uri(first)  # the smaller one
    assert urls[second.alt].startswith(f"{PUBLIC}/charts/")
    assert card_problems(card) == []


async def test_without_public_url_a_big_chart_shows_its_alt_text_said_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await in_channel(world)
    with_links(world, public_url=None)
    big, small = chart("growth", 30_000), chart("platform", 2_000)

    with caplog.at_level(logging.INFO, logger="bot.teams.chart_sources"):
        await world.gateway.post_channel("acme", CHANNEL, report(big, small))
        await world.gateway.post_channel("acme", CHANNEL, report(big))

    first, again = posted(world)
    assert [i["url"] for i in images_of(first)] == [data_uri(small)]  # small still inline
    assert images_of(again) == []
    assert "growth ▁▂▄▆" in str(again)
    assert card_problems(first) == []
    said = [r for r in caplog.records if "PUBLIC_URL" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.INFO


async def test_a_direct_report_resolves_its_charts_too(world: World) -> None:
    lucas = world.person(LUCAS, "aad-lucas")
    await world.known_conversation("aad-lucas", "29:lucas", "a:lucas")
    small = chart("trend", 3_000)

    await world.gateway.send_direct("acme", lucas, report(small))

    [card] = posted(world)
    assert [i["url"] for i in images_of(card)] == [data_uri(small)]


async def test_sources_of_a_report_without_images_are_none() -> None:
    plain = Report("Title", "summary", (Section("", (Line("text"),)),))
    assert await ChartSources().resolve("acme", plain) == {}


# ---- the "Trend" button -------------------------------------------------------------------

TREND = {"drumbeat": "action", "action": "chart:open", "value": "onboarding-completion"}


async def press(bot: Bot, activity: dict[str, Any]) -> dict[str, Any]:
    status, body = await bot.post(activity)
    assert status == 200
    assert isinstance(body, dict)
    return body


def invoke(bot: Bot, **fields: Any) -> dict[str, Any]:
    return bot.activity(
        type="invoke", id=f"invoke-{time.monotonic_ns()}", name="adaptiveCard/action",
        replyToId="digest-card",
        value={"action": {"type": "Action.Execute", "verb": "chart:open", "data": TREND},
               "trigger": "manual"},
        **fields,
    )  # fmt: skip


def texts(calls: list[Call]) -> str:
    return str([cards_of(c) for c in calls])


async def test_trend_in_the_personal_chat_is_answered_there(bot: Bot) -> None:
    answer = await press(bot, invoke(bot))

    assert answer["type"] == MESSAGE
    assert "Onboarding completion" in answer["value"]
    replies = bot.connector.sent_to("a:lucas")
    assert replies
    assert "📈 Onboarding completion rate" in texts(replies)
    for card in (c for call in replies for c in cards_of(call)):
        assert card_problems(card) == []


async def test_trend_in_a_channel_goes_to_the_person_s_own_chat(bot: Bot) -> None:
    channel = {"id": f"{CHANNEL};messageid=1700000000001", "conversationType": "channel",
               "isGroup": True, "tenantId": TENANT}  # fmt: skip
    data = {"tenant": {"id": TENANT}, "team": {"id": "19:team@thread.tacv2"},
            "channel": {"id": CHANNEL}}  # fmt: skip

    answer = await press(bot, invoke(bot, conversation=channel, channelData=data))

    assert answer["type"] == MESSAGE
    assert "sent to you" in answer["value"]
    assert bot.connector.sent_to(CHANNEL) == []  # nothing private in the channel
    [created] = bot.connector.delivered("create")
    sent = bot.connector.sent_to(created.conversation)
    assert "📈 Onboarding completion rate" in texts(sent)
