"""Several schedulers ticking the same minute send every prompt exactly once.

First two `Drumbeat`s with engines of their own in one event loop, then two real `drumbeat
rhythm tick` processes started at the same moment, on each backend's database.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.routing import ChatRouter
from rhythm.cadences import Rhythm, RhythmKind
from rhythm.due import due_prompts
from rhythm.okr import (
    Cycle,
    KeyResult,
    Membership,
    Metric,
    Objective,
    Organisation,
    Person,
    Role,
    Team,
)
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore, open_store

PEOPLE = 300
ZONES = ("Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")
# Monday 2026-11-23, 23:59 UTC: Monday 09:00 has passed in every zone but Sydney's (already
# Tuesday there, so also due). The due set is computed, not assumed.
AT = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)


def crowd() -> Organisation:
    """PEOPLE owners in five timezones, one weekly rhythm."""
    people, krs = [], []
    for i in range(PEOPLE):
        email = f"owner{i:03d}@crowd.example"
        role = Role.LEAD if i == 0 else Role.MEMBER
        zone = ZONES[i % len(ZONES)]
        people.append(Person(email, f"Owner {i}", zone, memberships=(Membership("crowd", role),)))
        krs.append(KeyResult(f"kr{i}", "o1", f"Metric {i}", email, Metric(0, 100, 10)))
    return Organisation(
        key="crowd",
        name="Crowd",
        teams=(Team("crowd", "Crowd", timezone="UTC"),),
        people=tuple(people),
        cycles=(Cycle("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),),
        objectives=(Objective("o1", "Grow", "2026-Q4", owner_team="crowd"),),
        key_results=tuple(krs),
        rhythms=(Rhythm("crowd-weekly", "crowd", RhythmKind.WEEKLY, time(9, 0)),),
    )


def expected_people() -> set[str]:
    return {p.person for p in due_prompts(crowd(), AT) if p.deadline > AT}


def replica(store: SqlStore, worker: str) -> tuple[Drumbeat, ConsoleGateway]:
    chat = ConsoleGateway(console=Console(file=io.StringIO()), show_direct=lambda _: False)
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    drumbeat = Drumbeat(store=store, chat=router, clock=FixedClock(AT), worker=worker, batch=25)
    return drumbeat, chat


async def test_two_schedulers_in_one_minute_send_each_prompt_once(database_url: str):
    async with open_store(database_url) as setup:
        await setup.save_organisation(crowd())
    async with open_store(database_url) as a_store, open_store(database_url) as b_store:
        a, a_chat = replica(a_store, "replica-a")
        b, b_chat = replica(b_store, "replica-b")
        reports = await asyncio.gather(a.tick(AT), b.tick(AT), a.tick(AT), b.tick(AT))
        sent = Counter(s.to for s in a_chat.outbox + b_chat.outbox)
        expected = expected_people()
        assert len(expected) > PEOPLE // 2
        assert set(sent) == expected
        assert max(sent.values()) == 1
        assert sum(r.sent for r in reports) == len(expected)
        assert a_chat.outbox
        assert b_chat.outbox


@pytest.mark.slow
async def test_two_tick_processes_started_together_send_each_prompt_once(
    database_url: str, tmp_path: Path
):
    async with open_store(database_url) as setup:
        await setup.save_organisation(crowd())
    drumbeat = Path(sys.executable).with_name("drumbeat")
    env = {**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200", "LOG_LEVEL": "WARNING"}
    command = [str(drumbeat), "rhythm", "tick", "--at", AT.isoformat()]
    # Output goes to files: a full pipe would stall a process while it holds a database lock.
    logs = [(tmp_path / f"out{i}.txt", tmp_path / f"err{i}.txt") for i in range(2)]
    procs = []
    for out_path, err_path in logs:
        with out_path.open("w") as out, err_path.open("w") as err:
            procs.append(
                await asyncio.create_subprocess_exec(
                    *command, env=env, cwd=tmp_path, stdout=out, stderr=err
                )
            )
    await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs)), timeout=120)
    outputs = [(o.read_text(), e.read_text()) for o, e in logs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # Each process prints every direct message it sends ("✉ to <name>") to stderr.
    names = Counter(
        line.split("✉ to ", 1)[1].split(" (")[0]
        for _, err in outputs
        for line in err.splitlines()
        if "✉ to " in line
    )
    async with open_store(database_url) as check:
        failed = await check.failed_prompts("crowd")
    assert failed == []
    assert max(names.values()) == 1
    assert len(names) == len(expected_people())
    created = sum(int(out.split("created ")[1].split()[0]) for out, _ in outputs)
    assert created == len(names)  # what one process created, the other never created again
