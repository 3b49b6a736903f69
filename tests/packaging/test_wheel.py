"""The wheel works outside the repository: built from the Docker build context, installed with
its dependencies in a fresh virtual environment in a temporary folder, and run from there with
a clean environment, so nothing of the checkout is importable. Package data that the wheel
lacks (manifests, icons, the sample organisation, migrations) fails here, not in production.

The environment is made once per run and shared by the xdist workers (under a lock): building
and installing takes about half a minute, most of it pip fetching the dependencies.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.slack.manifest import slack_manifest
from storage.migrate import MIGRATIONS
from tests.packaging.context import ROOT, copy_context

pytestmark = pytest.mark.slow

APP_ID = "1b4f3a6e-0d5c-4c1e-9a57-2f8e6b7d9c10"


@dataclass(frozen=True)
class Installed:
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """Only what a shell needs: no PYTHONPATH, no DATABASE_URL or chat credentials of the
        machine's, and on PATH the new environment's scripts before the system's."""
        kept = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR")}
        return {**kept, "PATH": f"{self.bin}{os.pathsep}{os.defpath}", "COLUMNS": "100", **extra}

    def run(
        self, *args: str, cwd: Path, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=cwd, env=self.env(**env), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return done


def _install(folder: Path) -> Installed:
    source = copy_context(folder / "src")
    wheels = folder / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels),
         str(source)],
        check=True, cwd=folder, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("drumbeat-*.whl")
    venv = folder / "venv"
    # Made by the checkout's .venv Python, it is still an environment of the base interpreter:
    # it sees neither the checkout nor the .venv's packages.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        # --no-compile: bytecode is written as the commands import it, for what they use.
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
         str(wheel)],
        check=True, cwd=folder, env=env, capture_output=True,
    )  # fmt: skip
    return Installed(venv)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Installed:
    if worker_id == "master":  # no xdist: this process alone
        return _install(tmp_path_factory.mktemp("wheel"))
    shared = tmp_path_factory.getbasetemp().parent / "wheel"  # this run's, for all workers
    shared.mkdir(exist_ok=True)
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "installed").exists():
            _install(shared)
            (shared / "installed").touch()
    return Installed(shared / "venv")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory outside the checkout, for every command."""
    assert not tmp_path.is_relative_to(ROOT)
    return tmp_path


def test_the_package_and_its_data_come_from_the_new_environment(installed, outside):
    script = (
        "import json, bot, storage.migrate\n"
        "from bot.resources import resource\n"
        "from bot.sample import SAMPLE\n"
        "from bot.teams.package import SOURCES\n"
        "from bot.slack.manifest import MANIFEST_PATH\n"
        "print(json.dumps({'bot': bot.__file__, 'sample': str(SAMPLE.resolve()),\n"
        "    'demo': str(resource('examples', 'acme-demo.yaml').resolve()),\n"
        "    'teams': str(SOURCES.resolve()), 'slack': str(MANIFEST_PATH.resolve()),\n"
        "    'migrations': str(storage.migrate.MIGRATIONS)}))\n"
    )
    places = json.loads(installed.run("python", "-c", script, cwd=outside).stdout)
    for name, place in places.items():
        path = Path(place)
        assert path.is_relative_to(installed.venv), (name, place)
        assert path.exists(), (name, place)
    shipped = Path(places["migrations"]) / "versions"
    assert sorted(p.name for p in shipped.glob("*.py")) == sorted(
        p.name for p in (MIGRATIONS / "versions").glob("*.py")
    )
    teams = Path(places["teams"])
    assert sorted(p.name for p in teams.iterdir()) == ["color.png", "manifest.json", "outline.png"]


def test_version_is_the_distributions(installed, outside):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert installed.run("drumbeat", "--version", cwd=outside).stdout.strip() == (
        f"drumbeat {version}"
    )


def test_demo_runs_to_its_digests(installed, outside):
    """A fresh SQLite database migrated from the shipped scripts, the sample organisation and
    its demo script from the package, two simulated weeks, the digests."""
    shown = installed.run("drumbeat", "demo", cwd=outside, timeout=150).stdout
    assert "weekly digest" in shown
    assert "checked in" in shown
    assert "digests posted" in shown
    assert "Traceback" not in shown
    assert any((outside / "drumbeat-demo-charts").glob("*.png"))


def test_slack_manifest_is_the_repositorys_with_the_urls(installed, outside):
    url = "https://x.example"
    printed = installed.run("drumbeat", "manifest", "slack", "--url", url, cwd=outside)
    manifest = json.loads(printed.stdout)
    assert manifest == slack_manifest(url)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == (
        "https://x.example/slack/events"
    )


def test_teams_package_carries_the_shipped_icons(installed, outside):
    args = ("manifest", "teams", "--app-id", APP_ID, "--out", "app.zip")
    installed.run("drumbeat", *args, cwd=outside)
    with zipfile.ZipFile(outside / "app.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert json.loads(package.read("manifest.json"))["id"] == APP_ID
        for icon in ("color.png", "outline.png"):
            assert package.read(icon) == (ROOT / "manifests" / "teams" / icon).read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError):
        return None  # not listening yet


def test_db_upgrade_then_serve_until_ready_and_sigterm(installed, outside):
    database = f"sqlite+aiosqlite:///{outside / 'drumbeat.db'}"
    upgraded = installed.run("drumbeat", "db", "upgrade", cwd=outside, DATABASE_URL=database)
    assert "up to date" in upgraded.stdout
    port = _free_port()
    env = installed.env(DATABASE_URL=database, HOST="127.0.0.1", PORT=str(port))
    log = outside / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(installed.bin / "drumbeat"), "serve"],
            cwd=outside, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        status = None
        while status != 200 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            status = _status(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "Stopping" in text
    assert "Traceback" not in text
