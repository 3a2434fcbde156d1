"""Client of the evidence service."""

from __future__ import annotations

from typing import Any

from gateway.clients.base import ServiceClient, collect


class EvidenceClient(ServiceClient):
    """Reads from the evidence service."""

    name = "evidence"

    async def published_about(
        self, commitment_id: str, *, headers: dict[str, str] | None = None, limit: int = 100
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Published submissions about a commitment (at most `limit`) and the page token where
        the list continues."""
        return await collect(
            self,
            "/v1/submissions",
            [("commitment_id", commitment_id), ("status", "published")],
            headers=headers,
            limit=limit,
        )
