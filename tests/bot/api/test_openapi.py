"""The API against its own OpenAPI document, on a real `drumbeat serve`: Schemathesis
generates requests from the document (valid ones and broken ones) with a real write token,
and checks that no answer is a 5xx and that every answer is one the document describes
(status, content type, headers, body schema)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from random import Random

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from bot.api.openapi import document
from bot.api.routes import PREFIX, ROUTES
from tests.bot.api.conftest import ACME

pytestmark = pytest.mark.slow

DRUMBEAT = Path(sys.executable).with_name("drumbeat")
EXAMPLES = 25  # per operation and mode: about 30 s in all
REQUEST_LINE_LIMIT = 8000  # aiohttp's is 8190 bytes, the method and protocol included


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    base: str
    write_token: str
    read_token: str
    log: Path


def _drumbeat(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [str(DRUMBEAT), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def get(url: str, token: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`drumbeat serve` on a SQLite file with Acme, the Teams endpoint on (local mode) next
    to the API, and a read and a write token made with `drumbeat token create`."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'api.db'}",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "TEAMS_LOCAL": "true",
        "COLUMNS": "200",
    }
    _drumbeat(env, folder, "okrs", "import", str(ACME))
    write = _drumbeat(env, folder, "token", "create", "--name", "ci", "--scope", "write").strip()
    read = _drumbeat(env, folder, "token", "create", "--name", "dashboard").strip()
    log = folder / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen([str(DRUMBEAT), "serve"], env=env, cwd=folder,
                                stdout=sink, stderr=sink)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"drumbeat serve did not start:\n{log.read_text()}")
        yield Served(base, write, read, log)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert "Traceback" not in log.read_text()


# A well-formed request is answered 2xx, or 401/403/404 (Schemathesis's defaults); a 422 only
# where the route documents a refusal of values the schema cannot tell apart (a milestone's
# value other than 0 or 1, a moment no cycle is near).
ACCEPTED = ["2xx", "401", "403", "404"]


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    """The document as served, with the write token for its bearer scheme (so Schemathesis
    knows the credentials, and that a request it strips them from is meant to get a 401)."""
    config = SchemathesisConfig.from_dict(
        {
            "auth": {"openapi": {"bearer": {"bearer": served.write_token}}},
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
            "operations": [
                {
                    "include-operation-id": route.operation_id,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}
                    },
                }
                for route in ROUTES
                if route.refusal
            ],
        }
    )
    return schemathesis.openapi.from_url(f"{served.base}{PREFIX}/openapi.json", config=config)


# Schemathesis's pytest loader (`schemathesis.pytest.from_fixture`) reads an attribute pytest 9
# removed (`Function._nodeid`); its Hypothesis strategies are the same test without it.
# Random keys name nothing (404): each route with a path is run again on Acme's own keys, so
# well-formed requests reach the handlers too (a milestone's value is pushed among them).
KNOWN = {"key": ["onboarding-completion", "eu-residency"], "team": ["growth"]}
OPERATIONS = [
    pytest.param(
        route.method, route.path, mode, known,
        id=f"{route.method} {route.path} {mode.value}{' known' if known else ''}",
    )
    for route in ROUTES
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Nothing to break in a request without inputs: its negative cases are only the token's.
    if mode is GenerationMode.POSITIVE or route.path_params or route.query or route.body
    for known in ((False, True) if route.path_params and mode.is_positive else (False,))
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "mode", "known"), OPERATIONS)
def test_every_answer_is_one_the_document_describes(
    api_schema: schemathesis.BaseSchema, served: Served, method: str, path: str,
    mode: GenerationMode, known: bool,
) -> None:  # fmt: skip
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode), pick=st.randoms())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def call(case: schemathesis.Case, pick: Random) -> None:
        if known:
            path = case.path_parameters or {}
            case.path_parameters = {
                name: pick.choice(KNOWN.get(name, [v])) for name, v in path.items()
            }
        # A request line past aiohttp's limit is refused by its HTTP parser, before any route:
        # a plain-text 400 (and an error in the log), the web server's answer, not the API's.
        kwargs = case.as_transport_kwargs()
        url = requests.Request(kwargs["method"], kwargs["url"], params=kwargs.get("params"))
        assume(len(url.prepare().path_url) < REQUEST_LINE_LIMIT)
        response = case.call_and_validate()
        if mode.is_positive:  # the token is good: a 401 here would make the run prove nothing
            assert response.status_code not in (401, 403), response.text

    call()


def test_the_document_is_served_without_a_token_and_is_the_route_tables(served: Served):
    status, content_type, body = get(f"{served.base}{PREFIX}/openapi.json")

    assert (status, content_type) == (200, "application/json")
    served_document = json.loads(body)
    assert served_document == json.loads(json.dumps(document(ROUTES, prefix=PREFIX)))
    assert served_document["openapi"] == "3.1.0"
    operations = {(m.upper(), p) for p, ops in served_document["paths"].items() for m in ops}
    assert operations == {(r.method, r.path) for r in ROUTES}
    assert "/key-results/{key}/values" in served_document["paths"]


def test_the_api_sits_beside_the_bot_framework_route_not_over_it(served: Served):
    """POST /api/messages is Teams' (its adapter answers, not the API's problem documents);
    everything under /api/v1 is the API's, unknown paths included."""
    request = urllib.request.Request(
        f"{served.base}/api/messages", data=b"{}", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            teams = (response.status, response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        teams = (error.code, error.headers.get_content_type())
    status, content_type, _ = get(f"{served.base}{PREFIX}/messages", served.read_token)

    assert teams[1] != "application/problem+json"
    assert teams[0] != 404
    assert (status, content_type) == (404, "application/problem+json")
