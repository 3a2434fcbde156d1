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
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from evidence.config import Settings as EvidenceSettings
from evidence.main import create_app as create_evidence_app
from gateway.config import Settings
from gateway.main import create_app
from ratings.config import Settings as RatingsSettings
from ratings.main import create_app as create_ratings_app
from servicekit.auth import AuthSettings, TokenVerifier

ISSUER = "http://gateway.test"
AUDIENCE = "scrutiny-api"


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
    """Gateway + commitments + ratings + evidence, all running, all trusting the gateway."""
    holder: dict[str, FastAPI] = {}

    async def gateway_jwks() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=holder["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            resp = await c.get("/.well-known/jwks.json")
            resp.raise_for_status()
            jwks: dict[str, Any] = resp.json()
            return jwks

    def verifier() -> TokenVerifier:
        return TokenVerifier(auth_settings(), fetch_jwks=gateway_jwks)

    commitments_app = create_commitments_app(
        CommitmentsSettings(database_url=commitments_db, log_json=False), token_verifier=verifier()
    )
    async with LifespanManager(commitments_app, startup_timeout=30) as cm:
        feed = httpx.ASGITransport(app=cm.app)
        ratings_app = create_ratings_app(
            RatingsSettings(
                database_url=ratings_db,
                log_json=False,
                consumer_interval_s=0.02,
                consumer_idle_interval_s=0.02,
            ),
            token_verifier=verifier(),
            commitments_transport=feed,
        )
        evidence_app = create_evidence_app(
            EvidenceSettings(
                database_url=evidence_db,
                log_json=False,
                consumer_interval_s=0.05,
                consumer_idle_interval_s=0.05,
            ),
            token_verifier=verifier(),
            commitments_transport=feed,
        )
        async with (
            LifespanManager(ratings_app, startup_timeout=30) as rm,
            LifespanManager(evidence_app, startup_timeout=30) as em,
        ):
            rec = {
                "commitments": Recording(httpx.ASGITransport(app=cm.app)),
                "ratings": Recording(httpx.ASGITransport(app=rm.app)),
                "evidence": Recording(httpx.ASGITransport(app=em.app)),
            }
            gw = create_app(
                gateway_settings(gateway_db), transports=dict(rec), auth=auth_settings()
            )
            holder["gateway"] = gw
            async with LifespanManager(gw, startup_timeout=30) as gm:
                transport = httpx.ASGITransport(app=gm.app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://gateway.test"
                ) as client:
                    yield Stack(
                        gw,
                        client,
                        cm.app,  # type: ignore[arg-type]
                        rm.app,  # type: ignore[arg-type]
                        em.app,  # type: ignore[arg-type]
                        rec["commitments"],
                        rec["ratings"],
                        rec["evidence"],
                    )


@pytest.fixture(scope="package")
def gateway(stack: Stack) -> httpx.AsyncClient:
    """A client of the running gateway."""
    return stack.gateway


async def cli(gateway_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m gateway.manage ...` on the test database, as the lead's CLI will.

    In a thread: the running apps (same event loop) must keep committing meanwhile, or a
    half-finished transaction of theirs would hold SQLite's write lock against the CLI.
    """
    import os

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gateway.manage", *args],
        env={**os.environ, "GATEWAY_DATABASE_URL": gateway_db},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="package")
async def admin_credentials(gateway_db: str, stack: Stack) -> dict[str, str]:
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
