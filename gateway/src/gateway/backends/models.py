"""What the gateway reads from each service, as pydantic models the gateway owns.

The services' own schemas stay in their packages (no process imports another's); these models
type every field the gateway uses, in the services' JSON shapes, and tolerate fields a service
adds later. Two kinds:

- `BackendModel` (`extra="ignore"`): read and taken apart by the gateway (summaries, policy
  areas); unknown fields are dropped.
- `Passthrough` (`extra="allow"`): passed on whole in a composed read or to a page (the
  report's evaluation, the scorecard's commitment, targets, readings, ratings and evidence);
  fields the gateway does not name are kept as they came, so a service's new field reaches the
  caller without a gateway release.

Class names differ from the services' component names on purpose: the merged OpenAPI document
holds both, and equal names with different schemas are a conflict.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class BackendModel(BaseModel):
    """A service's answer as the gateway reads it; fields it does not name are ignored."""

    model_config = ConfigDict(extra="ignore")


class Passthrough(BaseModel):
    """A service's object the gateway passes on whole: unnamed fields are kept as they came."""

    model_config = ConfigDict(extra="allow")


T = TypeVar("T", bound=BaseModel)


class ListPage(BackendModel, Generic[T]):
    """One page of a service's list."""

    items: list[T]
    next_page_token: str | None = None


# --- ratings -----------------------------------------------------------------------------------


class EvaluationLevel(Passthrough):
    """A level of an evaluation's scale."""

    code: str
    label: str
    score: int


class EvaluationDimension(Passthrough):
    """A dimension an evaluation rates."""

    code: str
    label: str


class Evaluation(Passthrough):
    """An evaluation (`GET /v1/evaluations/{id}`)."""

    id: uuid.UUID
    title: str
    body: str
    chair: str | None
    scale: list[EvaluationLevel]
    dimensions: list[EvaluationDimension]
    aggregation_rule: str
    commitment_ids: list[uuid.UUID]
    status: str
    published_on: date | None
    version: int | None = Field(
        default=None,
        description="The published version (1, then one more per correction); null before.",
    )


class ReportAgreementFigures(Passthrough):
    """How far a panel's individual scores agreed (Krippendorff's alpha, ordinal)."""

    alpha: float | None
    exact_agreement: float | None
    raters: int
    units: int
    scores: int


class ReportAgreement(Passthrough):
    """Agreement between an evaluation's panel members (`GET /v1/evaluations/{id}/agreement`)."""

    evaluation_id: uuid.UUID
    recorded: bool = Field(description="False when no individual scores were recorded.")
    level_of_measurement: str
    overall: ReportAgreementFigures
    dimensions: dict[str, ReportAgreementFigures]
    how_to_read: str


class OverallRating(Passthrough):
    """An overall rating and how it was reached."""

    level: str = Field(description="The effective level: the override if any, else computed.")
    score: int
    rule: str
    explanation: str
    computed_level: str = Field(description="What the rule produced, before any override.")
    overridden: bool
    override_reason: str | None


class Rating(Passthrough):
    """A commitment's rating in an evaluation."""

    id: uuid.UUID
    levels: dict[str, str] = Field(description="Level code per dimension code.")
    overall: OverallRating | None


class PublishedRating(Passthrough):
    """A rating as an evaluation's public list of ratings gives it (levels and rationales)."""

    commitment_id: uuid.UUID
    levels: dict[str, str] = Field(description="Level code per dimension code.")
    rationales: dict[str, str] = Field(default_factory=dict)
    overall: OverallRating | None
    status: str


class RatedCommitment(BackendModel):
    """A commitment in an evaluation's summary, with its rating if it has one yet."""

    commitment_id: uuid.UUID
    policy_area_id: uuid.UUID | None = None
    rating: Rating | None = None


class RatedPolicyArea(BackendModel):
    """A policy area's rolled-up overall in an evaluation's summary."""

    policy_area_id: uuid.UUID
    overall: OverallRating | None = None


class RatingsSummary(BackendModel):
    """`GET /v1/evaluations/{id}/summary`: ratings and the roll-up to areas and the evaluation."""

    commitments: list[RatedCommitment] = Field(default_factory=list)
    policy_areas: list[RatedPolicyArea] = Field(default_factory=list)
    overall: OverallRating | None = None


class RatedIn(Passthrough):
    """The evaluation a rating in a commitment's history was made in."""

    id: uuid.UUID
    title: str
    status: str
    published_on: date | None


class RatingHistoryEntry(Passthrough):
    """The commitment's rating in one evaluation, with the change since the one before it."""

    evaluation: RatedIn
    rating: Rating
    change: dict[str, Any] | None = Field(
        description="The change since the previous rating; null for the first."
    )


class ResponseItem(Passthrough):
    """A response's position on one commitment."""

    commitment_id: uuid.UUID
    position: str
    text: str


class PanelResponse(Passthrough):
    """A body's published response to an evaluation, to one of its ratings, or item by item."""

    id: uuid.UUID
    commitment_id: uuid.UUID | None
    respondent: str
    position: str | None = None
    text: str
    received_on: date
    items: list[ResponseItem] = Field(default_factory=list)


class ResponseDeadline(Passthrough):
    """When an evaluation's response falls due, and whether it is overdue."""

    evaluation_id: uuid.UUID
    due_on: date
    responded_on: date | None
    overdue: bool


class SelfAssessment(Passthrough):
    """The responsible body's own delivery confidence in a commitment, on a date."""

    id: uuid.UUID
    commitment_id: uuid.UUID
    confidence: str
    commentary: str
    assessed_on: date
    organisation: str


# --- commitments -------------------------------------------------------------------------------


class PolicyArea(BackendModel):
    """A policy area, as a report names it."""

    id: uuid.UUID
    slug: str
    name: str


class Source(Passthrough):
    """A source document commitments come from (a plan, a report, a speech)."""

    id: uuid.UUID
    reference: str
    title: str
    publisher: str
    kind: str
    published_on: date | None


class Commitment(Passthrough):
    """A commitment (without its targets)."""

    id: uuid.UUID
    reference: str
    title: str
    text: str
    policy_area_id: uuid.UUID
    lead_bodies: list[str]
    made_on: date | None
    due_on: date | None
    status: str
    overdue: bool | None = Field(
        default=None, description="Derived by the commitments service: past due and not met."
    )


class ProgressJudgement(Passthrough):
    """How a target is going, as the commitments service judges it."""

    status: str | None
    assessed_on: date | None


class Target(Passthrough):
    """A target of a commitment, with its progress."""

    id: uuid.UUID
    metric: str
    unit: str
    baseline_value: float | None
    baseline_on: date | None
    target_value: float
    due_on: date
    data_source: str | None
    progress: ProgressJudgement


class CommitmentDetail(BackendModel):
    """`GET /v1/commitments/{id}` taken apart: the commitment and its targets."""

    commitment: Commitment
    targets: list[Target]


class Reading(Passthrough):
    """A progress reading of a target."""

    id: uuid.UUID
    value: float
    as_of: date
    source: str


class RevisionChange(Passthrough):
    """One changed field of a revision: where, and both values."""

    path: str
    before: Any = None
    after: Any = None


class Revision(Passthrough):
    """A recorded change to a commitment or its targets."""

    id: uuid.UUID
    action: str
    effective_on: date | None
    recorded_at: datetime
    organisation: str
    reason: str | None
    changes: list[RevisionChange]


# --- evidence ----------------------------------------------------------------------------------


class EvidenceSubmitter(Passthrough):
    """Who sent a submission (absent when it is published anonymously)."""

    organisation: str


class Submission(Passthrough):
    """A published submission, exactly as the public API shows it (redactions applied)."""

    id: uuid.UUID
    receipt_reference: str
    publication_reference: str | None
    submitter: EvidenceSubmitter | None
    kind: str
    title: str
    summary: str | None
    stance: str
    commitment_ids: list[uuid.UUID] = Field(default_factory=list)
    published_at: datetime | None = None


class EvidenceCall(BackendModel):
    """A call for evidence: what it asks about, when it is open, and its limits."""

    id: uuid.UUID
    title: str
    description: str
    commitment_ids: list[uuid.UUID]
    opens_at: datetime
    closes_at: datetime
    late_submissions_allowed: bool
    max_words: int
    max_attachments: int
    max_attachment_bytes: int
    allowed_media_types: list[str]
    status: str


class EvidenceReceipt(BackendModel):
    """What the evidence service answers a new submission with (the parts the form shows)."""

    id: uuid.UUID
    receipt_reference: str
    status: str
    late: bool
