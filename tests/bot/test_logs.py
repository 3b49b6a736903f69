"""Logs: LOG_FORMAT=json writes one JSON object per line with the request's, the tick's and the
organisation's ids; neither format ever writes a secret. Real `drumbeat serve` and `drumbeat
rhythm tick` processes against the local Slack API, and the formatters on real handlers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from rich.console import Console
from rich.logging import RichHandler

from bot import logs
from bot.app import runtime
from bot.okrfile import load_organisation
from bot.server import create_app
from bot.settings import Settings
from storage.migrate import upgrade
from storage.store import open_store
from tests.bot.slack.world import ACME, CHANNEL, MONDAY, SECRET, TEAM, slack_users
from tests.bot.test_server import DRUMBEAT, free_port
from tests.peers.slack_api import FakeSlack

LEADS_TIME = MONDAY + timedelta(hours=8, minutes=5)  # 09:05 in Paris: the leads' weekly
APP_TOKEN = "xapp-1-A0001-0123456789-abcdef"
CLIENT_SECRET = "client-secret-0123456789"
METRICS_TOKEN = "metrics-token-0123456789"
DB_PASSWORD = "pg-password-0123456789"
SECRETS = (TEAM.bot_token, SECRET, APP_TOKEN, CLIENT_SECRET, METRICS_TOKEN, DB_PASSWORD)
FIELDS = {"time", "level", "logger", "message"}


def settings(**values: Any) -> Settings:
    base = {
        "slack_bot_token": TEAM.bot_token,
        "slack_signing_secret": SECRET,
        "slack_client_secret": CLIENT_SECRET,
        "metrics_token": METRICS_TOKEN,
        "database_url": f"postgresql://drumbeat:{DB_PASSWORD}@db.internal/drumbeat",
    }
    return Settings(_env_file=None, **(base | values))  # type: ignore[call-arg]


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger with both formats' handlers, as the CLI sets them up: (logger, json, text)."""
    json_out, text_out = io.StringIO(), io.StringIO()
    as_json = logs.guard(logging.StreamHandler(json_out), settings(log_format="json"))
    rich = RichHandler(console=Console(file=text_out, width=100), show_path=False)
    as_text = logs.guard(rich, settings())
    logger = logging.getLogger("tests.logs")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.handlers = [as_json, as_text]
    yield logger, json_out, text_out
    logger.handlers = []


def test_no_secret_reaches_either_format(
    logged: tuple[logging.Logger, io.StringIO, io.StringIO],
):
    logger, json_out, text_out = logged
    logger.info("calling Slack with %s", TEAM.bot_token)
    logger.info("an unknown user token xoxp-1111-2222-abcdef and Bearer %s", "eyJhbGciOi.x.y")
    logger.warning("signature did not match: %s (secret %s)", "v0=abc", SECRET)
    logger.info("socket mode with %r", {"token": APP_TOKEN})
    logger.info("Authorization: Bearer %s", METRICS_TOKEN)
    try:
        raise ConnectionError(f"cannot reach postgresql://drumbeat:{DB_PASSWORD}@db.internal/x")
    except ConnectionError:
        logger.exception("the database is gone (client secret %s)", CLIENT_SECRET)
    try:
        raise ValueError("a password in another URL: https://user:hunter2hunter2@example.com/")
    except ValueError:
        logger.exception("failed")

    lines = json_out.getvalue().splitlines()
    assert len(lines) == 7
    records = [json.loads(line) for line in lines]
    text = text_out.getvalue()
    for written in (json_out.getvalue(), text):
        for secret in (*SECRETS, "xoxp-1111-2222-abcdef", "eyJhbGciOi", "hunter2hunter2"):
            assert secret not in written
    assert records[0]["message"] == "calling Slack with ***"  # a configured secret: all of it
    assert records[1]["message"] == "an unknown user token xoxp-*** and Bearer ***"
    assert records[2]["message"] == "signature did not match: v0=abc (secret ***)"
    assert records[4]["message"] == "Authorization: Bearer ***"
    database = records[5]
    assert database["level"] == "ERROR"
    assert database["message"] == "the database is gone (client secret ***)"
    assert "Traceback (most recent call last)" in database["exception"]
    assert "postgresql://drumbeat:***@db.internal/x" in database["exception"]
    assert "https://user:***@example.com/" in records[6]["exception"]
    assert "ConnectionError" in text
    assert "postgresql://drumbeat:***@db.internal/x" in text


def test_a_json_line_has_its_fields_and_the_context_it_was_written_in(
    logged: tuple[logging.Logger, io.StringIO, io.StringIO],
):
    logger, json_out, _ = logged
    logger.info("outside")
    with logs.ticking() as tick:
        logs.set_organisation("acme")
        logger.info("in the tick")
        logs.set_organisation(None)
    logs.REQUEST_ID.set("req-1")
    logger.info("in a request")
    logs.REQUEST_ID.set(None)
    outside, ticked, requested = (json.loads(line) for line in json_out.getvalue().splitlines())
    assert set(outside) == FIELDS
    assert outside["level"] == "INFO"
    assert outside["logger"] == "tests.logs"
    assert datetime.fromisoformat(outside["time"]).utcoffset() == timedelta(0)
    assert (ticked["tick_id"], ticked["org"]) == (tick, "acme")
    assert requested["request_id"] == "req-1"
    assert "tick_id" not in requested


async def test_each_response_carries_its_request_id(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'ids.db'}"
    config = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    async with (
        runtime(config, console=Console(file=io.StringIO())) as rt,
        TestClient(TestServer(create_app(rt, tick=False))) as client,
    ):
        given = await client.get("/healthz", headers={"X-Request-Id": "lb-7f3a:42"})
        assert given.headers["X-Request-Id"] == "lb-7f3a:42"
        fresh = await client.get("/healthz")
        other = await client.get("/charts/nothing.png")  # a 404 gets one too
        for answer in (fresh, other):
            assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["X-Request-Id"])
        assert fresh.headers["X-Request-Id"] != other.headers["X-Request-Id"]
        for insane in ("x" * 200, "a b", "id\u00e9"):
            replaced = await client.get("/healthz", headers={"X-Request-Id": insane})
            assert re.fullmatch(r"[0-9a-f]{16}", replaced.headers["X-Request-Id"])


# ---- real processes -----------------------------------------------------------------------


async def _prepared(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'drumbeat.db'}"
    await upgrade(url)
    async with open_store(url) as store:
        await store.save_organisation(load_organisation(ACME))
    return url


def _environment(fake: FakeSlack, database_url: str, **values: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_"))}
    keep = {k: v for k, v in keep.items() if k not in ("DATABASE_URL", "LOG_FORMAT", "LOG_LEVEL")}
    return keep | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": TEAM.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "METRICS_TOKEN": METRICS_TOKEN,
        **values,
    }


def _json_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        record = json.loads(line)  # every line, or this fails
        assert isinstance(record, dict), line
        assert record.keys() >= FIELDS, line
        assert datetime.fromisoformat(record["time"]).utcoffset() == timedelta(0)
        records.append(record)
    return records


async def _serve(tmp_path: Path, log_format: str) -> tuple[str, str, dict[str, str]]:
    """`drumbeat serve`, asked for /healthz (once with an id of the caller's, once with the
    bot token and the signing secret in the query string, as a careless caller might) and
    /metrics, then stopped: its stdout, its stderr and the ids the answers carried."""
    org = load_organisation(ACME)
    port = free_port()
    ids: dict[str, str] = {}
    async with FakeSlack(teams=[TEAM], users=slack_users(org), channels=[CHANNEL]) as fake:
        env = _environment(
            fake, await _prepared(tmp_path), PORT=str(port), HOST="127.0.0.1",
            LOG_FORMAT=log_format, TICK_SECONDS="3600",
        )  # fmt: skip
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = await asyncio.create_subprocess_exec(
                str(DRUMBEAT), "serve", env=env, cwd=tmp_path, stdout=stdout, stderr=stderr
            )
        try:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                for _ in range(200):
                    try:
                        async with http.get(f"{base}/readyz") as ready:
                            if ready.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(err.read_text())
                async with http.get(f"{base}/healthz", headers={"X-Request-Id": "lb-7f3a"}) as r:
                    ids["given"] = r.headers["X-Request-Id"]
                careless = {"token": TEAM.bot_token, "secret": SECRET}
                async with http.get(f"{base}/healthz", params=careless) as r:
                    ids["careless"] = r.headers["X-Request-Id"]
                bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
                async with http.get(f"{base}/metrics", headers=bearer) as r:
                    assert r.status == 200
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), timeout=15) == 0, err.read_text()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return out.read_text(), err.read_text(), ids


async def test_serve_writes_json_lines_with_request_ids_and_no_secret(tmp_path: Path):
    stdout, stderr, ids = await _serve(tmp_path, "json")
    for secret in (TEAM.bot_token, SECRET, METRICS_TOKEN):
        assert secret not in stderr
        assert secret not in stdout
    records = _json_lines(stderr)
    messages = [r["message"] for r in records]
    assert any("Drumbeat listening on" in m for m in messages), messages
    assert any(m == "Stopping" for m in messages)
    access = [r for r in records if r["logger"] == "aiohttp.access"]
    assert access
    assert all("request_id" in r for r in access)
    by_id = {r["request_id"]: r["message"] for r in access}
    assert by_id[ids["given"]].count("GET /healthz") == 1
    assert ids["given"] == "lb-7f3a"
    assert "GET /healthz?token=***&secret=*** " in by_id[ids["careless"]]
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL")], records


async def test_serve_writes_no_secret_in_text_either(tmp_path: Path):
    stdout, stderr, _ids = await _serve(tmp_path, "text")
    for secret in (TEAM.bot_token, SECRET, METRICS_TOKEN):
        assert secret not in stderr
        assert secret not in stdout
    assert "Drumbeat listening on" in stderr
    assert "token=***&secret=***" in stderr  # the careless request's line, masked
    with pytest.raises(json.JSONDecodeError):
        json.loads(stderr.splitlines()[0])


async def test_a_tick_logs_its_tick_id_and_organisation(tmp_path: Path):
    """`drumbeat rhythm tick` at 09:05 in Paris, the local Slack answering the first prompt
    with a 429: the retry's log line says which tick and organisation it was about."""
    org = load_organisation(ACME)
    fake = FakeSlack(teams=[TEAM], users=slack_users(org), channels=[CHANNEL], whole_seconds=False)
    async with fake:
        fake.throttle("chat.postMessage", times=1, retry_after=0.05)
        env = _environment(fake, await _prepared(tmp_path), LOG_FORMAT="json", LOG_LEVEL="INFO")
        proc = await asyncio.create_subprocess_exec(
            str(DRUMBEAT), "rhythm", "tick", "--at", LEADS_TIME.isoformat(),
            env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, stderr.decode()
    assert "created 4 prompts, sent 4" in stdout.decode()
    records = _json_lines(stderr.decode())
    [limited] = [r for r in records if "rate limited" in r["message"]]
    assert limited["org"] == "acme"
    assert re.fullmatch(r"[0-9a-f]{16}", limited["tick_id"])
    assert "request_id" not in limited
    for secret in (TEAM.bot_token, SECRET, METRICS_TOKEN):
        assert secret not in stderr.decode()
        assert secret not in stdout.decode()
