"""A TypeScript client from the served document (openapi-typescript + openapi-fetch, pinned in
tools/openapi), and a short flow script against it that must pass `tsc --strict`."""

from __future__ import annotations

import pytest

from tests.clients.conftest import TOOLS, Suite
from tests.clients.tools import node_tools, npx

# What it checks does not depend on the database backend: CI runs it on SQLite only.
pytestmark = pytest.mark.backend_independent


def test_types_generate_without_warnings_and_the_flow_type_checks(suite: Suite) -> None:
    node_tools()
    generated = TOOLS / "generated"
    generated.mkdir(exist_ok=True)
    made = npx(
        "openapi-typescript",
        str(suite.doc_path),
        "--output",
        str(generated / "schema.d.ts"),
        # A field with a default may be left out of a request body.
        "--default-non-nullable=false",
    )
    printed = made.stdout + made.stderr
    assert "⚠" not in printed, printed
    assert "warn" not in printed.lower(), printed
    npx("tsc", "-p", str(TOOLS), "--strict", "--noEmit")
