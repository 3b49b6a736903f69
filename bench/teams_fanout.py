"""Teams fan-out: 2,000 people prompted in one tick against a local Bot Framework connector.

The connector (tests/peers/teams_connector.py) enforces Teams' limits: 7 messages per second,
60 per 30 seconds and 1,800 per hour per conversation, and 30 per second per tenant; a call
over any of them gets 429 with Retry-After. Everyone is in one tenant, so the floor is
people / 30 seconds. The tick runs through the real stack: Drumbeat.tick, the SQLite store,
ChatRouter, TeamsGateway, botbuilder's CloudAdapter and ConnectorClient over HTTP, each person
reached through the conversation reference stored for them (as after they installed the app).

Reported: elapsed against the floor, duplicates (a person prompted more than once), lost
prompts (a person not reached, or a prompt not marked sent) and the 429s the connector
answered (each one retried after its Retry-After).

    .venv/bin/python -m bench.teams_fanout [--people 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference
from rich.console import Console
from sqlalchemy import func, select

from bench.owners import TICK, owners_org, with_teams_id
from bot.console.gateway import ConsoleGateway
from bot.routing import ChatRouter
from bot.settings import Settings
from bot.teams.gateway import reference_dict
from bot.teams.plugin import teams_gateway
from rhythm.okr import Organisation
from rhythm.ports import FixedClock
from rhythm.records import Conversation
from rhythm.service import Drumbeat
from storage.migrate import upgrade
from storage.store import SqlStore, open_store
from storage.tables import prompt_t
from tests.peers.teams_connector import TENANT_PER_SECOND, ConnectorProcess

TENANT = "bench-tenant"
BOT = ChannelAccount(id="28:drumbeat-bench", name="Drumbeat")
JITTER = 1 / TENANT_PER_SECOND  # the connector's tolerance: one slot of arrival jitter


def organisation(count: int) -> Organisation:
    return owners_org(count, with_teams_id)


@dataclass(frozen=True, slots=True)
class Run:
    people: int
    elapsed: float
    floor: float
    sent: int
    duplicates: int
    lost: int
    refused: int  # 429s the connector answered
    busiest_second: int


async def remember_everyone(
    store: SqlStore, org: Organisation, connector: ConnectorProcess
) -> None:
    """Everyone installed the app once: their 1:1 conversation reference is stored."""
    await connector.add_conversations(
        [
            {"id": f"a:bench-{n}", "user": f"29:{n}", "tenant": TENANT}
            for n in range(len(org.people))
        ]
    )
    for n, person in enumerate(org.people):
        conversation = f"a:bench-{n}"
        reference = ConversationReference(
            conversation=ConversationAccount(
                id=conversation, tenant_id=TENANT, conversation_type="personal"
            ),
            bot=BOT,
            user=ChannelAccount(id=f"29:{n}", aad_object_id=person.teams_user_id),
            channel_id="msteams",
            service_url=connector.url,
        )
        await store.save_conversation(
            Conversation(
                "teams",
                person.teams_user_id or "",
                reference_dict(reference),
                org.key,
                person.email,
            )
        )


async def fan_out(org: Organisation, *, workdir: Path) -> Run:
    url = f"sqlite:///{workdir / 'fanout.db'}"
    await upgrade(url)
    people = len(org.people)
    async with ConnectorProcess(tolerance=JITTER) as connector, open_store(url) as store:
        await store.save_organisation(org)
        await store.link_workspace("teams", TENANT, org.key)
        await remember_everyone(store, org, connector)
        settings = Settings(_env_file=None, teams_local=True)  # type: ignore[call-arg]
        gateway = teams_gateway(settings, store)
        console = ConsoleGateway(console=Console(file=io.StringIO()))
        router = ChatRouter(gateways={"teams": gateway, "console": console}, fallback="teams")
        drumbeat = Drumbeat(store=store, chat=router, clock=FixedClock(TICK), worker="bench")
        await drumbeat.organisation(org.key)
        started = time.perf_counter()
        report = await drumbeat.tick(TICK)
        elapsed = time.perf_counter() - started
        async with store.engine.connect() as conn:
            unsent = (await conn.execute(
                select(func.count()).select_from(prompt_t).where(prompt_t.c.sent_at.is_(None))
            )).scalar_one()  # fmt: skip
        calls = await connector.calls()
    delivered = [c for c in calls if c.kind == "send" and c.status < 300]
    per_conversation = Counter(c.conversation for c in delivered)
    times = sorted(c.at for c in delivered)
    busiest, start = 0, 0
    window = 1.0 - JITTER  # the connector's own window for its 30 per second
    for end, moment in enumerate(times):  # the most sends that arrived within one window
        while times[start] <= moment - window:
            start += 1
        busiest = max(busiest, end - start + 1)
    return Run(
        people=people,
        elapsed=elapsed,
        floor=people / TENANT_PER_SECOND,
        sent=report.sent,
        duplicates=sum(n - 1 for n in per_conversation.values()),
        lost=max(people - len(per_conversation), int(unsent)),
        refused=sum(1 for c in calls if c.status == 429),
        busiest_second=busiest,
    )


def table(run: Run) -> str:
    head = ("people", "elapsed", "floor", "vs floor", "dup", "lost", "429s", "busiest window")
    row = (
        f"{run.people:,}", f"{run.elapsed:,.1f} s", f"{run.floor:,.1f} s",
        f"{(run.elapsed / run.floor - 1) * 100:+.1f}%", str(run.duplicates), str(run.lost),
        str(run.refused), f"{run.busiest_second} in {1 - JITTER:.2f} s",
    )  # fmt: skip
    widths = [max(len(a), len(b)) for a, b in zip(head, row, strict=True)]
    return "\n".join(
        [
            f"Teams fan-out: {TENANT_PER_SECOND}/s per tenant, 7/s, 60/30 s and 1,800/h per "
            "conversation (local connector)",
            "  ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)),
            "  ".join("-" * w for w in widths),
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)),
            f"floor = people / {TENANT_PER_SECOND} per second (one tenant); target: within 10% "
            "of it, 0 duplicates, 0 lost",
        ]
    )


async def main(people: int) -> Run:
    with tempfile.TemporaryDirectory(prefix="teams-fanout-") as workdir:
        run = await fan_out(organisation(people), workdir=Path(workdir))
    print(table(run))
    return run


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.people))
