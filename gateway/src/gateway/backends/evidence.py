"""Client of the evidence service."""

from __future__ import annotations

from typing import IO, Any
from urllib.parse import quote, urlencode

from gateway.backends.base import ServiceClient, ServiceError
from gateway.backends.models import EvidenceCall, EvidenceReceipt, ListPage, Submission
from servicekit.idempotency import REPLAYED_HEADER

SUBMISSIONS = "/v1/submissions"
CALLS = "/v1/calls-for-evidence"


class EvidenceClient(ServiceClient):
    """Reads from the evidence service, and the evidence form's writes."""

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

    async def call(self, ident: str) -> EvidenceCall:
        """`GET /v1/calls-for-evidence/{id}` (public)."""
        return await self.get_model(f"{CALLS}/{quote(ident, safe='')}", EvidenceCall)

    async def open_calls(self, limit: int = 100) -> list[EvidenceCall]:
        """Calls open now, oldest first (at most `limit`)."""
        calls, _ = await self.get_all(CALLS, EvidenceCall, [("open_now", "true")], limit=limit)
        return calls

    async def _write(
        self, path: str, token: str, key: str | None, **content: Any
    ) -> tuple[Any, bool]:
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        request = self.http.build_request("POST", path, headers=headers, **content)
        resp = await self.send(request, exchanged=True)
        if resp.status_code >= 400:
            raise ServiceError(self.name, resp)
        return resp.json(), resp.headers.get(REPLAYED_HEADER) == "true"

    async def submit(
        self, body: dict[str, Any], token: str, key: str
    ) -> tuple[EvidenceReceipt, bool]:
        """Create a submission with the services' `token` (the form's); the receipt and whether
        it was a replay of an earlier create with the same `key`. `ServiceError` otherwise."""
        data, replayed = await self._write(SUBMISSIONS, token, key, json=body)
        return self.validated(EvidenceReceipt, data), replayed

    async def attach(
        self, submission_id: str, token: str, filename: str, file: IO[bytes], media_type: str
    ) -> None:
        """Upload one file to a submission (streamed from `file`); `ServiceError` if refused."""
        path = f"{SUBMISSIONS}/{quote(submission_id, safe='')}/attachments"
        await self._write(path, token, None, files={"file": (filename, file, media_type)})

    async def withdraw(self, submission_id: str, token: str, key: str, reason: str) -> None:
        """Withdraw a submission the same token made (idempotent on `key`)."""
        path = f"{SUBMISSIONS}/{quote(submission_id, safe='')}/withdrawal"
        await self._write(path, token, key, json={"reason": reason})
