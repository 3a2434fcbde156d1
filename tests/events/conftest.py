"""The gateway's event log and webhooks, wired in-process to the REAL three services.

The gateway reads the services' feeds over ASGI transports (as an internal reader, with the token
it mints for itself) into its own fresh database; webhooks go to a real HTTP receiver on
loopback (`GATEWAY_WEBHOOKS_ALLOW_PRIVATE`/`_ALLOW_HTTP` on, as for development), with a short
retry schedule and timeout so retries, back-off and disabling happen within a test.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.identity import clients as service
from gateway.identity.schemas import ClientCreate
from servicekit.auth import AuthSettings
from tests.support.databases import migrated_database
from tests.support.stack import running_apps

ISSUER = "http://gateway.test"
AUDIENCE = "scrutiny-api"
PROBLEM = "application/problem+json"
SCHEDULE = [0.05, 0.1, 0.2]  # 4 attempts in all, ~0.35 s
DISABLE_AFTER = 6


def auth_settings() -> AuthSettings:
    """Issuer and audience the gateway and the services agree on in these tests."""
    return AuthSettings(token_issuer=ISSUER, token_audience=AUDIENCE, jwks_refresh_min_interval_s=0)


def gateway_settings(url: str, **over: Any) -> Settings:
    """A gateway that reads feeds and delivers webhooks quickly, to loopback receivers."""
    values: dict[str, Any] = {
        "database_url": url,
        "log_json": False,
        "key_publish_delay_s": 0,
        "openapi_cache_s": 0,
        "events_poll_interval_s": 0.02,
        "webhooks_poll_interval_s": 0.02,
        "consumer_idle_interval_s": 0.02,
        "webhooks_idle_interval_s": 0.02,
        "webhooks_allow_http": True,
        "webhooks_allow_private": True,
        "webhooks_timeout_s": 1.0,
        "webhooks_retry_schedule_s": SCHEDULE,
        "webhooks_retry_jitter": 0.0,
        "webhooks_disable_after_failures": DISABLE_AFTER,
        **over,
    }
    return Settings(**values)


# --- a webhook receiver on loopback ------------------------------------------------------------


@dataclass
class Call:
    """One request the receiver got."""

    kind: str
    name: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A real HTTP server whose answer depends on the path: `/{kind}/{name}`.

    ok → 204; fail → 500; gone → 410; redirect → 307 to /ok/{name}-redirected; hang → never
    answers (within the test's timeout); retry → 503 with `Retry-After: 1` the first time, then
    204; flakyN → 500 N times, then 204.
    """

    base: str = ""
    calls: list[Call] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def url(self, kind: str, name: str | None = None) -> str:
        """A receiver URL; a unique name unless given."""
        return f"{self.base}/{kind}/{name or uuid.uuid4().hex[:12]}"

    def got(self, name: str) -> list[Call]:
        """The calls made to one name."""
        return [c for c in self.calls if c.name == name]

    async def handle(self, request: Request) -> Response:
        kind, name = request.path_params["kind"], request.path_params["name"]
        body = await request.body()
        self.calls.append(Call(kind, name, dict(request.headers), body, time.monotonic()))
        n = self.counts[name] = self.counts.get(name, 0) + 1
        if kind == "ok":
            return Response(status_code=204)
        if kind == "gone":
            return Response(status_code=410)
        if kind == "redirect":
            return Response(status_code=307, headers={"Location": f"/ok/{name}-redirected"})
        if kind == "hang":
            await asyncio.sleep(30)
            return Response(status_code=204)
        if kind == "retry":
            if n == 1:
                return Response(status_code=503, headers={"Retry-After": "1"})
            return Response(status_code=204)
        if kind.startswith("flaky"):
            return Response(status_code=500 if n <= int(kind[5:]) else 204)
        return Response(status_code=500)


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    """The receiver, served by uvicorn in a thread (its own event loop) on a free port."""
    rec = Receiver()
    app = Starlette(routes=[Route("/{kind}/{name}", rec.handle, methods=["POST"])])
    sock = _free_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "receiver did not start"
        time.sleep(0.01)
    rec.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield rec
    server.should_exit = True
    thread.join(5)


# --- the stack ---------------------------------------------------------------------------------


@dataclass
class Stack:
    """The running apps and a client of the gateway."""

    gateway_app: FastAPI
    gateway: httpx.AsyncClient
    commitments_app: FastAPI
    evidence_app: FastAPI
    ratings_app: FastAPI
    gateway_db: str


@pytest.fixture(scope="package")
def events_gateway_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh gateway database of its own: its log starts at position 1."""
    return migrated_database("gateway", tmp_path_factory.mktemp("events-gateway"))


@pytest.fixture(scope="package")
async def stack(
    events_gateway_db: str, commitments_db: str, ratings_db: str, evidence_db: str
) -> AsyncIterator[Stack]:
    """Gateway + the three services, all running, all trusting the gateway's tokens; the
    gateway's log reads all three feeds."""
    async with running_apps(
        auth_settings(),
        commitments_db=commitments_db,
        evidence_db=evidence_db,
        ratings_db=ratings_db,
        gateway=gateway_settings(events_gateway_db),
        gateway_reads_feeds=True,
    ) as apps:
        yield Stack(
            apps.gateway_app,
            apps.gateway,
            apps.commitments_app,
            apps.evidence_app,
            apps.ratings_app,
            events_gateway_db,
        )


@pytest.fixture(scope="package")
def gateway(stack: Stack) -> httpx.AsyncClient:
    """A client of the running gateway."""
    return stack.gateway


MakeAuth = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture(scope="package")
def make_auth(stack: Stack) -> MakeAuth:
    """`await make_auth(*scopes)`: Authorization of a new API client with those scopes."""

    async def make(*scopes: str, org: str = "Test Org") -> dict[str, str]:
        async with stack.gateway_app.state.sessionmaker() as session, session.begin():
            read, secret = await service.create_client(
                session,
                ClientCreate(name="events test", organisation=org, scopes=list(scopes)),
            )
        r = await stack.gateway.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": read.client_id,
                "client_secret": secret,
            },
        )
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture(scope="package")
async def admin(make_auth: MakeAuth) -> dict[str, str]:
    """Authorization for `admin`."""
    return await make_auth("admin", org="Scrutiny")


@pytest.fixture(scope="package")
async def writer(make_auth: MakeAuth) -> dict[str, str]:
    """Authorization for writing commitments, evidence and ratings."""
    return await make_auth(
        "commitments:write", "evidence:submit", "ratings:write", org="Programme office"
    )


def ref(prefix: str = "E") -> str:
    """A unique reference."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(
    check: Callable[[], Awaitable[Any]], within: float = 10.0, every: float = 0.02
) -> Any:
    """Call `check` until it returns something truthy (returned), failing after `within` s."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(every)


async def make_source(gateway: httpx.AsyncClient, writer: dict[str, str]) -> dict[str, Any]:
    """A new source through the gateway (emits a public `source.created`)."""
    r = await gateway.post(
        "/v1/sources",
        json={"reference": ref("S"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def log_events(
    gateway: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The whole gateway log as `headers` may see it."""
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        r = await gateway.get(
            "/v1/events", params={"after": after, "limit": 1000}, headers=headers or {}
        )
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        if page["next_after"] == after:
            return out
        after = page["next_after"]


async def event_for(
    gateway: httpx.AsyncClient, resource_id: str, type_: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Wait for the log event of `type_` about `resource_id`."""

    async def find() -> dict[str, Any] | None:
        for e in await log_events(gateway, headers):
            if e["resource_id"] == resource_id and e["type"] == type_:
                return e
        return None

    found: dict[str, Any] = await eventually(find)
    return found
