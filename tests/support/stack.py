"""The gateway wired in-process to the REAL commitments, evidence and ratings apps.

Every service trusts the gateway's tokens: their verifiers fetch the gateway's JWKS from the
running gateway app, so key rotation is exercised end to end. The services' consumers read each
other's feeds over ASGI transports. Part packages build their own `Stack` on top of this.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from evidence.config import Settings as EvidenceSettings
from evidence.main import create_app as create_evidence_app
from gateway.config import Settings as GatewaySettings
from gateway.main import create_app as create_gateway_app
from ratings.config import Settings as RatingsSettings
from ratings.main import create_app as create_ratings_app
from servicekit.auth import AuthSettings, TokenVerifier

# Consumers poll quickly in tests, idle or not, so that events arrive within a test's patience.
FAST_CONSUMERS: dict[str, Any] = {"consumer_interval_s": 0.02, "consumer_idle_interval_s": 0.02}


@dataclass
class Apps:
    """The four running apps, a client of the gateway, and the transports it was given."""

    gateway_app: FastAPI
    gateway: httpx.AsyncClient
    commitments_app: FastAPI
    evidence_app: FastAPI
    ratings_app: FastAPI
    transports: dict[str, httpx.AsyncBaseTransport]


@contextlib.asynccontextmanager
async def running_apps(
    auth: AuthSettings,
    *,
    commitments_db: str,
    evidence_db: str,
    ratings_db: str,
    gateway: GatewaySettings,
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] = lambda t: t,
    gateway_reads_feeds: bool = False,
    prepare: Callable[[FastAPI], None] = lambda _app: None,
) -> AsyncIterator[Apps]:
    """Start commitments, then evidence and ratings (which consume its feed, and ratings
    evidence's), then the gateway in front of them. `wrap` wraps the gateway's transports (e.g.
    to record what it sends); with `gateway_reads_feeds` its event log imports all three;
    `prepare` is given each app before it starts (e.g. to trace it)."""
    holder: dict[str, FastAPI] = {}

    async def gateway_jwks() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=holder["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
            resp = await c.get("/.well-known/jwks.json")
            resp.raise_for_status()
            jwks: dict[str, Any] = resp.json()
            return jwks

    def verifier() -> TokenVerifier:
        return TokenVerifier(auth, fetch_jwks=gateway_jwks)

    commitments_app = create_commitments_app(
        CommitmentsSettings(database_url=commitments_db, log_json=False), token_verifier=verifier()
    )
    prepare(commitments_app)
    async with LifespanManager(commitments_app, startup_timeout=30) as cm:
        evidence_app = create_evidence_app(
            EvidenceSettings(database_url=evidence_db, log_json=False, **FAST_CONSUMERS),
            token_verifier=verifier(),
            commitments_transport=httpx.ASGITransport(app=cm.app),
        )
        prepare(evidence_app)
        async with LifespanManager(evidence_app, startup_timeout=30) as em:
            ratings_app = create_ratings_app(
                RatingsSettings(database_url=ratings_db, log_json=False, **FAST_CONSUMERS),
                token_verifier=verifier(),
                commitments_transport=httpx.ASGITransport(app=cm.app),
                evidence_transport=httpx.ASGITransport(app=em.app),
            )
            prepare(ratings_app)
            async with LifespanManager(ratings_app, startup_timeout=30) as rm:
                transports = {
                    "commitments": wrap(httpx.ASGITransport(app=cm.app)),
                    "evidence": wrap(httpx.ASGITransport(app=em.app)),
                    "ratings": wrap(httpx.ASGITransport(app=rm.app)),
                }
                gw = create_gateway_app(
                    gateway,
                    transports=dict(transports),
                    feed_transports=dict(transports) if gateway_reads_feeds else None,
                    auth=auth,
                )
                prepare(gw)
                holder["gateway"] = gw
                async with (
                    LifespanManager(gw, startup_timeout=30) as gm,
                    httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=gm.app), base_url="http://gateway.test"
                    ) as client,
                ):
                    yield Apps(gw, client, commitments_app, evidence_app, ratings_app, transports)
