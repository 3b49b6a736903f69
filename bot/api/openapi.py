"""The OpenAPI 3.1 document of the API, written from the route table and its pydantic models.

Nothing here is written by hand per operation: the paths and their parameters, bodies and
answers come from `bot.api.routes.ROUTES`, the schemas from the very models the handlers
validate with and answer with (pydantic writes JSON Schema 2020-12, OpenAPI 3.1's own).
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.api.models import Problem
from bot.api.problems import PROBLEM_JSON
from bot.api.routes import Route

REF = "#/components/schemas/{model}"
VERSION = "1.0.0"
DESCRIPTION = """\
Read an organisation's OKRs and push key results' values from other systems: a CI job, a data
warehouse query, a spreadsheet script.

Every request but this document's needs a bearer token (`Authorization: Bearer dbt_…`), made
with `drumbeat token create --name NAME --scope read|write`. A token belongs to one
organisation; a `read` token reads, a `write` token also pushes values. Every error is an
RFC 9457 problem document (`application/problem+json`)."""


def document(routes: Sequence[Route], *, prefix: str) -> dict[str, Any]:
    schemas, refs, parameter_models = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas, refs)
    for name in parameter_models:  # their fields became parameters: no schema of their own
        schemas.pop(name, None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Drumbeat API", "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(route.tag for route in routes)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token of `drumbeat token create`.",
                }
            },
        },
    }


Key = tuple[type[BaseModel], JsonSchemaMode]


def _schemas(
    routes: Sequence[Route],
) -> tuple[dict[str, Any], dict[Key, str], set[str]]:
    """Every model's schema, each under its name in components (the shared ones once);
    which name each (model, mode) got; and the names of the parameter models."""
    wanted: dict[Key, None] = {(Problem, "serialization"): None}
    parameters: set[type[BaseModel]] = set()
    for route in routes:
        for model in (route.path_params, route.query, route.headers):
            if model is not None:
                wanted[model, "validation"] = None
                parameters.add(model)
        if route.body is not None:
            wanted[route.body, "validation"] = None
        for answer in route.answers:
            if answer.model is not None:
                wanted[answer.model, "serialization"] = None
    mapping, top = models_json_schema(list(wanted), ref_template=REF)
    refs = {key: _name(mapping[key]["$ref"]) for key in wanted}
    names = {refs[model, "validation"] for model in parameters}
    return dict(top.get("$defs", {})), refs, names


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[1]


def _ref(refs: dict[Key, str], model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, str]:
    return {"$ref": REF.format(model=refs[model, mode])}


def _operation(route: Route, schemas: dict[str, Any], refs: dict[Key, str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "tags": [route.tag],
    }
    if route.scope is None:
        operation["security"] = []
    parameters = [
        parameter
        for where, model in (
            ("path", route.path_params),
            ("query", route.query),
            ("header", route.headers),
        )
        if model is not None
        for parameter in _parameters(where, schemas[refs[model, "validation"]])
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        media: dict[str, Any] = {"schema": _ref(refs, route.body, "validation")}
        if route.examples:
            media["example"] = route.examples
        operation["requestBody"] = {"required": True, "content": {"application/json": media}}
    responses: dict[str, Any] = {}
    for answer in route.answers:
        schema = _ref(refs, answer.model, "serialization") if answer.model else {"type": "object"}
        responses[str(answer.status.value)] = {
            "description": answer.description,
            "content": {"application/json": {"schema": schema}},
        }
    for status, meaning in route.problems().items():
        responses[str(status.value)] = _problem(status, meaning, refs)
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _problem(status: HTTPStatus, meaning: str, refs: dict[Key, str]) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": meaning,
        "content": {PROBLEM_JSON: {"schema": _ref(refs, Problem, "serialization")}},
    }
    if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
        answer["headers"] = {
            "WWW-Authenticate": {
                "description": "The bearer challenge (RFC 6750).",
                "required": True,
                "schema": {"type": "string", "pattern": "^Bearer "},
            }
        }
    return answer


def _parameters(where: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One parameter per property of a parameter model's schema. An optional one is simply
    not required: its schema loses the `null` a model needs for "not given"."""
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", "")
        if name not in required:
            prop = _without_null(prop)
        parameter: dict[str, Any] = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if "anyOf" not in schema or len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}
