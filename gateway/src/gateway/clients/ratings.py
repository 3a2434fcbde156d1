"""Client of the ratings service."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gateway.clients.base import ServiceClient, collect


class RatingsClient(ServiceClient):
    """Reads from the ratings service."""

    name = "ratings"

    async def evaluation(self, ident: str, *, headers: dict[str, str] | None = None) -> Any:
        """`GET /v1/evaluations/{id}`."""
        return await self.get_json(f"/v1/evaluations/{quote(ident, safe='')}", headers=headers)

    async def summary(self, ident: str, *, headers: dict[str, str] | None = None) -> Any:
        """`GET /v1/evaluations/{id}/summary`: ratings with overalls by commitment and area."""
        return await self.get_json(
            f"/v1/evaluations/{quote(ident, safe='')}/summary", headers=headers
        )

    async def commitment_history(
        self, commitment_id: str, *, headers: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """`GET /v1/commitments/{id}/ratings`: the commitment's rating in each evaluation, oldest
        first, with the change since the one before (published evaluations only, unless the
        caller's token may see drafts)."""
        items, _ = await collect(
            self,
            f"/v1/commitments/{quote(commitment_id, safe='')}/ratings",
            [],
            headers=headers,
            limit=1000,
        )
        return items
