"""`drumbeat chat` in a real pseudo-terminal, typed into as a person types: each question is
answered and checked before the next one comes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parents[3]
ACME = ROOT / "examples" / "acme.yaml"
DRUMBEAT = Path(sys.executable).with_name("drumbeat")
LUCAS = "lucas.bernard@acme.example"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

pytestmark = pytest.mark.slow


class Terminal:
    """A `drumbeat` process in a pseudo-terminal, read as a person reads it."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child

    def wait_for(self, text: str) -> str:
        """Everything printed (colours aside) up to and including `text`."""
        self.child.expect_exact(text)
        return ANSI.sub("", str(self.child.before) + text)

    def answer(self, line: str, then: str) -> str:
        """Types `line` and returns what was printed until `then` appeared."""
        self.child.sendline(line)
        return self.wait_for(then)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "TERM": "dumb",  # no colours; and the width below, not 80 columns
        "COLUMNS": "160",
        "LINES": "50",
    }
    imported = subprocess.run(
        [str(DRUMBEAT), "okrs", "import", str(ACME)], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    return env


@pytest.fixture
def lucas(env: dict[str, str], tmp_path: Path) -> Iterator[Terminal]:
    child = pexpect.spawn(
        str(DRUMBEAT), ["chat", "--as", LUCAS], env=env, cwd=str(tmp_path),
        encoding="utf-8", timeout=30, dimensions=(50, 160),
    )  # fmt: skip
    terminal = Terminal(child)
    terminal.wait_for("Lucas Bernard:")
    yield terminal
    child.close(force=True)


def test_a_typo_is_asked_again_at_once_and_cancel_stores_nothing(lucas: Terminal, env, tmp_path):
    lucas.answer("checkin", then="New value (%) (52):")

    again = lucas.answer("ten", then="target 70%")
    assert "“ten” is not a number" in again
    assert "Confidence" not in again  # asked again before any other question
    lucas.wait_for("New value (%) (52):")  # the prefill is offered, never the typo

    lucas.answer("55", then="Confidence (0-10)")
    lucas.answer("7", then="Status (1 On track / 2 At risk / 3 Off track)")
    taken = lucas.answer("AT_risk", then="What moved it?")  # a label, any case, underscores
    assert "Choose one of" not in taken

    left = lucas.answer("cancel", then="Lucas Bernard:")
    assert "Cancelled: nothing was stored." in left

    lucas.answer("checkin", then="New value (%) (52):")  # and what was typed is forgotten


def test_a_doubted_value_typed_again_is_stored_and_echoed(lucas: Terminal, env, tmp_path):
    lucas.answer("checkin", then="New value (%) (52):")
    warned = lucas.answer("610", then="New value (%) (52):")
    assert "610% is far outside this key result's range" in warned
    lucas.answer("610", then="Confidence (0-10)")  # the same again: it is meant
    lucas.answer("8", then="Status")
    lucas.answer("2", then="What moved it?")  # "At risk", by its number
    lucas.answer("The invite step went live", then="Blockers")
    lucas.answer("", then="Blocked by")
    lucas.answer("", then="Next step")
    lucas.answer("Roll out the checklist", then="Invite-teammates step in sign-up")
    lucas.answer("", then="Interactive checklist for new workspaces")

    done = lucas.answer("in progress", then="Lucas Bernard:")

    assert "Checked in at" in done
    assert "610% (was 52%) · confidence 8 · at risk" in done
    lucas.child.sendline("quit")
    lucas.child.expect(pexpect.EOF)
    exported = subprocess.run(
        [str(DRUMBEAT), "okrs", "export"], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "current: 610" in exported.stdout
