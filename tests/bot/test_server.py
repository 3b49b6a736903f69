"""`drumbeat serve`: health probes over real HTTP, the scheduler job, a clean stop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import runtime
from bot.scheduler import TICK_JOB, start_scheduler, tick_once, tick_soon
from bot.server import create_app
from bot.settings import Settings
from rhythm.ticking import TickReport
from storage.store import open_store

DRUMBEAT = Path(sys.executable).with_name("drumbeat")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_health_and_readiness_over_http(database_url: str):
    settings = Settings(database_url=database_url, _env_file=None)
    async with (
        runtime(settings) as rt,
        TestClient(TestServer(create_app(rt, tick=False))) as client,
    ):
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        assert (health.status, await health.json()) == (200, {"status": "ok"})
        assert ready.status == 200
        assert (await ready.json())["database"] == "ok"


async def test_readiness_fails_while_the_database_is_unreachable():
    port = free_port()  # nothing listens there
    async with open_store(f"postgresql://drumbeat:x@127.0.0.1:{port}/drumbeat") as store:
        assert await store.ping() is False


async def test_the_scheduler_holds_one_tick_job(database_url: str):
    async with runtime(Settings(database_url=database_url, _env_file=None)) as rt:
        scheduler = start_scheduler(rt.drumbeat, seconds=60)
        try:
            jobs = scheduler.get_jobs()
            assert [job.id for job in jobs] == [TICK_JOB]
            assert jobs[0].max_instances == 1
            assert jobs[0].coalesce is True
            again = start_scheduler(rt.drumbeat, seconds=60)
            assert [job.id for job in again.get_jobs()] == [TICK_JOB]
            again.shutdown(wait=False)
        finally:
            scheduler.shutdown(wait=False)


async def test_a_tick_longer_than_the_interval_is_said_once_at_info_not_warned(
    database_url: str, caplog: pytest.LogCaptureFixture
):
    """A fan-out of thousands takes minutes: APScheduler's "maximum number of running
    instances reached" warning each second would have an operator chase nothing."""
    async with runtime(Settings(database_url=database_url, _env_file=None)) as rt:
        finished = asyncio.Event()

        async def slow_tick() -> TickReport:
            await asyncio.sleep(2.5)
            finished.set()
            return TickReport()

        rt.drumbeat.tick = slow_tick  # type: ignore[assignment,method-assign]
        with caplog.at_level(logging.INFO, logger="apscheduler"):
            scheduler = start_scheduler(rt.drumbeat, seconds=1)
            try:
                await asyncio.wait_for(finished.wait(), 10)
            finally:
                scheduler.shutdown(wait=False)
    skipped = [r for r in caplog.records if "still running" in r.getMessage()]
    assert skipped
    assert {r.levelno for r in skipped} == {logging.INFO}
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("apscheduler") and r.levelno >= logging.WARNING
    ]


async def test_a_tick_asked_for_runs_at_once_or_right_after_the_one_under_way(database_url: str):
    """Someone linked: their prompt goes out in a tick now, not at the next interval; asked
    twice while a tick runs, one more tick follows it, not two."""
    async with runtime(Settings(database_url=database_url, _env_file=None)) as rt:
        ticked: asyncio.Queue[int] = asyncio.Queue()
        release = asyncio.Event()
        count = 0

        async def tick() -> TickReport:
            nonlocal count
            count += 1
            ticked.put_nowait(count)
            if count == 2:
                await release.wait()  # the second tick is slow
            return TickReport()

        rt.drumbeat.tick = tick  # type: ignore[assignment,method-assign]
        scheduler = start_scheduler(rt.drumbeat, seconds=3600)
        try:
            assert await asyncio.wait_for(ticked.get(), 5) == 1  # the first, at start
            tick_soon(scheduler)
            assert await asyncio.wait_for(ticked.get(), 5) == 2  # at once, not in an hour
            tick_soon(scheduler)
            tick_soon(scheduler)
            release.set()
            assert await asyncio.wait_for(ticked.get(), 5) == 3
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ticked.get(), 0.3)
        finally:
            scheduler.shutdown(wait=False)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
async def test_serve_answers_probes_ticks_and_stops_cleanly(tmp_path: Path, stop: signal.Signals):
    """SIGTERM (an orchestrator) and SIGHUP (the terminal closed) both stop it cleanly."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "TICK_SECONDS": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(DRUMBEAT), "serve", env=env, cwd=tmp_path, stdout=sink, stderr=sink
        )
    try:
        status = None
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        status = response.status
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert status == 200, log.read_text()
        proc.send_signal(stop)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = log.read_text()
    assert "No chat platform is configured" in text
    assert "SLACK_BOT_TOKEN" in text
    assert "Stopping" in text
    assert "Traceback" not in text


async def test_a_tick_cut_short_by_shutdown_ends_quietly(caplog: pytest.LogCaptureFixture):
    class SlowDrumbeat:
        async def tick(self) -> None:
            await asyncio.sleep(60)

    task = asyncio.create_task(tick_once(SlowDrumbeat()))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()
    with caplog.at_level("INFO", logger="bot.scheduler"):
        await task  # no CancelledError escapes to the scheduler, so no traceback is logged
    assert "tick interrupted by shutdown" in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
async def test_local_runs_the_bot_with_the_playground_and_stops_both(
    tmp_path: Path, stop: signal.Signals
):
    """The README's first command, as a real process: the Playground knows the sample's
    people, and Ctrl-C or closing the terminal stops the bot and the Playground (which runs
    in a session of its own, so nothing else would stop it)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    log = tmp_path / "local.log"
    playground = free_port()  # not the usual ports: a `make run` may have them
    url = f"http://127.0.0.1:{playground}"
    with log.open("w") as sink:
        proc = await asyncio.create_subprocess_exec(
            str(DRUMBEAT),
            "local",
            "--port",
            str(free_port()),
            "--playground-port",
            str(playground),
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=sink,
        )
    config: dict[str, object] = {}
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):  # the first run installs the Playground with npm
                try:
                    async with http.get(f"{url}/_internal/v1/config") as answer:
                        config = (await answer.json())["config"]
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
        assert config, log.read_text()
        assert config["currentUser"]["userPrincipleName"] == "lucas.bernard@acme.example"  # type: ignore[index]
        proc.send_signal(stop)
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 0, log.read_text()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(f"{url}/")
    text = log.read_text()
    assert f"http://localhost:{playground}" in text
    assert "Traceback" not in text
    assert (tmp_path / ".tmp" / "local.db").exists()
