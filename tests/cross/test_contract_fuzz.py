"""Contract fuzzing with Schemathesis against every service and the gateway, running as real
processes: no 5xx, no response that breaks its documented schema, no undocumented status code,
no undocumented content type.

Schemathesis runs as its CLI (`schemathesis run`) against each process's own OpenAPI document,
with a token carrying every scope (made through the admin API, as an operator would) so
generated requests reach the rules behind every route, admin and webhook ones included, rather
than stopping at 401/403. The stateful phase chains operations through OpenAPI links, which
Schemathesis infers from the documents (dependency analysis: e.g. `POST /v1/commitments` ->
`GET`/`PATCH /v1/commitments/{id}` via the returned `id`) and from the `Location` headers it sees
in the earlier phases, so the documents need no hand-written links.

Examples per operation are kept small for CI time (deterministic generation, so a failure
reproduces); the coverage phase still sends every boundary and invalid case the schema defines.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from servicekit.auth import SCOPES
from tests.cross.conftest import Running

pytestmark = pytest.mark.processes

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
EXAMPLES = "10"
# Warnings are reported but leave the exit code 0, except these: an operation answering only
# 401/403 means the token stopped reaching it (so it went untested), and 429s mean the run was
# throttled rather than tested.
CONFIG = """\
[warnings]
fail-on = ["missing_auth", "rate_limited"]

# The token endpoint authenticates the client itself (HTTP Basic or the form): generated forms
# carry made-up client ids, so its answers are rightly 401 invalid_client, not missing auth.
[[operations]]
include-operation-id = "create_token"
warnings = { fail-on = ["rate_limited"] }
"""


def _schemathesis() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("schemathesis")
    if not found:
        pytest.skip("schemathesis is not installed (it is a dev dependency: ./scrutiny test)")
    return [found]


@pytest.fixture(scope="module")
def all_scopes_client(disposable_suite: Running) -> tuple[str, str]:
    """(client_id, secret) of a client holding every scope, created with the admin API."""
    admin = disposable_suite.token("admin")
    resp = httpx.post(
        f"{disposable_suite.gateway}/v1/clients",
        json={"name": "Contract fuzzing", "organisation": "CI", "scopes": list(SCOPES)},
        headers={"Authorization": f"Bearer {admin}"},
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["client_id"], resp.json()["client_secret"]


def _token(suite: Running, client: tuple[str, str]) -> str:
    # One per run: tokens live five minutes, the whole file takes longer.
    resp = httpx.post(
        f"{suite.gateway}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=client,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["scope"].split()) == set(SCOPES), resp.text
    return str(resp.json()["access_token"])


@pytest.mark.parametrize(
    ("part", "offset"), [("gateway", 0), ("commitments", 1), ("evidence", 2), ("ratings", 3)]
)
def test_schemathesis_finds_nothing(
    disposable_suite: Running,
    all_scopes_client: tuple[str, str],
    part: str,
    offset: int,
    tmp_path: Path,
) -> None:
    url = disposable_suite.gateway if offset == 0 else disposable_suite.service(offset)
    token = _token(disposable_suite, all_scopes_client)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [
            *_schemathesis(),
            "--config-file",
            str(config),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--phases",
            "examples,coverage,fuzzing,stateful",
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
    # Exit codes: 0 clean (warnings outside `fail-on` included), 1 a check failed or a `fail-on`
    # warning was raised, 2 the run could not test (schema, config or connection error).
    assert result.returncode == 0, f"Schemathesis found problems in {part}:\n{report}"
    assert " passed" in result.stdout, report
