"""The ratings service, its read models fed by a real commitments service and a real evidence
service in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from starlette.types import ASGIApp

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from evidence.config import Settings as EvidenceSettings
from evidence.main import create_app as create_evidence_app
from ratings.config import Settings
from ratings.main import create_app
from servicekit.auth import TokenVerifier
from tests.conftest import serve
from tests.support.tokens import TestIssuer


class AuthTransport(httpx.AsyncBaseTransport):
    """Adds fixed headers to every request: the service token a gateway would have issued."""

    def __init__(self, inner: httpx.AsyncBaseTransport, headers: dict[str, str]) -> None:
        self.inner = inner
        self.headers = headers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request with the headers added."""
        request.headers.update(self.headers)
        return await self.inner.handle_async_request(request)


@pytest.fixture(scope="session")
async def commitments_app(commitments_db: str, issuer: TestIssuer) -> AsyncIterator[FastAPI]:
    """A running commitments service (its lifespan entered), reachable only in-process."""
    app = create_commitments_app(
        CommitmentsSettings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture(scope="session")
async def commitments(commitments_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the commitments service, for creating the commitments that get rated."""
    transport = httpx.ASGITransport(app=commitments_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://commitments") as c:
        yield c


@pytest.fixture(scope="session")
async def evidence_running(
    evidence_db: str, issuer: TestIssuer, commitments_app: FastAPI
) -> AsyncIterator[tuple[FastAPI, ASGIApp]]:
    """A running evidence service (the real one), following the commitments feed: the app (for
    its state) and the ASGI callable its lifespan returned (to send requests to)."""
    app = create_evidence_app(
        EvidenceSettings(
            database_url=evidence_db,
            log_json=False,
            consumer_interval_s=0.02,
            consumer_idle_interval_s=0.02,
        ),
        token_verifier=TokenVerifier(issuer.settings()),
        commitments_transport=httpx.ASGITransport(app=commitments_app),
    )
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield app, manager.app


@pytest.fixture(scope="session")
def evidence_app(evidence_running: tuple[FastAPI, ASGIApp]) -> FastAPI:
    """The running evidence service's app (its state holds the sessionmaker)."""
    return evidence_running[0]


@pytest.fixture(scope="session")
async def evidence(evidence_running: tuple[FastAPI, ASGIApp]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the evidence service, for submitting the evidence that gets cited."""
    transport = httpx.ASGITransport(app=evidence_running[1])
    async with httpx.AsyncClient(transport=transport, base_url="http://evidence") as c:
        yield c


@pytest.fixture(scope="session")
def ratings_app(
    ratings_db: str,
    issuer: TestIssuer,
    commitments_app: FastAPI,
    evidence_running: tuple[FastAPI, ASGIApp],
) -> FastAPI:
    """The ratings service (not started), following both feeds.

    Its evidence consumer reads with an `events:internal` token, as it would with the service
    credentials the gateway issues: without it the private `submission.*` events stay unseen.
    """
    internal = issuer.auth("events:internal", client_id="ratings-service", ttl=3600)
    return create_app(
        Settings(
            database_url=ratings_db,
            log_json=False,
            consumer_interval_s=0.02,
            consumer_idle_interval_s=0.02,
        ),
        token_verifier=TokenVerifier(issuer.settings()),
        commitments_transport=httpx.ASGITransport(app=commitments_app),
        evidence_transport=AuthTransport(
            httpx.ASGITransport(app=evidence_running[1]),
            internal,
        ),
    )


@pytest.fixture(scope="session")
async def client(ratings_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running ratings service."""
    async for c in serve(ratings_app):
        yield c


@pytest.fixture(scope="session")
def writer(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `ratings:write`, by the client that acts for the helpers' default panel's
    chair (`helpers.DEFAULT_PANEL`)."""
    return issuer.auth("ratings:write", client_id="panel-member", org="Expert Panel", ttl=3600)


@pytest.fixture(scope="session")
def publisher(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `ratings:publish` only: the same (chair's) client as `writer`, with a
    token narrowed to publishing."""
    return issuer.auth("ratings:publish", client_id="panel-member", org="Expert Panel", ttl=3600)


@pytest.fixture(scope="session")
def respondent(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `responses:write`, acting for the Department."""
    return issuer.auth(
        "responses:write",
        client_id="dhsc",
        org="Department of Health and Social Care",
        ttl=3600,
    )


@pytest.fixture(scope="session")
def cwriter(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `commitments:write` (on the commitments service)."""
    return issuer.auth("commitments:write", ttl=3600)
