"""The commitment scorecard: one read composed from all three services, degrading part by part."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from gateway.backends import Backends, ServiceError, ServiceUnavailableError
from gateway.backends.models import (
    Commitment,
    RatingHistoryEntry,
    Reading,
    SelfAssessment,
    Submission,
    Target,
)
from gateway.compose import accountability
from gateway.compose.schemas import Scorecard, ScorecardPart, ScorecardPosition, ScorecardTarget

log = logging.getLogger("gateway.compose.scorecard")

T = TypeVar("T")
EVIDENCE_SHOWN = 100


class _MissingError(Exception):
    """A part could not be fetched."""


async def _part(name: ScorecardPart, work: Awaitable[T], timeout_s: float) -> T:
    """`work`, or `_MissingError` if its service is down, slow or failing. A 404 is an answer."""
    try:
        return await asyncio.wait_for(work, timeout_s)
    except ServiceError as exc:
        if exc.status_code == 404 and name == "commitment":
            raise
        reason = f"{exc.service} answered {exc.status_code}"
    except ServiceUnavailableError as exc:
        reason = f"{exc.service}: {exc.problem.detail}"
    except TimeoutError:
        reason = f"no answer within {timeout_s:g} s"
    # Logged with the request id, so the gap in the answer can be traced to its cause.
    log.warning("scorecard part %s missing: %s", name, reason)
    raise _MissingError(name)


async def _no_history_on_404(
    backends: Backends, commitment_id: str, headers: dict[str, str]
) -> list[RatingHistoryEntry]:
    """The ratings service answers 404 for a commitment it has never rated (or not yet heard
    of): that is an empty history, not a missing part."""
    try:
        return await backends.ratings.commitment_history(commitment_id, headers=headers)
    except ServiceError as exc:
        if exc.status_code == 404:
            return []
        raise


async def _positions(
    backends: Backends,
    commitment_id: str,
    rated: list[RatingHistoryEntry],
    headers: dict[str, str],
    timeout_s: float,
    missing: list[ScorecardPart],
) -> list[ScorecardPosition]:
    """The government's position on the commitment in each evaluation that rated it."""
    evaluations = [str(h.evaluation.id) for h in rated if h.evaluation.status == "published"]
    try:
        answered = await _part(
            "responses",
            asyncio.gather(
                *(backends.ratings.all_responses(e, headers=headers) for e in evaluations)
            ),
            timeout_s,
        )
    except _MissingError:
        missing.append("responses")
        return []
    found = []
    for evaluation_id, responses in zip(evaluations, answered, strict=True):
        mine = accountability.positions(responses).get(commitment_id)
        if mine is not None:
            found.append(
                ScorecardPosition(**mine.model_dump(), evaluation_id=uuid.UUID(evaluation_id))
            )
    return found


async def compose(
    backends: Backends, commitment_id: str, headers: dict[str, str], timeout_s: float
) -> Scorecard:
    """Fetch every part concurrently; a 404 for the commitment is raised as a `ServiceError`,
    any other failure leaves its part empty and named in `missing`."""
    missing: list[ScorecardPart] = []

    async def commitment_and_targets() -> tuple[Commitment | None, list[ScorecardTarget]]:
        try:
            detail = await _part(
                "commitment",
                backends.commitments.commitment(commitment_id, headers=headers),
                timeout_s,
            )
        except _MissingError:
            missing.extend(["commitment", "targets"])
            return None, []
        targets = detail.targets

        async def readings(target: Target) -> list[Reading] | None:
            try:
                return await _part(
                    "readings",
                    backends.commitments.readings(str(target.id), headers=headers),
                    timeout_s,
                )
            except _MissingError:
                return None

        found = await asyncio.gather(*(readings(t) for t in targets))
        if any(r is None for r in found):
            missing.append("readings")
        return detail.commitment, [
            ScorecardTarget(target=t, readings=r) for t, r in zip(targets, found, strict=True)
        ]

    async def ratings() -> list[RatingHistoryEntry]:
        try:
            history = await _part(
                "ratings",
                _no_history_on_404(backends, commitment_id, headers),
                timeout_s,
            )
        except _MissingError:
            missing.append("ratings")
            return []
        return history

    async def evidence() -> tuple[list[Submission], str | None]:
        try:
            return await _part(
                "evidence",
                backends.evidence.published_about(
                    commitment_id, headers=headers, limit=EVIDENCE_SHOWN
                ),
                timeout_s,
            )
        except _MissingError:
            missing.append("evidence")
            return [], None

    async def self_assessed() -> list[SelfAssessment]:
        try:
            return await _part(
                "self_assessments",
                backends.commitments.self_assessments(commitment_id, headers=headers),
                timeout_s,
            )
        except _MissingError:
            missing.append("self_assessments")
            return []

    (commitment, targets), rated, (submissions, more), assessed = await asyncio.gather(
        commitment_and_targets(), ratings(), evidence(), self_assessed()
    )
    positions = await _positions(backends, commitment_id, rated, headers, timeout_s, missing)
    next_url = backends.evidence.published_about_url(commitment_id, more) if more else None
    order: list[ScorecardPart] = [
        "commitment",
        "targets",
        "readings",
        "ratings",
        "evidence",
        "self_assessments",
        "responses",
    ]
    return Scorecard(
        commitment_id=commitment_id,
        commitment=commitment,
        targets=targets,
        ratings=rated,
        evidence=submissions,
        evidence_next=next_url,
        self_assessments=assessed,
        positions=positions,
        missing=[p for p in order if p in missing],
    )
