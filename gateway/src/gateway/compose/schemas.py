"""Response bodies of the composed reads: the evaluation report and the commitment scorecard."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, Field

from gateway.backends.models import (
    Commitment,
    Evaluation,
    OverallRating,
    RatingHistoryEntry,
    Reading,
    ReportAgreement,
    Submission,
    Target,
)

# --- evaluation report -------------------------------------------------------------------------


class ReportCommitment(BaseModel):
    """One commitment's ratings in a report."""

    id: uuid.UUID
    reference: str = Field(description="The commitment's reference (its id if unavailable).")
    title: str = Field(description="The commitment's title (its id if unavailable).")
    levels: dict[str, str] = Field(description="Level code per dimension code.")
    overall: OverallRating | None = Field(description="The effective overall rating, if rated.")


class ReportPolicyArea(BaseModel):
    """A policy area's commitments and rolled-up overall."""

    id: uuid.UUID | None
    slug: str | None
    name: str
    overall: OverallRating | None
    commitments: list[ReportCommitment]


class EvaluationReport(BaseModel):
    """An evaluation with its ratings grouped by policy area, composed across services."""

    evaluation: Evaluation
    policy_areas: list[ReportPolicyArea]
    overall: OverallRating | None
    agreement: ReportAgreement | None = Field(
        default=None,
        description=(
            "How far the panel's members agreed in their individual scores (Krippendorff's "
            "alpha, ordinal, and exact agreement; `recorded` is false where no individual scores "
            "were kept); null while the caller may not see it (drafts: the chair only)."
        ),
    )
    missing: list[str] = Field(
        description="Parts that could not be fetched (e.g. `commitments`); empty when complete."
    )


# --- commitment scorecard ----------------------------------------------------------------------

ScorecardPart = Literal["commitment", "targets", "readings", "ratings", "evidence"]


class ScorecardTarget(BaseModel):
    """A target with its progress (as the commitments service judges it) and its readings."""

    target: Target
    readings: list[Reading] | None = Field(
        description="Oldest first; null when they could not be fetched (`readings` is missing)."
    )


class Scorecard(BaseModel):
    """Everything known about one commitment, composed from every service."""

    commitment_id: uuid.UUID
    commitment: Commitment | None = Field(
        description="The commitment as the commitments service has it (without its targets)."
    )
    targets: list[ScorecardTarget]
    ratings: list[RatingHistoryEntry] = Field(
        description="Its rating in each evaluation that rated it, oldest first: published "
        "evaluations, and drafts too if the caller's token may read them."
    )
    evidence: list[Submission] = Field(description="Published submissions about it.")
    evidence_next: str | None = Field(
        description="Where the list of published evidence continues, if it is longer than "
        "the scorecard shows; null when it is all here."
    )
    missing: list[ScorecardPart] = Field(
        description="Parts that could not be fetched because a service was down, slow or "
        "failing; their fields are empty (or null) rather than wrong. Empty when complete."
    )
