"""The evidence service wired to a REAL commitments service, whose feed its consumer reads."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from evidence.config import Settings
from evidence.main import create_app
from evidence.models import KnownCommitment
from servicekit.auth import TokenVerifier
from tests.conftest import serve
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="session")
async def commitments_app(commitments_db: str, issuer: TestIssuer) -> AsyncIterator[FastAPI]:
    """The commitments service, started (its lifespan running), as an ASGI app."""
    app = create_commitments_app(
        CommitmentsSettings(database_url=commitments_db, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        yield manager.app  # type: ignore[misc]


@pytest.fixture(scope="session")
async def commitments(commitments_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the commitments service (to create the commitments evidence is about)."""
    transport = httpx.ASGITransport(app=commitments_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://commitments") as c:
        yield c


def evidence_settings(evidence_db: str, **over: Any) -> Settings:
    """Settings for a test instance: fast polling so the read model catches up quickly."""
    return Settings(
        database_url=evidence_db,
        log_json=False,
        consumer_interval_s=0.02,
        consumer_idle_interval_s=0.02,
        **over,
    )


@pytest.fixture(scope="session")
def blob_dir(data_dir: Path) -> Path:
    """The evidence service's blob folder for this session."""
    return data_dir / "blobs"


@pytest.fixture(scope="session")
def evidence_app(
    evidence_db: str, issuer: TestIssuer, commitments_app: FastAPI, blob_dir: Path
) -> FastAPI:
    """The evidence service (not yet started), consuming the real commitments feed."""
    return create_app(
        evidence_settings(evidence_db, blob_dir=blob_dir),
        token_verifier=TokenVerifier(issuer.settings()),
        commitments_transport=httpx.ASGITransport(app=commitments_app),
    )


@pytest.fixture(scope="session")
async def client(evidence_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running evidence service."""
    async for c in serve(evidence_app):
        yield c


@pytest.fixture(scope="session")
def writer(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `commitments:write`."""
    return issuer.auth("commitments:write", ttl=3600)


@pytest.fixture(scope="session")
def moderator(issuer: TestIssuer) -> dict[str, str]:
    """Authorization for `evidence:moderate`."""
    return issuer.auth("evidence:moderate", client_id="panel-secretariat", ttl=3600)


def ref(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_commitment(
    commitments: httpx.AsyncClient, writer: dict[str, str]
) -> dict[str, Any]:
    """A new commitment on the commitments service (with its own area and source)."""
    area = await commitments.post(
        "/v1/policy-areas", json={"slug": ref("a").lower(), "name": "Area"}, headers=writer
    )
    source = await commitments.post(
        "/v1/sources",
        json={"reference": ref("s"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=writer,
    )
    r = await commitments.post(
        "/v1/commitments",
        json={
            "reference": ref("C"),
            "title": "A commitment",
            "text": "We will do a thing.",
            "policy_area_id": area.json()["id"],
            "source_id": source.json()["id"],
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def wait_known(app: FastAPI, ids: Sequence[str], within: float = 10.0) -> None:
    """Wait (with a deadline) until the evidence service's read model holds `ids`."""
    wanted = {uuid.UUID(i) for i in ids}
    deadline = time.monotonic() + within
    while True:
        async with app.state.sessionmaker() as session:
            rows = await session.scalars(
                select(KnownCommitment.id).where(KnownCommitment.id.in_(wanted))
            )
            if set(rows.all()) == wanted:
                return
        assert time.monotonic() < deadline, f"read model did not learn {sorted(map(str, wanted))}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def make_commitments(client, commitments, writer, evidence_app):  # noqa: ARG001
    """`await make_commitments(n)`: n new commitments the evidence service already knows."""
    # `client`: the evidence service is running, so its consumer is learning commitments.

    async def make(n: int = 1) -> list[str]:
        made = [(await create_commitment(commitments, writer))["id"] for _ in range(n)]
        await wait_known(evidence_app, made)
        return made

    return make


@pytest.fixture(scope="session")
def blobs(evidence_app: FastAPI):
    """The running service's blob store (to look for orphans)."""
    return evidence_app.state.blob_store
