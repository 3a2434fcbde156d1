"""The gateway wired in-process to the REAL commitments, ratings and evidence services.

Every service trusts the gateway's tokens: their verifiers fetch the gateway's JWKS from the
running gateway app, so key rotation is exercised end to end.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from gateway.config import Settings
from gateway.identity.exchange import TokenExchange
from servicekit.auth import AuthSettings
from tests.support.stack import running_apps

ISSUER = "http://gateway.test"
AUDIENCE = "scrutiny-api"
# The test gateways keep their signing keys and replayable secrets encrypted, as `up` does.
KEY_ENCRYPTION_KEY = Fernet.generate_key().decode()


def auth_settings() -> AuthSettings:
    """Issuer and audience the gateway and the services agree on in these tests."""
    return AuthSettings(token_issuer=ISSUER, token_audience=AUDIENCE, jwks_refresh_min_interval_s=0)


def gateway_settings(gateway_db: str, **over: Any) -> Settings:
    """Gateway settings for tests: new keys sign at once, OpenAPI is not cached, retries do not
    wait long, and rate limits are out of the way unless a test sets its own."""
    base: dict[str, Any] = {
        "log_json": False,
        "key_publish_delay_s": 0,
        "openapi_cache_s": 0,
        "retry_wait_initial_s": 0.001,
        "retry_wait_max_s": 0.005,
        "rate_limit_per_minute": 100_000,
        "anonymous_rate_limit_per_minute": 100_000,
        "page_rate_limit_per_minute": 100_000,
        # Tests change data and read the pages again at once; the page cache has its own tests.
        "page_cache_s": 0,
        "token_failures_per_client_per_minute": 100_000,
        "token_failures_per_address_per_minute": 100_000,
        "form_posts_per_address_per_minute": 100_000,
        "form_posts_per_call_per_minute": 100_000,
        "key_encryption_key": KEY_ENCRYPTION_KEY,
    }
    return Settings(database_url=gateway_db, **{**base, **over})


@dataclass
class Recording(httpx.AsyncBaseTransport):
    """Passes requests to an inner transport and remembers them (to see what the gateway sent)."""

    inner: httpx.AsyncBaseTransport
    requests: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


class Failing(httpx.AsyncBaseTransport):
    """A transport whose every call fails with the given transport error."""

    def __init__(self, exc: type[httpx.TransportError]) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc("simulated failure", request=request)


@dataclass
class Stack:
    """The running apps and clients of them."""

    gateway_app: FastAPI
    gateway: httpx.AsyncClient
    commitments_app: FastAPI
    ratings_app: FastAPI
    evidence_app: FastAPI
    commitments: Recording
    ratings: Recording
    evidence: Recording


@pytest.fixture(scope="package")
async def stack(
    gateway_db: str, commitments_db: str, ratings_db: str, evidence_db: str
) -> AsyncIterator[Stack]:
    """Gateway + commitments + ratings + evidence, all running, all trusting the gateway; what
    the gateway sends each service is recorded."""
    async with running_apps(
        auth_settings(),
        commitments_db=commitments_db,
        evidence_db=evidence_db,
        ratings_db=ratings_db,
        gateway=gateway_settings(gateway_db),
        wrap=Recording,
    ) as apps:
        rec = apps.transports
        yield Stack(
            apps.gateway_app,
            apps.gateway,
            apps.commitments_app,
            apps.ratings_app,
            apps.evidence_app,
            rec["commitments"],  # type: ignore[arg-type]
            rec["ratings"],  # type: ignore[arg-type]
            rec["evidence"],  # type: ignore[arg-type]
        )


@pytest.fixture(scope="package")
def gateway(stack: Stack) -> httpx.AsyncClient:
    """A client of the running gateway."""
    return stack.gateway


async def cli(gateway_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m gateway.identity.manage ...` on the test database, as the lead's CLI will.

    In a thread: the running apps (same event loop) must keep committing meanwhile, or a
    half-finished transaction of theirs would hold SQLite's write lock against the CLI.
    """
    import os

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway.identity.manage", *args],
        env={
            **os.environ,
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="package")
async def admin_credentials(gateway_db: str, stack: Stack) -> dict[str, str]:  # noqa: ARG001
    # `stack`: the CLI talks to a gateway whose services are up.
    """An admin client made with the CLI (the way an operator bootstraps a fresh gateway)."""
    out = await cli(
        gateway_db,
        "clients",
        "create",
        "--name",
        "root",
        "--org",
        "Ops",
        "--scope",
        "admin",
        "--json",
    )
    creds: dict[str, str] = json.loads(out.stdout)
    assert set(creds) == {"client_id", "client_secret"}
    return creds


async def token_for(
    gateway: httpx.AsyncClient, creds: dict[str, str], scope: str | None = None
) -> str:
    """An access token from POST /oauth/token (credentials in the form)."""
    data = {"grant_type": "client_credentials", **creds}
    if scope is not None:
        data["scope"] = scope
    r = await gateway.post("/oauth/token", data=data)
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


async def for_services(stack: Stack, auth: dict[str, str]) -> dict[str, str]:
    """The Authorization the gateway would send a service for a client's `auth`: services
    accept only exchanged tokens (`gateway.identity.exchange`), never a client's own."""
    exchange: TokenExchange = stack.gateway_app.state.token_exchange
    token = auth["Authorization"].removeprefix("Bearer ")
    return bearer(await exchange.exchange(token))


def unverified_claims(authorization: str) -> dict[str, Any]:
    """The claims of a bearer token, unchecked (to see what the gateway sent a service)."""
    claims: dict[str, Any] = jwt.decode(
        authorization.removeprefix("Bearer "), options={"verify_signature": False}
    )
    return claims


@pytest.fixture(scope="package")
async def admin(gateway: httpx.AsyncClient, admin_credentials: dict[str, str]) -> dict[str, str]:
    """Authorization for the admin scope."""
    return bearer(await token_for(gateway, admin_credentials))


MakeClient = Callable[..., Any]


@pytest.fixture(scope="package")
def make_client(gateway: httpx.AsyncClient, admin: dict[str, str]) -> MakeClient:
    """Create an API client through the admin API; returns (client record, credentials)."""

    async def make(
        *scopes: str, org: str = "Test Org", name: str = "test client"
    ) -> tuple[dict[str, Any], dict[str, str]]:
        r = await gateway.post(
            "/v1/clients",
            json={"name": name, "organisation": org, "scopes": list(scopes)},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return body, {"client_id": body["client_id"], "client_secret": body["client_secret"]}

    return make


@pytest.fixture(scope="package")
async def writer(make_client: MakeClient, gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization for commitments and ratings writes (and publishing), from the gateway."""
    _, creds = await make_client(
        "commitments:write", "ratings:write", "ratings:publish", org="Programme office"
    )
    return bearer(await token_for(gateway, creds))
