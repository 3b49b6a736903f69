"""The Microsoft 365 Agents Playground: Teams on this machine, with no account and no tunnel.

The Playground (npm `@microsoft/m365agentsplayground`) is a web page and a mock Bot Framework
connector on one port: it sends the bot what Teams would, and shows what the bot answers. It
is installed once into a cache directory inside the repository (gitignored), started after
the bot listens (it contacts the bot at start-up and exits when it cannot), and stopped with
the bot. Its `.m365agentsplayground.yml` makes its current user and five other users people
of the organisation, so checking in from the page works as it does in Teams.

`run_local` is the README's first command: the sample organisation, the bot on SQLite in
local mode with its scheduler, and the Playground attached, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from bot.resources import resource
from bot.settings import Settings
from rhythm.okr import Organisation, Person
from rhythm.ports import Clock

log = logging.getLogger(__name__)

PACKAGE = "@microsoft/m365agentsplayground"
VERSION = "0.2.28"  # pinned: the tests drive its HTTP routes and websocket
REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".tmp" / "playground"
SAMPLE = resource("examples", "acme.yaml")  # the same file as bot.sample.SAMPLE
SAMPLE_USER = "lucas.bernard@acme.example"  # an owner with one key result: the README's "you"
PLAYGROUND_PORT = 56150
BOT_PORT = 3978
TENANT = "00000000-0000-0000-0000-0000000000001"
BOT_ID = "00000000-0000-0000-0000-00000000000011"
PERSONAL_CHAT = "personal-chat-drumbeat"
TEAM = "team-drumbeat"
START_TIMEOUT = 60.0
OTHER_USERS = 5  # the Playground's group chat and team are made of exactly five other users


class PlaygroundUnavailable(RuntimeError):
    """Node, npm or the package cannot be had: the message says what is missing."""


# ---- installation ---------------------------------------------------------------------------


def installed_cli(cache: Path = CACHE) -> Path:
    return cache / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"


async def ensure_installed(cache: Path = CACHE) -> Path:
    """The Playground's cli.js, installed with npm into `cache` unless that version is there.
    Two processes that start at once (`make run` twice, parallel tests) install it once: the
    second waits for the first's lock, then finds it there."""
    cli = installed_cli(cache)
    if _installed(cli):
        return cli
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise PlaygroundUnavailable(
            "The Agents Playground needs Node.js 18 or newer with npm on PATH "
            "(Debian/Ubuntu: apt-get install nodejs npm)."
        )
    _make_dir(cache)
    async with _install_lock(cache / ".install.lock"):
        if _installed(cli):
            return cli
        log.info("Installing %s@%s into %s", PACKAGE, VERSION, cache)
        process = await asyncio.create_subprocess_exec(
            npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--loglevel=error",
            f"{PACKAGE}@{VERSION}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
    if process.returncode != 0 or not cli.is_file():
        raise PlaygroundUnavailable(
            f"npm install {PACKAGE}@{VERSION} failed ({process.returncode}):\n"
            + output.decode(errors="replace")[-2000:]
        )
    return cli


def _installed(cli: Path) -> bool:
    manifest = cli.parent / "package.json"
    return manifest.is_file() and json.loads(manifest.read_text())["version"] == VERSION


@contextlib.asynccontextmanager
async def _install_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive lock on `path` across processes (released when the holder dies too)."""
    with path.open("w") as held:
        await asyncio.to_thread(fcntl.flock, held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


# ---- configuration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaygroundUser:
    id: str  # the Playground's Teams user id: user-id-0 is the current user
    person: Person
    aad_object_id: str

    def as_config(self) -> dict[str, str]:
        given, _, surname = self.person.name.partition(" ")
        return {
            "id": self.id,
            "name": self.person.name,
            "userPrincipleName": self.person.email,  # the Playground's spelling
            "aadObjectId": self.aad_object_id,
            "givenName": given,
            "surname": surname or given,
            "email": self.person.email,
        }


def playground_users(org: Organisation, current: str | None = None) -> list[PlaygroundUser]:
    """The current user (a lead of a root team who owns key results, unless named) and five
    other people, those owning key results first."""
    people = sorted(org.people, key=lambda p: not org.key_results_of(p.email))
    roots = {t.key for t in org.teams if t.parent is None}
    if current is None:
        leads = [
            p for p in people
            if any(m.team in roots and m.role.value == "lead" for m in p.memberships)
        ] or people  # fmt: skip
        current = leads[0].email
    chosen = [org.person[current.lower()]]
    chosen += [p for p in people if p.email != chosen[0].email][:OTHER_USERS]
    if len(chosen) < OTHER_USERS + 1:
        raise ValueError(f"the Playground needs {OTHER_USERS + 1} people; {org.name} has fewer")
    return [
        PlaygroundUser(f"user-id-{n}", person, person.teams_user_id or _aad_id(person.email))
        for n, person in enumerate(chosen)
    ]


def only_current_teams_id(org: Organisation, current: PlaygroundUser) -> Organisation:
    """`org` with no Teams id but the current user's: the Playground shows one person's chats
    and refuses a message to anyone else (500, UserNotFound), so the others wait to be
    linked, as anyone Teams has not introduced yet, instead of failing for good."""
    people = tuple(
        p if p.email == current.person.email else replace(p, teams_user_id=None) for p in org.people
    )
    return replace(org, people=people)


def _aad_id(email: str) -> str:
    """A stable made-up AAD object id: the same person is the same user on every start."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{email}"))


def playground_config(users: list[PlaygroundUser], *, team_name: str = "Drumbeat") -> str:
    """The `.m365agentsplayground.yml` the Playground reads from its working directory."""
    current, *others = users
    config: dict[str, Any] = {
        "version": "0.1.1",
        "tenantId": TENANT,
        "bot": {"id": BOT_ID, "name": "Drumbeat"},
        "currentUser": current.as_config(),
        "users": [u.as_config() for u in others],
        "personalChat": {"id": PERSONAL_CHAT},
        "groupChat": {"id": "group-chat-drumbeat", "name": f"{team_name} leads"},
        "team": {
            "id": TEAM,
            "name": team_name,
            "aadGroupId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"team:{team_name}")),
            "channels": [{"id": "channel-okrs", "name": "OKRs"}],
        },
    }
    header = "# Written by Drumbeat (bot/teams/playground.py) at every start.\n"
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


# ---- the process ----------------------------------------------------------------------------


class Playground:
    """The Playground as a child process: `async with Playground(...) as playground`."""

    def __init__(
        self,
        *,
        cli: Path,
        workdir: Path,
        bot_endpoint: str,
        config: str,
        port: int = PLAYGROUND_PORT,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.cli = cli
        self.workdir = workdir
        self.bot_endpoint = bot_endpoint
        self.config = config
        self.port = port
        self.on_output = on_output or (lambda line: log.debug("playground: %s", line))
        self.output: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise PlaygroundUnavailable("Node.js is not on PATH.")
        tools = self._prepare_workdir()
        env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"}
        self._process = await asyncio.create_subprocess_exec(
            node, str(self.cli), "--app-endpoint", self.bot_endpoint, "--channel-id", "msteams",
            "--port", str(self.port), "--disable-telemetry",
            cwd=self.workdir, env=env, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read(self._process, listening))
        try:
            self.port = await asyncio.wait_for(asyncio.shield(listening), START_TIMEOUT)
        except (TimeoutError, PlaygroundUnavailable):
            await self.stop()
            raise

    def _prepare_workdir(self) -> Path:
        """The config file, and a no-op xdg-open first on PATH (the Playground opens a
        browser at start-up); returns the directory to put first on PATH."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / ".m365agentsplayground.yml").write_text(self.config, encoding="utf-8")
        tools = self.workdir / "bin"
        tools.mkdir(exist_ok=True)
        opener = tools / "xdg-open"
        opener.write_text("#!/bin/sh\nexit 0\n")
        opener.chmod(0o755)
        return tools

    async def _read(
        self, process: asyncio.subprocess.Process, listening: asyncio.Future[int]
    ) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.output.append(line)
            self.on_output(line)
            if not listening.done() and line.startswith("Listening on "):
                listening.set_result(int(line.split()[-1]))
        if not listening.done():
            listening.set_exception(
                PlaygroundUnavailable(
                    f"the Playground exited ({await process.wait()}) before listening:\n"
                    + "\n".join(self.output[-30:])
                )
            )

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._reader is not None:
            await self._reader
            self._reader = None


# ---- the README's first command -------------------------------------------------------------


async def run_local(
    settings: Settings,
    *,
    okr_file: Path = SAMPLE,
    cache: Path = CACHE,
    bot_port: int = BOT_PORT,
    playground_port: int = PLAYGROUND_PORT,
    current: str | None = None,
    clock: Clock | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """The sample organisation on the settings' database (SQLite by default), the bot in local
    mode with its scheduler, and the Playground attached; until Ctrl-C or SIGTERM. `current`
    is the email of the person the Playground's user is (default: Lucas in the sample, else a
    lead of the top team)."""
    from bot.app import runtime
    from bot.okrfile import load_organisation
    from bot.sample import sample_organisation
    from bot.server import create_app, serving, until_stopped

    settings = settings.model_copy(
        update={"teams_local": True, "host": "127.0.0.1", "port": bot_port}
    )
    cli = await ensure_installed(cache)
    async with runtime(settings, clock=clock) as rt:
        # The sample is moved to this quarter, so that it is never a cycle long over.
        today = rt.drumbeat.clock.now().date()
        source = (
            sample_organisation(today)[0] if okr_file == SAMPLE else load_organisation(okr_file)
        )
        users = playground_users(source, current or (SAMPLE_USER if okr_file == SAMPLE else None))
        tree = await rt.store.save_organisation(only_current_teams_id(source, users[0]))
        await rt.store.link_workspace("teams", TENANT, tree.key)
        org = await rt.drumbeat.organisation(tree.key)
        async with serving(create_app(rt), "127.0.0.1", bot_port):
            playground = Playground(
                # Its own directory per port: two Playgrounds at once never share a config.
                cli=cli, workdir=cache / "work" / str(playground_port), port=playground_port,
                bot_endpoint=f"http://127.0.0.1:{bot_port}/api/messages",
                config=playground_config(users, team_name=org.name),
            )  # fmt: skip
            async with playground:
                say(_welcome(playground.url, users))
                await until_stopped()
                say("Stopping.")


def _welcome(url: str, users: list[PlaygroundUser]) -> str:
    me = users[0].person
    return (
        f"Drumbeat is running with the Microsoft 365 Agents Playground.\n"
        f"  Open {url} in your browser: you are {me.name} ({me.email}).\n"
        f"  Type `help`, `checkin` or `mine` in the chat; in the team's channel, mention the "
        f"bot: `status`, or `subscribe` (leads and admins) to get digests there.\n"
        f"  Press Ctrl-C to stop."
    )
