"""The ratings service, its commitments read model fed by a real commitments service in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from ratings.config import Settings
from ratings.main import create_app
from servicekit.auth import TokenVerifier
from tests.conftest import serve
from tests.support.tokens import TestIssuer


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
async def client(
    ratings_db: str, issuer: TestIssuer, commitments_app: FastAPI
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a running ratings service that follows the commitments service's feed."""
    app = create_app(
        Settings(database_url=ratings_db, log_json=False, consumer_interval_s=0.02),
        token_verifier=TokenVerifier(issuer.settings()),
        commitments_transport=httpx.ASGITransport(app=commitments_app),
    )
    async for c in serve(app):
        yield c


@pytest.fixture(scope="session")
def writer(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `ratings:write`."""
    return issuer.auth("ratings:write", ttl=3600)


@pytest.fixture(scope="session")
def cwriter(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `commitments:write` (on the commitments service)."""
    return issuer.auth("commitments:write", ttl=3600)
