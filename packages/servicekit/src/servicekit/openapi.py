"""The OpenAPI document every service serves, made for the people who generate clients from it.

FastAPI's document is a good start; generators and linters need more, and each addition here
answers something a generated client got wrong:

- problems are `application/problem+json` with our `Problem` schema, each status with an
  example of its own;
- a PATCH body is only `application/merge-patch+json`, with the update's schema (an empty
  schema beside JSON made generated modules that cannot be imported);
- an operation that answers 428 declares the `If-Match` header, so a generated client takes it
  per call instead of through shared headers that leak into the next request;
- each operation's `security` names the scope it needs (and its description says it); public
  reads say a token is optional;
- every free-text string a request carries (body fields, query and path parameters) says it
  may not hold a NUL character (`pattern`), as the services refuse one with a 422;
- request bodies and JSON answers carry an example built from their schemas' own examples;
- a create's 201 and a resource's 200 carry OpenAPI `links` to what can be done next with the
  resource (its reads, updates and sub-resources: the new `id` from the body, the other path
  parameters from the request, the `ETag` into `If-Match`), so a client generator, a reader
  and a stateful fuzzer can follow them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from servicekit.auth import SCOPE_DESCRIPTIONS
from servicekit.mediatypes import JSON, MERGE_PATCH, PROBLEM
from servicekit.problems import problem_example, rewrite_problem_media_types
from servicekit.schemas import NO_NUL

METHODS = ("get", "put", "post", "delete", "patch")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

OAUTH2_SCHEME: dict[str, Any] = {
    "type": "oauth2",
    "description": "Client credentials: `POST /oauth/token`, then `Authorization: Bearer`.",
    "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": SCOPE_DESCRIPTIONS}},
}
# No token needed (a public read, the token endpoint). An empty list, not `[{}, {"oauth2": []}]`:
# generators read any requirement as "needs a token" and refuse an anonymous client. A token
# that is sent is still checked (a bad one is a 401), as each description's 401 says.
PUBLIC: list[dict[str, list[str]]] = []

IF_MATCH: dict[str, Any] = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "The `ETag` of the version you read (from a GET or the last write). Needed: "
    "without it the answer is 428; if the resource changed since, 412 (read it again).",
    "schema": {"type": "string"},
    "example": '"0192f7a4-5c00-7000-8000-000000000001-3"',
}


IF_MATCH_OPTIONAL = (
    "The `ETag` of the version you read. Optional here: when sent and the resource changed "
    "since, the answer is 412 and nothing changes."
)


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of `doc`."""
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield path, method, op


def required_scope(dependant: Dependant) -> str | None:
    """The scope a route's dependencies require (`servicekit.auth.require_scope`), if any."""
    pending = [dependant]
    while pending:
        current = pending.pop()
        scope = getattr(current.call, "required_scope", None)
        if isinstance(scope, str):
            return scope
        pending.extend(current.dependencies)
    return None


# What every operation may answer, whatever it does: the app-wide checks (servicekit.app) refuse
# an undeclared query parameter and a present but invalid token on every route.
_EVERYWHERE = {
    "400": "A query parameter this operation does not take (the problem names it).",
    "401": "The access token sent is invalid or has expired (also on public reads).",
    "431": "The request line and headers pass 16 KiB, or there are more than 100 header fields.",
}


def _problems(doc: dict[str, Any]) -> None:
    rewrite_problem_media_types(doc)
    for _, _, op in operations(doc):
        responses = op.setdefault("responses", {})
        for status, description in _EVERYWHERE.items():
            responses.setdefault(
                status, {"description": description, "content": {PROBLEM: {"schema": PROBLEM_REF}}}
            )
        for status, resp in op.get("responses", {}).items():
            if status == "422" and "HTTPValidationError" in str(resp.get("content", {})):
                resp["description"] = "The request is well-formed but not valid."
                resp["content"] = {PROBLEM: {"schema": dict(PROBLEM_REF)}}
            content = resp.get("content", {}).get(PROBLEM)
            if content is not None and status.isdigit():
                content["example"] = problem_example(int(status))
    comps = doc.get("components", {}).get("schemas", {})
    comps.pop("HTTPValidationError", None)
    comps.pop("ValidationError", None)


def _patch_bodies(doc: dict[str, Any]) -> None:
    for _, method, op in operations(doc):
        content = op.get("requestBody", {}).get("content", {})
        if method == "patch" and JSON in content:
            schema = content[JSON]["schema"]
            op["requestBody"]["content"] = {MERGE_PATCH: {"schema": schema}}


def _if_match(doc: dict[str, Any]) -> None:
    # Wherever `If-Match` is read: required where 428 is answered, optional where only 412 is
    # (the evaluation transitions check it when sent).
    for _, _, op in operations(doc):
        responses = op.get("responses", {})
        if "428" not in responses and "412" not in responses:
            continue
        params = op.setdefault("parameters", [])
        if not any(p.get("name") == "If-Match" for p in params):
            param = dict(IF_MATCH)
            if "428" not in responses:
                param["description"] = IF_MATCH_OPTIONAL
            params.append(param)


def _security(doc: dict[str, Any], scopes: dict[tuple[str, str], str | None]) -> None:
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["oauth2"] = OAUTH2_SCHEME
    for path, method, op in operations(doc):
        scope = scopes.get((path, method))
        if scope is None:
            op.setdefault("security", list(PUBLIC))
            continue
        op["security"] = [{"oauth2": [scope]}]
        sentence = f"Needs a token with the `{scope}` scope."
        description = op.get("description", "")
        if sentence not in description:
            op["description"] = f"{description}\n\n{sentence}".strip()


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        resolved: dict[str, Any] = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def _given(schema: dict[str, Any]) -> Any:
    """The schema's own example, constant, default or first enum value, if it has one."""
    for key in ("example", "const", "default"):
        if schema.get(key) is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    return None


def example_of(doc: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """An example value for `schema`, from its own examples where it has them.

    Returns None when no example can be made without guessing (a string with a pattern and no
    example of its own, say): a missing example is better than one the schema refuses.
    """
    if depth > 8:
        return None
    schema = _resolve(doc, schema)
    given = _given(schema)
    if given is not None:
        return given
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(doc, o).get("type") != "null"]
            return example_of(doc, options[0], depth + 1) if options else None
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return example_of(doc, schema["allOf"][0], depth + 1)
    if schema.get("type") == "object" or "properties" in schema:
        return _object_example(doc, schema, depth)
    if schema.get("type") == "array":
        item = example_of(doc, schema.get("items", {}), depth + 1)
        return [] if item is None else [item] * max(1, schema.get("minItems", 1))
    return _scalar(schema)


def _object_example(doc: dict[str, Any], schema: dict[str, Any], depth: int) -> Any:
    out: dict[str, Any] = {}
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        value = example_of(doc, prop, depth + 1)
        if value is None and name in required and _resolve(doc, prop).get("type") != "null":
            return None  # a required field we cannot fill: no example at all
        if value is not None or name in required:
            out[name] = value
    return out


_FORMATS = {
    "uuid": "0192f7a4-5c00-7000-8000-000000000001",
    "date": "2026-04-01",
    "date-time": "2026-04-01T09:30:00Z",
    "uri": "https://example.org/fictional-document",
    "email": "secretariat@example.org",
}


def _scalar(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text = "Example text (fictional)"
        low, high = schema.get("minLength", 0), schema.get("maxLength", len(text))
        text = (text * (1 + low // len(text)))[: max(low, min(high, len(text)))]
        # A pattern the placeholder meets (e.g. "no NUL characters") keeps it; any other needs
        # the field's own example.
        return text if _matches(schema.get("pattern"), text) else None
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1 if "maximum" not in schema else 0)
    if kind == "number":
        return float(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


def _matches(pattern: str | None, text: str) -> bool:
    if pattern is None:
        return True
    try:
        return re.search(pattern, text) is not None
    except re.error:  # an ECMA-262 construct Python does not read: do not guess
        return False


def _examples(doc: dict[str, Any]) -> None:
    for _, _, op in operations(doc):
        media = list(op.get("requestBody", {}).get("content", {}).values())
        for status, resp in op.get("responses", {}).items():
            if status.startswith("2"):
                media.extend(
                    m
                    for t, m in resp.get("content", {}).items()
                    if t == JSON or t.endswith("+json")
                )
        for m in media:
            if "example" in m or "examples" in m or "schema" not in m:
                continue
            value = example_of(doc, m["schema"])
            if value is not None:
                m["example"] = value


_PARAM = re.compile(r"^\{([^}]+)\}$")


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _path_params(path: str) -> list[str]:
    return [m.group(1) for s in _segments(path) if (m := _PARAM.match(s))]


def _has_id(doc: dict[str, Any], resp: dict[str, Any]) -> bool:
    for media in resp.get("content", {}).values():
        schema = _resolve(doc, media.get("schema", {}))
        if "id" in schema.get("properties", {}):
            return True
    return False


def _link(
    target: dict[str, Any], params: dict[str, str], if_match: bool, description: str
) -> dict[str, Any]:
    parameters = {f"path.{name}": expr for name, expr in params.items()}
    names = {p.get("name") for p in target.get("parameters", [])}
    if if_match and "If-Match" in names:
        parameters["header.If-Match"] = "$response.header.ETag"
    return {
        "operationId": target["operationId"],
        "parameters": parameters,
        "description": description,
    }


def _created_links(path: str, ops: list[tuple[str, str, dict[str, Any]]]) -> dict[str, Any]:
    """Links from a create at `path` to the created resource's operations.

    The resource lives at `path/{x}` (`/v1/submissions` -> `/v1/submissions/{id}`), or, for a
    nested create whose resource has a home of its own, at `/v1/<last segment>/{x}`
    (`/v1/commitments/{id}/targets` -> `/v1/targets/{id}`).
    """
    own = _segments(path)
    homes = [own]
    if _path_params(path):
        homes.append([*own[:1], own[-1]])  # /v1/<kind>
    links: dict[str, Any] = {}
    for home in homes:
        for target_path, _, target in ops:
            segs = _segments(target_path)
            if len(segs) <= len(home) or segs[: len(home)] != home:
                continue
            new = _PARAM.match(segs[len(home)])
            if new is None:
                continue
            params = {new.group(1): "$response.body#/id"}
            for name in _path_params("/".join(segs[: len(home)])):
                params[name] = f"$request.path.{name}"
            links[target["operationId"]] = _link(
                target, params, if_match=True, description="The resource this call created."
            )
    return links


def _resource_links(
    path: str, source: dict[str, Any], ops: list[tuple[str, str, dict[str, Any]]]
) -> dict[str, Any]:
    """Links from an answer about the resource at `path` (ending in a parameter) to the other
    operations on it and under it, with the same path parameters and its `ETag`."""
    own = _segments(path)
    links: dict[str, Any] = {}
    for target_path, _, target in ops:
        segs = _segments(target_path)
        if segs[: len(own)] != own or target is source:
            continue
        params = {name: f"$request.path.{name}" for name in _path_params(path)}
        links[target["operationId"]] = _link(
            target, params, if_match=True, description="The same resource, as it now is."
        )
    return links


def add_links(doc: dict[str, Any]) -> None:
    """Declare the links of every create and resource answer of `doc` (replacing any)."""
    ops = [o for o in operations(doc) if "operationId" in o[2]]
    for path, method, op in ops:
        for status, resp in op.get("responses", {}).items():
            resp.pop("links", None)
            if not status.startswith("2") or not _has_id(doc, resp):
                continue
            if method == "post" and status == "201":
                links = _created_links(path, ops)
            elif _PARAM.match(_segments(path)[-1]):
                links = _resource_links(path, op, ops)
            else:
                continue
            if links:
                resp["links"] = links


def _nul_free(node: Any, seen: set[str], doc: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _nul_free(item, seen, doc)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _nul_free(doc.get("components", {}).get("schemas", {}).get(name), seen, doc)
        return
    free = not ({"pattern", "format", "enum", "const"} & node.keys())
    if node.get("type") == "string" and free:
        node["pattern"] = NO_NUL
    for key, value in node.items():
        if key not in ("example", "examples", "default", "const", "enum"):
            _nul_free(value, seen, doc)


def _no_nul(doc: dict[str, Any]) -> None:
    # servicekit.schemas.InputModel refuses NUL in every body field and the app-wide parameter
    # check in every query and path parameter; said in the document, a generator or fuzzer
    # knows a NUL-free string is the valid kind.
    seen: set[str] = set()
    for _, _, op in operations(doc):
        for media in op.get("requestBody", {}).get("content", {}).values():
            _nul_free(media.get("schema"), seen, doc)
        for param in op.get("parameters", []):
            if param.get("in") in ("query", "path"):
                _nul_free(param.get("schema"), seen, doc)


def tidy_openapi(doc: dict[str, Any], scopes: dict[tuple[str, str], str | None]) -> dict[str, Any]:
    """The document as generators and linters need it (see the module's docstring)."""
    _problems(doc)
    _no_nul(doc)
    _patch_bodies(doc)
    _if_match(doc)
    _security(doc, scopes)
    _examples(doc)
    add_links(doc)
    return doc


def route_scopes(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(path, method) -> the scope the route requires, for every API route of `app`."""
    out: dict[tuple[str, str], str | None] = {}
    # FastAPI keeps included routers wrapped; their effective routes carry the prefixes.
    for ctx in iter_route_contexts(app.routes):
        if isinstance(ctx.original_route, APIRoute) and ctx.path_format:
            scope = required_scope(ctx.dependant)
            for method in ctx.methods or ():
                out[(ctx.path_format, method.lower())] = scope
    return out


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, tidied."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            schema["openapi"] = "3.1.0"
            app.openapi_schema = tidy_openapi(schema, route_scopes(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
