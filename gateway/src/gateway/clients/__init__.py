"""One typed httpx client per backend service, created in the gateway's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from gateway.clients.base import ServiceClient, ServiceError, ServiceUnavailableError
from gateway.clients.commitments import CommitmentsClient
from gateway.clients.evidence import EvidenceClient
from gateway.clients.ratings import RatingsClient
from gateway.config import Settings
from servicekit.http import make_client

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
    settings: Settings, transports: dict[str, httpx.AsyncBaseTransport] | None = None
) -> AsyncIterator[Backends]:
    """Long-lived pooled clients for the app's lifespan (a transport per service in tests)."""
    transports = transports or {}
    async with contextlib.AsyncExitStack() as stack:

        async def http(name: str) -> httpx.AsyncClient:
            return await stack.enter_async_context(
                make_client(
                    settings.service_url(name),
                    timeout=settings.service_timeout(name),
                    transport=transports.get(name),
                )
            )

        retry = settings.retry_after_s
        yield Backends(
            commitments=CommitmentsClient(await http("commitments"), retry_after_s=retry),
            evidence=EvidenceClient(await http("evidence"), retry_after_s=retry),
            ratings=RatingsClient(await http("ratings"), retry_after_s=retry),
        )
