"""The `drumbeat` command line. The environment is read here, once."""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress
from typer.core import TyperCommand, TyperGroup

from bot import logs
from bot.app import Runtime, open_database, runtime
from bot.console.gateway import save_charts
from bot.console.render import render, render_report
from bot.okrfile import OkrFileError, dump_organisation, load_key_results_csv, load_organisation
from bot.settings import PLATFORM_HELP, Settings, SettingsError
from bot.teams.playground import BOT_PORT, PLAYGROUND_PORT
from rhythm.cadences import RhythmKind
from rhythm.commands import run_command
from rhythm.errors import DrumbeatError, NoOrganisation, UnknownOrganisation
from rhythm.lint import Finding, Severity, lint
from rhythm.okr import Organisation
from rhythm.ports import ChatGateway, FixedClock, ShiftedClock, Store
from storage.engine import UnsupportedDatabaseError
from storage.migrate import upgrade


def _flags_without_metavar(params: list[Any]) -> list[Any]:
    # Typer shows a `<bool>` after flags, as if they took a value: they take none.
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_metavar(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_without_metavar(super().get_params(ctx))


def _typer(help: str) -> typer.Typer:
    return typer.Typer(no_args_is_help=True, help=help, cls=Group)


app = _typer("Drumbeat: the OKR check-in rhythm for Slack and Teams.")
okrs = _typer("Import, export, lint and show the OKR tree.")
rhythm_cli = _typer("Run the scheduler's work by hand.")
db = _typer("Database maintenance.")
manifest = _typer("The Slack app manifest, the Teams package.")
workspace = _typer("Which organisation a workspace belongs to.")
app.add_typer(okrs, name="okrs")
app.add_typer(rhythm_cli, name="rhythm")
app.add_typer(db, name="db")
app.add_typer(manifest, name="manifest")
app.add_typer(workspace, name="workspace")
token = _typer("Bearer tokens for the HTTP API (/api/v1): make, list, revoke.")
app.add_typer(token, name="token")

out = Console()
err = Console(stderr=True)
T = TypeVar("T")
FINDINGS_SHOWN = 20  # lint findings an import prints before it counts the rest

OrgOption = Annotated[
    str | None, typer.Option("--org", help="Organisation key (needed when there are several).")
]


class Verbosity:
    """Whether `-v` was given (before the command: `drumbeat -v okrs import ...`)."""

    verbose = False


def _show_version(wanted: bool) -> None:
    if wanted:
        # The installed distribution's version: the one pyproject.toml gave the wheel.
        out.print(f"drumbeat {metadata.version('drumbeat')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Also log what Drumbeat does, migrations included."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    Verbosity.verbose = verbose


def _settings(*, serving: bool = False) -> Settings:
    """The settings, with logging set up: a server logs at LOG_LEVEL (INFO unless set), any
    other command only warnings and errors, unless -v or LOG_LEVEL asks for more."""
    settings = Settings()
    chosen = "log_level" in settings.model_fields_set
    level = logging.getLevelName(settings.log_level.upper() if serving or chosen else "WARNING")
    if Verbosity.verbose and isinstance(level, int):
        level = min(level, logging.INFO)
    # LOG_FORMAT=json: one JSON object per line; either way no secret is written (bot.logs).
    handler = (
        logs.json_handler(settings)
        if settings.log_format == "json"
        else logs.guard(RichHandler(console=err, show_path=False), settings)
    )
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per tick otherwise
    if not (Verbosity.verbose or chosen):
        # Alembic names its database driver and every migration it runs, at INFO, each time a
        # command opens an SQLite database: nothing a person running a command needs.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work; domain errors become a clear message and exit code 1, not a traceback."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except DrumbeatError as error:
        _fail(error.message)
    except (SettingsError, UnsupportedDatabaseError) as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    err.print("[bold red]Error:[/bold red] ", end="")
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(1)


def _parse_at(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        err.print(
            f"[bold red]Error:[/bold red] --at {at!r} is not an ISO 8601 time, "
            "e.g. 2026-11-23T09:30:00+01:00"
        )
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _org_key(store: Store, wanted: str | None) -> str:
    keys = await store.organisation_keys()
    if wanted:
        if wanted not in keys:
            raise UnknownOrganisation(wanted)
        return wanted
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise NoOrganisation()
    raise DrumbeatError(f"Several organisations ({', '.join(keys)}): pass --org.")


@app.command(cls=Command)
def demo(
    weeks: Annotated[int, typer.Option(min=1, max=8, help="Simulated weeks.")] = 2,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Only the digests and the summary.")
    ] = False,
    charts: Annotated[
        Path, typer.Option(help="Folder the digests' charts are written to, as PNG files.")
    ] = Path("drumbeat-demo-charts"),
) -> None:
    """Simulated weeks of the sample organisation's drumbeat, on a fresh SQLite database."""
    from bot.demo import run_demo

    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run_demo(out, weeks=weeks, quiet=quiet, charts=charts))


LOCAL_DATABASE = "sqlite+aiosqlite:///.tmp/local.db"


@app.command(cls=Command)
def local(
    as_: Annotated[
        str | None, typer.Option("--as", help="Whom the Playground's user is (an email).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="ISO 8601 time: start the clock there and let it run (replay a sample week)."
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="The bot's port.")] = BOT_PORT,
    playground_port: Annotated[int, typer.Option(help="The Playground's port.")] = PLAYGROUND_PORT,
) -> None:
    """The bot with the sample organisation and the Microsoft 365 Agents Playground (a local
    Teams) attached: open the URL it prints. Ctrl-C stops both."""
    from bot.teams.playground import PlaygroundUnavailable, run_local

    # Not a server's log: what a newcomer reads is the welcome and the warnings (-v for more).
    settings = _settings()
    moment = _parse_at(at)
    clock = ShiftedClock(moment) if moment else None
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if "DATABASE_URL" not in os.environ:
        Path(".tmp").mkdir(exist_ok=True)
        settings = settings.model_copy(update={"database_url": LOCAL_DATABASE})
    try:
        _run(
            lambda: run_local(
                settings, current=as_, clock=clock, bot_port=port, playground_port=playground_port
            )
        )
    except PlaygroundUnavailable as error:
        err.print(f"[bold red]Error:[/bold red] {error}")
        err.print("`drumbeat demo` shows the drumbeat in this terminal without Node.js.")
        raise typer.Exit(1) from None


@app.command(cls=Command)
def serve() -> None:
    """Run the bot: HTTP endpoints, health probes and the scheduler."""
    from bot.server import serve as serve_forever

    settings = _settings(serving=True)
    # With JSON logs, stderr carries nothing else: what the console chat prints goes to stdout.
    json_lines = settings.log_format == "json"
    if not (settings.slack_configured or settings.teams_configured or settings.teams_local):
        if json_lines:
            logging.getLogger(__name__).warning(PLATFORM_HELP)
        else:
            err.print(PLATFORM_HELP, markup=False, highlight=False)

    async def work() -> None:
        async with runtime(settings, console=out if json_lines else err) as rt:
            await serve_forever(rt)

    _run(work)


@app.command(cls=Command)
def chat(
    as_: Annotated[str, typer.Option("--as", help="Your email in the OKR tree.")],
    at: Annotated[
        str | None,
        typer.Option(help="ISO 8601 time: chat as if it were then (as `rhythm tick --at`)."),
    ] = None,
    org: OrgOption = None,
) -> None:
    """Chat with the bot in this terminal as one person: answer prompts, run commands."""
    from bot.console.chat import chat_loop
    from bot.console.gateway import ConsoleGateway

    settings = _settings()
    moment = _parse_at(at)

    async def work() -> None:
        # The terminal is the chat: no Slack or Teams. The person's own prompt, updated once
        # they check in, is not printed again under the confirmation they see anyway.
        me = ConsoleGateway(
            console=out, show_direct=lambda email: email.casefold() != as_.casefold()
        )
        terminal: dict[str, ChatGateway] = {"console": me}
        clock = FixedClock(moment) if moment else None
        async with runtime(settings, console=out, gateways=terminal, clock=clock) as rt:
            await chat_loop(rt, await _org_key(rt.store, org), as_, console=out)

    _run(work)


@okrs.command("import", cls=Command)
def okrs_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    org: OrgOption = None,
    values_from_file: Annotated[
        bool,
        typer.Option(
            "--values-from-file",
            help="Take current values and initiative statuses from the file, not from check-ins.",
        ),
    ] = False,
) -> None:
    """Import an OKR file (YAML: the whole tree; CSV: key results into an existing tree).
    All or nothing: a file with any error imports nothing. Re-importing keeps the progress
    people reported since, unless --values-from-file."""
    settings = _settings()

    imported: list[Organisation] = []

    async def work() -> None:
        # The tree is handed out through `imported`, not returned: asyncio.run's shutdown
        # builds the repr of the task's result, which for 10,000 people takes a second and
        # a hundred megabytes.
        async with open_database(settings) as store:
            if file.suffix.lower() == ".csv":
                key = await _org_key(store, org)
                base = await store.load_organisation(key)
                if base is None:
                    raise UnknownOrganisation(key)
                tree = load_key_results_csv(file, base)
            else:
                with Progress(console=err, transient=True) as bar:
                    task = bar.add_task(f"Reading {file.name}", total=None)
                    tree = load_organisation(
                        file,
                        progress=lambda done, total: bar.update(task, completed=done, total=total),
                    )
            with err.status(f"Saving {tree.name}"):
                # The progress people reported is kept as the database has it at that moment,
                # in the same transaction: a running server's check-ins are never undone.
                imported.append(
                    await store.save_organisation(tree, keep_progress=not values_from_file)
                )

    try:
        _run(work)
    except OkrFileError as error:
        err.print(f"[bold red]{file} was not imported[/bold red] (nothing changed):")
        err.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    [tree] = imported
    _print_findings(lint(tree))
    out.print(
        f"Imported [bold]{tree.name}[/bold]: {len(tree.teams)} teams, {len(tree.people)} people, "
        f"{len(tree.objectives)} objectives, {len(tree.key_results)} key results, "
        f"{len(tree.rhythms)} rhythms."
    )


def _print_findings(findings: list[Finding]) -> None:
    """The first findings (errors first), then how many more of each kind: an import of a big
    tree can have thousands, which `drumbeat okrs lint` lists in full."""
    for finding in findings[:FINDINGS_SHOWN]:
        err.print(f"[yellow]{finding.severity.value}[/yellow] ", end="", highlight=False)
        err.print(f"{finding.subject}: {finding.message}", markup=False, highlight=False)
    rest = Counter(finding.code for finding in findings[FINDINGS_SHOWN:])
    if rest:
        kinds = ", ".join(f"{count} {code}" for code, count in rest.most_common())
        err.print(f"… and {rest.total()} more ({kinds}): `drumbeat okrs lint` lists them all",
                  markup=False, highlight=False)  # fmt: skip


@okrs.command("export", cls=Command)
def okrs_export(
    org: OrgOption = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export the OKR tree (with current values) as an importable YAML file."""
    settings = _settings()

    async def work() -> str:
        async with open_database(settings) as store:
            tree = await store.load_organisation(await _org_key(store, org))
            assert tree is not None
            return dump_organisation(tree)

    text = _run(work)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {output}")
    else:
        print(text, end="")


@okrs.command("lint", cls=Command)
def okrs_lint(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, help="A file to check instead of the database."
        ),
    ] = None,
    org: OrgOption = None,
) -> None:
    """Check alignment: orphan objectives, key results without owner or metric, activity-worded
    key results. Exit code 0 without errors (warnings are fine), 1 with errors, a file that
    cannot be imported included, 2 when the command is used wrongly (no such file)."""
    if file is not None:
        try:
            tree = load_organisation(file)
        except OkrFileError as error:
            err.print(f"[bold red]{file} cannot be imported:[/bold red]")
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(1) from None
    else:
        settings = _settings()

        async def work() -> Organisation:
            async with open_database(settings) as store:
                loaded = await store.load_organisation(await _org_key(store, org))
                assert loaded is not None
                return loaded

        tree = _run(work)
    findings = lint(tree)
    for finding in findings:
        line = f"{finding.severity.value:7} {finding.code:30} {finding.subject}: {finding.message}"
        out.print(line, markup=False, highlight=False)
    out.print(f"{_findings_count(findings)} in {tree.name}.", markup=False, highlight=False)
    if any(f.severity is Severity.ERROR for f in findings):
        raise typer.Exit(1)


def _findings_count(findings: list[Finding]) -> str:
    """ "No findings", "1 warning", "2 errors and 3 warnings"."""
    counts = Counter(f.severity for f in findings)
    parts = [
        f"{counts[severity]} {severity.value}{'s' if counts[severity] != 1 else ''}"
        for severity in (Severity.ERROR, Severity.WARNING)
        if counts[severity]
    ]
    return " and ".join(parts) or "No findings"


@okrs.command("tree", cls=Command)
def okrs_tree(
    team: Annotated[str | None, typer.Option(help="Only this team's subtree.")] = None,
    org: OrgOption = None,
) -> None:
    """Show the OKR tree: objectives, aligned objectives, key results, initiatives."""
    settings = _settings()

    async def work() -> None:
        async with runtime(settings) as rt:
            key = await _org_key(rt.store, org)
            reply = await run_command(rt.drumbeat, key, "", f"tree {team or ''}")
            if reply.message:
                out.print(render(reply.message))

    _run(work)


@app.command(cls=Command)
def digest(
    team: Annotated[str, typer.Argument(help="Team key or name.")],
    at: Annotated[str | None, typer.Option(help="ISO 8601 time; default now.")] = None,
    kind: Annotated[RhythmKind, typer.Option(help="Which rhythm's digest.")] = RhythmKind.WEEKLY,
    org: OrgOption = None,
    charts: Annotated[
        Path, typer.Option(help="Folder the digest's charts are written to, as PNG files.")
    ] = Path("drumbeat-charts"),
) -> None:
    """Print a team's digest for the period containing --at, its charts as PNG files."""
    settings = _settings()
    moment = _parse_at(at)

    async def work() -> None:
        async with runtime(settings) as rt:
            key = await _org_key(rt.store, org)
            found = await rt.drumbeat.digests.digest(key, team, kind=kind, at=moment)
            report = await rt.drumbeat.reports.digest(found)
            out.print(render_report(report, save_charts(report, charts) if report.images else {}))

    _run(work)


@rhythm_cli.command("tick", cls=Command)
def rhythm_tick(
    at: Annotated[str | None, typer.Option(help="ISO 8601 time to tick at; default now.")] = None,
) -> None:
    """Do the scheduler's work once: create due prompts, deliver, remind, post digests.
    Safe to run from cron next to a running server: every prompt is sent once."""
    settings = _settings()
    moment = _parse_at(at)

    async def work() -> None:
        clock = FixedClock(moment) if moment else None
        async with runtime(settings, console=err, clock=clock) as rt:
            report = await rt.drumbeat.tick()
            out.print(
                f"created {report.created} prompts, sent {report.sent}, failed {report.failed}, "
                f"retrying {report.retried}, reminded {report.reminded}, "
                f"posted {report.digests} digests"
            )

    _run(work)


@db.command("upgrade", cls=Command)
def db_upgrade() -> None:
    """Apply database migrations (PostgreSQL in production; SQLite migrates itself)."""
    settings = _settings()
    _run(lambda: upgrade(settings.database_url))
    out.print("Database is up to date.")


@manifest.command("slack", cls=Command)
def manifest_slack(
    url: Annotated[
        str | None,
        typer.Option(
            help="Public base URL of `drumbeat serve`, e.g. https://okr.example.com "
            "(default: PUBLIC_URL)."
        ),
    ] = None,
    socket_mode: Annotated[
        bool, typer.Option("--socket-mode", help="For Socket Mode: no request URLs.")
    ] = False,
) -> None:
    """Print the Slack app manifest to paste into "Create an app > From a manifest"."""
    from bot.slack.manifest import manifest_json

    if url is None and not socket_mode:
        url = _settings().public_url
    if url is None and not socket_mode:
        err.print(
            "[bold red]Error:[/bold red] give --url https://your.host (or set PUBLIC_URL), "
            "or --socket-mode"
        )
        raise typer.Exit(2)
    print(manifest_json(url, socket_mode=socket_mode))


@manifest.command("teams", cls=Command)
def manifest_teams(
    app_id: Annotated[str, typer.Option(help="The Azure Bot's Microsoft App ID (a GUID).")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the zip.")] = Path(
        "drumbeat-teams.zip"
    ),
) -> None:
    """Write the Teams app package (manifest and icons) to upload in Teams."""
    from bot.teams.package import write_package

    try:
        written = write_package(app_id, out_file)
    except ValueError as error:
        err.print(f"[bold red]Error:[/bold red] {error}")
        raise typer.Exit(2) from None
    out.print(f"Wrote {written}: upload it in Teams > Apps > Manage your apps > Upload an app.")


@workspace.command("link", cls=Command)
def workspace_link(
    platform: Annotated[str, typer.Argument(help="slack or teams")],
    workspace_id: Annotated[str, typer.Argument(help="Slack team id (T…) or Teams tenant id")],
    org: Annotated[str, typer.Argument(help="Organisation key")],
) -> None:
    """Link a Slack workspace or Teams tenant to an organisation (several organisations)."""
    if platform not in ("slack", "teams"):
        err.print("[bold red]Error:[/bold red] the platform is slack or teams")
        raise typer.Exit(2)
    settings = _settings()

    async def work() -> None:
        async with open_database(settings) as store:
            if org not in await store.organisation_keys():
                raise UnknownOrganisation(org)
            await store.link_workspace(platform, workspace_id, org)

    _run(work)
    out.print(f"{platform} {workspace_id} now belongs to {org}.")


import bot.cli_privacy  # noqa: E402  (`export`, `person`: their commands use the helpers above)
import bot.cli_tokens  # noqa: E402, F401  (the `token` commands, which use the helpers above)


def main() -> None:
    app()


__all__ = ["Runtime", "main"]
