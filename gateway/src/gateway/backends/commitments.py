"""Client of the commitments service."""

from __future__ import annotations

import asyncio
from datetime import date
from urllib.parse import quote

from gateway.backends.base import PAGE, M, ServiceClient, chunks
from gateway.backends.models import (
    Commitment,
    CommitmentDetail,
    ListPage,
    PolicyArea,
    Reading,
    Revision,
    SelfAssessment,
    Source,
    Target,
)

# `id` filters take a few hundred values at most; one page of ids per call.
IDS_PER_CALL = PAGE


def _id(ident: str) -> str:
    return quote(ident, safe="")


class CommitmentsClient(ServiceClient):
    """Reads from the commitments service."""

    name = "commitments"

    async def _by_id(
        self, path: str, model: type[M], ids: list[str], headers: dict[str, str] | None
    ) -> list[M]:
        return await self._by_id_param(path, model, "id", ids, headers)

    async def _by_id_param(
        self,
        path: str,
        model: type[M],
        param: str,
        ids: list[str],
        headers: dict[str, str] | None,
    ) -> list[M]:
        async def one_chunk(chunk: list[str]) -> list[M]:
            found, _ = await self.get_all(path, model, [(param, i) for i in chunk], headers=headers)
            return found

        pages = await asyncio.gather(*(one_chunk(c) for c in chunks(ids, IDS_PER_CALL)))
        return [item for page in pages for item in page]

    async def commitments_by_id(
        self, ids: list[str], *, headers: dict[str, str] | None = None
    ) -> dict[str, Commitment]:
        """Commitments keyed by id (ids the service does not know are simply absent)."""
        found = await self._by_id("/v1/commitments", Commitment, ids, headers)
        return {str(c.id): c for c in found}

    async def policy_areas_by_id(
        self, ids: list[str], *, headers: dict[str, str] | None = None
    ) -> dict[str, PolicyArea]:
        """Policy areas keyed by id."""
        found = await self._by_id("/v1/policy-areas", PolicyArea, ids, headers)
        return {str(a.id): a for a in found}

    async def search_commitments(
        self, params: list[tuple[str, str]], *, headers: dict[str, str] | None = None
    ) -> ListPage[Commitment]:
        """One page of `GET /v1/commitments` with the filters given (repeatable, ANDed)."""
        return await self.get_model(
            "/v1/commitments", ListPage[Commitment], params=params, headers=headers
        )

    async def sources(self, *, headers: dict[str, str] | None = None) -> list[Source]:
        """Every source document (a few dozen at most)."""
        items, _ = await self.get_all("/v1/sources", Source, headers=headers, limit=1000)
        return items

    async def policy_areas(self, *, headers: dict[str, str] | None = None) -> list[PolicyArea]:
        """Every policy area."""
        items, _ = await self.get_all("/v1/policy-areas", PolicyArea, headers=headers, limit=1000)
        return items

    async def commitment(
        self, ident: str, *, as_of: date | None = None, headers: dict[str, str] | None = None
    ) -> CommitmentDetail:
        """`GET /v1/commitments/{id}`: the commitment, and its targets with their progress (as
        they stood on `as_of`, if given)."""
        params = {"as_of": as_of.isoformat()} if as_of else None
        data = await self.get_json(f"/v1/commitments/{_id(ident)}", params=params, headers=headers)
        if not isinstance(data, dict):
            return self.validated(CommitmentDetail, data)  # not an object: the 502
        targets = data.pop("targets", None) or []
        return self.validated(CommitmentDetail, {"commitment": data, "targets": targets})

    async def readings(
        self, target_id: str, *, headers: dict[str, str] | None = None, limit: int = 1000
    ) -> list[Reading]:
        """A target's progress readings, oldest first (at most `limit`)."""
        items, _ = await self.get_all(
            f"/v1/targets/{_id(target_id)}/readings", Reading, headers=headers, limit=limit
        )
        return items

    async def revisions(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> ListPage[Revision]:
        """The first page (the service's largest) of a commitment's revision history."""
        return await self.get_model(
            f"/v1/commitments/{_id(ident)}/revisions",
            ListPage[Revision],
            params={"page_size": PAGE},
            headers=headers,
        )

    async def latest_self_assessments(
        self, ids: list[str], *, headers: dict[str, str] | None = None
    ) -> dict[str, SelfAssessment]:
        """Each commitment's latest self-assessment by its date (commitments without one are
        absent)."""
        found = await self._by_id_param(
            "/v1/self-assessments", SelfAssessment, "commitment_id", ids, headers
        )
        latest: dict[str, SelfAssessment] = {}
        for a in found:  # oldest recorded first: a later record of the same date wins
            key = str(a.commitment_id)
            if key not in latest or a.assessed_on >= latest[key].assessed_on:
                latest[key] = a
        return latest

    async def self_assessments(
        self, ident: str, *, headers: dict[str, str] | None = None
    ) -> list[SelfAssessment]:
        """A commitment's self-assessments, oldest recorded first (its history)."""
        items, _ = await self.get_all(
            f"/v1/commitments/{_id(ident)}/self-assessments",
            SelfAssessment,
            headers=headers,
            limit=1000,
        )
        return items

    async def all_commitments(self, *, limit: int) -> list[Commitment]:
        """Every commitment, oldest first (at most `limit`)."""
        items, _ = await self.get_all("/v1/commitments", Commitment, limit=limit)
        return items

    async def all_policy_areas(self, *, limit: int) -> list[PolicyArea]:
        """Every policy area (at most `limit`)."""
        items, _ = await self.get_all("/v1/policy-areas", PolicyArea, limit=limit)
        return items

    async def targets(self, ident: str, *, limit: int = 1000) -> list[Target]:
        """A commitment's targets with their progress (at most `limit`)."""
        items, _ = await self.get_all(f"/v1/commitments/{_id(ident)}/targets", Target, limit=limit)
        return items

    async def all_revisions(self, ident: str, *, limit: int) -> list[Revision]:
        """A commitment's whole revision history, oldest first (at most `limit`)."""
        items, _ = await self.get_all(
            f"/v1/commitments/{_id(ident)}/revisions", Revision, limit=limit
        )
        return items
