"""The merged document is committed (tests/clients/openapi.snapshot.json), so every API change
shows up in review; and a change that would break existing clients is refused.

After a deliberate API change, refresh the snapshot and commit it with the change:

    SCRUTINY_UPDATE_OPENAPI_SNAPSHOT=1 ./scrutiny test tests/clients/test_openapi_snapshot.py
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.conftest import SNAPSHOT, Suite

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

METHODS = ("get", "put", "post", "patch", "delete")


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what depends on where it was served from."""
    out = copy.deepcopy(doc)
    out.pop("servers", None)
    return out


def _snapshot() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SNAPSHOT.read_text())
    return loaded


def test_the_served_document_is_the_committed_snapshot(suite: Suite) -> None:
    served = normalised(suite.doc)
    if os.environ.get("SCRUTINY_UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(served, indent=1, sort_keys=True) + "\n")
    assert served == _snapshot(), (
        "The API changed: review the difference, then refresh the snapshot "
        "(SCRUTINY_UPDATE_OPENAPI_SNAPSHOT=1, see this file's docstring)."
    )


def test_nothing_a_client_relies_on_was_removed_or_tightened(suite: Suite) -> None:
    assert breaking_changes(_snapshot(), normalised(suite.doc)) == []


def _ops(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _input_schemas(doc: dict[str, Any]) -> set[str]:
    """Component schemas a request body reaches: a new required field there breaks callers."""
    schemas = doc.get("components", {}).get("schemas", {})
    todo = [r for _, op in _ops(doc) for r in _refs(op.get("requestBody", {}))]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _enums(node: Any, where: str) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield where, node["enum"]
        for key, value in node.items():
            yield from _enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{where}/{i}")


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What `new` takes away from a client written against `old`: an operation, a schema, a
    field or an enum value removed, or an input newly required."""
    found: list[str] = []
    new_ops = dict(_ops(new))
    for name, op in _ops(old):
        if name not in new_ops:
            found.append(f"operation removed: {name}")
            continue
        before = {(p["in"], p["name"]) for p in op.get("parameters", []) if p.get("required")}
        after = {
            (p["in"], p["name"]) for p in new_ops[name].get("parameters", []) if p.get("required")
        }
        found.extend(f"{name}: parameter newly required: {n}" for _, n in sorted(after - before))
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    inputs = _input_schemas(new)
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            found.append(f"schema removed: {name}")
            continue
        now = new_schemas[name]
        for field in sorted(set(schema.get("properties", {})) - set(now.get("properties", {}))):
            found.append(f"{name}: field removed: {field}")
        if name in inputs:
            added = set(now.get("required", [])) - set(schema.get("required", []))
            found.extend(f"{name}: input newly required: {f}" for f in sorted(added))
    old_enums = dict(_enums(old_schemas, "#/components/schemas"))
    new_enums = dict(_enums(new_schemas, "#/components/schemas"))
    for where, values in old_enums.items():
        if where in new_enums:
            gone = [v for v in values if v not in new_enums[where]]
            found.extend(f"{where}: enum value removed: {v}" for v in gone)
    return found


def test_the_check_sees_each_kind_of_breaking_change() -> None:
    old: dict[str, Any] = {
        "paths": {
            "/v1/things": {
                "get": {"parameters": []},
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": "#/c/s/In"}}}
                    }
                },
            },
            "/v1/gone": {"get": {}},
        },
        "components": {
            "schemas": {
                "In": {"properties": {"a": {}, "b": {}}, "required": ["a"]},
                "Out": {"properties": {"x": {}, "kind": {"enum": ["one", "two"]}}},
                "Old": {"properties": {}},
            }
        },
    }
    new = copy.deepcopy(old)
    del new["paths"]["/v1/gone"]
    new["paths"]["/v1/things"]["get"]["parameters"] = [
        {"in": "query", "name": "q", "required": True}
    ]
    new["components"]["schemas"]["In"]["required"] = ["a", "b"]
    del new["components"]["schemas"]["Out"]["properties"]["x"]
    new["components"]["schemas"]["Out"]["properties"]["kind"]["enum"] = ["one"]
    del new["components"]["schemas"]["Old"]
    assert breaking_changes(old, new) == [
        "GET /v1/things: parameter newly required: q",
        "operation removed: GET /v1/gone",
        "In: input newly required: b",
        "Out: field removed: x",
        "schema removed: Old",
        "#/components/schemas/Out/properties/kind: enum value removed: two",
    ]
    assert breaking_changes(old, old) == []
