"""A fan-out of Slack prompts through every fault the local Slack API can play: a real
`Drumbeat` with its `SlackGateway` and `SlackWebApi` against `FakeSlack`, over HTTP, on a real
database.

Each case prompts 20 owners (a third of them without a Slack id in the OKR file, found by email
through users.list) and ticks until nobody is left unsent, one tick per 60 s of the core's
`FixedClock`. Then: everyone has exactly one prompt DM at the fake, which records whether each
faulted call's effect happened; nothing failed for good; nobody was prompted later than the
tick after the retry interval (RETRY_BACKOFF, 30 s, is shorter than a tick: the next tick);
no send task outlived its tick; nothing expected logged a traceback.

Real time is spent only where a fault costs it: the HTTP client gives up after 1 s (longer than
a pause of a loaded machine) and backs off for 10 ms. The fake's own clock (its 429 storms)
follows the core's, so a storm that outlasts the client's retries is over by the next tick, as
it would be a minute later.

Read methods: the fan-out calls users.list (people without a Slack id), users.lookupByEmail
(someone who joined Slack after the list was read), and conversations.open and
conversations.history (looking for a prompt whose send is in doubt before sending it again).
users.info is only called for inbound requests, never by a fan-out (asserted below).

Backends: the chat.postMessage cases and the exception case run on SQLite and PostgreSQL; the
read-method cases (many more, the same store calls) on SQLite only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.routing import ChatRouter
from bot.slack.gateway import SlackGateway
from bot.slack.identity import SlackDirectory, SlackRecipients
from bot.slack.webapi import SlackWebApi
from bot.slack.workspaces import SingleWorkspace
from rhythm.cadences import Rhythm, RhythmKind
from rhythm.messages import Message
from rhythm.okr import Cycle, KeyResult, Membership, Metric, Objective, Organisation, Person, Team
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from rhythm.ticking import RETRY_BACKOFF, TickReport
from storage.store import SqlStore, open_store
from storage.tables import prompt_t
from tests.bot.slack.world import fast_limits
from tests.databases import Backend
from tests.peers.slack_api import FakeSlack, FakeTeam, FakeUser, Fault

# A Monday, 10:01 in Paris: the weekly check-in is due for everyone. It lies in the real
# clock's past because the fake stamps messages with the real time, and a send in doubt is
# looked up in the DM's history from the core's time of the send on.
START = datetime(2025, 11, 24, 9, 1, tzinfo=UTC)
TICK = timedelta(seconds=60)  # the scheduler's interval
MAX_TICKS = 6
OWNERS = 20
LATE_JOINERS = 4  # owners without a Slack id who joined Slack after the list was read
TEAM = FakeTeam("T0FAN", "Fan Corp", "xoxb-fan-out-token")
POST = "chat.postMessage"
TIMEOUT = 1.0
BACKOFF = 0.01
# The client retries an idempotent call once and waits out two 429s (its defaults: 3 and 5):
# a fault that outlasts its retries costs less real time, through the same code paths.
RETRIES = 1
RATE_LIMIT_RETRIES = 2
# The posts that go wrong in the chat.postMessage cases: three different people.
FAULTED_POSTS = frozenset({2, 7, 13})
# In the lookup cases, posts whose outcome is in doubt: two posted, one not.
POSTED_UNANSWERED = frozenset({2, 9})
NOT_POSTED_UNANSWERED = frozenset({5})

assert RETRY_BACKOFF <= TICK  # "by the next tick" below rests on it

# A 429 that the client waits out, and a storm that outlasts its retries (45 s of the fake's
# clock, which follows the core's: over by the next tick). Fractional Retry-After keeps the
# real waiting short (the fake sends whole seconds unless told otherwise).
QUICK_429 = Fault.rate_limited(retry_after=0.01)
LONG_STORM = Fault.storm(seconds=45, retry_after=0.01)
FAULTS = {
    "405_text_plain": Fault.TEXT_405,
    "html_200": Fault.HTML_200,
    "html_502": Fault.HTML_502,
    "html_502_after": Fault.HTML_502.after_effect(),
    "html_503": Fault.HTML_503,
    "empty_200": Fault.EMPTY_200,
    "json_array_200": Fault.JSON_ARRAY_200,
    "internal_error": Fault.INTERNAL_ERROR,
    "internal_error_after": Fault.INTERNAL_ERROR_AFTER,
    "hang_before": Fault.HANG_BEFORE,
    "hang_after": Fault.HANG_AFTER,
    "reset_before": Fault.RESET_BEFORE,
    "reset_after": Fault.RESET_AFTER,
    "429": QUICK_429,
    "429_storm": LONG_STORM,
}
EVERY_FAULT = pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
# On a read, what its answer was after the effect makes no difference: the fake's own kinds.
READ_FAULTS = {name: fault for name, fault in FAULTS.items() if name != "html_502_after"}
EVERY_READ_FAULT = pytest.mark.parametrize(
    "fault", list(READ_FAULTS.values()), ids=list(READ_FAULTS)
)

PRODUCT_PACKAGES = ("rhythm", "bot", "storage")  # their loggers are named after them too
ROOT = Path(__file__).resolve().parents[3]
# The read-method cases send 4 at a time rather than 16: the same code paths, but 16 writers
# queueing for SQLite's write lock spend most of a tick in its busy handler's sleeps (4x slower).
READ_CASES_CONCURRENCY = 4


# ---- the organisation -----------------------------------------------------------------------


def slack_id(org: str, n: int) -> str:
    return f"U0{org[:3].upper()}{n:03d}"


def owner(org: str, n: int, *, in_file: bool) -> Person:
    return Person(
        f"owner{n:02d}@{org}.example",
        f"Owner {n}",
        "Europe/Paris",
        memberships=(Membership("company"),),
        slack_user_id=slack_id(org, n) if in_file else None,
    )


def owners_org(key: str, count: int) -> Organisation:
    """`count` owners of one key result each and one weekly check-in on Monday at 10:00; every
    third owner has no Slack id in the OKR file."""
    people = tuple(owner(key, n, in_file=n % 3 != 0) for n in range(count))
    return Organisation(
        key=key,
        name=key.title(),
        teams=(Team("company", key.title(), None, "Europe/Paris"),),
        people=people,
        cycles=(Cycle("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)),),
        objectives=(Objective("o-company", "Grow", "2025-Q4", owner_team="company"),),
        key_results=tuple(
            KeyResult(f"kr-{n:02d}", "o-company", f"Key result {n}", p.email, Metric(0, 100, 40))
            for n, p in enumerate(people)
        ),
        rhythms=(Rhythm("weekly", "company", RhythmKind.WEEKLY, clock_time(10, 0)),),
    )


def slack_user(org: Organisation, person: Person) -> FakeUser:
    """The Slack account of `person`, whether or not the OKR file knows its id."""
    n = org.people.index(person)
    return FakeUser(slack_id(org.key, n), person.email, team=TEAM.id, tz=person.timezone)


# ---- the fan-out ----------------------------------------------------------------------------


def following(clock: FixedClock) -> Callable[[], float]:
    """A clock for the fake that moves with the core's clock (and with real time in between)."""
    started = time.monotonic()
    return lambda: clock.now().timestamp() + time.monotonic() - started


def product_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running the product's code (a send that outlived its batch, a renewal
    never stopped): whatever the tick started must be over when it returns."""
    current = asyncio.current_task()
    return [
        task for task in asyncio.all_tasks() if task is not current and _runs_product_code(task)
    ]


def _runs_product_code(task: asyncio.Task[Any]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    path = Path(code.co_filename) if code is not None else None
    return (
        path is not None
        and path.is_relative_to(ROOT)
        and path.parts[len(ROOT.parts)] in PRODUCT_PACKAGES
    )


@dataclass
class FanOut:
    orgs: list[Organisation]
    store: SqlStore
    fake: FakeSlack
    gateway: SlackGateway
    drumbeat: Drumbeat
    clock: FixedClock
    ticks: int = 0
    reports: list[TickReport] = field(default_factory=list)
    first_dm: dict[str, int] = field(default_factory=dict)  # Slack user id -> tick

    @property
    def users(self) -> list[FakeUser]:
        return [slack_user(org, person) for org in self.orgs for person in org.people]

    async def tick(self) -> TickReport:
        self.clock.set(START + self.ticks * TICK)
        report = await self.drumbeat.tick()
        await self.gateway.drain()
        assert product_tasks() == [], "a task outlived its tick"
        for user in self.users:
            if self.fake.dms_to(user.id):
                self.first_dm.setdefault(user.id, self.ticks)
        self.ticks += 1
        self.reports.append(report)
        return report

    async def tick_until_everyone_is_prompted(self) -> None:
        while self.ticks < MAX_TICKS:
            await self.tick()
            if not await self.unsent():
                return
        raise AssertionError(f"still unsent after {MAX_TICKS} ticks: {await self.unsent()}")

    async def prompts(self) -> list[Any]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(prompt_t.c.person, prompt_t.c.sent_at, prompt_t.c.failed_at)
            )
            return list(rows)

    async def unsent(self) -> list[str]:
        return [r.person for r in await self.prompts() if r.sent_at is None and not r.failed_at]

    def dm_counts(self) -> dict[str, int]:
        return {user.id: len(self.fake.dms_to(user.id)) for user in self.users}


def slack_stack(fake: FakeSlack, store: SqlStore) -> SlackGateway:
    """The gateway `slack_gateway` builds, with a short client timeout and backoff."""
    api = SlackWebApi(
        limits=fast_limits(), base_url=fake.url, retries=RETRIES,
        rate_limit_retries=RATE_LIMIT_RETRIES, backoff=BACKOFF, timeout=TIMEOUT,
    )  # fmt: skip
    return SlackGateway(
        api=api,
        workspaces=SingleWorkspace(token=TEAM.bot_token),
        recipients=SlackRecipients(directory=SlackDirectory(api=api), people=store),
    )


@asynccontextmanager
async def fan_out(
    store: SqlStore,
    orgs: Sequence[Organisation],
    *,
    late_joiners: Iterable[Person] = (),
    concurrency: int = 16,
) -> AsyncIterator[FanOut]:
    """Everyone of `orgs` due at START, sent `concurrency` at a time (the product's default);
    `late_joiners` get their Slack account only once the workspace's user list has been read
    (so they are looked up by email)."""
    clock = FixedClock(START)
    late = set(late_joiners)
    users = [slack_user(o, p) for o in orgs for p in o.people if p not in late]
    fake = FakeSlack(teams=[TEAM], users=users, whole_seconds=False, clock=following(clock))
    for org in orgs:
        await store.save_organisation(org)
    async with fake:
        gateway = slack_stack(fake, store)
        router = ChatRouter(gateways={"slack": gateway}, fallback="slack")
        drumbeat = Drumbeat(
            store=store, chat=router, clock=clock, worker="fan-out", concurrency=concurrency
        )
        if late:
            await read_the_user_list(gateway, orgs[0])
            for person in late:
                fake.add_user(slack_user(orgs[0], person))
        try:
            yield FanOut(list(orgs), store, fake, gateway, drumbeat, clock)
        finally:
            await gateway.aclose()


async def read_the_user_list(gateway: SlackGateway, org: Organisation) -> None:
    workspace = await gateway.workspaces.for_org(org.key)
    known = next(p for p in org.people if p.slack_user_id)
    await gateway.recipients.directory.by_email(workspace, known.email)


@pytest.fixture
async def sqlite_store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStore]:
    """A fresh migrated SQLite database, for the cases that need no second backend."""
    url = await Backend("sqlite", sqlite_template=sqlite_template).new_database(tmp_path)
    async with open_store(url) as opened:
        yield opened


@pytest.fixture
def org() -> Organisation:
    return owners_org("fan", OWNERS)


@pytest.fixture(autouse=True)
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the product logged with a traceback."""
    return [
        record
        for record in caplog.records
        if record.exc_info and record.name.startswith(PRODUCT_PACKAGES)
    ]


# ---- what every case checks ------------------------------------------------------------------


async def assert_everyone_prompted_once(
    world: FanOut, caplog: pytest.LogCaptureFixture, *, last_fault_tick: int = 0
) -> None:
    """Exactly one DM each (and no post the fake carried out beyond those), none failed, each
    by the tick after the last fault, and no traceback."""
    counts = world.dm_counts()
    assert {user: n for user, n in counts.items() if n != 1} == {}
    carried_out = [c for c in world.fake.calls_to(POST) if c.effect]
    assert len(carried_out) == len(counts)
    prompts = await world.prompts()
    assert [r.person for r in prompts if r.failed_at is not None] == []
    deadline = START + (last_fault_tick + 1) * TICK
    assert [r.person for r in prompts if r.sent_at > deadline] == []
    assert {u: t for u, t in world.first_dm.items() if t > last_fault_tick + 1} == {}
    assert world.fake.calls_to("users.info") == []  # a fan-out never needs it
    assert tracebacks(caplog) == []


def tries(fault: Fault) -> int:
    """How many times SlackWebApi tries an idempotent call that keeps meeting `fault`."""
    return 1 + (RATE_LIMIT_RETRIES if fault.kind == "rate_limited" else RETRIES)


def fail_calls_for_good(fake: FakeSlack, method: str, fault: Fault, *, calls: int) -> None:
    """The next `calls` calls of an idempotent `method` fail whatever the client's retries:
    every attempt they make meets `fault` (a storm: every attempt while it lasts)."""
    if fault.kind == "storm":
        fake.faults.add(method=method, fault=fault, times=1)
    else:
        fake.faults.add(method=method, fault=fault, times=tries(fault) * calls)


# ---- chat.postMessage -----------------------------------------------------------------------


@EVERY_FAULT
async def test_a_fan_out_through_faulted_posts_prompts_everyone_once_and_in_time(
    store: SqlStore, org: Organisation, logs: pytest.LogCaptureFixture, fault: Fault
) -> None:
    async with fan_out(store, [org]) as world:
        if fault.kind == "storm":
            world.fake.faults.add(method=POST, nth=min(FAULTED_POSTS), fault=fault)
        else:
            world.fake.faults.add(method=POST, calls=FAULTED_POSTS, fault=fault)

        await world.tick_until_everyone_is_prompted()

        assert world.fake.faulted(POST)
        await assert_everyone_prompted_once(world, logs)


async def test_a_permanent_refusal_fails_that_prompt_for_good_and_the_rest_go_on(
    sqlite_store: SqlStore, org: Organisation, logs: pytest.LogCaptureFixture
) -> None:
    async with fan_out(sqlite_store, [org]) as world:
        world.fake.faults.add(method=POST, nth=4, fault=Fault.slack_error("account_inactive"))

        await world.tick_until_everyone_is_prompted()

        [refused] = world.fake.faulted(POST)
        gone = refused.params["channel"]
        assert {u: n for u, n in world.dm_counts().items() if n != 1} == {gone: 0}
        failed = [r.person for r in await world.prompts() if r.failed_at is not None]
        assert [slack_user(org, org.person[p]).id for p in failed] == [gone]
        assert sum(r.failed for r in world.reports) == 1
        assert world.first_dm.keys() == {u.id for u in world.users} - {gone}
        assert max(world.first_dm.values()) == 0
        assert tracebacks(logs) == []


# ---- the read methods -----------------------------------------------------------------------


@EVERY_READ_FAULT
async def test_a_user_list_that_fails_delays_only_the_people_it_would_find(
    sqlite_store: SqlStore, org: Organisation, logs: pytest.LogCaptureFixture, fault: Fault
) -> None:
    async with fan_out(sqlite_store, [org], concurrency=READ_CASES_CONCURRENCY) as world:
        # The first reading of the list fails for good; the people waiting for it read again.
        fail_calls_for_good(world.fake, "users.list", fault, calls=1)

        await world.tick_until_everyone_is_prompted()

        assert world.fake.faulted("users.list")
        late = {u for u, t in world.first_dm.items() if t > 0}
        assert late <= {slack_user(org, p).id for p in org.people if not p.slack_user_id}
        await assert_everyone_prompted_once(world, logs)


@EVERY_READ_FAULT
async def test_people_looked_up_by_email_through_faults_are_prompted_once(
    sqlite_store: SqlStore, org: Organisation, logs: pytest.LogCaptureFixture, fault: Fault
) -> None:
    joiners = [p for p in org.people if not p.slack_user_id][:LATE_JOINERS]
    async with fan_out(
        sqlite_store, [org], late_joiners=joiners, concurrency=READ_CASES_CONCURRENCY
    ) as world:
        fail_calls_for_good(world.fake, "users.lookupByEmail", fault, calls=len(joiners))

        await world.tick_until_everyone_is_prompted()

        looked_up = world.fake.calls_to("users.lookupByEmail")
        assert {c.params["email"] for c in looked_up} == {p.email for p in joiners}
        assert any(c.fault for c in looked_up)
        await assert_everyone_prompted_once(world, logs)


LOOKUP_CASES = [
    pytest.param(method, fault, id=f"{method}-{name}")
    for method in ("conversations.open", "conversations.history")
    for name, fault in READ_FAULTS.items()
]


@pytest.mark.parametrize(("method", "fault"), LOOKUP_CASES)
async def test_a_send_in_doubt_is_looked_up_through_faults_and_never_repeated(
    sqlite_store: SqlStore,
    org: Organisation,
    logs: pytest.LogCaptureFixture,
    method: str,
    fault: Fault,
) -> None:
    """A lookup that fails, whatever SlackWebApi makes of it, leaves the send in doubt: it is
    looked up again, never sent blind (which once sent the posted ones twice). The sends in
    doubt are looked up in the tick they failed in, a moment later: those lookups all fail,
    and the next tick's succeed."""
    async with fan_out(sqlite_store, [org], concurrency=READ_CASES_CONCURRENCY) as world:
        world.fake.faults.add(method=POST, calls=POSTED_UNANSWERED, fault=Fault.RESET_AFTER)
        world.fake.faults.add(method=POST, calls=NOT_POSTED_UNANSWERED, fault=Fault.RESET_BEFORE)
        in_doubt = len(POSTED_UNANSWERED | NOT_POSTED_UNANSWERED)
        fail_calls_for_good(world.fake, method, fault, calls=in_doubt)

        first = await world.tick()
        assert first.retried == in_doubt  # looked up at once, and the lookups failed
        assert len(world.fake.calls_to(method, ok=False)) >= in_doubt
        await world.tick_until_everyone_is_prompted()

        await assert_everyone_prompted_once(world, logs, last_fault_tick=1)


# ---- a bug in one delivery ------------------------------------------------------------------


@pytest.mark.parametrize("left", [False, True], ids=["before_the_send_left", "after_it_left"])
async def test_an_unexpected_exception_stays_with_its_person(
    store: SqlStore,
    org: Organisation,
    logs: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    left: bool,
) -> None:
    """Not a DeliveryError, once: the others (and the other organisation) are prompted in the
    same tick and the traceback is logged once. Raised before the DM left, that person is
    prompted on the next tick; after, the next tick finds the DM and does not send it again."""
    other = owners_org("beta", 6)
    victim = org.people[5]
    async with fan_out(store, [org, other]) as world:
        send = world.gateway.send_direct
        raised: list[str] = []

        async def send_with_a_bug(
            org_key: str, person: Person, message: Message, **options: Any
        ) -> str:
            if person != victim or raised:
                return await send(org_key, person, message, **options)
            raised.append(person.email)
            if left:
                await send(org_key, person, message, **options)
            raise AttributeError("'NoneType' object has no attribute 'ts'")

        monkeypatch.setattr(world.gateway, "send_direct", send_with_a_bug)

        first = await world.tick()
        await world.tick_until_everyone_is_prompted()

        everyone = {u.id for u in world.users}
        victim_id = slack_user(org, victim).id
        assert (first.sent, first.retried) == (len(everyone) - 1, 1)
        prompted_at_once = everyone if left else everyone - {victim_id}
        assert {u for u, t in world.first_dm.items() if t == 0} == prompted_at_once
        assert world.first_dm[victim_id] == (0 if left else 1)
        assert set(world.dm_counts().values()) == {1}
        assert (await world.unsent()) == []
        # Only a DM that may have left is looked for before it is sent again.
        assert len(world.fake.calls_to("conversations.history")) == (1 if left else 0)
        [logged] = tracebacks(logs)
        assert logged.exc_info is not None
        assert logged.exc_info[0] is AttributeError
        assert victim.email in logged.getMessage()
