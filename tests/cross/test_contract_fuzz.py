"""Contract fuzzing with Schemathesis against every service and the gateway, running as real
processes: no 5xx, no response that breaks its documented schema, no undocumented status code,
no undocumented content type.

Schemathesis runs as its CLI (`schemathesis run`) against each process's own OpenAPI document,
with a token carrying every write scope so generated bodies reach the services' rules rather
than stopping at 401. Examples per operation are kept small for CI time (deterministic
generation, so a failure reproduces); the property checked is the same at any size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cross.conftest import Running

pytestmark = [
    pytest.mark.processes,
    # Opt-in until the gateway run is clean (see the closing note of issue 4): it found 500s on
    # paths with control characters, fixed in the proxy, and admin-only routes it cannot reach.
    pytest.mark.skipif(
        not os.environ.get("SCRUTINY_FUZZ"), reason="contract fuzzing is opt-in: SCRUTINY_FUZZ=1"
    ),
]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES = "10"


def _schemathesis() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("schemathesis")
    if not found:
        pytest.skip("schemathesis is not installed (it is a dev dependency: ./scrutiny test)")
    return [found]


@pytest.mark.parametrize(
    ("part", "offset"), [("gateway", 0), ("commitments", 1), ("evidence", 2), ("ratings", 3)]
)
def test_schemathesis_finds_nothing(
    running_suite: Running, part: str, offset: int, tmp_path: Path
) -> None:
    url = running_suite.gateway if offset == 0 else running_suite.service(offset)
    token = running_suite.token("demo_loader")
    result = subprocess.run(
        [
            *_schemathesis(),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--phases",
            "examples,coverage,fuzzing",
            "--suppress-health-check",
            "all",
            "--generation-deterministic",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, f"Schemathesis found problems in {part}:\n{report}"
    assert " passed" in result.stdout, report
