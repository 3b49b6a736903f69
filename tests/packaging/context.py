"""The files `docker build .` sends as its context: the checkout's (tracked, or new and not
ignored by git) that `.dockerignore` lets through.

The wheel test builds from a copy of exactly these files, so a wheel that builds and runs there
is also what the Dockerfile's build stage makes; and a file the build needs that the
allow-list forgets fails here, where Docker cannot run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (Go's filepath.Match, plus `**` for any number of folders)."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def dockerignore_rules(root: Path = ROOT) -> list[tuple[bool, re.Pattern[str]]]:
    """(keep, pattern) per line of .dockerignore, in order: the last one that matches wins."""
    rules = []
    for line in (root / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        rules.append((keep, _regex(line.removeprefix("!").strip("/"))))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether `path` (relative, with /) is sent: a pattern that matches one of its folders
    matches it too."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    sent = True
    for keep, pattern in rules:
        if any(pattern.fullmatch(prefix) for prefix in prefixes):
            sent = keep
    return sent


def context_files(root: Path = ROOT) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout  # fmt: skip
    rules = dockerignore_rules(root)
    names = (os.fsdecode(name) for name in listed.split(b"\0") if name)
    return sorted(
        name
        for name in names
        if ((root / name).exists() or (root / name).is_symlink()) and in_context(name, rules)
    )


def copy_context(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the build context in `dest`, symbolic links kept as links (as Docker does)."""
    for name in context_files(root):
        source, target = root / name, dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest
