"""Client of the evidence service."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from gateway.backends.base import ServiceClient
from gateway.backends.models import ListPage, Submission

SUBMISSIONS = "/v1/submissions"


class EvidenceClient(ServiceClient):
    """Reads from the evidence service."""

    name = "evidence"

    async def published_about(
        self, commitment_id: str, *, headers: dict[str, str] | None = None, limit: int = 100
    ) -> tuple[list[Submission], str | None]:
        """Published submissions about a commitment (at most `limit`) and the page token where
        the list continues."""
        return await self.get_all(
            SUBMISSIONS,
            Submission,
            [("commitment_id", commitment_id), ("status", "published")],
            headers=headers,
            limit=limit,
        )

    @staticmethod
    def published_about_url(commitment_id: str, page_token: str) -> str:
        """The public URL (through the gateway) where `published_about` continues."""
        query = urlencode(
            {"commitment_id": commitment_id, "status": "published", "page_token": page_token}
        )
        return f"{SUBMISSIONS}?{query}"

    async def search_published(
        self,
        *,
        q: str | None = None,
        stance: str | None = None,
        kind: str | None = None,
        commitment_id: str | None = None,
        page_token: str | None = None,
        page_size: int = 25,
    ) -> ListPage[Submission]:
        """One page of published submissions matching every filter given (`q` is full text)."""
        params: dict[str, str | int] = {"page_size": page_size, "status": "published"}
        for key, value in (
            ("q", q),
            ("stance", stance),
            ("kind", kind),
            ("page_token", page_token),
        ):
            if value:
                params[key] = value
        if commitment_id:
            params["commitment_id"] = commitment_id
        return await self.get_model(SUBMISSIONS, ListPage[Submission], params=params)

    async def submission(self, ident: str) -> Submission:
        """`GET /v1/submissions/{id}` as an anonymous reader sees it."""
        return await self.get_model(f"{SUBMISSIONS}/{quote(ident, safe='')}", Submission)

    async def all_published(self, *, limit: int) -> list[Submission]:
        """Every published submission as anyone may read it, oldest first (at most `limit`)."""
        items, _ = await self.get_all(
            SUBMISSIONS, Submission, [("status", "published")], limit=limit
        )
        return items
