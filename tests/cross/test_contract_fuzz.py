"""Contract fuzzing with Schemathesis against the gateway and every service, running as real
processes: every Schemathesis check (no 5xx, no undocumented status, content type, header or
schema; invalid data refused and valid data accepted; `Allow` on 405; a missing required header
refused; a deleted resource gone and a created one there; security not ignored), with 0 failures.

Schemathesis runs as its CLI (`schemathesis run`) against each process's own OpenAPI document.
The stateful phase follows the `links` the documents declare (servicekit.openapi.add_links: a
create's 201 to the created resource's reads, updates and sub-resources, its `ETag` into
`If-Match`), so it chains create -> read -> update -> sub-resource as a client would.

Runs, each a parameter of the one test:
- the gateway with a token holding every scope (every phase: examples, coverage, fuzzing,
  stateful), so generated requests reach the rules behind every route;
- each service directly, with the same token (examples and fuzzing: the gateway's run sends the
  coverage and stateful phases to the same operations; these add each service's own feed and
  what it answers without the gateway in front);
- the gateway as every role at once (a token with only that scope, and anonymous: each request
  is sent as the next role in turn, fuzz_hooks.EachRole), fewer examples: what each role may do
  works, and what it may not is a documented 401/403, never a 5xx.

Figures (operations, API calls, 5xx and failed checks, per phase) are collected by the hooks in
fuzz_hooks.py and printed in pytest's terminal summary, so CI's output shows them. Examples per
operation are kept small for CI time (deterministic generation, so a failure reproduces).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from gateway.identity.schemas import RESERVED_SCOPES
from servicekit.auth import SCOPES
from tests.cross.conftest import FUZZ_FIGURES, Running

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "all"
# One scope each, as the demo roles are built from them, and no token at all.
ROLES = (
    "admin",
    "commitments:write",
    "evidence:submit",
    "evidence:moderate",
    "ratings:write",
    "ratings:publish",
    "responses:write",
    "anonymous",
)
ALL_SCOPES = "all-scopes"
# Every scope an API client can be granted (the gateway keeps `events:internal` for itself).
GRANTABLE = [s for s in SCOPES if s not in RESERVED_SCOPES]
EACH_ROLE = "each-role"
# Warnings are reported but leave the exit code 0, except these: an operation answering only
# 401/403 means the token stopped reaching it (so it went untested), and 429s mean the run was
# throttled rather than tested. A role's own run expects 401/403 where the role has no scope.
CONFIG = """\
[warnings]
fail-on = [{fail_on}]

# A request the schema allows may still be refused for the state it meets, which no schema
# can say: an id that names nothing (422 unknown_reference, or 404), a page_token this server
# did not issue, an Idempotency-Key already used for another body (422, per the IETF draft), a
# passage not in the text it redacts, an `If-Match` that is stale (412) or missing (428: the
# header stays optional in the document, as making an input required is a breaking change),
# or a request line past the 16 KiB bound every operation documents (431), or a body past the
# operation's size limit (413: many items, each of its longest, can pass it).
[checks.positive_data_acceptance]
expected-statuses = [
  "2xx", "3xx", "401", "403", "404", "409", "412", "413", "422", "428", "429", "431", "5xx"
]

# An invalid request may also be refused for its size before it is read (431 for its headers,
# 413 for its body, each documented): Schemathesis' defaults plus those two.
[checks.negative_data_rejection]
expected-statuses = [
  "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "431",
  "5xx"
]

# The token endpoint authenticates the client itself (HTTP Basic or the form): generated forms
# carry made-up client ids, so its answers are rightly 401 invalid_client, not missing auth.
[[operations]]
include-operation-id = "create_token"
warnings = {{ fail-on = ["rate_limited"] }}

# Only the evaluation's chair sends it for a factual-accuracy check, and the fuzzing client sits
# on no panel: every evaluation it can name (the demo's is published) answers it 403. Members and
# non-members on every such route are walked by tests/ratings/test_panels.py.
[[operations]]
include-operation-id = "send_for_factual_accuracy"
warnings = {{ fail-on = ["rate_limited"] }}
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
def clients(disposable_suite: Running) -> dict[str, tuple[str, str]]:
    """(client_id, secret) per role and for every scope at once, created with the admin API."""
    admin = disposable_suite.token("admin")
    out = {}
    for name, scopes in [(ALL_SCOPES, GRANTABLE)] + [(r, [r]) for r in ROLES if "anon" not in r]:
        resp = httpx.post(
            f"{disposable_suite.gateway}/v1/clients",
            json={"name": f"Contract fuzzing ({name})", "organisation": "CI", "scopes": scopes},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=10,
        )
        assert resp.status_code == 201, resp.text
        out[name] = (resp.json()["client_id"], resp.json()["client_secret"])
    return out


def _token(suite: Running, client: tuple[str, str], scopes: set[str]) -> str:
    # One per run (the fuzzing suite's tokens live an hour: see conftest).
    resp = httpx.post(
        f"{suite.gateway}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=client,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["scope"].split()) == scopes, resp.text
    return str(resp.json()["access_token"])


# The direct runs add only each service's own feed and its internal routes to what the gateway's
# runs reach; CI sends them on SQLite only, and both gateway runs on both backends.
_DIRECT = pytest.mark.backend_independent
# (label, port offset from the gateway, who, phases, examples per operation)
RUNS = [
    pytest.param("gateway", 0, ALL_SCOPES, "examples,coverage,fuzzing,stateful", 10, id="gateway"),
    pytest.param(
        "commitments", 1, ALL_SCOPES, "examples,fuzzing", 5, id="commitments", marks=_DIRECT
    ),
    pytest.param("evidence", 2, ALL_SCOPES, "examples,fuzzing", 5, id="evidence", marks=_DIRECT),
    pytest.param("ratings", 3, ALL_SCOPES, "examples,fuzzing", 5, id="ratings", marks=_DIRECT),
    pytest.param(
        "gateway as each role",
        0,
        EACH_ROLE,
        "examples,fuzzing,stateful",
        8,
        id="gateway as each role",
    ),
]


def _figures(label: str, stats: Path, report: dict[str, object], seconds: float) -> list[str]:
    """Lines for the terminal summary: per phase, operations, calls, 5xx and failed checks."""
    calls: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    operations: dict[str, set[str]] = {}
    for line in stats.read_text().splitlines() if stats.exists() else []:
        record = json.loads(line)
        phase = record["phase"]
        if record["kind"] == "call":
            calls[phase] += 1
            operations.setdefault(phase, set()).add(record["operation"])
            errors[phase] += record["status"] >= 500
            if record.get("role"):
                roles[f"{record['role']} {record['status'] // 100}xx"] += 1
        else:
            failed[phase] += 1
    ops = report.get("operations", {})
    tested = ops.get("tested") if isinstance(ops, dict) else "?"
    failures = report.get("failures", [])
    lines = [
        f"schemathesis {label}: {tested} operations tested, {sum(calls.values())} API calls, "
        f"{len(failures) if isinstance(failures, list) else '?'} failures, "
        f"{sum(errors.values())} 5xx, {seconds:.0f} s"
    ]
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        if calls[phase]:
            lines.append(
                f"  {phase:<9} {len(operations[phase]):>3} operations {calls[phase]:>6} calls "
                f"{failed[phase]:>3} failed checks {errors[phase]:>3} 5xx"
            )
    if roles:
        lines.append("  by role: " + ", ".join(f"{k} {n}" for k, n in sorted(roles.items())))
    return lines


@pytest.mark.parametrize(("label", "offset", "who", "phases", "examples"), RUNS)
def test_schemathesis_finds_nothing(
    disposable_suite: Running,
    clients: dict[str, tuple[str, str]],
    label: str,
    offset: int,
    who: str,
    phases: str,
    examples: int,
    tmp_path: Path,
) -> None:
    url = disposable_suite.gateway if offset == 0 else disposable_suite.service(offset)
    auth: list[str] = []
    tokens = {}
    if who == ALL_SCOPES:
        token = _token(disposable_suite, clients[who], set(GRANTABLE))
        if offset != 0:
            # A service accepts only the gateway's exchanged tokens: the run plays the gateway.
            token = disposable_suite.services_token(token)
        auth = ["--header", f"Authorization: Bearer {token}"]
    else:
        tokens = {
            role: _token(disposable_suite, clients[role], {role}) if role in clients else ""
            for role in ROLES
        }
    fail_on = '"missing_auth", "rate_limited"' if who == ALL_SCOPES else '"rate_limited"'
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG.format(fail_on=fail_on))
    stats, report_path = tmp_path / "stats.jsonl", tmp_path / "report.json"
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.cross.fuzz_hooks",
        "SCRUTINY_FUZZ_STATS": str(stats),
        "SCRUTINY_FUZZ_TOKENS": json.dumps(tokens) if tokens else "",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            *_schemathesis(),
            "--config-file",
            str(config),
            "run",
            f"{url}/openapi.json",
            *auth,
            "--checks",
            CHECKS,
            "--max-examples",
            str(examples),
            "--phases",
            phases,
            "--suppress-health-check",
            "all",
            "--generation-deterministic",
            "--request-timeout",
            "30",
            "--report",
            "json",
            "--report-json-path",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
        check=False,
    )
    seconds = time.monotonic() - started
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    FUZZ_FIGURES.extend(_figures(label, stats, report, seconds))
    failures = "".join(
        f"{f.get('code')} {f.get('title')}: {', '.join(f.get('operations', []))}\n"
        for f in report.get("failures", [])
    )
    first = result.stdout.find("FAILURES")
    output = (
        failures
        + (result.stdout[first : first + 6000] if first >= 0 else "")
        + result.stdout[-4000:]
        + result.stderr[-2000:]
    )
    # Exit codes: 0 clean (warnings outside `fail-on` included), 1 a check failed or a `fail-on`
    # warning was raised, 2 the run could not test (schema, config or connection error).
    assert result.returncode == 0, f"Schemathesis found problems in {label}:\n{output}"
    assert " passed" in result.stdout, output
    assert report.get("failures") == [], output
