"""The Dockerfile, deploy/compose.yaml and the nginx config, checked where Docker cannot run:
their structure, and every `drumbeat` command line they (and the README's operating section)
give, run through the installed entry point. The image's HEALTHCHECK command itself runs
against a real `drumbeat serve`.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings
from tests.packaging.context import ROOT, dockerignore_rules, in_context

DRUMBEAT = Path(sys.executable).with_name("drumbeat")
DEPLOY = ROOT / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
REPLICAS = ("serve-1", "serve-2")
DRUMBEAT_SERVICES = ("migrate", *REPLICAS)
ON_POSTGRES = re.compile(r"postgresql://drumbeat:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/\w+")
BUILD_TOOLS = re.compile(r"\b(apt-get|apk|gcc|g\+\+|make|build-essential|git)\b")


# ---- the Dockerfile -------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[list[Instruction]]:
    """The Dockerfile's instructions, stage by stage (continuation lines joined)."""
    stages: list[list[Instruction]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        pending = ""
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(keyword.upper(), args.strip()))
    return stages


STAGES = dockerfile()
FINAL = STAGES[-1]


def one(stage: list[Instruction], keyword: str) -> str:
    found = [i.args for i in stage if i.keyword == keyword]
    assert len(found) == 1, (keyword, found)
    return found[0]


def test_a_build_stage_makes_the_wheels_and_the_final_stage_only_installs_them():
    assert len(STAGES) == 2
    build = STAGES[0]
    assert one(build, "FROM").split() == ["python:3.11-slim", "AS", "build"]
    assert any("pip wheel" in i.args for i in build if i.keyword == "RUN")
    assert one(FINAL, "FROM") == "python:3.11-slim"  # the same Python, slim: no compilers
    assert not [i for i in FINAL if i.keyword in ("COPY", "ADD")], "the source stays behind"
    runs = [i.args for i in FINAL if i.keyword == "RUN"]
    (install,) = [r for r in runs if "pip install" in r]
    assert "from=build" in install
    assert "--no-index" in install  # only the build stage's wheels
    for run in runs:
        assert not BUILD_TOOLS.search(run), run


def test_the_final_stage_runs_as_a_user_of_its_own():
    user = one(FINAL, "USER")
    assert user.split(":")[0] not in ("root", "0")
    keywords = [i.keyword for i in FINAL]
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert any(i.keyword == "RUN" and "useradd" in i.args and user in i.args.split() for i in FINAL)


def test_it_listens_where_drumbeat_does_and_serves_by_default():
    assert one(FINAL, "EXPOSE") == str(Settings(_env_file=None).port)
    assert one(FINAL, "ENTRYPOINT") == '["drumbeat"]'
    assert one(FINAL, "CMD") == '["serve"]'


def healthcheck_command() -> str:
    args = one(FINAL, "HEALTHCHECK")
    assert "--interval=" in args
    _, _, command = args.partition(" CMD ")
    assert "/readyz" in command
    assert "urllib" in command  # slim has no curl
    return command


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_healthcheck_passes_on_a_ready_server_and_fails_without_one(tmp_path: Path):
    """The HEALTHCHECK line as Docker runs it (a shell, with the container's PORT), against a
    real `drumbeat serve`: exit 0 while it is ready, non-zero once it has stopped."""
    command = healthcheck_command()
    port = str(_free_port())
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'drumbeat.db'}",
        "HOST": "127.0.0.1",
        "PORT": port,
    }
    check = [
        "sh", "-c", command.replace("python ", f"{shlex.quote(sys.executable)} ", 1),
    ]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(DRUMBEAT), "serve"], cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(check, env=env, capture_output=True).returncode != 0:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert subprocess.run(check, env=env, capture_output=True).returncode != 0


# ---- deploy/compose.yaml --------------------------------------------------------------------


def needs(service: str) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in SERVICES[service]["depends_on"].items()}


def test_compose_has_postgres_a_one_shot_migration_two_replicas_and_a_proxy():
    assert set(SERVICES) == {"postgres", *DRUMBEAT_SERVICES, "proxy"}
    postgres = SERVICES["postgres"]
    assert re.fullmatch(r"postgres:1[56](\..*)?", postgres["image"])
    (volume,) = postgres["volumes"]
    name, mounted = volume.split(":")
    assert mounted == "/var/lib/postgresql/data"
    assert name in COMPOSE["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]

    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert needs("migrate") == {"postgres": "service_healthy"}

    for replica in REPLICAS:
        assert SERVICES[replica]["command"] == ["serve"]
        assert needs(replica) == {"migrate": "service_completed_successfully"}
    assert len({SERVICES[r]["environment"]["WORKER_ID"] for r in REPLICAS}) == 2

    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert len(proxy["ports"]) == 1  # one port in front of both
    assert needs("proxy") == dict.fromkeys(REPLICAS, "service_healthy")


def test_every_drumbeat_service_is_this_image_on_the_same_postgresql():
    for service in DRUMBEAT_SERVICES:
        config = SERVICES[service]
        assert (DEPLOY / config["build"]["context"]).resolve() == ROOT
        assert config["image"] == SERVICES["migrate"]["image"]
        url = config["environment"]["DATABASE_URL"]
        assert ON_POSTGRES.fullmatch(url), url
        assert config["env_file"] == ".env"


def interpolated(text: str) -> dict[str, bool]:
    """The variables compose.yaml interpolates, and whether each has a default."""
    found: dict[str, bool] = {}
    for name, operator in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(:?[-?]?)", text):
        found[name] = found.get(name, False) or operator in ("-", ":-")
    return found


def test_the_env_example_sets_what_compose_needs_and_only_what_drumbeat_reads():
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    keys = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    used = interpolated((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert {name for name, has_default in used.items() if not has_default} <= keys
    settings = {name.upper() for name in Settings.model_fields}
    assert keys <= settings | set(used), keys - settings - set(used)


def command_lines() -> list[list[str]]:
    """Every drumbeat command line the image and compose.yaml run, and those of the README's
    operating section (a `docker ... drumbeat` line's arguments after the image name)."""
    lines = [
        ["drumbeat", *yaml.safe_load(one(FINAL, "CMD"))],
        *(["drumbeat", *SERVICES[s]["command"]] for s in DRUMBEAT_SERVICES),
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Operate on PostgreSQL", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["drumbeat"]:
                lines.append(words)
            elif words[:1] == ["docker"] and "run" in words and words[-1] != "drumbeat":
                for image in ("drumbeat", "migrate"):  # `docker run ... drumbeat ARGS`
                    if image in words[2:]:
                        lines.append(["drumbeat", *words[words.index(image, 2) + 1 :]])
                        break
    return lines


def test_every_command_line_exists_in_the_cli():
    lines = command_lines()
    assert ["drumbeat", "serve"] in lines
    assert ["drumbeat", "db", "upgrade"] in lines
    # The subcommands only: `--help` after them never touches a database or a file.
    named = set()
    for line in lines:
        words = [w for w in line[1:] if not w.startswith("-")]
        named.add(tuple(words[: 2 if words[0] in ("db", "okrs", "rhythm", "manifest") else 1]))
    for commands in sorted(named):
        done = subprocess.run(
            [str(DRUMBEAT), *commands, "--help"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, (commands, done.stderr)


# ---- deploy/nginx.conf ----------------------------------------------------------------------


def blocks(conf: str) -> dict[str, str]:
    """`name args { body }` blocks at any depth, by `name args` (bodies without nesting)."""
    return {
        " ".join(head.split()): body
        for head, body in re.findall(r"([a-z_]+[^{};]*)\{([^{}]*)\}", conf)
    }


def test_nginx_sends_one_port_to_both_replicas():
    conf = re.sub(r"#.*", "", (DEPLOY / "nginx.conf").read_text(encoding="utf-8"))
    assert conf.count("{") == conf.count("}")
    for statement in re.split(r"[{}]", conf):
        # Every directive ends with `;` (what is left between braces is one block's head).
        assert all(part.strip() for part in statement.split(";")[:-1]), statement
    found = blocks(conf)
    (upstream,) = [head for head in found if head.startswith("upstream ")]
    servers = re.findall(r"^\s*server\s+(\S+)", found[upstream], re.MULTILINE)
    port = Settings(_env_file=None).port
    assert sorted(s.split(":")[0] for s in servers) == sorted(REPLICAS)
    assert {s.split(":")[1] for s in servers} == {str(port)}
    assert f"proxy_pass http://{upstream.split()[1]};" in found["location /"]
    (published,) = SERVICES["proxy"]["ports"]
    listen = re.search(r"listen\s+(\d+);", conf)
    assert listen
    assert published.rsplit(":", 1)[1] == listen.group(1)
    mounts = [v.split(":")[0] for v in SERVICES["proxy"]["volumes"]]
    assert "./nginx.conf" in mounts


# ---- the build context ----------------------------------------------------------------------


def test_the_build_context_has_the_wheels_sources_and_no_secrets_or_state():
    rules = dockerignore_rules()
    for needed in ("pyproject.toml", "README.md", "bot/cli.py", "bot/resources/manifests",
                   "manifests/teams/color.png", "examples/acme.yaml",
                   "storage/migrations/versions/x.py", "rhythm/okr.py"):  # fmt: skip
        assert in_context(needed, rules), needed
    for left_out in (".env", "deploy/.env", "drumbeat.db", ".venv/bin/python", ".git/HEAD",
                     ".tmp/local.db", "tests/conftest.py", "bench/.data/x",
                     "bot/__pycache__/cli.cpython-311.pyc"):  # fmt: skip
        assert not in_context(left_out, rules), left_out
