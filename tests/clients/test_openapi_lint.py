"""Redocly's linter, recommended rules, on the served document: no errors, no warnings. A rule
turned off is turned off in tools/openapi/redocly.yaml with its reason."""

from __future__ import annotations

import json

import pytest

from tests.clients.conftest import TOOLS, Suite
from tests.clients.tools import node_tools, npx

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent


def test_the_document_passes_redocly_recommended(suite: Suite) -> None:
    node_tools()
    done = npx(
        "redocly",
        "lint",
        str(suite.doc_path),
        "--config",
        str(TOOLS / "redocly.yaml"),
        "--format",
        "json",
    )
    report = json.loads(done.stdout[done.stdout.index("{") :])
    problems = [
        f"{p['severity']} {p['ruleId']}: {p['message']} at {p['location'][0]['pointer']}"
        for p in report["problems"]
    ]
    assert report["totals"]["errors"] == 0, problems
    assert report["totals"]["warnings"] == 0, problems
