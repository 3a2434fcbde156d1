"""Client of the commitments service."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from gateway.clients.base import ServiceClient, chunks, collect

# The commitments service caps page_size at 200 and `id` filters at a few hundred values.
PAGE = 200


class CommitmentsClient(ServiceClient):
    """Reads from the commitments service."""

    name = "commitments"

    async def _all(
        self, path: str, ids: list[str], headers: dict[str, str]
    ) -> list[dict[str, Any]]:
        async def one_chunk(chunk: list[str]) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            token: str | None = None
            while True:
                params: list[tuple[str, str | int]] = [("id", i) for i in chunk]
                params.append(("page_size", PAGE))
                if token:
                    params.append(("page_token", token))
                page = await self.get_json(path, params=params, headers=headers)
                items.extend(page["items"])
                token = page.get("next_page_token")
                if not token:
                    return items

        pages = await asyncio.gather(*(one_chunk(c) for c in chunks(ids, PAGE)))
        return [item for page in pages for item in page]

    async def commitments_by_id(
        self, ids: list[str], *, headers: dict[str, str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Commitments keyed by id (ids the service does not know are simply absent)."""
        found = await self._all("/v1/commitments", ids, headers or {})
        return {c["id"]: c for c in found}

    async def policy_areas_by_id(
        self, ids: list[str], *, headers: dict[str, str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Policy areas keyed by id."""
        found = await self._all("/v1/policy-areas", ids, headers or {})
        return {a["id"]: a for a in found}

    async def commitment(self, ident: str, *, headers: dict[str, str] | None = None) -> Any:
        """`GET /v1/commitments/{id}`: the commitment with its targets and their progress."""
        return await self.get_json(f"/v1/commitments/{quote(ident, safe='')}", headers=headers)

    async def readings(
        self, target_id: str, *, headers: dict[str, str] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """A target's progress readings, oldest first (at most `limit`)."""
        items, _ = await collect(
            self,
            f"/v1/targets/{quote(target_id, safe='')}/readings",
            [],
            headers=headers,
            limit=limit,
        )
        return items
