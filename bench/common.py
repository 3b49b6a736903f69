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
from pathlib import Path

from bench import load, org
from rhythm.messages import Message
from rhythm.okr import Person

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"

# Everything the cached database depends on: a change to any of these regenerates it.
SOURCES = [
    ROOT / "bench" / "org.py",
    ROOT / "bench" / "load.py",
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
    """A chat gateway that delivers instantly and says nothing."""

    def __init__(self) -> None:
        self.sent = 0

    async def send_direct(self, org: str, person: Person, message: Message) -> str:
        self.sent += 1
        return f"m{self.sent}"

    async def update_direct(self, org: str, person: Person, ref: str, message: Message) -> None:
        return None

    async def post_channel(
        self, org: str, channel: str, message: Message, *, thread: str | None = None
    ) -> str:
        self.sent += 1
        return f"c{self.sent}"


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
