"""Response bodies of the composed reads: the evaluation report and the commitment scorecard."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from gateway.backends.models import (
    Commitment,
    Evaluation,
    OverallRating,
    RatingHistoryEntry,
    Reading,
    ReportAgreement,
    ResponseDeadline,
    SelfAssessment,
    Submission,
    Target,
)

# --- evaluation report -------------------------------------------------------------------------


class ReportPosition(BaseModel):
    """The government's position on one commitment, from the response that addresses it."""

    response_id: uuid.UUID
    respondent: str
    position: str = Field(
        description="`accepted`, `partially_accepted`, `not_accepted`, `already_in_hand`, "
        "`under_consideration` (per commitment), or a rating-level `accepts` / "
        "`partially_accepts` / `disputes`."
    )
    text: str
    received_on: date


class ReportCommitment(BaseModel):
    """One commitment's ratings in a report."""

    id: uuid.UUID
    reference: str = Field(description="The commitment's reference (its id if unavailable).")
    title: str = Field(description="The commitment's title (its id if unavailable).")
    levels: dict[str, str] = Field(description="Level code per dimension code.")
    rationales: dict[str, str] = Field(
        default_factory=dict, description="The panel's reason for each level, by dimension code."
    )
    overall: OverallRating | None = Field(description="The effective overall rating, if rated.")
    status: str | None = Field(default=None, description="Its delivery status, if known.")
    overdue: bool | None = Field(
        default=None, description="Past its due date and not met (null if unknown)."
    )
    government_position: ReportPosition | None = Field(
        default=None, description="The government's position beside the panel's rating."
    )
    self_assessment: SelfAssessment | None = Field(
        default=None,
        description="The responsible body's latest delivery confidence beside the rating.",
    )


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
    response_deadline: ResponseDeadline | None = Field(
        default=None,
        description="When the response fell (or falls) due and whether it is overdue; null "
        "while the evaluation is unpublished.",
    )


# --- commitment scorecard ----------------------------------------------------------------------

ScorecardPart = Literal[
    "commitment", "targets", "readings", "ratings", "evidence", "self_assessments", "responses"
]


class ScorecardTarget(BaseModel):
    """A target with its progress (as the commitments service judges it) and its readings."""

    target: Target
    readings: list[Reading] | None = Field(
        description="Oldest first; null when they could not be fetched (`readings` is missing)."
    )


class ScorecardPosition(ReportPosition):
    """The government's position on the commitment in one evaluation's response."""

    evaluation_id: uuid.UUID


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
    self_assessments: list[SelfAssessment] = Field(
        default_factory=list,
        description="The responsible body's own delivery confidence, oldest first, to read "
        "beside the panel's ratings.",
    )
    positions: list[ScorecardPosition] = Field(
        default_factory=list,
        description="The government's position on it in each evaluation's response, beside "
        "that evaluation's rating.",
    )
    missing: list[ScorecardPart] = Field(
        description="Parts that could not be fetched because a service was down, slow or "
        "failing; their fields are empty (or null) rather than wrong. Empty when complete."
    )
