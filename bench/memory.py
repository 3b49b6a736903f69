"""Resident memory of `drumbeat serve` holding the benchmark organisation, idle.

The real server runs as a subprocess (DATABASE_URL pointing at the benchmark database, a free
PORT, TICK_SECONDS=5) in an empty working directory (so no stray .env is read), on the real
clock. There is no watermark to set (migration 0004): what is due comes from what was
prompted, so the database is first brought up to date for this moment (`bench.common.
catch_up`: the current periods' prompts written and sent, their digests posted), as a server
that had been running all along would have left it; the server then starts as one restarted
mid-period, and its ticks have nothing to send. One prompt is left unsent, the canary: once
/readyz answers and the canary is sent (the first tick has loaded the organisation and worked
out who is due), and after one more tick, VmRSS is read from /proc a few times and the server
is stopped with SIGTERM. Run alone: python -m bench.memory DATABASE_URL (it writes).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench.common import ROOT, CaughtUp, Result, catch_up
from bench.org import ORG
from rhythm.due import due_prompts
from rhythm.orgcache import Organisations
from storage.store import open_store
from storage.tables import prompt_t

TARGET = 200 * 2**20
TICK_SECONDS = 5


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid`, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * 1024
    return found


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


async def _caught_up(url: str, at: datetime) -> tuple[CaughtUp, int]:
    """The database brought up to date for `at`; and how many prompts are due then."""
    async with open_store(url) as store:
        org = await Organisations(store=store).get(ORG)
        return await catch_up(store, org, at, canary=True), len(list(due_prompts(org, at)))


async def _sent(url: str, prompt_id: int) -> bool:
    async with open_store(url) as store, store.engine.connect() as conn:
        query = select(prompt_t.c.sent_at).where(prompt_t.c.id == prompt_id)
        return (await conn.execute(query)).scalar() is not None


async def run(url: str, backend: str, *, patience: float = 120.0) -> list[Result]:
    start = datetime.now(UTC)
    caught, due = await _caught_up(url, start)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "TICK_SECONDS": str(TICK_SECONDS),
        "LOG_LEVEL": "WARNING",
    }
    workdir = Path(tempfile.mkdtemp(prefix="drumbeat-bench-"))
    log = workdir / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: ASYNC220 (a long-lived child, polled below)
            [str(ROOT / ".venv" / "bin" / "drumbeat"), "serve"],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + patience
        while not await asyncio.to_thread(_ready, port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"drumbeat serve did not get ready:\n{log.read_text()}")
            await asyncio.sleep(0.2)
        ready = time.monotonic()
        # Ticked (and so loaded the organisation), then idle for another tick.
        while caught.canary is not None and not await _sent(url, caught.canary):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"drumbeat serve never ticked:\n{log.read_text()}")
            await asyncio.sleep(0.5)
        if caught.canary is None:  # nothing was due to show the tick: give it time
            await asyncio.sleep(2 * TICK_SECONDS)
        first_tick = time.monotonic() - ready
        await asyncio.sleep(TICK_SECONDS + 1)
        samples = []
        for _ in range(5):
            samples.append(float(_status(server.pid)["VmRSS"]))
            await asyncio.sleep(0.5)
        peak = _status(server.pid)["VmHWM"]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(server.wait, 30)
        except subprocess.TimeoutExpired:
            server.kill()
            await asyncio.to_thread(server.wait)
    warnings = [line for line in log.read_text().splitlines() if "Traceback" in line]
    if not warnings:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
    return [
        Result(
            backend,
            "drumbeat serve, idle RSS",
            samples,
            TARGET,
            unit="MB",
            note=f"peak (VmHWM) {peak / 2**20:,.0f} MB; first tick done {first_tick:.1f} s "
            f"after /readyz; {due:,} prompts due in the current periods at "
            f"{start:%a %d %b %H:%M} UTC (the real clock), {caught.prompts:,} to write, written "
            f"and sent already but the canary; exit code {server.returncode}"
            + (f"; {len(warnings)} tracebacks in {log} (kept)" if warnings else ""),
        )
    ]


async def _main(url: str) -> None:
    for result in await run(url, url.split(":")[0]):
        print(f"{result.name:45} {result.show():>12}  {result.verdict:5} {result.note}")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
