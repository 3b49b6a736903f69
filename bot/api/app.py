"""The API as an aiohttp sub-application mounted at /api/v1: each route of `bot.api.routes`
behind the same steps (the token, then each input validated by its model), every error a
problem document (`bot.api.problems`)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ValidationError

from bot.api.auth import authenticate, require
from bot.api.models import FieldError, Model
from bot.api.openapi import document
from bot.api.problems import ApiError, invalid, problems
from bot.api.routes import PREFIX, ROUTES, Call, Route
from rhythm.service import Drumbeat

DRUMBEAT = web.AppKey("api_drumbeat", Drumbeat)
DOCUMENT = web.AppKey("api_document", dict[str, Any])


def api_app(drumbeat: Drumbeat) -> web.Application:
    """Mount with `app.add_subapp(PREFIX, api_app(...))`: everything under the prefix is the
    API's, an unknown path included (a 404 problem), and nothing outside it is."""
    api = web.Application(middlewares=[problems])
    api[DRUMBEAT] = drumbeat
    api[DOCUMENT] = document(ROUTES, prefix=PREFIX)
    for route in ROUTES:
        api.router.add_route(route.method, route.path, endpoint(route))
    return api


def endpoint(route: Route) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        drumbeat = request.app[DRUMBEAT]
        token = None
        if route.scope is not None:
            token = await authenticate(request, drumbeat.store, drumbeat.clock)
            require(token, route.scope)
        inputs: dict[str, BaseModel] = {}
        if route.path_params:
            inputs["path"] = _validated(route.path_params, dict(request.match_info), "path")
        if route.query:
            inputs["query"] = _validated(route.query, _query(request), "query")
        if route.headers:
            inputs["headers"] = _validated(
                route.headers, _headers(route.headers, request), "header"
            )
        if route.body:
            inputs["body"] = _body(route.body, await request.read())
        call = Call(drumbeat, token, request, request.app[DOCUMENT])
        reply = await route.handler(call, **inputs)
        text = (
            reply.body.model_dump_json()
            if isinstance(reply.body, BaseModel)
            else json.dumps(reply.body)
        )
        return web.Response(text=text, status=reply.status, content_type="application/json")

    return handle


def _validated(model: type[Model], raw: dict[str, str], where: str) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise invalid(HTTPStatus.BAD_REQUEST, where, error, what=f"The {where}") from None


def _query(request: web.Request) -> dict[str, str]:
    """The query as one value per name: a name given twice is refused, not half-read."""
    query = request.rel_url.query
    twice = sorted({name for name in query if len(query.getall(name)) > 1})
    if twice:
        errors = [
            FieldError(field=f"query.{name}", message="given more than once") for name in twice
        ]
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"The query is not valid: query.{twice[0][:40]} is given more than once; "
            "give each parameter once.",
            errors=errors,
        )
    return dict(query)


def _headers(model: type[Model], request: web.Request) -> dict[str, str]:
    names = [info.alias or name for name, info in model.model_fields.items()]
    return {name: request.headers[name] for name in names if name in request.headers}


def _body(model: type[Model], raw: bytes) -> Model:
    """400 for a body that is no JSON; 422 for JSON that is not what the route takes."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        if any(e["type"] == "json_invalid" for e in error.errors()):
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                "The body is not JSON: send a JSON object with Content-Type: application/json.",
            ) from None
        raise invalid(HTTPStatus.UNPROCESSABLE_ENTITY, "body", error, what="The body") from None
