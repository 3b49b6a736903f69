"""A running Drumbeat server on each backend, with Acme imported, and tokens made by the very
`drumbeat token create` command an admin runs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from rich.console import Console
from typer.testing import CliRunner

from bot.app import Runtime, runtime
from bot.cli import app as cli
from bot.console.gateway import ConsoleGateway
from bot.okrfile import load_organisation
from bot.server import create_app
from bot.settings import Settings
from rhythm.ports import FixedClock
from storage.store import open_store

ROOT = Path(__file__).resolve().parents[3]
ACME = ROOT / "examples" / "acme.yaml"
LUCAS = "lucas.bernard@acme.example"  # owns onboarding-completion, in growth
SOFIA = "sofia.rossi@acme.example"  # growth's lead, owns trial-conversion
WEDNESDAY = datetime(2026, 11, 25, 12, tzinfo=UTC)  # 2026-W48, in the 2026-Q4 cycle


def drumbeat_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """`drumbeat ARGS` in this process (the command's own code, asyncio.run included)."""
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


@dataclass
class Api:
    """The server under test: real HTTP to a real `create_app` on a real database."""

    base: str  # http://127.0.0.1:port
    session: aiohttp.ClientSession
    runtime: Runtime
    clock: FixedClock
    database_url: str
    chat: io.StringIO  # what the console chat was sent: prompts, digests

    def chat_text(self) -> str:
        return self.chat.getvalue()

    async def token(self, name: str, scope: str = "read", *extra: str) -> str:
        """A token made with `drumbeat token create` (run off the event loop, as a command
        runs on its own)."""
        code, out, err = await asyncio.to_thread(
            drumbeat_cli, self.database_url, "token", "create", "--name", name,
            "--scope", scope, *extra,
        )  # fmt: skip
        assert code == 0, err
        return out.strip()

    async def cli(self, *args: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(drumbeat_cli, self.database_url, *args)

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.base + path, json=json, data=data, headers=sent
        ) as response:
            body = await response.read()
            parsed = await response.json(content_type=None) if body else None
            return response.status, parsed, response


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with open_store(database_url) as store:
        await store.save_organisation(load_organisation(ACME))
    clock = FixedClock(WEDNESDAY)
    settings = Settings(database_url=database_url, _env_file=None)
    chat = io.StringIO()
    console = {"console": ConsoleGateway(console=Console(file=chat, width=200))}
    async with (
        runtime(settings, clock=clock, gateways=console) as rt,  # type: ignore[arg-type]
        TestServer(create_app(rt, tick=False)) as server,
        aiohttp.ClientSession() as session,
    ):
        base = f"http://{server.host}:{server.port}"
        yield Api(base, session, rt, clock, database_url, chat)
