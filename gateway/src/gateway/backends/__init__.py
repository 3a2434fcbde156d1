"""One typed httpx client per backend service, created in the gateway's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

import httpx
from fastapi import FastAPI

from gateway.backends.base import (
    RetryPolicy,
    ServiceClient,
    ServiceError,
    ServiceUnavailableError,
)
from gateway.backends.breaker import CircuitBreaker
from gateway.backends.commitments import CommitmentsClient
from gateway.backends.evidence import EvidenceClient
from gateway.backends.ratings import RatingsClient
from gateway.backends.transport import BackendTransport
from gateway.config import Settings
from servicekit.http import make_client
from servicekit.tracing import trace_client

__all__ = [
    "Backends",
    "CommitmentsClient",
    "EvidenceClient",
    "RatingsClient",
    "ServiceClient",
    "ServiceError",
    "ServiceUnavailableError",
    "open_backends",
]

C = TypeVar("C", bound=ServiceClient)


@dataclass(frozen=True)
class Backends:
    """The gateway's clients, one per service."""

    commitments: CommitmentsClient
    evidence: EvidenceClient
    ratings: RatingsClient

    def by_name(self, name: str) -> ServiceClient:
        """A client by service name."""
        client: ServiceClient = getattr(self, name)
        return client


@contextlib.asynccontextmanager
async def open_backends(
    settings: Settings,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    *,
    traced: FastAPI | None = None,
) -> AsyncIterator[Backends]:
    """Long-lived pooled clients for the app's lifespan (a transport per service in tests);
    calls are traced with `traced`'s provider when that app is traced (servicekit.tracing)."""
    transports = transports or {}
    async with contextlib.AsyncExitStack() as stack:

        async def http(name: str) -> httpx.AsyncClient:
            client = await stack.enter_async_context(
                make_client(
                    settings.service_url(name),
                    timeout=settings.service_timeout(name),
                    transport=transports.get(name)
                    or BackendTransport(max_connections=settings.backend_max_connections),
                )
            )
            return client if traced is None else trace_client(traced, client)

        policy = RetryPolicy(
            attempts=settings.retry_attempts,
            wait_initial_s=settings.retry_wait_initial_s,
            wait_max_s=settings.retry_wait_max_s,
            timeout_s=settings.retry_timeout_s,
        )

        async def client(cls: type[C]) -> C:
            return cls(
                await http(cls.name),
                retry_after_s=settings.retry_after_s,
                retry=policy,
                breaker=CircuitBreaker(
                    cls.name,
                    failure_threshold=settings.breaker_failure_threshold,
                    cooldown_s=settings.breaker_cooldown_s,
                ),
            )

        yield Backends(
            commitments=await client(CommitmentsClient),
            evidence=await client(EvidenceClient),
            ratings=await client(RatingsClient),
        )
