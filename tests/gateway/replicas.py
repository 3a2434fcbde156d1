"""Extra gateway instances ("replicas") with their own settings, wired to the running services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.main import create_app
from tests.gateway.conftest import Stack, auth_settings, gateway_settings

SERVICES = ("commitments", "evidence", "ratings")


def real_transports(stack: Stack) -> dict[str, httpx.AsyncBaseTransport]:
    """A transport to each running service app (the stack's, so its recordings see the calls)."""
    return {name: getattr(stack, name) for name in SERVICES}


@contextlib.asynccontextmanager
async def replica(
    stack: Stack,
    gateway_db: str,
    *,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    **settings: Any,
) -> AsyncIterator[FastAPI]:
    """A gateway app on the shared database (same keys, same clients), running its lifespan."""
    app = create_app(
        gateway_settings(gateway_db, **settings),
        transports={**real_transports(stack), **(transports or {})},
        auth=auth_settings(),
    )
    # State lives on the app object itself (app.state), so the app can be called directly.
    async with LifespanManager(app, startup_timeout=30):
        yield app


def client_of(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client of an app that appears to call from `ip`."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
