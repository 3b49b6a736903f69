"""`drumbeat okrs import FILE` on a ~20 MB OKR file: wall time, peak memory, exit code.

Two files are generated into bench/.data (once; regenerated when the generator changes): a
valid one, the benchmark organisation of bench/org.py scaled to 72 divisions (36,000 people,
72,000 key results), and the same file with a handful of mistakes, which must be refused with
every problem listed. Each is imported by the real command, as a subprocess, into a fresh
SQLite database; its peak resident memory is the child's own `ru_maxrss` (from `os.wait4`).
The loader alone (`load_organisation`, no database) is measured the same way, to tell the
file's share of the time from the storage layer's.

    .venv/bin/python -m bench.okr_import            # both files, import and loader alone
    .venv/bin/python -m bench.okr_import --runs 3   # the median of three runs of each
    .venv/bin/python -m bench.okr_import --source /tmp/old   # another commit's code:
                                                             # git archive C | tar -x -C /tmp/old
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

if TYPE_CHECKING:
    from rhythm.okr import Organisation

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"  # as bench.common's, which imports the storage layer
DIVISIONS = 72  # 500 people each: about 20 MB of YAML
TIME_TARGET = 10.0  # seconds
MEMORY_TARGET = 300 * 2**20  # bytes, the whole process
DRUMBEAT = ROOT / ".venv" / "bin" / "drumbeat"
PYTHON = ROOT / ".venv" / "bin" / "python"
# What the generated files depend on (with DIVISIONS and MISTAKES): a change regenerates them.
GENERATORS = [ROOT / "bench" / "org.py", ROOT / "bot" / "okrfile" / "dump.py"]
GENERATION = 1  # bump when _importable changes

# (where in the file, a pattern, its replacement): each changes the first match after that
# fraction of the file, so the problems are spread through it.
MISTAKES = [
    (0.1, r"\n    teams_id: ", r"\n    teams_idd: "),
    (0.4, r"(metric: \{start: \d+, target: )\d+", r"\1ten"),
    (0.6, r"(\n    team: team-)(\d\d)", r"\1x\2"),
    (0.75, r"(\n        owner: )p(\d+)@", r"\1q\2@"),
    (0.9, r"\n(  - key: o-team-)", r"\n  - {key: o-company-0, title: Twice, team: company}\n\1"),
]


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    cpu_seconds: float  # user + system: steadier than wall time on a busy machine
    peak_rss: int  # bytes
    exit_code: int
    output: str


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in GENERATORS:
        digest.update(path.read_bytes())
    digest.update(repr((GENERATION, DIVISIONS, MISTAKES)).encode())
    return digest.hexdigest()[:12]


def _importable(organisation: Organisation) -> Organisation:
    """The benchmark organisation as an OKR file accepts it: bench/org.py's Teams ids and
    digest channels are placeholders the file format rejects."""
    people = tuple(
        replace(p, teams_user_id=str(uuid.UUID(int=i + 1))) if p.teams_user_id else p
        for i, p in enumerate(organisation.people)
    )
    rhythms = tuple(
        replace(r, digest_channels=tuple(f"console:{c}" for c in r.digest_channels))
        for r in organisation.rhythms
    )
    return replace(organisation, people=people, rhythms=rhythms)


def _with_mistakes(text: str) -> str:
    for fraction, pattern, replacement in MISTAKES:
        at = int(len(text) * fraction)
        text = text[:at] + re.sub(pattern, replacement, text[at:], count=1)
    return text


def generate() -> tuple[Path, Path]:
    """The valid and the invalid file, generated when missing (a dump takes about 30 s)."""
    DATA.mkdir(parents=True, exist_ok=True)
    valid = DATA / f"okrs-{_fingerprint()}.yaml"
    invalid = valid.with_name(f"{valid.stem}-errors.yaml")
    if valid.exists() and invalid.exists():
        return valid, invalid
    for stale in DATA.glob("okrs-*.yaml"):
        stale.unlink()
    print(f"Generating {valid.name} ({DIVISIONS} divisions)...", file=sys.stderr)
    # Imported here: measuring runs no code of this checkout, so it works with --source.
    from bench import org
    from bot.okrfile import dump_organisation

    # bench/org.py sizes the organisation with module constants; scale it for this run only.
    with mock.patch.object(org, "DIVISIONS", DIVISIONS):
        plan = org.build()
    text = dump_organisation(_importable(plan.org))
    invalid.write_text(_with_mistakes(text), encoding="utf-8")
    valid.write_text(text, encoding="utf-8")
    return valid, invalid


def _measure(command: list[str], workdir: Path, env: dict[str, str]) -> Run:
    output = workdir / "output.txt"
    started = time.perf_counter()
    with output.open("wb") as sink:
        child = subprocess.Popen(command, cwd=workdir, env=env, stdout=sink, stderr=sink)
        # wait4 gives this child's own rusage, where RUSAGE_CHILDREN is the maximum of all.
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    text = output.read_text(encoding="utf-8", errors="replace")
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, cpu, usage.ru_maxrss * 1024, child.returncode, text)


def run_once(file: Path, *, loader_only: bool, source: Path | None = None) -> Run:
    """One import of `file` into a new SQLite database, or one `load_organisation` of it;
    with the code in `source` (e.g. an unpacked `git archive` of an older commit) if given."""
    with tempfile.TemporaryDirectory(prefix="drumbeat-okr-import-") as tmp:
        workdir = Path(tmp)  # empty, so no stray .env is read
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'x.db'}",
            "LOG_LEVEL": "WARNING",
            "COLUMNS": "200",
        }
        if source is not None:  # found before the editable install of this checkout
            env["PYTHONPATH"] = str(source.resolve())
        if loader_only:
            code = (
                "import sys; from pathlib import Path; "
                "from bot.okrfile import OkrFileError, load_organisation\n"
                "try: load_organisation(Path(sys.argv[1]))\n"
                "except OkrFileError as error: print(error); sys.exit(2)"
            )
            return _measure([str(PYTHON), "-c", code, str(file)], workdir, env)
        return _measure([str(DRUMBEAT), "okrs", "import", str(file)], workdir, env)


def _problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(str(DATA))]


def report(label: str, file: Path, runs: list[Run], *, expect: int) -> bool:
    seconds = statistics.median(r.seconds for r in runs)
    cpu = statistics.median(r.cpu_seconds for r in runs)
    peak = max(r.peak_rss for r in runs)
    codes = sorted({r.exit_code for r in runs})
    ok = seconds < TIME_TARGET and peak < MEMORY_TARGET and codes == [expect]
    print(
        f"{label:<37} {file.stat().st_size / 1e6:5.1f} MB  {seconds:6.2f} s "
        f"(CPU {cpu:5.2f} s)  {peak / 2**20:6.0f} MB peak RSS  exit {','.join(map(str, codes))}  "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each (the median is shown)")
    parser.add_argument(
        "--source", type=Path, help="run the code of this directory (e.g. `git archive HEAD`)"
    )
    args = parser.parse_args()
    valid, invalid = generate()
    print(
        f"targets: < {TIME_TARGET:.0f} s and < {MEMORY_TARGET / 2**20:.0f} MB peak RSS; "
        f"valid file exits 0, invalid exits 2"
    )
    passed = True
    for label, file, expect in (("valid", valid, 0), ("with errors", invalid, 2)):
        for loader_only in (False, True):
            runs = [
                run_once(file, loader_only=loader_only, source=args.source)
                for _ in range(args.runs)
            ]
            what = f"{label}: {'load_organisation only' if loader_only else 'okrs import'}"
            passed &= report(what, file, runs, expect=expect) or loader_only
            if not loader_only and expect and runs[-1].exit_code == expect:
                for line in _problem_lines(runs[-1].output):
                    print(f"    {line.removeprefix(str(DATA) + '/')}")
            elif runs[-1].exit_code != expect:
                print(runs[-1].output[-2000:])
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
