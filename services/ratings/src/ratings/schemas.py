"""Request and response bodies: `XCreate` / `XPut` / `XUpdate` / `XRead`, the evaluation summary,
responses and a commitment's rating history.

Past 600 lines since the panels (#15) came in, and kept whole for now: every service keeps its
bodies in one `schemas.py` (CONTRIBUTING.md), and the panel, review and response bodies share
enums and field types with the rating ones. Split by aggregate (`schemas/panel.py`,
`schemas/review.py`, …) when it grows again.
"""

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


class EditableRatingStatus(StrEnum):
    """What a writer may set: `published` comes only from publishing the evaluation."""

    draft = "draft"
    agreed = "agreed"


class ResponsePosition(StrEnum):
    accepts = "accepts"
    partially_accepts = "partially_accepts"
    disputes = "disputes"


class CommitmentPosition(StrEnum):
    """A respondent's position on one commitment or recommendation (the committee convention)."""

    accepted = "accepted"
    partially_accepted = "partially_accepted"
    not_accepted = "not_accepted"
    already_in_hand = "already_in_hand"
    under_consideration = "under_consideration"


class PanelRole(StrEnum):
    chair = "chair"
    member = "member"
    secretariat = "secretariat"


class InterestKind(StrEnum):
    commitment = "commitment"
    source = "source"
    organisation = "organisation"


class FactualAccuracyDecision(StrEnum):
    accepted = "accepted"
    rating_changed = "rating_changed"
    declined = "declined"


class ChangeDirection(StrEnum):
    up = "up"
    down = "down"
    same = "same"


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


# --- panels ------------------------------------------------------------------------------------

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PanelMemberCreate(InputModel):
    """A person on the panel, their role, and the API client that acts for them."""

    name: Name = Field(examples=["Dr A. Example (fictional)"])
    role: PanelRole = Field(
        examples=["member"],
        description=(
            "`chair` agrees ratings, submits for review, publishes and withdraws (one per panel); "
            "`member` scores and drafts; `secretariat` drafts ratings and seats the panel but "
            "does not score."
        ),
    )
    client_id: ClientId = Field(
        description="The API client acting for this person; one client may act for several.",
        examples=["cl_panel_member_1"],
    )


class InterestCreate(InputModel):
    """A member's declared interest: in a commitment (they are recused from scoring it), a source
    or an organisation."""

    kind: InterestKind = Field(examples=["commitment"])
    commitment_id: uuid.UUID | None = Field(default=None, description="Set when kind=commitment.")
    source_id: uuid.UUID | None = Field(default=None, description="Set when kind=source.")
    organisation: Name | None = Field(
        default=None, description="Set when kind=organisation.", examples=["NHS Providers"]
    )
    description: LongText = Field(examples=["Advised the programme board in 2022 (fictional)."])
    declared_on: date = Field(examples=["2023-01-09"])


class InterestRead(ReadModel):
    """A declared interest, published with the evaluation."""

    id: uuid.UUID
    member_id: uuid.UUID
    kind: InterestKind
    commitment_id: uuid.UUID | None
    source_id: uuid.UUID | None
    organisation: str | None
    description: str
    declared_on: date
    created_at: datetime


class PanelMemberRead(ReadModel):
    """A member of an evaluation's panel, with their declared interests."""

    id: uuid.UUID
    name: str
    role: PanelRole
    client_id: str
    interests: list[InterestRead] = Field(default_factory=list)
    created_at: datetime


# --- evaluations -------------------------------------------------------------------------------


class EvaluationCreate(InputModel):
    """A new evaluation, created as a draft."""

    title: Title = Field(
        examples=["Evaluation of Government commitments made on the digitisation of the NHS"]
    )
    body: Name = Field(examples=["Health and Social Care Committee Expert Panel"])
    chair: Name | None = Field(
        default=None,
        examples=["Professor Dame Jane Dacre"],
        description="The chair's name as published; defaults to the panel's chair member's name.",
    )
    members: list[Name] = Field(
        default_factory=list,
        max_length=50,
        deprecated=True,
        description="Free-text names, kept for old clients; `panel` is what grants rights.",
    )
    panel: list[PanelMemberCreate] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "The panel: only its members write the evaluation's ratings, only its chair agrees "
            "them and moves the evaluation on. Left empty, the creating client seats it later "
            "(POST /v1/evaluations/{id}/panel-members)."
        ),
    )
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
    commitment_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SCOPE,
        description=(
            "The commitments in scope, in the order the evaluation presents them. Required "
            "unless `previous_evaluation_id` is given, whose scope is then the default."
        ),
    )
    published_on: date | None = Field(default=None, examples=["2023-02-17"])
    previous_evaluation_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "Start a re-evaluation of an earlier, published evaluation: its commitments, scale, "
            "dimensions and rule are the defaults, and every rating shows the earlier one "
            "beside it."
        ),
    )


class EvaluationUpdate(InputModel):
    """A JSON merge patch of an evaluation's descriptive fields (only while it is a draft or in
    review; the scale, dimensions, rule and scope are fixed once created, since ratings depend on
    them)."""

    title: Title | None = None
    body: Name | None = None
    chair: Name | None = None
    members: list[Name] | None = Field(default=None, max_length=50, deprecated=True)
    published_on: date | None = None


class EvaluationPublish(InputModel):
    """Publishing an evaluation."""

    published_on: date | None = Field(
        default=None,
        description="The publication date shown to readers; defaults to today (UTC) if unset.",
        examples=["2023-02-17"],
    )
    waive_factual_accuracy_window: (
        Annotated[str, StringConstraints(min_length=1, max_length=5000)] | None
    ) = Field(
        default=None,
        description=(
            "Publish before the factual-accuracy window closes, giving the reason (published "
            "with the evaluation). Every comment must still be decided."
        ),
    )


Reason = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class EvaluationWithdraw(InputModel):
    """Withdrawing an evaluation, with the reason readers will see."""

    reason: Reason = Field(examples=["Superseded by a corrected evaluation."])


class ActingClient(BaseModel):
    """Who did something: the API client and the organisation it acts for (from its token)."""

    client_id: str
    organisation: str


class EvaluationPublication(BaseModel):
    """When and by whom an evaluation was published."""

    published_at: datetime
    published_by: ActingClient


class EvaluationWithdrawal(BaseModel):
    """When, by whom and why an evaluation was withdrawn."""

    withdrawn_at: datetime
    withdrawn_by: str = Field(description="The client id that withdrew it.")
    reason: str


class FactualAccuracyCheckCreate(InputModel):
    """Sending an evaluation in review to the rated body for a factual-accuracy check."""

    client_id: ClientId = Field(
        description="The rated body's API client: the only one that may comment.",
        examples=["cl_dhsc_programme_office"],
    )
    organisation: Name = Field(examples=["Department of Health and Social Care"])
    working_days: int | None = Field(
        default=None,
        ge=1,
        le=60,
        description="The window, in working days (Monday to Friday, not England and Wales bank "
        "holidays) from today; default 10.",
    )


class FactualAccuracyCheck(BaseModel):
    """The factual-accuracy check: who was asked, and the window they had."""

    client_id: str
    organisation: str
    sent_at: datetime
    closes_on: date = Field(description="The last day comments are taken.")
    waiver_reason: str | None = Field(
        description="Why the chair published before the window closed, if they did."
    )


class CorrectionNotice(BaseModel):
    """What a correction changed and why."""

    version: int
    what_changed: str
    why: str
    published_at: datetime


class EvaluationRead(ReadModel):
    """An evaluation."""

    id: uuid.UUID
    title: str
    body: str
    chair: str | None
    members: list[str] = Field(deprecated=True, description="Free-text names; see `panel`.")
    panel: list[PanelMemberRead] = Field(
        default_factory=list, description="Who rates, in which role, and what they declared."
    )
    scale: list[ScaleLevel]
    dimensions: list[Dimension]
    aggregation_rule: AggregationRule
    commitment_ids: list[uuid.UUID]
    status: EvaluationStatus
    published_on: date | None
    previous_evaluation_id: uuid.UUID | None
    publication: EvaluationPublication | None = Field(description="Null until published.")
    factual_accuracy: FactualAccuracyCheck | None = Field(
        default=None, description="Null unless it was sent for a factual-accuracy check."
    )
    version: int | None = Field(
        default=None,
        description="The published version shown (1 at publication, one more per correction); "
        "null before publication. Read an earlier one with `?version=`.",
    )
    corrections: list[CorrectionNotice] = Field(
        default_factory=list, description="Every correction up to this version, oldest first."
    )
    withdrawal: EvaluationWithdrawal | None = Field(description="Null unless withdrawn.")
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
        description=(
            "A level code of the evaluation's scale per dimension code. A draft may leave "
            "dimensions unrated (its overall is then null); agreeing needs every dimension."
        ),
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
    cited_submission_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=500,
        description=(
            "Evidence submissions the rating rests on: each must be accepted or published and "
            "about this commitment."
        ),
    )
    override: Override | None = None
    status: EditableRatingStatus | None = Field(
        default=None,
        description=(
            "`agreed` needs every dimension rated. Unset: the rating stays as it is if nothing "
            "else changes, and returns to `draft` if anything does (it must be agreed again)."
        ),
    )


class RatingUpdate(InputModel):
    """A JSON merge patch of a rating: `levels` and `rationales` merge by dimension (null removes
    one); `cited_submission_ids` and `override` are replaced whole (null removes the override)."""

    levels: dict[Code, Code | None] | None = Field(default=None, max_length=20)
    rationales: dict[Code, LongText | None] | None = Field(default=None, max_length=20)
    cited_submission_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    override: Override | None = None
    status: EditableRatingStatus | None = Field(
        default=None, examples=["agreed"], description="Same rules as for PUT."
    )


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


class PreviousRating(BaseModel):
    """The same commitment's rating in the evaluation this one re-evaluates."""

    evaluation_id: uuid.UUID
    rating_id: uuid.UUID
    levels: dict[str, str]
    overall: Overall | None


class RatingRead(BaseModel):
    """A commitment's rating in an evaluation."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    commitment_id: uuid.UUID
    levels: dict[str, str]
    rationales: dict[str, str]
    cited_submission_ids: list[uuid.UUID]
    override: Override | None
    overall: Overall | None = Field(description="Null while a dimension is unrated (drafts only).")
    status: RatingStatus
    agreed_at: datetime | None
    spread: RatingSpread | None = Field(
        default=None,
        description=(
            "The spread of the members' individual scores; null when none were recorded, or "
            "while the caller may not see them yet (blind until they have scored)."
        ),
    )
    previous: PreviousRating | None = Field(
        default=None,
        description=(
            "In a re-evaluation, the earlier evaluation's rating of the same commitment; null "
            "otherwise or if it was not rated there."
        ),
    )
    created_at: datetime
    updated_at: datetime


class ScorePut(InputModel):
    """One member's own levels (and rationales) for one commitment (PUT replaces them)."""

    levels: dict[Code, Code] = Field(
        min_length=1,
        max_length=20,
        description="A level of the evaluation's scale per dimension this member scores.",
        examples=[{"commitment_met": "good", "impact": "requires_improvement"}],
    )
    rationales: dict[Code, LongText] = Field(default_factory=dict, max_length=20)


class ScoreRead(ReadModel):
    """One member's individual score of one commitment."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    commitment_id: uuid.UUID
    member_id: uuid.UUID
    levels: dict[str, str]
    rationales: dict[str, str]
    created_at: datetime
    updated_at: datetime


class DimensionSpread(BaseModel):
    """How the individual scores of one dimension fell: a count per level code."""

    counts: dict[str, int] = Field(examples=[{"good": 1, "requires_improvement": 3}])
    lowest: str | None
    highest: str | None


class RatingSpread(BaseModel):
    """The individual scores an agreed rating came from, by dimension."""

    raters: int = Field(description="Members who scored this commitment.")
    dimensions: dict[str, DimensionSpread]


class AgreementFigures(BaseModel):
    """How far the members' individual scores agreed, over some units (commitments)."""

    alpha: float | None = Field(
        description=(
            "Krippendorff's alpha for ordinal data: 1 is perfect agreement, 0 no better than "
            "chance, below 0 systematic disagreement. Null when it cannot be computed (fewer "
            "than two raters of any unit, or every score the same level)."
        ),
        examples=[0.815],
    )
    exact_agreement: float | None = Field(
        description="The share of pairs of scores of the same unit that give the same level.",
        examples=[0.75],
    )
    raters: int = Field(description="Members who gave at least one score counted here.")
    units: int = Field(
        description="Units (commitment and dimension pairs) scored by two or more members."
    )
    scores: int = Field(description="Individual levels counted.")


class EvaluationAgreement(BaseModel):
    """Agreement between the panel's members, per evaluation and per dimension."""

    evaluation_id: uuid.UUID
    recorded: bool = Field(
        description="Whether individual scores were recorded at all; false for panels that "
        "published only their agreed ratings."
    )
    level_of_measurement: str = Field(default="ordinal", examples=["ordinal"])
    overall: AgreementFigures
    dimensions: dict[str, AgreementFigures]
    how_to_read: str


class FactualAccuracyCommentCreate(InputModel):
    """The rated body's comment on the factual accuracy of one draft rating."""

    commitment_id: uuid.UUID
    text: LongText = Field(
        examples=["The rating says no strategy was published; it was published on 1 March."]
    )


class FactualAccuracyDecisionCreate(InputModel):
    """The panel's decision on a factual-accuracy comment, always with its reason."""

    decision: FactualAccuracyDecision = Field(examples=["rating_changed"])
    reason: Reason = Field(examples=["The strategy's date was wrong; impact moved up a level."])


class FactualAccuracyCommentRead(ReadModel):
    """A factual-accuracy comment and, once made, the panel's decision."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    commitment_id: uuid.UUID
    text: str
    organisation: str
    submitted_by_client_id: str
    decision: FactualAccuracyDecision | None
    decision_reason: str | None
    decided_at: datetime | None
    created_at: datetime


class RatingCorrection(InputModel):
    """A published rating's corrected levels (and rationales) for one commitment."""

    commitment_id: uuid.UUID
    levels: dict[Code, Code] = Field(
        min_length=1,
        max_length=20,
        description="The corrected level per dimension; dimensions not named keep theirs.",
        examples=[{"impact": "requires_improvement"}],
    )
    rationales: dict[Code, LongText] = Field(default_factory=dict, max_length=20)


class CorrectionCreate(InputModel):
    """A correction: publishes the next version of an evaluation with its notice."""

    what_changed: Reason = Field(examples=["The impact rating of commitment 2a."])
    why: Reason = Field(examples=["The rating misread the date the strategy was published."])
    ratings: list[RatingCorrection] = Field(min_length=1, max_length=MAX_SCOPE)


# --- summary -----------------------------------------------------------------------------------


class SummaryCommitment(BaseModel):
    """A commitment in scope, its policy area, and its rating if it has one yet."""

    commitment_id: uuid.UUID
    policy_area_id: uuid.UUID
    rating: RatingRead | None
    withheld_until_scored: bool = Field(
        default=False,
        description=(
            "True when the caller may not see this commitment's draft rating (whether or not the "
            "panel has drafted one yet), so `rating` is null: before publication a member (not "
            "chair or secretariat) sees a commitment's draft rating only after scoring it, so "
            "nobody anchors on it."
        ),
    )


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


# --- responses ---------------------------------------------------------------------------------


class ResponseItemCreate(InputModel):
    """The response's position on one commitment in the evaluation's scope, and why."""

    commitment_id: uuid.UUID
    position: CommitmentPosition = Field(examples=["already_in_hand"])
    text: LongText = Field(examples=["We are broadly on track against the revised timelines."])


class ResponseItemRead(BaseModel):
    """A response's position on one commitment."""

    commitment_id: uuid.UUID
    position: CommitmentPosition
    text: str


class EvaluationResponseCreate(InputModel):
    """A response to a published evaluation: to the whole of it, to one rating, or commitment by
    commitment (`items`)."""

    respondent: Name | None = Field(
        default=None,
        description="Who responds: the organisation of the caller's token. Only an `admin` "
        "token may name another organisation (the response then says it was recorded on its "
        "behalf).",
        examples=["Department of Health and Social Care"],
    )
    position: ResponsePosition | None = Field(
        default=None,
        description="The position on the evaluation as a whole (or on the one rating named by "
        "`commitment_id`); required unless `items` are given.",
        examples=["disputes"],
    )
    text: LongText
    received_on: date = Field(examples=["2023-04-17"])
    commitment_id: uuid.UUID | None = Field(
        default=None, description="Set to respond to one commitment's rating only."
    )
    items: list[ResponseItemCreate] = Field(
        default=[],
        max_length=MAX_SCOPE,
        description="One position per commitment addressed, each a commitment in the "
        "evaluation's scope, none twice; a joint answer to two commitments is an item for each.",
    )


class EvaluationResponseRead(ReadModel):
    """A recorded response."""

    id: uuid.UUID
    evaluation_id: uuid.UUID
    commitment_id: uuid.UUID | None
    respondent: str
    position: ResponsePosition | None = Field(
        description="The position on the evaluation as a whole; null when only `items` answer."
    )
    text: str
    received_on: date
    items: list[ResponseItemRead] = Field(
        description="Positions commitment by commitment, in the respondent's order."
    )
    recorded_by: ActingClient
    on_behalf_of: bool = Field(
        description="True when an administrator recorded the response for the respondent, an "
        "organisation other than the recording client's own."
    )
    created_at: datetime


class ResponseDeadlineRead(BaseModel):
    """When a published evaluation's response falls due, and whether it is overdue."""

    evaluation_id: uuid.UUID
    title: str
    published_on: date
    due_on: date = Field(
        description="The publication date plus the service's response period (two months by "
        "default, the committee convention)."
    )
    responded_on: date | None = Field(description="When the first response was received.")
    response_count: int
    overdue: bool = Field(
        description="Derived, never stored: the due date has passed and no response was received."
    )
    commitments_in_scope: int
    commitments_addressed: int = Field(
        description="How many commitments in scope some response addresses (an item, or a "
        "response to that commitment's rating)."
    )


# --- history -----------------------------------------------------------------------------------


class LevelChange(BaseModel):
    """How one level moved since the previous rating."""

    direction: ChangeDirection
    delta: int = Field(description="Score now minus score before (on the evaluations' scale).")
    previous_level: str
    level: str


class RatingChange(BaseModel):
    """The change from the previous rating of the same commitment."""

    since_evaluation_id: uuid.UUID
    since_rating_id: uuid.UUID
    overall: LevelChange | None = Field(description="Null if either overall is null.")
    dimensions: dict[str, LevelChange] = Field(description="Each dimension rated in both, by code.")


class EvaluationBrief(BaseModel):
    """Enough of an evaluation to place a rating in time."""

    id: uuid.UUID
    title: str
    status: EvaluationStatus
    published_on: date | None


class RatingHistoryItem(BaseModel):
    """One of a commitment's ratings, with the change since the one before it."""

    evaluation: EvaluationBrief
    rating: RatingRead
    change: RatingChange | None = Field(
        description=(
            "Null for the first rating, and when the previous one was on a different scale "
            "(scores are then not comparable)."
        )
    )
