"""Every error of the API as an RFC 9457 problem document, from one middleware.

Handlers raise `ApiError` (or let a domain refusal, `DrumbeatError`, through); aiohttp's own
HTTP errors (no such path, wrong method, body too large) are rewritten the same way. Anything
else is a bug: logged with its traceback, answered with a 500 problem that says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError

from bot.api.models import FieldError, Problem
from rhythm.errors import (
    CommandError,
    DrumbeatError,
    UnknownKeyResult,
    UnknownOrganisation,
    UnknownPerson,
    UnknownTeam,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# A domain refusal's status, by its class (the nearest one up its MRO): what names nothing
# is 404, any other refusal is a value the request got wrong.
REFUSALS: dict[type[DrumbeatError], HTTPStatus] = {
    UnknownTeam: HTTPStatus.NOT_FOUND,
    UnknownKeyResult: HTTPStatus.NOT_FOUND,
    UnknownPerson: HTTPStatus.NOT_FOUND,
    UnknownOrganisation: HTTPStatus.NOT_FOUND,
    CommandError: HTTPStatus.UNPROCESSABLE_ENTITY,
    DrumbeatError: HTTPStatus.UNPROCESSABLE_ENTITY,
}


class ApiError(Exception):
    """A request the API refuses: its status, the sentence that says why, and the fields."""

    def __init__(
        self,
        status: HTTPStatus,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def invalid(
    status: HTTPStatus, where: str, error: ValidationError, *, what: str = "The request"
) -> ApiError:
    """A pydantic validation error as a problem: one `FieldError` per field, each named
    `where.field` ("query.limit"); the detail repeats the first of them."""
    errors = [
        FieldError(
            field=".".join([where, *(str(part) for part in e["loc"])]),
            message=e["msg"].removeprefix("Value error, "),
        )
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = f"{what} is not valid: {first.field}: {first.message}{more}."
    return ApiError(status, detail, errors=errors)


def problem(
    status: HTTPStatus,
    detail: str,
    *,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    document = Problem(
        title=status.phrase, status=status.value, detail=detail, errors=list(errors) or None
    )
    return web.Response(
        text=document.model_dump_json(exclude_none=True),
        status=status.value,
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def refusal_status(error: DrumbeatError) -> HTTPStatus:
    return next(REFUSALS[cls] for cls in type(error).__mro__ if cls in REFUSALS)


def _http_detail(error: web.HTTPException, request: web.Request) -> str:
    if isinstance(error, web.HTTPNotFound):
        return f"There is nothing at {request.path[:200]}: /api/v1/openapi.json lists the API."
    if isinstance(error, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(error.allowed_methods))
        return f"{request.path[:200]} does not take {request.method[:20]}; it takes {allowed}."
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return "The request body is too large."
    return error.reason


@web.middleware
async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return problem(error.status, error.detail, errors=error.errors, headers=error.headers)
    except DrumbeatError as refusal:
        return problem(refusal_status(refusal), refusal.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        # The headers that matter to a client stay: Allow on a 405, above all.
        kept = {k: v for k, v in error.headers.items() if k.lower() == "allow"}
        return problem(HTTPStatus(error.status), _http_detail(error, request), headers=kept)
    except Exception:
        # The API's one error handler: a bug, not the client's fault. Logged in full.
        log.exception("API request %s %s failed", request.method, request.path)
        return problem(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "Something went wrong on our side; it is logged. Try again later.",
        )
