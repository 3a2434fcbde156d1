"""The reads the public pages make besides the report and the scorecard, each degrading alone.

A page is about one thing (an evaluation, a commitment, a submission); what it shows beside that
thing is secondary, and a secondary read that fails leaves its part out and names it in the
page's `missing` banner instead of failing the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import TypeVar

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.backends.models import (
    CommitmentDetail,
    Evaluation,
    ListPage,
    OverallRating,
    PanelResponse,
    Revision,
    Submission,
)

T = TypeVar("T")

# Published first, then those on their way, withdrawn last.
STATUS_ORDER = {"published": 0, "in_review": 1, "draft": 2, "withdrawn": 3}


async def optional(work: Awaitable[T], missing: list[str], part: str) -> T | None:
    """A secondary read: on failure the page goes on without it and names it as missing."""
    try:
        return await work
    except (ServiceUnavailableError, ServiceError):
        missing.append(part)
        return None


async def evaluations(
    backends: Backends, shown: int, missing: list[str]
) -> list[tuple[Evaluation, OverallRating | None]]:
    """Up to `shown` evaluations with their overall ratings, published first."""
    listed = await optional(
        backends.ratings.evaluations(page_size=shown), missing, "evaluations (ratings service)"
    )
    found = listed.items if listed else []
    summaries = await asyncio.gather(
        *(optional(backends.ratings.summary(str(e.id)), [], "summary") for e in found)
    )
    rows = [(e, s.overall if s else None) for e, s in zip(found, summaries, strict=True)]
    rows.sort(key=lambda r: (STATUS_ORDER.get(r[0].status, 9), str(r[0].published_on or "")))
    return rows


async def responses(
    backends: Backends, evaluation_id: str
) -> tuple[dict[str, list[PanelResponse]], list[PanelResponse]]:
    """Responses to an evaluation's ratings (by commitment id) and to the evaluation itself;
    none if they cannot be read."""
    listed = await optional(backends.ratings.responses(evaluation_id), [], "responses")
    by_rating: dict[str, list[PanelResponse]] = {}
    to_evaluation: list[PanelResponse] = []
    for r in listed.items if listed else []:
        if r.commitment_id:
            by_rating.setdefault(str(r.commitment_id), []).append(r)
        else:
            to_evaluation.append(r)
    return by_rating, to_evaluation


async def commitment_as_of(
    backends: Backends, commitment_id: str, as_of: date, missing: list[str]
) -> CommitmentDetail | None:
    """A commitment and its targets as they stood on `as_of`."""
    return await optional(
        backends.commitments.commitment(commitment_id, as_of=as_of),
        missing,
        "wording as of that date",
    )


async def revisions(backends: Backends, commitment_id: str, missing: list[str]) -> list[Revision]:
    """A commitment's history of changes (its first page)."""
    listed = await optional(
        backends.commitments.revisions(commitment_id), missing, "history of changes"
    )
    return listed.items if listed else []


async def published_evidence(
    backends: Backends,
    missing: list[str],
    *,
    q: str | None,
    stance: str | None,
    kind: str | None,
    commitment_id: str | None,
    page_token: str | None,
) -> ListPage[Submission]:
    """A page of published evidence; empty if the evidence service is down (and named missing)
    or refuses the filters."""
    try:
        return await backends.evidence.search_published(
            q=q, stance=stance, kind=kind, commitment_id=commitment_id, page_token=page_token
        )
    except ServiceUnavailableError:
        missing.append("evidence service")
    except ServiceError:
        pass
    return ListPage[Submission](items=[], next_page_token=None)


async def published_submission(backends: Backends, submission_id: str) -> Submission:
    """One published submission; `ServiceError` (404) or `ServiceUnavailableError` as raised."""
    return await backends.evidence.submission(submission_id)
