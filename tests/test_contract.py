"""The API contract, checked over every part's route table: a new route that forgets a scope, an
operationId, a summary, a docstring or its documented problems fails here."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from servicekit.db import session_from_request

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Operations whose errors follow another standard than RFC 9457, each with the reason.
NON_PROBLEM_ERRORS = {
    ("gateway", "/oauth/token"): "RFC 6749 section 5.2 prescribes the OAuth error format",
}

# Write routes that are deliberately open, each with the reason.
UNSCOPED_WRITES = {
    ("gateway", "POST", "/oauth/token"): "the token endpoint authenticates with client credentials",
}

PARTS = {
    "commitments": "commitments.main",
    "evidence": "evidence.main",
    "ratings": "ratings.main",
    "gateway": "gateway.main",
}


def _app(part: str) -> FastAPI:
    module = importlib.import_module(PARTS[part])
    app: FastAPI = module.create_app()
    return app


def _scopes(dependant: Dependant) -> set[str]:
    found: set[str] = set()
    for dep in dependant.dependencies:
        scope = getattr(dep.call, "required_scope", None)
        if scope:
            found.add(scope)
        found |= _scopes(dep)
    return found


def _routes(part: str) -> list[Any]:
    # FastAPI wraps included routers; walk their effective routes (prefixes applied).
    routes = [
        ctx
        for ctx in iter_route_contexts(_app(part).routes)
        if isinstance(ctx.original_route, APIRoute) and ctx.include_in_schema
    ]
    assert routes, f"no routes found in {part}: the walk is broken"
    return routes


@pytest.mark.parametrize("part", list(PARTS))
def test_every_write_route_requires_a_scope(part: str) -> None:
    missing = []
    for route in _routes(part):
        for method in route.methods & WRITE_METHODS:
            if (part, method, route.path) in UNSCOPED_WRITES:
                continue
            if getattr(route.endpoint, "scope_checked_downstream", False):
                continue
            if not _scopes(route.dependant):
                missing.append(f"{method} {route.path}")
    assert not missing, f"write routes without a scope check in {part}: {missing}"


def _calls(dependant: Dependant) -> set[Any]:
    found: set[Any] = set()
    for dep in dependant.dependencies:
        found.add(dep.call)
        found |= _calls(dep)
    return found


@pytest.mark.parametrize("part", list(PARTS))
def test_read_routes_read_without_a_transaction(part: str) -> None:
    # A GET in the unit-of-work session would hold BEGIN ... COMMIT (on SQLite the write lock)
    # for nothing; reads take the autocommit session closed after the response.
    wrong = [
        f"{method} {route.path}"
        for route in _routes(part)
        for method in route.methods - WRITE_METHODS
        if session_from_request in _calls(route.dependant)
    ]
    assert not wrong, f"read routes on the write session in {part}: {wrong}"


@pytest.mark.parametrize("part", list(PARTS))
def test_every_operation_is_documented(part: str) -> None:
    problems: list[str] = []
    for route in _routes(part):
        name = f"{sorted(route.methods)} {route.path}"
        if not route.operation_id:
            problems.append(f"{name}: no operation_id")
        if not route.summary:
            problems.append(f"{name}: no summary")
        if not route.tags:
            problems.append(f"{name}: no tags")
        if not (route.description or (route.endpoint.__doc__ or "").strip()):
            problems.append(f"{name}: no docstring")
    assert not problems, problems


@pytest.mark.parametrize("part", list(PARTS))
def test_openapi_is_31_with_problem_documents(part: str) -> None:
    doc: dict[str, Any] = _app(part).openapi()
    assert doc["openapi"].startswith("3.1")
    ids = [
        op["operationId"]
        for item in doc["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    assert "HTTPValidationError" not in doc.get("components", {}).get("schemas", {})
    for path, item in doc["paths"].items():
        if (part, path) in NON_PROBLEM_ERRORS:
            continue
        for method, op in item.items():
            for status, resp in op.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in resp.get("content", {}), (
                        f"{method} {path} {status} is not documented as problem+json"
                    )
