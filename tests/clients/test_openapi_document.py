"""The served document as a reader of it needs it: every operation says what it needs and shows
what it takes and gives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.conftest import Suite

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent

METHODS = ("get", "put", "post", "patch", "delete")


def _ops(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


def test_every_operation_declares_its_security_and_says_its_scope(suite: Suite) -> None:
    schemes = suite.doc["components"]["securitySchemes"]
    assert set(schemes["oauth2"]["flows"]["clientCredentials"]["scopes"]) >= {
        "commitments:write",
        "admin",
    }
    missing = []
    for name, op in _ops(suite.doc):
        if "security" not in op:
            missing.append(name)
            continue
        for requirement in op["security"]:
            for scope in requirement.get("oauth2", []):
                if f"`{scope}`" not in op.get("description", ""):
                    missing.append(f"{name}: description does not name {scope}")
    assert missing == []


def test_writes_name_the_scope_they_need(suite: Suite) -> None:
    op = suite.doc["paths"]["/v1/commitments"]["post"]
    assert op["security"] == [{"oauth2": ["commitments:write"]}]
    assert suite.doc["paths"]["/v1/commitments"]["get"]["security"] == []


def test_every_tag_is_declared_with_a_description(suite: Suite) -> None:
    declared = {t["name"]: t.get("description", "") for t in suite.doc["tags"]}
    used = {t for _, op in _ops(suite.doc) for t in op.get("tags", [])}
    assert used <= set(declared), used - set(declared)
    assert [name for name in used if not declared[name]] == []


def test_every_body_and_success_has_an_example(suite: Suite) -> None:
    missing = []
    for name, op in _ops(suite.doc):
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            if "example" not in content and "examples" not in content:
                missing.append(f"{name}: request {media}")
        for status, response in op["responses"].items():
            if not status.startswith("2"):
                continue
            for media, content in response.get("content", {}).items():
                if media == "application/octet-stream":
                    continue  # a file as uploaded: no example says more than the schema
                if "example" not in content and "examples" not in content:
                    missing.append(f"{name}: {status} {media}")
    assert missing == []


def test_every_error_status_has_its_own_example(suite: Suite) -> None:
    wrong = []
    for name, op in _ops(suite.doc):
        for status, response in op["responses"].items():
            problem = response.get("content", {}).get("application/problem+json")
            if problem is None:
                continue
            example = problem.get("example")
            if example is None or example.get("status") != int(status):
                wrong.append(f"{name}: {status}")
    assert wrong == []


def test_if_match_is_declared_wherever_428_or_412_is_answered(suite: Suite) -> None:
    missing = [
        name
        for name, op in _ops(suite.doc)
        if ("428" in op["responses"] or "412" in op["responses"])
        and not any(p["name"] == "If-Match" for p in op.get("parameters", []))
    ]
    assert missing == []
    publish = suite.doc["paths"]["/v1/evaluations/{id}/publish"]["post"]
    assert any(p["name"] == "If-Match" for p in publish["parameters"])
    patch = suite.doc["paths"]["/v1/commitments/{id}"]["patch"]
    assert list(patch["requestBody"]["content"]) == ["application/merge-patch+json"]


def test_every_create_declares_idempotency_key(suite: Suite) -> None:
    missing = [
        name
        for name, op in _ops(suite.doc)
        if name.startswith("POST")
        and "201" in op["responses"]
        # An upload streamed to disk (retry: list the submission's attachments first), and a key
        # rotation (a retry only rotates once more).
        and not name.endswith("/attachments")
        and name != "POST /v1/signing-keys"
        and not any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))
    ]
    assert missing == []
