"""One running suite (real processes, demo data) shared by the end-to-end tests that only read
or add their own data: the browser tests and the contract fuzzing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import httpx
import jwt
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from gateway.config import Settings as GatewaySettings
from gateway.identity import clients as service
from gateway.identity import repository
from scrutiny_cli.suite import environment as suite_environment
from servicekit.auth import Principal
from servicekit.ids import utcnow
from servicekit.settings import default_sqlite_url
from tests.evidence.helpers import call_body
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
    data_dir: Path
    env: dict[str, str]

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

    def services_token(self, client_token: str, ttl_s: int = 3600) -> str:
        """What the gateway sends a service for `client_token`, minted as the gateway mints it
        (its current signing key, the services' audience) but living `ttl_s`: a test that calls
        the services directly plays the gateway, the only caller they accept."""
        env = {**suite_environment(self.data_dir, self.port_base), **self.env}
        with mock.patch.dict(os.environ, env):
            settings = GatewaySettings()
            auth = settings.auth_settings()
        principal = Principal(
            client_id=str(claims(client_token)["client_id"]),
            organisation=str(claims(client_token).get("org", "")),
            scopes=frozenset(str(claims(client_token)["scope"]).split()),
            token_id="fuzz",
            name=str(claims(client_token).get("name", "")),
        )

        async def mint() -> str:
            engine = create_async_engine(settings.database_url or default_sqlite_url("gateway"))
            try:
                async with async_sessionmaker(engine)() as session:
                    keys = await repository.signing_keys(session)
                key = service.choose_signing_key(keys, utcnow(), settings.key_publish_delay_s)
                assert key is not None, "the gateway has no signing key"
                return service.mint_for_services(
                    key, principal, auth, ttl_s, cipher=settings.key_cipher()
                ).token
            finally:
                await engine.dispose()

        with mock.patch.dict(os.environ, env):
            return asyncio.run(mint())


def claims(token: str) -> dict[str, object]:
    """A token's claims, unverified (the test got it from the gateway itself)."""
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


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
    env["GATEWAY_PAGE_RATE_LIMIT_PER_MINUTE"] = "1000000"
    # The browser suites send the evidence form a dozen times a minute (its bounds are tested
    # in tests/gateway/test_evidence_form.py).
    env["GATEWAY_FORM_POSTS_PER_ADDRESS_PER_MINUTE"] = "1000"
    if ON_POSTGRES:
        for part in ("commitments", "evidence", "ratings", "gateway"):
            env[f"{part.upper()}_DATABASE_URL"] = fresh_database_url(part, tmp)
    data_dir = tmp / "data"
    suite = Suite(data_dir, free_port_base(), env)
    banner = suite.start()
    evaluation_id = banner.split("/v1/evaluations/")[1].split("/report")[0]
    creds = json.loads(Path(data_dir / "credentials.json").read_text())
    try:
        yield Running(suite.gateway, suite.port_base, evaluation_id, creds, data_dir, env)
    finally:
        suite.stop()


@pytest.fixture(scope="session")
def running_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The suite most cross tests share; they read the demo data and add to it, never undo it."""
    with _suite(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="session")
def open_call(running_suite: Running) -> dict[str, object]:
    """A call for evidence open now on the shared suite, about two of the demo's commitments
    (the demo's own call closed in 2022), for the browser tests of the evidence form."""
    auth = {"Authorization": f"Bearer {running_suite.token('secretariat')}"}
    with httpx.Client(base_url=running_suite.gateway, timeout=30) as client:
        items = client.get("/v1/commitments", params={"page_size": 2}).json()["items"]
        r = client.post(
            "/v1/calls-for-evidence",
            json=call_body(
                [c["id"] for c in items],
                title="Digitisation commitments: evidence from the public (test call)",
                reference_prefix="WEB",
            ),
            headers=auth,
        )
    assert r.status_code == 201, r.text
    call: dict[str, object] = r.json()
    return call


@pytest.fixture(scope="module")
def disposable_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A suite of the module's own, for tests that may wreck the demo data (fuzzing with every
    scope withdraws, re-rates and rewrites whatever it finds). Its tokens live an hour: one
    Schemathesis run holds one token and may outlast the default five minutes."""
    with _suite(tmp_path_factory, GATEWAY_TOKEN_TTL_S="3600") as running:
        yield running
