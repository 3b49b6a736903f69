"""Every benchmark on SQLite and on a throwaway PostgreSQL cluster; prints a table of results
with targets and writes bench/results.md.

    make bench          (or: .venv/bin/python -m bench.run_all)

The SQLite database is generated once into bench/.data/ (about a minute) and reused while the
generator, the code it schedules and stores with and the schema stay the same
(`bench.common.SOURCES`); PostgreSQL is loaded the same way into a new cluster and dumped to
bench/.data/ on the first run (COPY, a minute or two), then restored from the dump. Timings are
medians after a warm-up; the load average is recorded with them (the machine may be shared).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import digest, memory, tick
from bench.common import (
    ROOT,
    Result,
    postgres_cluster,
    postgres_database,
    sqlite_copy,
    sqlite_database,
)
from bench.org import build

RESULTS = ROOT / "bench" / "results.md"
COMMAND = "make bench   # or: .venv/bin/python -m bench.run_all"


def _target(result: Result) -> str:
    return "" if result.target is None else f"< {result.show(result.target)}"


def table(results: list[Result]) -> list[str]:
    rows = [("backend", "measurement", "median", "target", "", "notes")]
    rows += [
        (r.backend, r.name, r.show(), _target(r), r.verdict, r.note)
        for r in results
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i != 2 else row[i].rjust(widths[i]) for i in range(5)]
        lines.append("  ".join([*cells, row[5]]))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  -----")
    return lines


def markdown(results: list[Result], facts: list[str]) -> str:
    out = [
        "# Drumbeat benchmarks",
        "",
        f"Reproduce with `{COMMAND}`. Written by `bench/run_all.py`; numbers are medians after a "
        "warm-up, on the machine described below.",
        "",
        *(f"- {fact}" for fact in facts),
        "",
        "| backend | measurement | median | target | result | notes |",
        "|---|---|---:|---|---|---|",
    ]
    out += [
        f"| {r.backend} | {r.name} | {r.show()} | {_target(r)} | {r.verdict} | {r.note} |"
        for r in results
    ]
    return "\n".join(out) + "\n"


def _machine() -> str:
    cpus = os.cpu_count()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = int(meminfo.read_text().split()[1]) * 1024
        memory = f", {total / 2**30:.0f} GiB"
    return (f"{platform.machine()}, {cpus} CPUs{memory}; Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}")  # fmt: skip


def _postgres_version() -> str:
    from tests.pg import _newest_bin_dir

    bin_dir = _newest_bin_dir()
    if bin_dir is None:
        return "no PostgreSQL"
    done = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def calibration() -> float:
    """Seconds for a fixed pure-Python loop (median of five): this machine's speed right now.
    Shared virtual machines vary by a factor of two from minute to minute; compare runs by
    this too."""
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        samples.append(time.perf_counter() - started)
    return sorted(samples)[2]


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def _history(database: str) -> str:
    """How much history the SQLite database holds."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        prompts, checkins, updates = (
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("prompt", "checkin", "kr_update")
        )
    finally:
        conn.close()
    return f"{prompts:,} prompts, {checkins:,} check-ins, {updates:,} key-result updates"


def _say(started: float, what: str) -> None:
    print(f"[{time.perf_counter() - started:5.0f} s] {what}", flush=True)


async def main() -> int:
    started = time.perf_counter()
    results: list[Result] = []
    speed = [calibration()]
    loads = [_load()]
    facts = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {_machine()}; {_postgres_version()}"]

    plan = build()
    org = plan.org
    facts.append(
        f"Organisation: {len(org.people):,} people in "
        f"{len({p.timezone for p in org.people})} timezones, {len(org.teams):,} teams, "
        f"{len(org.objectives):,} objectives, {len(org.key_results):,} key results, "
        f"{len(org.rhythms)} rhythms (bench/org.py)"
    )
    _say(started, "due_prompts (pure) ...")
    results += tick.pure(org)

    _say(started, "SQLite: preparing the database ...")
    prepared = await sqlite_database(plan)
    if prepared.generated and prepared.counts is not None:
        c = prepared.counts
        facts.append(
            f"History: {c.prompts:,} prompts, {c.checkins:,} check-ins, {c.updates:,} key-result "
            f"updates (bench/load.py); SQLite generated in {prepared.seconds:.0f} s "
            f"({', '.join(f'{k} {v:.0f} s' for k, v in c.seconds.items())})"
        )
    else:
        facts.append(
            f"History: {_history(prepared.location)} (bench/load.py); SQLite database reused "
            f"from {Path(prepared.location).relative_to(ROOT)}"
        )
    url = f"sqlite:///{prepared.location}"
    _say(started, "SQLite: digests ...")
    results += await digest.run(url, "SQLite")
    scratch = sqlite_copy(Path(prepared.location), "tick")
    scratch_url = f"sqlite:///{scratch}"
    _say(started, "SQLite: ticks ...")
    results += await tick.full(scratch_url, "SQLite")
    _say(started, "SQLite: drumbeat serve ...")
    results += await memory.run(scratch_url, "SQLite")
    _remove(scratch)

    _say(started, "PostgreSQL: starting a cluster and loading ...")
    async with postgres_cluster() as cluster:
        prepared = await postgres_database(plan, cluster)
        url = prepared.location
        if prepared.generated and prepared.counts is not None:
            seconds = ", ".join(f"{k} {v:.0f} s" for k, v in prepared.counts.seconds.items())
            facts.append(
                f"PostgreSQL loaded with COPY in {prepared.seconds:.0f} s ({seconds}) and "
                "dumped to bench/.data for next time"
            )
        else:
            facts.append(
                f"PostgreSQL restored from the dump in bench/.data in {prepared.seconds:.0f} s"
            )
        facts.append(
            "PostgreSQL runs with tests/pg.py's test-cluster settings (fsync off, default "
            "shared_buffers)"
        )
        facts.append(
            "No scheduler watermark (migration 0004): each tick works out every prompt of the "
            "current periods due by then; the ticks and the server start from the database as "
            "a server ticking all along would have left it (bench/common.py `catch_up`)"
        )
        _say(started, "PostgreSQL: digests ...")
        results += await digest.run(url, "PostgreSQL")
        _say(started, "PostgreSQL: ticks ...")
        results += await tick.full(url, "PostgreSQL")
        _say(started, "PostgreSQL: drumbeat serve ...")
        results += await memory.run(url, "PostgreSQL")

    speed.append(calibration())
    loads.append(_load())
    facts.append(
        f"Whole run: {time.perf_counter() - started:.0f} s. CPU calibration (a fixed Python "
        f"loop, bench/run_all.py): {speed[0] * 1000:.0f} ms before, {speed[1] * 1000:.0f} ms "
        f"after; load average (1, 5, 15 min) {loads[0]} before, {loads[1]} after on "
        f"{os.cpu_count()} CPUs. A shared machine's speed varies by up to 2x from minute to "
        "minute"
    )
    print()
    print("\n".join(table(results)))
    RESULTS.write_text(markdown(results, facts))
    print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 1 if any(r.verdict == "FAIL" for r in results) else 0


def _remove(database: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
