"""POST /api/v1/key-results/{key}/values: another system sets a key result's current value;
the owner's `mine` and the next weekly digest show it, an idempotency key stores it once."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from bot.console.render import render
from rhythm.cadences import RhythmKind
from rhythm.commands import run_command
from tests.bot.api.conftest import LUCAS, Api
from tests.bot.api.test_tokens import assert_problem

PUSH = "/api/v1/key-results/onboarding-completion/values"
TUESDAY = datetime(2026, 11, 24, 12, tzinfo=UTC)  # 2026-W48, before its weekly digest
DIGEST_TIME = datetime(2026, 11, 25, 9, 1, tzinfo=UTC)  # Acme's weekly deadline (10:00 Paris)


@pytest.fixture
async def ci(api: Api) -> str:
    return await api.token("ci", "write")


def shown(message: object) -> str:
    console = Console(file=io.StringIO(), width=200)
    console.print(render(message))
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_a_pushed_value_is_stored_and_shown_in_mine_and_the_next_weekly_digest(
    api: Api, ci: str
):
    api.clock.set(TUESDAY)

    status, pushed, response = await api.call("POST", PUSH, ci, json={"value": 61})

    assert status == 201, pushed
    assert response.content_type == "application/json"
    assert pushed == {
        "key_result": "onboarding-completion", "value": 61.0, "source": "ci",
        "at": "2026-11-24T12:00:00Z", "created": True,
    }  # fmt: skip
    _, read, _ = await api.call("GET", "/api/v1/key-results/onboarding-completion", ci)
    assert read["value"] == 61.0
    mine = await run_command(api.runtime.drumbeat, "acme", LUCAS, "mine")
    assert "61% → target 70%" in shown(mine.message)

    api.clock.set(DIGEST_TIME)
    report = await api.runtime.drumbeat.tick()

    assert report.digests >= 1
    digest = await api.runtime.drumbeat.digests.digest("acme", "growth", kind=RhythmKind.WEEKLY)
    [line] = [
        k for o in digest.objectives for k in o.key_results if k.key == "onboarding-completion"
    ]
    assert (line.value, line.automatic) == (61.0, "ci")
    assert "updated automatically from ci" in api.chat_text()


async def test_the_same_idempotency_key_stores_once_and_answers_200(api: Api, ci: str):
    key = {"Idempotency-Key": "warehouse-run-2026-11-25"}
    body = {"value": 58, "source": "warehouse"}

    first = await api.call("POST", PUSH, ci, json=body, headers=key)
    again = await api.call("POST", PUSH, ci, json=body, headers=key)
    other = await api.call("POST", PUSH, ci, json={**body, "value": 59}, headers=key)

    assert (first[0], first[1]["created"], first[1]["source"]) == (201, True, "warehouse")
    assert (again[0], again[1]) == (200, {**first[1], "created": False})
    assert_problem(other[0], other[1], 422, "idempotency key was used already", "Send a new key")
    _, read, _ = await api.call("GET", "/api/v1/key-results/onboarding-completion", ci)
    assert read["value"] == 58.0


@pytest.mark.parametrize(
    ("path", "body", "headers", "expected", "says", "fields"),
    [
        ("/api/v1/key-results/onboarding-completoin/values", {"value": 1}, {}, 404,
         "Did you mean `onboarding-completion`?", None),
        ("/api/v1/key-results/eu-residency/values", {"value": 0.5}, {}, 422,
         "is a milestone: its value is 1 (done) or 0 (not done)", None),
        (PUSH, b"{value: 1", {}, 400, "The body is not JSON", None),
        (PUSH, b"", {}, 400, "The body is not JSON", None),
        (PUSH, {"value": "61"}, {}, 422, "body.value: Input should be a valid number",
         ["body.value"]),
        (PUSH, {"source": "ci"}, {}, 422, "body.value: Field required", ["body.value"]),
        (PUSH, [61], {}, 422, "The body is not valid", ["body"]),
        (PUSH, {"value": 1, "source": "ci!", "when": 1}, {}, 422, "(and 1 more)",
         ["body.source", "body.when"]),
        (PUSH, b'{"value": 1e999}', {}, 422, "finite number", ["body.value"]),
        (PUSH, {"value": 1}, {"Idempotency-Key": "two words"}, 400,
         "header.Idempotency-Key", ["header.Idempotency-Key"]),
    ],
)  # fmt: skip
async def test_a_push_that_cannot_be_stored_is_a_problem_and_changes_nothing(
    api: Api,
    ci: str,
    path: str,
    body: object,
    headers: dict[str, str],
    expected: int,
    says: str,
    fields: list[str] | None,
):
    raw = body if isinstance(body, bytes) else None
    status, problem, response = await api.call(
        "POST", path, ci, json=None if raw is not None else body, data=raw, headers=headers
    )

    assert_problem(status, problem, expected, says)
    assert response.content_type == "application/problem+json"
    assert [e["field"] for e in problem.get("errors", [])] == (fields or [])
    values = await api.runtime.store.current_values("acme", ["onboarding-completion"])
    assert values == {"onboarding-completion": 52.0}


async def test_a_body_over_a_megabyte_is_a_413_problem(api: Api, ci: str):
    huge = b'{"value": 1, "source": "' + b"x" * 1_100_000 + b'"}'

    status, problem, response = await api.call("POST", PUSH, ci, data=huge)

    assert_problem(status, problem, 413, "too large")
    assert response.content_type == "application/problem+json"
