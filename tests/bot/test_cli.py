"""The `drumbeat` command line, run as a person runs it: a real process on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from typer.main import get_command
from typer.testing import CliRunner

from bot.cli import app
from bot.okrfile import load_organisation
from rhythm.due import due_prompts

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme.yaml"
DRUMBEAT = Path(sys.executable).with_name("drumbeat")


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def drumbeat(tmp_path: Path):
    """Runs `drumbeat ARGS` against a fresh SQLite database in tmp_path."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "160"}

    def run(*args: str, timeout: float = 120) -> Result:
        done = subprocess.run(
            [str(DRUMBEAT), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    return run


def test_import_export_round_trip(drumbeat, tmp_path: Path):
    imported = drumbeat("okrs", "import", str(ACME))
    assert imported.code == 0, imported.err
    assert "Imported Acme: 9 teams, 16 people" in imported.out
    exported = drumbeat("okrs", "export", "--out", str(tmp_path / "back.yaml"))
    assert exported.code == 0, exported.err
    assert load_organisation(tmp_path / "back.yaml") == load_organisation(ACME)


def test_a_broken_file_is_refused_with_its_lines_and_changes_nothing(drumbeat, tmp_path: Path):
    assert drumbeat("okrs", "import", str(ACME)).code == 0
    before = drumbeat("okrs", "export").out
    lines = ACME.read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if "target: 10.0" in line)
    lines[target] = lines[target].replace("target: 10.0", "target: ten")
    owner = next(i for i, line in enumerate(lines) if line.strip().startswith("owner:"))
    lines[owner] = lines[owner].split(":")[0] + ": nobody@acme.example"
    broken = tmp_path / "broken.yaml"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = drumbeat("okrs", "import", str(broken))

    assert result.code == 2
    assert "Traceback" not in result.err
    assert "nothing changed" in result.err
    assert f"broken.yaml:{target + 1}:" in result.err
    assert f"broken.yaml:{owner + 1}:" in result.err
    assert "ten" in result.err
    assert drumbeat("okrs", "export").out == before


def test_import_into_an_empty_database_leaves_it_empty_on_error(drumbeat, tmp_path: Path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("organisation: {key: x, name: X}\nteams:\n  - key: a\n    parent: b\n")
    assert drumbeat("okrs", "import", str(broken)).code == 2
    result = drumbeat("okrs", "export")
    assert result.code == 1
    assert "No organisation yet" in result.err


def test_tick_at_a_moment_prompts_who_is_due_once(drumbeat):
    assert drumbeat("okrs", "import", str(ACME)).code == 0
    at = "2026-11-23T09:05:00+00:00"
    from datetime import datetime

    moment = datetime.fromisoformat(at)
    due = [p for p in due_prompts(load_organisation(ACME), moment) if p.deadline > moment]
    first = drumbeat("rhythm", "tick", "--at", at)
    assert first.code == 0, first.err
    assert f"created {len(due)} prompts, sent {len(due)}, failed 0" in first.out
    again = drumbeat("rhythm", "tick", "--at", at)
    assert "created 0 prompts, sent 0" in again.out


def test_digest_and_tree_print_the_team(drumbeat):
    assert drumbeat("okrs", "import", str(ACME)).code == 0
    digest = drumbeat("digest", "platform", "--at", "2026-11-26T12:00:00Z")
    assert digest.code == 0, digest.err
    assert "Platform" in digest.out
    assert "p95 API latency" in digest.out
    tree = drumbeat("okrs", "tree", "--team", "engineering")
    assert tree.code == 0, tree.err
    assert "Make Acme feel instant" in tree.out
    assert "Annual recurring revenue" not in tree.out  # another team's objective


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rhythm", "tick", "--at", "next tuesday"), "is not an ISO 8601 time"),
        (("digest", "nosuchteam"), "No team “nosuchteam”"),
        (("okrs", "import", "missing.yaml"), "does not exist"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(drumbeat, args, message):
    assert drumbeat("okrs", "import", str(ACME)).code == 0
    result = drumbeat(*args)
    assert result.code in (1, 2)
    assert message in result.err
    assert "Traceback" not in result.err + result.out


def test_lint_exits_as_its_help_says(drumbeat, tmp_path: Path):
    help_text = " ".join(drumbeat("okrs", "lint", "--help").out.split())
    assert "Exit code 0 without errors (warnings are fine), 1 with errors" in help_text
    assert "2 when the command is used wrongly" in help_text

    clean = drumbeat("okrs", "lint", str(ACME))
    assert (clean.code, clean.out.strip()) == (0, "No findings in Acme.")

    data = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    data["objectives"][0]["key_results"][0].pop("owner")
    data["objectives"][0]["key_results"][0]["title"] = "Launch the new pricing page"
    data["objectives"][0]["key_results"][0].pop("metric", None)
    data["objectives"][0]["key_results"][0]["milestone"] = True
    warned = tmp_path / "warned.yaml"
    warned.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    warnings = drumbeat("okrs", "lint", str(warned))
    assert warnings.code == 0  # warnings alone do not fail
    assert "kr-without-owner" in warnings.out
    assert "activity-key-result" in warnings.out
    assert "2 warnings in Acme." in warnings.out

    data["objectives"][0]["team"] = "nosuchteam"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    errors = drumbeat("okrs", "lint", str(broken))
    assert errors.code == 1
    assert "broken.yaml cannot be imported" in errors.err
    assert "nosuchteam" in errors.err

    missing = drumbeat("okrs", "lint", str(tmp_path / "missing.yaml"))
    assert missing.code == 2
    assert "does not exist" in missing.err
    assert "Traceback" not in missing.err


def _command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    children = getattr(command, "commands", {})
    return [path] + [p for name, c in children.items() for p in _command_paths(c, (*path, name))]


def test_help_shows_flags_without_a_value():
    runner = CliRunner()
    paths = _command_paths(get_command(app))
    assert ("demo",) in paths
    assert ("manifest", "slack") in paths
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
        assert shown.exit_code == 0, (path, shown.output)
        assert "<bool>" not in shown.output, path
    demo_help = runner.invoke(app, ["demo", "--help"], env={"COLUMNS": "160"}).output
    assert "--quiet" in demo_help
    assert "--no-quiet" not in demo_help


def test_ordinary_commands_log_nothing_unless_verbose(drumbeat):
    imported = drumbeat("okrs", "import", str(ACME))
    assert imported.code == 0, imported.err
    ordinary = [
        ("okrs", "tree"),
        ("digest", "growth", "--at", "2026-11-26T12:00:00Z"),
        ("rhythm", "tick", "--at", "2026-11-22T10:00:00Z"),
        ("db", "upgrade"),
    ]
    for args in ordinary:
        quiet = drumbeat(*args)
        assert quiet.code == 0, quiet.err
        assert "INFO" not in quiet.err, args
        assert "Context impl" not in quiet.err, args
        assert "No chat platform" not in quiet.out + quiet.err, args  # only serve says it
    assert imported.err.strip() == ""
    verbose = drumbeat("-v", "okrs", "tree")
    assert "INFO" in verbose.err
    assert "Context impl SQLiteImpl" in verbose.err


def test_db_upgrade_creates_the_schema(drumbeat, tmp_path: Path):
    result = drumbeat("db", "upgrade")
    assert result.code == 0, result.err
    assert "up to date" in result.out
    assert (tmp_path / "cli.db").stat().st_size > 0


@pytest.mark.slow
def test_the_demo_runs_to_the_end(drumbeat):
    result = drumbeat("demo", "--quiet", timeout=120)
    assert result.code == 0, result.err[-2000:]
    assert "Two weeks later" in result.out
    assert "weekly digest" in result.out
    assert "0 undeliverable" in result.out
    assert "on leave: Hugo Petit" in result.out
    assert "1 spontaneous" in result.out or "spontaneous)" in result.out


def test_an_import_with_many_findings_shows_the_first_and_counts_the_rest(drumbeat, tmp_path: Path):
    data = yaml.safe_load(ACME.read_text(encoding="utf-8"))
    krs = data["objectives"][0]["key_results"]
    template = krs[0]
    for n in range(30):  # thirty key results nobody owns, each a finding
        kr = {k: v for k, v in template.items() if k != "owner"}
        krs.append({**kr, "key": f"orphan-{n}", "title": f"Orphan [bold]{n}[/bold]"})
    many = tmp_path / "many.yaml"
    many.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    result = drumbeat("okrs", "import", str(many))

    assert result.code == 0, result.err
    shown = [line for line in result.err.splitlines() if line.startswith("warning")]
    assert len(shown) == 20
    assert "… and 10 more (10 kr-without-owner): `drumbeat okrs lint` lists them all" in result.err
    listed = drumbeat("okrs", "lint", str(many))
    assert listed.out.count("kr-without-owner") == 30
