"""The API's operations, declared once: `bot.api.app` routes requests by this table and
`bot.api.openapi` describes it, so what is documented is what is served.

Each route names its handler, the scope a token needs, the models its path, query, headers and
body are validated with, and its successful answers. Its error answers follow from those (a
query can be malformed, a token missing...) and a route adds what it may not find (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bot.api import models, reads
from bot.api.models import Model
from rhythm.ports import ApiScope, ApiToken
from rhythm.service import Drumbeat

PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets besides its validated inputs: the core, the caller, the request."""

    drumbeat: Drumbeat
    token: ApiToken | None  # None only on the routes that need none
    request: web.Request
    document: dict[str, Any]

    @property
    def org(self) -> str:
        assert self.token is not None, "a route without a scope asked for the organisation"
        return self.token.org


@dataclass(frozen=True, slots=True)
class Reply:
    body: BaseModel | dict[str, Any]
    status: HTTPStatus = HTTPStatus.OK


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer a route documents."""

    status: HTTPStatus
    description: str
    model: type[BaseModel] | None = None  # None: a JSON object described elsewhere


Handler = Callable[..., Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # under PREFIX, with {name} parameters as aiohttp and OpenAPI both write them
    operation_id: str
    summary: str
    description: str
    handler: Handler
    answers: tuple[Answer, ...]
    tag: str
    scope: ApiScope | None = ApiScope.READ  # None: no token needed
    path_params: type[Model] | None = None
    query: type[Model] | None = None
    headers: type[Model] | None = None
    body: type[Model] | None = None
    not_found: str = ""  # what a 404 means here; "" when it cannot be one
    refusal: str = ""  # what a 422 means here besides an invalid body
    examples: dict[str, Any] = field(default_factory=dict)  # a request body's example

    def problems(self) -> dict[HTTPStatus, str]:
        """The problem documents this route can answer, with what each means here."""
        found: dict[HTTPStatus, str] = {}
        if self.path_params or self.query or self.headers or self.body:
            found[HTTPStatus.BAD_REQUEST] = "A malformed query, header or body (not JSON)."
        if self.scope is not None:
            found[HTTPStatus.UNAUTHORIZED] = "No token, an unknown one, or a revoked one."
        if self.scope is ApiScope.WRITE:
            found[HTTPStatus.FORBIDDEN] = "A read token: this needs a write token."
        if self.not_found:
            found[HTTPStatus.NOT_FOUND] = self.not_found
        if self.body:
            found[HTTPStatus.REQUEST_ENTITY_TOO_LARGE] = "A body over 1 MB."
        if self.body or self.refusal:
            found[HTTPStatus.UNPROCESSABLE_ENTITY] = self.refusal or "A value that is not valid."
        return found


# ---- handlers -----------------------------------------------------------------------------


async def openapi(call: Call) -> Reply:
    return Reply(call.document)


async def organisation(call: Call) -> Reply:
    return Reply(await reads.tree(call.drumbeat, call.org))


async def key_results(call: Call, query: models.KeyResultsQuery) -> Reply:
    return Reply(await reads.key_results(call.drumbeat, call.org, query))


async def key_result(call: Call, path: models.KeyPath) -> Reply:
    return Reply(await reads.key_result(call.drumbeat, call.org, path.key))


async def push_value(
    call: Call, path: models.KeyPath, headers: models.ValueHeaders, body: models.ValueIn
) -> Reply:
    assert call.token is not None
    pushed = await call.drumbeat.values.push(
        call.org,
        path.key,
        body.value,
        source=body.source or call.token.name,
        idempotency_key=headers.idempotency_key,
    )
    reply = models.ValuePushed(
        key_result=pushed.key_result,
        value=pushed.value,
        source=pushed.source,
        at=pushed.at,
        created=pushed.created,
    )
    return Reply(reply, HTTPStatus.CREATED if pushed.created else HTTPStatus.OK)


async def checkins(call: Call, query: models.CheckInsQuery) -> Reply:
    url = call.request.rel_url

    def next_url(last_id: int) -> str:
        return str(url.update_query(after=str(last_id)))

    return Reply(await reads.checkins(call.drumbeat, call.org, query, next_url=next_url))


async def participation(
    call: Call, path: models.TeamPath, query: models.ParticipationQuery
) -> Reply:
    return Reply(await reads.participation(call.drumbeat, call.org, path.team, query))


# ---- the table ----------------------------------------------------------------------------

NO_KEY_RESULT = "No key result has this key in the token's organisation."

ROUTES: tuple[Route, ...] = (
    Route(
        "GET", "/openapi.json", "getOpenApi", "This document",
        "The OpenAPI 3.1 description of this API. It needs no token.",
        openapi, (Answer(HTTPStatus.OK, "The OpenAPI document."),), "meta", scope=None,
    ),
    Route(
        "GET", "/organisation", "getOrganisation", "The OKR tree",
        "The token's organisation as imported: teams (parents first), people, cycles, "
        "objectives and key results. Current values are at /key-results.",
        organisation, (Answer(HTTPStatus.OK, "The tree.", models.OrganisationTree),), "tree",
    ),
    Route(
        "GET", "/key-results", "listKeyResults", "Key results and where they stand",
        "Each key result with its current value, its owner's latest confidence and status, "
        "and its progress from start to target.",
        key_results, (Answer(HTTPStatus.OK, "The key results.", models.KeyResultList),),
        "key results", query=models.KeyResultsQuery,
        not_found="No team, person or cycle of that key.",
    ),
    Route(
        "GET", "/key-results/{key}", "getKeyResult", "One key result",
        "Where one key result stands now.",
        key_result, (Answer(HTTPStatus.OK, "The key result.", models.KeyResult),),
        "key results", path_params=models.KeyPath, not_found=NO_KEY_RESULT,
    ),
    Route(
        "POST", "/key-results/{key}/values", "pushValue", "Set a key result's current value",
        "Stores `value` as the key result's current value, as an automatic update from "
        "`source`: digests show it (“updated automatically from ci”) and its owner's next "
        "check-in form is prefilled with it. With an `Idempotency-Key`, a push sent again "
        "is stored once. Needs a write token.",
        push_value,
        (
            Answer(HTTPStatus.CREATED, "Stored.", models.ValuePushed),
            Answer(HTTPStatus.OK, "Stored already under this idempotency key.",
                   models.ValuePushed),
        ),
        "key results", scope=ApiScope.WRITE, path_params=models.KeyPath,
        headers=models.ValueHeaders, body=models.ValueIn, not_found=NO_KEY_RESULT,
        refusal="A value the key result cannot take (a milestone's is 0 or 1; one without a "
        "metric takes none), or an idempotency key used already for another push.",
        examples={"value": 42.5, "source": "ci"},
    ),
    Route(
        "GET", "/check-ins", "listCheckIns", "Check-ins, page by page",
        "Check-ins with their answers (each one's latest revision), oldest first, filtered "
        "by team (its members and those of the teams below it), person, key result and "
        "time. Follow `next` for the next page.",
        checkins, (Answer(HTTPStatus.OK, "A page of check-ins.", models.CheckInPage),),
        "check-ins", query=models.CheckInsQuery,
        not_found="No team, person or key result of that key.",
    ),
    Route(
        "GET", "/teams/{team}/participation", "getParticipation", "Participation in a ritual",
        "Who checked in to a team's ritual (its subtree included) in the period containing "
        "`at`, as its digest counts it now.",
        participation,
        (Answer(HTTPStatus.OK, "The period's participation.", models.Participation),),
        "participation", path_params=models.TeamPath, query=models.ParticipationQuery,
        not_found="No team of that key or name.",
        refusal="A moment outside 2000 to 2099, or an organisation without a cycle yet.",
    ),
)  # fmt: skip
