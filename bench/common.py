"""What the benchmarks share: timing, results, the cached SQLite database, a PostgreSQL
cluster and a chat gateway that does nothing."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update

from bench import load, org
from rhythm.due import due_digests, due_prompts
from rhythm.messages import Message
from rhythm.okr import Organisation, Person
from rhythm.ports import Leaving
from storage.store import SqlStore
from storage.tables import digest_t, prompt_t

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"

# Everything the cached database depends on: a change to any of these regenerates it (the
# generator, the product code it schedules and stores with, the schema).
SOURCES = [
    ROOT / "bench" / "org.py",
    ROOT / "bench" / "load.py",
    ROOT / "rhythm" / "okr.py",
    ROOT / "rhythm" / "cadences.py",
    ROOT / "rhythm" / "due.py",
    ROOT / "storage" / "organisations.py",
    ROOT / "storage" / "tables.py",
    ROOT / "storage" / "streaks.py",
    *sorted((ROOT / "storage" / "migrations" / "versions").glob("*.py")),
]


@dataclass
class Result:
    """One measured number: the median of `samples` (seconds or bytes)."""

    backend: str
    name: str
    samples: list[float]
    target: float | None = None  # None: for information
    unit: str = "ms"
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def value(self) -> float:
        return statistics.median(self.samples)

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "PASS" if self.value < self.target else "FAIL"

    def show(self, value: float | None = None) -> str:
        v = self.value if value is None else value
        if self.unit == "ms":
            return f"{v * 1000:,.1f} ms"
        if self.unit == "MB":
            return f"{v / 2**20:,.0f} MB"
        if self.unit == "s":
            return f"{v:,.1f} s"
        return f"{v:,.0f}"


async def measure(
    work: Callable[[], Awaitable[object]], *, runs: int, warmup: int = 1
) -> list[float]:
    """Wall-clock seconds of `runs` calls of `work` after `warmup` untimed ones."""
    for _ in range(warmup):
        await work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


class NullGateway:
    """A chat gateway (`rhythm.ports.ChatGateway`) that delivers instantly and says nothing.
    A direct message "leaves" at once: `leaving` is awaited first, as a real gateway does
    once its rate limits let the message go (the tick records the attempt there)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send_direct(
        self,
        org: str,
        person: Person,
        message: Message,
        *,
        tag: str | None = None,
        leaving: Leaving | None = None,
    ) -> str:
        if leaving is not None:
            await leaving()
        self.sent += 1
        return f"m{self.sent}"

    async def find_direct(
        self, org: str, person: Person, tag: str, *, since: datetime
    ) -> str | None:
        return None  # nothing was ever in doubt here

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        return None

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        self.sent += 1
        return f"c{self.sent}"


@dataclass(frozen=True, slots=True)
class CaughtUp:
    prompts: int  # the current periods' prompts written now
    sent: int  # prompts marked sent
    digests: int  # digests written (and marked posted) now
    canary: int | None  # the prompt left unsent, if asked for


async def catch_up(
    store: SqlStore, org: Organisation, now: datetime, *, canary: bool = False
) -> CaughtUp:
    """The database as a server that had been ticking all along would have it at `now`, so
    that a tick at `now` has nothing left over to do: the current periods' prompts written as
    the tick writes them (`rhythm.ticking.Ticker._write_prompts`: one past its deadline only
    for a rhythm that prompted before) and the due digests as it writes them, then every
    prompt due and not sent marked sent and every digest due marked posted, at `now` (so no
    reminder is due for hours). Cheaper than ticking: sending thousands of prompts one by one
    is what the tick benchmark measures, not what it needs as its starting point.

    With `canary`, the first of the prompts left to send stays unsent: the next tick sends it,
    which shows from outside that the tick ran."""
    key = org.key
    due = list(due_prompts(org, now))
    late = {p.rhythm for p in due if p.deadline <= now}
    running = await store.rhythms_prompted(key, sorted(late)) if late else set()
    written = await store.add_prompts(
        key, [p for p in due if p.deadline > now or p.rhythm in running]
    )
    digests = list(due_digests(org, now))
    asked = await store.prompted_periods(key, [(d.rhythm, d.period) for d in digests])
    added = await store.add_digests(key, [d for d in digests if (d.rhythm, d.period) in asked])
    p, d = prompt_t.c, digest_t.c
    unsent = (
        p.org == key,
        p.sent_at.is_(None),
        p.failed_at.is_(None),
        p.answered_at.is_(None),
        p.scheduled_for <= now,
    )
    async with store.engine.begin() as conn:
        first = None
        if canary:
            first = (
                await conn.execute(
                    select(p.id).where(*unsent).order_by(p.is_lead.desc(), p.scheduled_for, p.id)
                )
            ).scalar()
        sending = (*unsent, p.id != first) if first is not None else unsent
        sent = await conn.execute(
            update(prompt_t)
            .where(*sending)
            .values(
                sent_at=now, attempted_at=now, attempts=p.attempts + 1, message_ref="caught-up",
                claimed_by=None, claimed_until=None,
            )
        )  # fmt: skip
        await conn.execute(
            update(digest_t)
            .where(
                d.org == key, d.posted_at.is_(None), d.failed_at.is_(None), d.scheduled_for <= now
            )
            .values(posted_at=now, claimed_by=None, claimed_until=None)
        )
    return CaughtUp(written, int(sent.rowcount), added, first)


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in SOURCES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Prepared:
    location: str  # the SQLite file, or the PostgreSQL database's URL
    generated: bool
    seconds: float
    counts: load.Counts | None = None


async def sqlite_database(plan: org.Plan) -> Prepared:
    """The benchmark organisation in a SQLite file under bench/.data, generated when missing
    or when the generator or schema changed."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"bench-{fingerprint()}.sqlite"
    if path.exists():
        return Prepared(str(path), False, 0.0)
    for stale in DATA.glob("bench-*.sqlite*"):
        stale.unlink()
    building = path.with_suffix(".building")
    for leftover in DATA.glob("*.building*"):
        leftover.unlink()
    started = time.perf_counter()
    counts = await load.load(f"sqlite:///{building}", plan)
    _finish(building, path)
    return Prepared(str(path), True, time.perf_counter() - started, counts)


def sqlite_copy(source: Path, name: str) -> Path:
    """A scratch copy of the cached database for benchmarks that write (ticks, the server)."""
    target = DATA / f"scratch-{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


@dataclass(frozen=True, slots=True)
class Cluster:
    admin_url: str  # the cluster's postgres database
    bin_dir: Path


@asynccontextmanager
async def postgres_cluster() -> AsyncIterator[Cluster]:
    """A throwaway PostgreSQL cluster (tests.pg's)."""
    from tests.pg import _Cluster, _newest_bin_dir

    bin_dir = _newest_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries: run scripts/ensure-postgres.sh")
    cluster = _Cluster(bin_dir=bin_dir)
    try:
        admin = await asyncio.to_thread(cluster.start)
        yield Cluster(admin, bin_dir)
    finally:
        await asyncio.to_thread(cluster.stop)


async def postgres_database(plan: org.Plan, cluster: Cluster, name: str = "bench") -> Prepared:
    """The benchmark organisation in a new database of `cluster`: restored from the dump under
    bench/.data when there is one for this generator, schema and server version, else loaded
    with COPY and then dumped for next time."""
    import asyncpg
    from sqlalchemy.engine import make_url

    admin = make_url(cluster.admin_url)
    url = admin.set(database=name).render_as_string(hide_password=False)
    conn = await asyncpg.connect(cluster.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dump = DATA / f"bench-{fingerprint()}-pg{cluster.bin_dir.parent.name}.dump"
    client = ["-h", str(admin.host), "-p", str(admin.port), "-U", str(admin.username)]
    started = time.perf_counter()
    if dump.exists():
        restore = [str(cluster.bin_dir / "pg_restore"), *client, "-d", name, "-j", "2", str(dump)]
        await asyncio.to_thread(subprocess.run, restore, check=True, capture_output=True)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
        return Prepared(url, False, time.perf_counter() - started)
    counts = await load.load(url, plan)
    seconds = time.perf_counter() - started
    DATA.mkdir(parents=True, exist_ok=True)  # a fresh clone has none
    for stale in DATA.glob("bench-*.dump"):
        stale.unlink()
    save = [str(cluster.bin_dir / "pg_dump"), *client, "-Fc", "-Z1", "-f", f"{dump}.part", name]
    await asyncio.to_thread(subprocess.run, save, check=True, capture_output=True)
    await asyncio.to_thread(Path(f"{dump}.part").rename, dump)
    return Prepared(url, True, seconds, counts)


def _finish(building: Path, path: Path) -> None:
    for suffix in ("-wal", "-shm"):  # the loader closed every connection: WAL is checkpointed
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    building.rename(path)
