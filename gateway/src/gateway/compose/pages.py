"""The reads the public pages make besides the report and the scorecard, each degrading alone.

A page is about one thing (an evaluation, a commitment, a submission); what it shows beside that
thing is secondary, and a secondary read that fails leaves its part out and names it in the
page's `missing` banner instead of failing the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, Literal, TypeVar

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.backends.models import (
    Commitment,
    CommitmentDetail,
    Evaluation,
    ListPage,
    OverallRating,
    PanelResponse,
    PolicyArea,
    Revision,
    Source,
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
        backends.ratings.evaluations(page_size=shown), missing, "the list of evaluations"
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


AsOfState = Literal["found", "not_yet", "unavailable"]


async def commitment_as_of(
    backends: Backends, commitment_id: str, as_of: date, missing: list[str]
) -> tuple[CommitmentDetail | None, AsOfState]:
    """A commitment and its targets as they stood on `as_of`; `not_yet` when it did not exist
    then (the service's 404 for a date before it was made), which is no failure."""
    try:
        return await backends.commitments.commitment(commitment_id, as_of=as_of), "found"
    except ServiceError as exc:
        if exc.status_code == 404:
            return None, "not_yet"
    except ServiceUnavailableError:
        pass
    missing.append("the wording as it stood on that date")
    return None, "unavailable"


async def revisions(backends: Backends, commitment_id: str, missing: list[str]) -> list[Revision]:
    """A commitment's history of changes (its first page)."""
    listed = await optional(
        backends.commitments.revisions(commitment_id), missing, "the history of changes"
    )
    return listed.items if listed else []


ListState = Literal["ok", "bad_token", "refused", "unavailable"]


@dataclass
class Listed(Generic[T]):
    """A page of a list as a page shows it, and why it may be empty."""

    items: list[T] = field(default_factory=list)
    next_page_token: str | None = None
    state: ListState = "ok"


def _refused(page_token: str | None) -> ListState:
    """A 4xx on a list read: the page token when one was sent (the usual cause), else the
    filters."""
    return "bad_token" if page_token else "refused"


async def published_evidence(
    backends: Backends,
    missing: list[str],
    *,
    q: str | None,
    stance: str | None,
    kind: str | None,
    commitment_id: str | None,
    page_token: str | None,
) -> Listed[Submission]:
    """A page of published evidence; empty, saying why, if the evidence service is down (and
    named missing) or refuses the page token or the filters."""
    try:
        got = await backends.evidence.search_published(
            q=q, stance=stance, kind=kind, commitment_id=commitment_id, page_token=page_token
        )
        return Listed(got.items, got.next_page_token)
    except ServiceUnavailableError:
        missing.append("the published evidence")
        return Listed(state="unavailable")
    except ServiceError:
        return Listed(state=_refused(page_token))


async def commitments_page(
    backends: Backends, params: list[tuple[str, str]], page_token: str | None, missing: list[str]
) -> Listed[Commitment]:
    """A page of the commitments index, as `published_evidence` for its failures."""
    asked = [*params, ("page_size", "20"), ("sort", "reference")]
    if page_token:
        asked.append(("page_token", page_token))
    try:
        got: ListPage[Commitment] = await backends.commitments.search_commitments(asked)
        return Listed(got.items, got.next_page_token)
    except ServiceUnavailableError:
        missing.append("the list of commitments")
        return Listed(state="unavailable")
    except ServiceError:
        return Listed(state=_refused(page_token))


async def sources_and_areas(
    backends: Backends, missing: list[str]
) -> tuple[list[Source], list[PolicyArea]]:
    """Every source and policy area, for the index's filters and names (empty if unavailable)."""
    sources, areas = await asyncio.gather(
        optional(backends.commitments.sources(), missing, "the list of sources"),
        optional(backends.commitments.policy_areas(), [], "policy areas"),
    )
    return sources or [], areas or []


async def published_submission(backends: Backends, submission_id: str) -> Submission:
    """One published submission; `ServiceError` (404) or `ServiceUnavailableError` as raised."""
    return await backends.evidence.submission(submission_id)
