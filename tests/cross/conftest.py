"""One running suite (real processes, demo data) shared by the end-to-end tests that only read
or add their own data: the browser tests and the contract fuzzing."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.databases import ON_POSTGRES, fresh_database_url
from tests.support.processes import Suite, free_port_base

# Lines the contract fuzzing adds (its figures per run and phase), printed in pytest's terminal
# summary so they show in CI's output whatever `-q`/`-s` says.
FUZZ_FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the contract fuzzing's figures, if it ran."""
    if FUZZ_FIGURES:
        terminalreporter.section("contract fuzzing figures")
        for line in FUZZ_FIGURES:
            terminalreporter.write_line(line)


@dataclass(frozen=True)
class Running:
    """The suite under test: where it listens and the demo data's handles."""

    gateway: str
    port_base: int
    evaluation_id: str
    credentials: dict[str, dict[str, str]]

    def service(self, offset: int) -> str:
        """URL of the service at port_base + offset (1 commitments, 2 evidence, 3 ratings)."""
        return f"http://127.0.0.1:{self.port_base + offset}"

    def token(self, role: str) -> str:
        """An access token for a demo client."""
        creds = self.credentials[role]
        resp = httpx.post(
            f"{self.gateway}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])


@contextlib.contextmanager
def _suite(tmp_path_factory: pytest.TempPathFactory, **extra_env: str) -> Iterator[Running]:
    """`scrutiny up` with demo data, on PostgreSQL when the run is on PostgreSQL."""
    tmp = tmp_path_factory.mktemp("suite")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.update(extra_env)
    # Fuzzing and browsing send hundreds of requests a minute from one address; the rate limits
    # have their own tests, so here they are set out of the way.
    env["GATEWAY_RATE_LIMIT_PER_MINUTE"] = "1000000"
    env["GATEWAY_ANONYMOUS_RATE_LIMIT_PER_MINUTE"] = "1000000"
    if ON_POSTGRES:
        for part in ("commitments", "evidence", "ratings", "gateway"):
            env[f"{part.upper()}_DATABASE_URL"] = fresh_database_url(part, tmp)
    data_dir = tmp / "data"
    suite = Suite(data_dir, free_port_base(), env)
    banner = suite.start()
    evaluation_id = banner.split("/v1/evaluations/")[1].split("/report")[0]
    creds = json.loads(Path(data_dir / "credentials.json").read_text())
    try:
        yield Running(suite.gateway, suite.port_base, evaluation_id, creds)
    finally:
        suite.stop()


@pytest.fixture(scope="session")
def running_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The suite most cross tests share; they read the demo data and add to it, never undo it."""
    with _suite(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def disposable_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A suite of the module's own, for tests that may wreck the demo data (fuzzing with every
    scope withdraws, re-rates and rewrites whatever it finds). Its tokens live an hour: one
    Schemathesis run holds one token and may outlast the default five minutes."""
    with _suite(tmp_path_factory, GATEWAY_TOKEN_TTL_S="3600") as running:
        yield running
