"""Request and response bodies: `XCreate` / `XPut` / `XRead`, and the evaluation summary."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from ratings.aggregation import DEFAULT_DIMENSIONS, DEFAULT_SCALE, AggregationRule
from servicekit.schemas import InputModel, ReadModel

Code = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]

MAX_SCOPE = 2000


class EvaluationStatus(StrEnum):
    draft = "draft"
    in_review = "in_review"
    published = "published"
    withdrawn = "withdrawn"


class RatingStatus(StrEnum):
    draft = "draft"
    agreed = "agreed"
    published = "published"


class ScaleLevel(InputModel):
    """One step of an evaluation's scale."""

    code: Code = Field(examples=["requires_improvement"])
    label: Label = Field(examples=["Requires improvement"])
    score: int = Field(ge=-1000, le=1000, examples=[2])


class Dimension(InputModel):
    """Something every commitment is rated on."""

    code: Code = Field(examples=["funding_and_resource"])
    label: Label = Field(examples=["Funding and resource"])


def default_scale() -> list[ScaleLevel]:
    """The CQC-style scale: outstanding 4, good 3, requires improvement 2, inadequate 1."""
    return [ScaleLevel(code=lv.code, label=lv.label, score=lv.score) for lv in DEFAULT_SCALE.levels]


def default_dimensions() -> list[Dimension]:
    """Commitment met, funding and resource, impact, appropriateness."""
    return [Dimension(code=code, label=label) for code, label in DEFAULT_DIMENSIONS]


# --- evaluations -------------------------------------------------------------------------------


class EvaluationCreate(InputModel):
    """A new evaluation, created as a draft."""

    title: Title = Field(
        examples=["Evaluation of Government commitments made on the digitisation of the NHS"]
    )
    body: Name = Field(examples=["Health and Social Care Committee Expert Panel"])
    chair: Name | None = Field(default=None, examples=["Professor Dame Jane Dacre"])
    members: list[Name] = Field(default_factory=list, max_length=50)
    scale: list[ScaleLevel] = Field(
        default_factory=default_scale,
        min_length=2,
        max_length=10,
        description="Levels best first; codes unique, scores strictly decreasing.",
    )
    dimensions: list[Dimension] = Field(
        default_factory=default_dimensions, min_length=1, max_length=20
    )
    aggregation_rule: AggregationRule = AggregationRule.floor_mean
    commitment_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_SCOPE,
        description="The commitments in scope, in the order the evaluation presents them.",
    )
    published_on: date | None = Field(default=None, examples=["2023-02-17"])


class EvaluationRead(ReadModel):
    """An evaluation."""

    id: uuid.UUID
    title: str
    body: str
    chair: str | None
    members: list[str]
    scale: list[ScaleLevel]
    dimensions: list[Dimension]
    aggregation_rule: AggregationRule
    commitment_ids: list[uuid.UUID]
    status: EvaluationStatus
    published_on: date | None
    created_at: datetime
    updated_at: datetime


# --- ratings -----------------------------------------------------------------------------------


class Override(InputModel):
    """The panel's override of a computed overall, with the reason it gives."""

    level: Code = Field(examples=["inadequate"])
    reason: Annotated[str, StringConstraints(min_length=1, max_length=5000)] = Field(
        examples=["Progress since the evidence was taken has stalled."]
    )


class RatingPut(InputModel):
    """The whole rating of one commitment in an evaluation (PUT replaces it)."""

    levels: dict[Code, Code] = Field(
        max_length=20,
        description="A level code of the evaluation's scale for every dimension code.",
        examples=[
            {
                "commitment_met": "good",
                "funding_and_resource": "requires_improvement",
                "impact": "requires_improvement",
                "appropriateness": "requires_improvement",
            }
        ],
    )
    rationales: dict[Code, LongText] = Field(default_factory=dict, max_length=20)
    cited_submission_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    override: Override | None = None


class Overall(BaseModel):
    """An overall rating and how it was reached."""

    level: str = Field(description="The effective level: the override if any, else computed.")
    score: int
    rule: AggregationRule
    explanation: str = Field(
        examples=["floor of the mean of 3, 2, 2, 2 = 2.25 → 2 (requires_improvement)"]
    )
    computed_level: str = Field(description="What the rule produced, before any override.")
    overridden: bool
    override_reason: str | None


class RatingRead(BaseModel):
    """A commitment's rating in an evaluation."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    commitment_id: uuid.UUID
    levels: dict[str, str]
    rationales: dict[str, str]
    cited_submission_ids: list[uuid.UUID]
    override: Override | None
    overall: Overall
    status: RatingStatus
    created_at: datetime
    updated_at: datetime


# --- summary -----------------------------------------------------------------------------------


class SummaryCommitment(BaseModel):
    """A commitment in scope, its policy area, and its rating if it has one yet."""

    commitment_id: uuid.UUID
    policy_area_id: uuid.UUID
    rating: RatingRead | None


class SummaryPolicyArea(BaseModel):
    """A policy area's commitments and their rolled-up overall."""

    policy_area_id: uuid.UUID
    commitment_ids: list[uuid.UUID]
    overall: Overall | None = Field(description="Null while any of its commitments is unrated.")


class EvaluationSummary(BaseModel):
    """Every rating of an evaluation and the roll-up to policy areas and the evaluation."""

    evaluation_id: uuid.UUID
    rule: AggregationRule
    commitments: list[SummaryCommitment]
    policy_areas: list[SummaryPolicyArea]
    overall: Overall | None = Field(description="Null while any commitment is unrated.")
