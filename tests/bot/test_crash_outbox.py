"""Direct messages decided once (a blocker's news, a lead's nudge or list: the outbox) and a
real `drumbeat serve` killed with SIGKILL in the middle of delivering them, then restarted.

What is asserted is what people see: every message arrives once (found by its `note:` tag in
the local Slack API's record of posts), none is lost, and the database records each as sent.
The harness is tests/bot/test_crash.py's."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rhythm.courier import outbox_tag
from rhythm.messages import Notice
from rhythm.records import Outgoing
from storage.store import open_store
from storage.tables import outbox_t
from tests.bot.test_crash import (
    ORG,
    SLACK_SECONDS,
    START_SECONDS,
    FanOut,
    _tag,
    due_now_organisation,
    fan_out_to,
    lookup_seconds,
)

pytestmark = pytest.mark.slow

PEOPLE = 120
RATE = 40.0


@pytest.fixture
async def news(database_url: str, tmp_path: Path) -> AsyncIterator[FanOut]:
    """An organisation with no rhythm (nobody is prompted) and one message decided for each
    of its people, waiting in the outbox."""
    org = dataclasses.replace(due_now_organisation(PEOPLE), rhythms=())
    async with fan_out_to(org, database_url=database_url, rate=RATE, workdir=tmp_path) as fan:
        async with open_store(database_url) as store:
            messages = [
                Outgoing(f"news:{p.email}", p.email, Notice("📣 News", (f"For {p.name}",)))
                for p in org.people
            ]
            assert await store.enqueue(ORG, messages, at=datetime.now(UTC)) == PEOPLE
        yield fan


def notes(fan: FanOut) -> Counter[str]:
    """Outbox messages per tag, as the API carried them out (answered or not)."""
    return Counter(t for p in fan.fake.posts if (t := _tag(p.metadata)).startswith("note:"))


async def unsent(fan: FanOut) -> int:
    o = outbox_t.c
    query = select(func.count()).where(o.org == ORG, o.sent_at.is_(None))
    async with fan.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def test_kill_9_mid_delivery_then_a_restart_delivers_every_message_exactly_once(
    news: FanOut,
) -> None:
    config = news.config(rate=RATE)
    await news.serve(config, worker="replica-1")

    async def a_third() -> bool:
        return len(notes(news)) >= PEOPLE // 3

    await news.wait_for(a_third, within=30.0, what="a third of the messages delivered")
    await news.serves[-1].kill()
    delivered = len(notes(news))
    assert 0 < delivered < PEOPLE

    await news.serve(config, worker="replica-2")

    async def all_sent() -> bool:
        return len(notes(news)) == PEOPLE and await unsent(news) == 0

    budget = START_SECONDS + config.lease + lookup_seconds(10) + PEOPLE / RATE + SLACK_SECONDS
    await news.wait_for(all_sent, within=budget, what="every message delivered")
    assert "Traceback" not in news.outputs(), news.outputs()
    twice = {tag: n for tag, n in notes(news).items() if n > 1}
    assert not twice, f"{len(twice)} messages delivered twice: {twice}"
    o = outbox_t.c
    async with news.engine.connect() as conn:
        ids = [r.id for r in await conn.execute(select(o.id).where(o.org == ORG))]
    assert set(notes(news)) == {outbox_tag(i) for i in ids}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # where replicas run
async def test_two_replicas_deliver_every_message_exactly_once(news: FanOut) -> None:
    config = news.config(rate=RATE)
    await news.serve(config, worker="replica-1")
    await news.serve(config, worker="replica-2")

    async def all_sent() -> bool:
        return len(notes(news)) == PEOPLE and await unsent(news) == 0

    await news.wait_for(all_sent, within=START_SECONDS + 2 * PEOPLE / RATE + SLACK_SECONDS,
                        what="every message delivered")  # fmt: skip
    assert "Traceback" not in news.outputs(), news.outputs()
    assert max(notes(news).values()) == 1, "a message was delivered twice"
