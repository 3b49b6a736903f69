"""The architecture, checked on the source: who may import whom.

- rhythm/ (the core) imports only the standard library, itself and Babel (the core writes the
  numbers of its messages, in the organisation's locale); rhythm/charts.py alone draws the
  charts, with matplotlib (and Pillow, which matplotlib installs), so nothing else in the
  core pays for the drawing library;
- storage/ implements the core's ports with SQLAlchemy, and knows nothing of chat;
- each chat platform's SDK is imported in its own folder only, and no platform imports
  another: a new platform is one folder;
- adapters reach the database only through the core (their composition modules hand the
  store to what the platform's SDK keeps for itself: Slack's OAuth installations,
  Teams' conversation references).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}
PLATFORM_SDKS = {
    "slack": {"slack_sdk", "slack_bolt"},
    "teams": {"botbuilder", "botframework", "msrest", "azure"},
}
ADAPTERS = ("slack", "teams", "console")
COMPOSITION = {"plugin.py", "playground.py", "gateway.py"}  # wire the store in, for the SDK


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def top(module: str) -> str:
    return module.split(".")[0]


def offenders(folder: str, allowed: set[str]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in modules(folder)
        for module in imports(path)
        if top(module) not in STDLIB and top(module) not in allowed
    ]


CHARTS = ROOT / "rhythm" / "charts.py"
DRAWING = {"matplotlib", "PIL"}


def test_the_core_imports_only_the_standard_library_itself_and_babel() -> None:
    found = offenders("rhythm", {"rhythm", "babel"})
    assert [f for f in found if not f.startswith("rhythm/charts.py ")] == []


def test_only_the_chart_renderer_imports_the_drawing_library() -> None:
    drawing = {top(m) for m in imports(CHARTS)} - STDLIB - {"rhythm", "babel"}
    assert drawing <= DRAWING
    assert "matplotlib" in drawing  # the rule below would pass on a renderer that moved
    elsewhere = [
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in ("rhythm", "storage", "bot")
        for path in modules(folder)
        if path != CHARTS
        for module in imports(path)
        if top(module) == "matplotlib"
    ]
    assert elsewhere == []


def test_storage_knows_the_core_and_sqlalchemy_but_not_chat() -> None:
    assert offenders("storage", {"storage", "rhythm", "sqlalchemy", "sqlmodel", "alembic"}) == []


@pytest.mark.parametrize("platform", sorted(PLATFORM_SDKS))
def test_a_platforms_sdk_is_imported_in_its_own_folder_only(platform: str) -> None:
    sdk = PLATFORM_SDKS[platform]
    outside = [
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in ("rhythm", "storage", "bot")
        for path in modules(folder)
        if (ROOT / "bot" / platform) not in path.parents
        for module in imports(path)
        if top(module) in sdk
    ]
    assert outside == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_adapter_imports_no_other_platform_and_no_storage(adapter: str) -> None:
    others = {f"bot.{other}" for other in ADAPTERS if other != adapter}
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in modules(f"bot/{adapter}")
        for module in imports(path)
        if top(module) == "storage" or any(module.startswith(o) for o in others)
    ]
    assert found == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_adapter_handles_chat_through_the_core_never_the_store(adapter: str) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} uses .{node.attr}"
        for path in modules(f"bot/{adapter}")
        if path.name not in COMPOSITION
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "store"
    ]
    assert found == []


def test_the_checks_see_the_code() -> None:
    """The rules above pass trivially on no files: make sure they read the real tree."""
    assert len(modules("rhythm")) > 10
    assert "rhythm.okr" in set(imports(ROOT / "rhythm" / "checkin.py"))
    assert any(top(m) == "slack_bolt" for p in modules("bot/slack") for m in imports(p))
