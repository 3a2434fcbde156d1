"""Client of the ratings service."""

from __future__ import annotations

from urllib.parse import quote

from gateway.backends.base import ServiceClient
from gateway.backends.models import (
    Evaluation,
    ListPage,
    PanelResponse,
    PublishedRating,
    RatingHistoryEntry,
    RatingsSummary,
    ReportAgreement,
    ResponseDeadline,
)


def _id(ident: str) -> str:
    return quote(ident, safe="")


class RatingsClient(ServiceClient):
    """Reads from the ratings service."""

    name = "ratings"

    async def evaluations(
        self, *, page_size: int, headers: dict[str, str] | None = None
    ) -> ListPage[Evaluation]:
        """The first `page_size` evaluations the caller may see."""
        return await self.get_model(
            "/v1/evaluations",
            ListPage[Evaluation],
            params={"page_size": page_size},
            headers=headers,
        )

    async def evaluation(self, ident: str, *, headers: dict[str, str] | None = None) -> Evaluation:
        """`GET /v1/evaluations/{id}`."""
        return await self.get_model(f"/v1/evaluations/{_id(ident)}", Evaluation, headers=headers)

    async def summary(self, ident: str, *, headers: dict[str, str] | None = None) -> RatingsSummary:
        """`GET /v1/evaluations/{id}/summary`: ratings with overalls by commitment and area."""
        return await self.get_model(
            f"/v1/evaluations/{_id(ident)}/summary", RatingsSummary, headers=headers
        )

    async def agreement(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> ReportAgreement:
        """`GET /v1/evaluations/{id}/agreement`: alpha and exact agreement of the panel's scores."""
        return await self.get_model(
            f"/v1/evaluations/{_id(ident)}/agreement", ReportAgreement, headers=headers
        )

    async def responses(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> ListPage[PanelResponse]:
        """The first page of the responses to an evaluation and to its ratings."""
        return await self.get_model(
            f"/v1/evaluations/{_id(ident)}/responses", ListPage[PanelResponse], headers=headers
        )

    async def all_responses(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> list[PanelResponse]:
        """Every response to an evaluation, oldest first (a report shows each commitment's)."""
        items, _ = await self.get_all(
            f"/v1/evaluations/{_id(ident)}/responses", PanelResponse, headers=headers, limit=1000
        )
        return items

    async def response_deadline(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> ResponseDeadline | None:
        """The evaluation's response deadline; None while it is unpublished."""
        page = await self.get_model(
            "/v1/response-deadlines",
            ListPage[ResponseDeadline],
            params={"evaluation_id": ident},
            headers=headers,
        )
        return page.items[0] if page.items else None

    async def commitment_history(
        self, commitment_id: str, *, headers: dict[str, str] | None = None
    ) -> list[RatingHistoryEntry]:
        """`GET /v1/commitments/{id}/ratings`: the commitment's rating in each evaluation, oldest
        first, with the change since the one before (published evaluations only, unless the
        caller's token may see drafts)."""
        items, _ = await self.get_all(
            f"/v1/commitments/{_id(commitment_id)}/ratings",
            RatingHistoryEntry,
            headers=headers,
            limit=1000,
        )
        return items

    async def published_evaluations(self, *, limit: int) -> list[Evaluation]:
        """Every published evaluation, oldest first (at most `limit`), as anyone may read it."""
        items, _ = await self.get_all(
            "/v1/evaluations", Evaluation, [("status", "published")], limit=limit
        )
        return items

    async def ratings_of(self, ident: str, *, limit: int) -> list[PublishedRating]:
        """An evaluation's ratings as anyone may read them, in its order of commitments."""
        items, _ = await self.get_all(
            f"/v1/evaluations/{_id(ident)}/ratings", PublishedRating, limit=limit
        )
        return items
