"""The README's run command, for real: four processes on real ports, migrated, seeded, serving
the 2023 table; a second start adds nothing; SIGTERM stops all four.

Runs on SQLite, and on fresh PostgreSQL databases when SCRUTINY_TEST_POSTGRES_URL is set — the
same topology as docker-compose.yml, without Docker.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.databases import ON_POSTGRES, fresh_database_url
from tests.support.processes import Suite, free_port_base

pytestmark = pytest.mark.processes

# The panel's published table (seed document 000), in the report's CSV form.
G, RI, I = "good", "requires_improvement", "inadequate"  # noqa: E741
CARE = "Care of patients and people in receipt of social care"
HEALTH = "Health of the population"
COST = "Cost and efficiency of care"
WORK = "Workforce literacy and the digital workforce"
EXPECTED_2023 = [
    [CARE, "PDHSC-1a", G, RI, RI, RI, RI],
    [CARE, "PDHSC-1b", RI, RI, RI, RI, RI],
    [CARE, "PDHSC-1c", I, I, I, G, I],
    [HEALTH, "PDHSC-2a", I, G, I, G, RI],
    [HEALTH, "PDHSC-2b", I, I, I, G, I],
    [COST, "PDHSC-3a", RI, RI, RI, RI, RI],
    [COST, "PDHSC-3b", RI, RI, RI, RI, RI],
    [WORK, "PDHSC-4a", I, RI, I, G, I],
    [WORK, "PDHSC-4b", I, I, I, I, I],
]
HEADER = (
    "policy_area,commitment_reference,commitment_title,"
    "commitment_met,funding_and_resource,impact,appropriateness,overall,"
    "status,overdue,government_position,respondent,self_assessment,self_assessed_on"
)


@pytest.fixture
def suite_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    if ON_POSTGRES:
        for part in ("commitments", "evidence", "ratings", "gateway"):
            env[f"{part.upper()}_DATABASE_URL"] = fresh_database_url(part, tmp_path)
    return env


def _evaluation_id(banner: str) -> str:
    for line in banner.splitlines():
        if "/report" in line and "/v1/evaluations/" in line:
            return line.split("/v1/evaluations/")[1].split("/report")[0]
    raise AssertionError(f"no report URL in the banner:\n{banner}")


def _remaining(resp: httpx.Response) -> int:
    """`r` of the answer's `RateLimit: "policy";r=N;t=S` header: requests left."""
    params = dict(p.split("=", 1) for p in resp.headers["ratelimit"].split(";")[1:])
    return int(params["r"])


def _ports_closed(port_base: int) -> bool:
    for port in range(port_base, port_base + 4):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


# The README's "Logs" example trace (W3C Trace Context's own example id).
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_up_serves_the_2023_table_then_stops_cleanly(
    tmp_path: Path, suite_env: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    port_base = free_port_base()
    suite = Suite(data_dir, port_base, suite_env)
    banner = suite.start()
    try:
        for needle in ("/docs", "client_id=", "stakeholder", "government", "panel_chair"):
            assert needle in banner
        evaluation_id = _evaluation_id(banner)
        with httpx.Client(base_url=suite.gateway, timeout=10) as client:
            resp = client.get(
                f"/v1/evaluations/{evaluation_id}/report", headers={"Accept": "text/csv"}
            )
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/csv")
            lines = resp.text.splitlines()
            assert lines[0] == HEADER
            rows = list(csv.reader(io.StringIO(resp.text)))[1:]
            # The ratings table ends at the first empty row; the agreement block follows.
            table = rows[: rows.index([])] if [] in rows else rows
            assert [[r[0], r[1], *r[3:8]] for r in table] == EXPECTED_2023
            report = client.get(f"/v1/evaluations/{evaluation_id}/report").json()
            assert report["overall"]["level"] == "inadequate"
            assert report["missing"] == []
            assert client.get(f"/evaluations/{evaluation_id}").status_code == 200
            # No proxy stands in front of the local suite: a client's own X-Forwarded-For is
            # not its address, so rotating it does not buy a fresh per-address quota.
            left = [
                _remaining(client.get("/v1/sources", headers={"X-Forwarded-For": f"203.0.113.{i}"}))
                for i in (1, 2)
            ]
            assert left[1] < left[0], left
            first_counts = _counts(client)
            # The README's "Logs" example: a request found in every process's log by its id.
            assert client.get("/v1/sources", headers={"X-Request-ID": "my-id-1"}).is_success
            # ...and by its trace, the caller's W3C `traceparent` (tracing is off here).
            traced = {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
            assert client.get("/v1/sources", headers=traced).is_success
        for needle in ('"request_id": "my-id-1"', f'"trace_id": "{TRACE_ID}"'):
            found = subprocess.run(
                ["bash", "-c", f"""grep '{needle}' {data_dir}/logs/*.log"""],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.splitlines()
            access = [json.loads(line.split(":", 1)[1]) for line in found]
            assert {(e["service"], e["route"], e["status"]) for e in access} >= {
                ("gateway", "/v1/sources", 200),
                ("commitments", "/v1/sources", 200),
            }, found
    finally:
        assert suite.stop() == 0, "".join(suite.output)
    assert _ports_closed(port_base), "a process outlived SIGTERM"

    # A second `up` on the same data reuses everything and adds nothing.
    again = Suite(data_dir, port_base, suite_env)
    banner2 = again.start()
    try:
        assert _evaluation_id(banner2) == evaluation_id
        with httpx.Client(base_url=again.gateway, timeout=10) as client:
            assert _counts(client) == first_counts
    finally:
        assert again.stop() == 0


def _counts(client: httpx.Client) -> dict[str, int]:
    counts = {}
    for path in ("/v1/sources", "/v1/policy-areas", "/v1/commitments", "/v1/evaluations"):
        n, params = 0, {"page_size": 200}
        while True:
            page = client.get(path, params=params).json()
            n += len(page["items"])
            if not page["next_page_token"]:
                break
            params["page_token"] = page["next_page_token"]
        counts[path] = n
    return counts


def _children(pid: int) -> list[psutil.Process]:
    """The supervisor's servers (not a short-lived helper it may be running at that moment)."""
    return [c for c in psutil.Process(pid).children() if "uvicorn" in c.cmdline()]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _eventually(check: Callable[[], bool], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_crashed_service_is_restarted_and_nothing_outlives_a_killed_supervisor(
    tmp_path: Path, suite_env: dict[str, str]
) -> None:
    port_base = free_port_base()
    suite = Suite(tmp_path / "data", port_base, suite_env)
    banner = suite.start("--no-seed")
    assert suite.proc is not None
    try:
        # The banner says which database each part really uses, and where the public site is.
        backend = "PostgreSQL" if ON_POSTGRES else "SQLite"
        for part in ("gateway", "commitments", "evidence", "ratings"):
            assert re.search(rf"^  {part} +{backend}  ", banner, re.M), banner
        assert f"Public site          http://localhost:{port_base}/" in banner
        children = _children(suite.proc.pid)
        assert len(children) == 4, [c.cmdline() for c in psutil.Process(suite.proc.pid).children()]
        ratings_url = f"http://127.0.0.1:{port_base + 3}"
        ratings = next(c for c in children if "ratings.main" in " ".join(c.cmdline()))
        ratings.kill()  # a crash: no chance to shut down
        ratings.wait(10)
        # The others keep serving while it is down, and it comes back by itself.
        assert httpx.get(f"{suite.gateway}/v1/commitments", timeout=10).status_code == 200
        assert _eventually(lambda: _ready(ratings_url), within_s=30), "ratings not restarted"
        children = _children(suite.proc.pid)
        assert len(children) == 4
        assert ratings.pid not in {c.pid for c in children}
    except BaseException:
        suite.stop()
        raise
    # SIGKILL: the supervisor gets no chance to stop anything; the kernel tells the children.
    suite.proc.kill()
    suite.proc.wait(10)
    _gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"outlived the supervisor: {alive}"
    assert _eventually(lambda: _ports_closed(port_base), within_s=10), "a port is still held"
