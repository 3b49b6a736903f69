"""The chat commands, through the real service and database, rendered by the console."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from bot.console.gateway import ConsoleGateway
from bot.console.render import render
from bot.okrfile import load_organisation
from bot.routing import ChatRouter
from rhythm.cadences import RhythmKind
from rhythm.checkin import FormPage
from rhythm.commands import USAGES, run_command
from rhythm.context import FormContext
from rhythm.markup import plain
from rhythm.messages import Notice, Report, Table, Text, Tree
from rhythm.ports import FixedClock
from rhythm.service import Drumbeat
from storage.store import SqlStore

ACME = Path(__file__).resolve().parents[2] / "examples" / "acme.yaml"
LUCAS = "lucas.bernard@acme.example"
WEDNESDAY = datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.fixture
async def drumbeat(store: SqlStore) -> Drumbeat:
    await store.save_organisation(load_organisation(ACME))
    chat = ConsoleGateway(console=Console(file=io.StringIO()))
    router = ChatRouter(gateways={"console": chat}, fallback="console")
    return Drumbeat(store=store, chat=router, clock=FixedClock(WEDNESDAY))


def shown(message: object) -> str:
    console = Console(file=io.StringIO(), width=160)
    console.print(render(message))
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_help_lists_every_command(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "help")
    assert isinstance(reply.message, Text)
    for name in USAGES:
        assert name in reply.message.text


@pytest.mark.parametrize("text", ["frobnicate", "Please show mine", "dance"])
async def test_anything_unknown_gets_the_help(drumbeat: Drumbeat, text: str):
    reply = await run_command(drumbeat, "acme", LUCAS, text, prefix="/okr ")
    assert isinstance(reply.message, Text)
    assert reply.message.text.startswith(f"I don't know “{text.split()[0].lower()}”.\n")
    assert "`/okr mine` — your key results: progress, confidence, open check-ins" in (
        reply.message.text.splitlines()
    )


@pytest.mark.parametrize(
    ("text", "meant"),
    [("minez", "mine"), ("statusx team", "status"), ("chekin", "checkin"), ("Tre", "tree")],
)
async def test_a_typo_is_asked_about_never_run_on_a_guess(
    drumbeat: Drumbeat, text: str, meant: str
):
    reply = await run_command(drumbeat, "acme", LUCAS, text, prefix="/okr ")
    assert reply.form is None
    assert reply.message == Text(
        f"I don't know “{text.split()[0].lower()}”. Did you mean `/okr {meant}`?\n"
        "`/okr help` lists everything I can do."
    )


async def test_help_is_one_command_a_line_its_name_as_code(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "help", prefix="/okr ")
    assert isinstance(reply.message, Text)
    lines = reply.message.text.splitlines()
    assert lines[0] == "Commands:"
    assert lines[1:] == [
        f"`/okr {u.name}`{' ' + u.args if u.args else ''} — {u.summary}" for u in USAGES.values()
    ]
    assert "`/okr checkin` [daily | weekly | monthly | refresh] — check in now" in lines


async def test_too_many_arguments_get_the_usage(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "mine all of them", prefix="/okr ")
    assert reply.message == Text("Usage: `/okr mine`")


async def test_a_misspelt_team_or_kind_is_asked_about(drumbeat: Drumbeat):
    digest = await run_command(drumbeat, "acme", LUCAS, "digest grwoth")
    assert digest.message == Text("No team “grwoth”. Did you mean `growth`?")
    tree = await run_command(drumbeat, "acme", LUCAS, "tree Platfrom")
    assert tree.message == Text("No team “Platfrom”. Did you mean `platform`?")
    weekly = await run_command(drumbeat, "acme", LUCAS, "checkin weeky", prefix="/okr ")
    assert weekly.message == Text("Did you mean `/okr checkin weekly`?")


async def test_team_names_may_have_spaces(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "status Customer Support")
    assert isinstance(reply.message, Table)
    assert reply.message.title.startswith("Customer Support")


async def test_mine_lists_my_key_results(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "mine")
    assert isinstance(reply.message, Table)
    assert [row[0] for row in reply.message.rows] == ["Onboarding completion rate from 40% to 70%"]
    assert "Onboarding completion rate" in shown(reply.message)


async def test_status_of_a_team_and_of_a_person(drumbeat: Drumbeat):
    team = await run_command(drumbeat, "acme", LUCAS, "status Engineering")
    assert isinstance(team.message, Table)
    assert team.message.title.startswith("Engineering")
    person = await run_command(drumbeat, "acme", LUCAS, "status ananya.iyer@acme.example")
    assert isinstance(person.message, Table)
    assert "Ananya" in person.message.title
    unknown = await run_command(drumbeat, "acme", LUCAS, "status nowhere")
    assert isinstance(unknown.message, Text)
    assert "No team “nowhere”" in unknown.message.text


async def test_tree_nests_aligned_objectives_and_key_results(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", LUCAS, "tree")
    assert isinstance(reply.message, Tree)
    text = shown(reply.message)
    assert text.index("Grow into a business") < text.index("Annual recurring revenue")
    assert "🛠" in text  # initiatives


async def test_checkin_opens_the_form_and_digest_previews(drumbeat: Drumbeat):
    checkin = await run_command(drumbeat, "acme", LUCAS, "checkin")
    assert isinstance(checkin.form, FormPage)
    context = FormContext.parse(checkin.form.form.context)
    assert (context.kind, context.period, context.page) == (RhythmKind.WEEKLY, "2026-W48", 0)
    nope = await run_command(drumbeat, "acme", LUCAS, "checkin yearly")
    assert isinstance(nope.message, Text)
    assert "Usage" in nope.message.text
    digest = await run_command(drumbeat, "acme", LUCAS, "digest")
    assert isinstance(digest.message, Report)
    assert plain(digest.message.title) == "📣 Growth · weekly digest"


async def test_someone_outside_the_tree_is_told_so(drumbeat: Drumbeat):
    reply = await run_command(drumbeat, "acme", "stranger@else.example", "mine")
    assert isinstance(reply.message, Text)
    assert "not in Acme's OKR tree" in reply.message.text


def test_people_s_words_are_never_read_as_markup():
    notice = Notice("[bold red]pwned[/bold red]", ("[link=https://evil]click[/link]",))
    text = shown(notice)
    assert "[bold red]pwned[/bold red]" in text
    assert "[link=https://evil]click[/link]" in text


@pytest.mark.slow
def test_terminal_chat_answers_a_check_in_with_a_typo_fixed(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}", "COLUMNS": "160"}
    drumbeat = str(Path(sys.executable).with_name("drumbeat"))

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([drumbeat, *args], env=env, cwd=tmp_path, input=stdin,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    assert run("okrs", "import", str(ACME)).returncode == 0
    # value ("ten" is refused and asked again at once), confidence, status, moved, blockers,
    # blocked by, next step, then 2 initiatives (empty keeps the shown default).
    answers = ["checkin", "ten", "55", "8", "", "Ran the pricing test", "", "", "Ship it", "", "",
               "mine", "quit"]  # fmt: skip
    chat = run("chat", "--as", LUCAS, stdin="\n".join(answers) + "\n")
    assert chat.returncode == 0, chat.stderr
    refused = chat.stdout.split("is not a number")
    assert len(refused) == 2
    assert "New value (%)" in refused[1].split("Confidence")[0]  # the same question, first
    assert "Checked in at" in chat.stdout
    assert "No chat platform is configured" not in chat.stdout + chat.stderr  # the terminal is
    assert "current: 55" in run("okrs", "export").stdout
    # Re-importing the file keeps what was reported since; --values-from-file takes the file's.
    assert run("okrs", "import", str(ACME)).returncode == 0
    assert "current: 55" in run("okrs", "export").stdout
    assert run("okrs", "import", str(ACME), "--values-from-file").returncode == 0
    assert "current: 55" not in run("okrs", "export").stdout
