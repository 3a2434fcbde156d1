"""Request and response bodies: `XCreate` / `XUpdate` (merge patch) / `XRead`."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, HttpUrl, StringConstraints, computed_field, field_validator

from servicekit.schemas import InputModel, ReadModel

Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")
]
Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=500)]

REASON_DOC = (
    "Why this change is made; kept in the revision history. Required when the wording, the due "
    "date or targets change, and for some status transitions (see the transition table)."
)
EFFECTIVE_DOC = (
    "The date from which the change holds, for `as_of` reads; defaults to today. It may be in "
    "the past (recording a change late) but not before the previous revision's date."
)


class SourceKind(StrEnum):
    plan = "plan"
    strategy = "strategy"
    review = "review"
    committee_report = "committee_report"
    government_response = "government_response"
    manifesto = "manifesto"
    other = "other"


class CommitmentKind(StrEnum):
    pledge = "pledge"
    target = "target"
    recommendation = "recommendation"


class Unit(StrEnum):
    percent = "percent"
    count = "count"  # type: ignore[assignment]  # shadows str.count, harmlessly
    gbp = "gbp"
    fte = "fte"
    boolean = "boolean"


class Direction(StrEnum):
    increase = "increase"
    decrease = "decrease"


class ProgressStatus(StrEnum):
    met = "met"
    missed = "missed"
    on_track = "on_track"
    off_track = "off_track"
    stale = "stale"


class LineageKind(StrEnum):
    superseded_by = "superseded_by"
    split_into = "split_into"
    merged_into = "merged_into"


class LineageEnd(StrEnum):
    successors = "successors"
    predecessors = "predecessors"


class CommitmentSort(StrEnum):
    created_at = "created_at"
    due_on = "due_on"
    due_on_desc = "-due_on"
    reference = "reference"
    reference_desc = "-reference"


class CommitmentStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    met = "met"
    partially_met = "partially_met"
    missed = "missed"
    superseded = "superseded"
    withdrawn = "withdrawn"


# --- sources -----------------------------------------------------------------------------------


class SourceCreate(InputModel):
    """A new source document."""

    reference: Reference = Field(examples=["plan-digital-health-2022"])
    title: Title = Field(examples=["A plan for digital health and social care"])
    publisher: Body = Field(examples=["Department of Health and Social Care"])
    kind: SourceKind
    published_on: date | None = Field(default=None, examples=["2022-06-29"])
    url: HttpUrl | None = None


class SourceUpdate(InputModel):
    """A JSON merge patch of a source; absent fields are left as they are."""

    title: Title | None = None
    publisher: Body | None = None
    kind: SourceKind | None = None
    published_on: date | None = None
    url: HttpUrl | None = None


class SourceRead(ReadModel):
    """A source document."""

    id: uuid.UUID
    reference: str
    title: str
    publisher: str
    kind: SourceKind
    published_on: date | None
    url: str | None
    created_at: datetime
    updated_at: datetime


# --- policy areas ------------------------------------------------------------------------------


class PolicyAreaCreate(InputModel):
    """A new policy area."""

    slug: Slug = Field(examples=["care-of-patients"])
    name: Title = Field(examples=["Care of patients and people in receipt of social care"])
    description: LongText | None = None


class PolicyAreaUpdate(InputModel):
    """A JSON merge patch of a policy area."""

    name: Title | None = None
    description: LongText | None = None


class PolicyAreaRead(ReadModel):
    """A policy area."""

    id: uuid.UUID
    slug: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


# --- commitments -------------------------------------------------------------------------------


class CommitmentCreate(InputModel):
    """A new commitment, in the words it was published in."""

    reference: Reference = Field(examples=["DHSC-2022-APP-01"])
    title: Title = Field(examples=["75% of adults registered for the NHS App by 2024"])
    text: LongText = Field(
        examples=["Our aim is that, by 2024, 75% of adults will have registered for the NHS App."]
    )
    kind: CommitmentKind = CommitmentKind.pledge
    policy_area_id: uuid.UUID
    source_id: uuid.UUID
    lead_bodies: list[Body] = Field(default_factory=list, max_length=20, examples=[["NHS England"]])
    made_on: date | None = None
    due_on: date | None = Field(default=None, examples=["2024-03-31"])
    status: CommitmentStatus = Field(
        default=CommitmentStatus.not_started,
        description="Any status but `superseded` (record a successor for that); `met`, "
        "`partially_met` and `missed` before the due date, and `withdrawn`, need a `reason`.",
    )
    targets: list[TargetDefinition] = Field(
        default_factory=list, max_length=50, description="Measurable targets, created with it."
    )
    reason: Reason | None = Field(default=None, description=REASON_DOC)


class CommitmentUpdate(InputModel):
    """A JSON merge patch of a commitment; absent fields are left as they are."""

    title: Title | None = None
    text: LongText | None = None
    kind: CommitmentKind | None = None
    policy_area_id: uuid.UUID | None = None
    source_id: uuid.UUID | None = None
    lead_bodies: list[Body] | None = Field(default=None, max_length=20)
    made_on: date | None = None
    due_on: date | None = None
    status: CommitmentStatus | None = None
    reason: Reason | None = Field(default=None, description=REASON_DOC)
    effective_on: date | None = Field(default=None, description=EFFECTIVE_DOC)


class CommitmentRead(ReadModel):
    """A commitment."""

    id: uuid.UUID
    reference: str
    title: str
    text: str
    kind: CommitmentKind
    policy_area_id: uuid.UUID
    source_id: uuid.UUID
    lead_bodies: list[str]
    made_on: date | None
    due_on: date | None
    status: CommitmentStatus
    superseded_by_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    revision: int = Field(default=1, description="Number of the latest revision (1 = as created).")

    @computed_field(  # type: ignore[prop-decorator]  # pydantic's documented form
        description="Derived on every read, never stored: the due date has passed (today, UTC) "
        "and the commitment is not met (nor superseded or withdrawn)."
    )
    @property
    def overdue(self) -> bool:
        """Whether the commitment is past its due date and not met."""
        return is_overdue(self.due_on, self.status, utc_today())


# Statuses a commitment cannot go overdue from: done, or no longer in force.
SETTLED = frozenset({"met", "superseded", "withdrawn"})


def is_overdue(due_on: date | None, status: str, day: date) -> bool:
    """The overdue rule: past its due date on `day` and not met (nor superseded or withdrawn)."""
    return due_on is not None and due_on < day and status not in SETTLED


def utc_today() -> date:
    """Today in UTC (the same clock as `commitments.clock`, which imports these schemas)."""
    return datetime.now(UTC).date()


class Completion(ReadModel):
    """Milestones met out of those set: the commitment's completion."""

    milestones: int
    met: int
    share: float = Field(description="met / milestones, 0-1.")


class CommitmentDetail(CommitmentRead):
    """A commitment with its targets, now or as it stood on `as_of`."""

    targets: list[TargetRead]
    completion: Completion | None = Field(
        default=None,
        description="Its milestones' completion; null with no milestones, and on `as_of` reads.",
    )
    self_assessment: SelfAssessmentRead | None = Field(
        default=None,
        description="The responsible body's latest delivery confidence (current reads only).",
    )
    as_of: date | None = Field(
        default=None, description="The date asked for with `?as_of=`; null for the current state."
    )


# --- targets and progress ----------------------------------------------------------------------

TARGET_RULE = """
Progress of a target is judged as of a date: today, unless a read asks for `as_of`. Only
readings dated up to that date count; the latest of them (the greatest `as_of`; among readings
of the same date, the one recorded last) is the one judged, and `assessed_on` says its date:

- `met`: the latest reading reached the target value (at or above it for `increase`, at or below
  it for `decrease`; for `boolean`, equal to it), on whatever date.
- `missed`: it did not, and the due date has passed on the date judged (or the reading itself is
  dated on or after the due date): past its due date a target is met or missed, never on track.
- `stale`: the due date has not passed, but the latest reading is older than the service's
  staleness age (`COMMITMENTS_STALE_READING_DAYS`, 365 by default): too old to say on track.
- `on_track` / `off_track`: otherwise. The expected value on the reading's date lies on the
  straight line from the baseline (value and date) to the target value on the due date:
  expected = baseline + (target - baseline) x (days from baseline to reading) / (days from
  baseline to due date). A reading on the line, beyond it in the target's direction, or short of
  it by no more than the tolerance (`COMMITMENTS_ON_TRACK_TOLERANCE`, by default 5% of the
  distance from baseline to target: 88% against an expected 88.12% on the way from 86% to 90% is
  on track) is `on_track`; further short of it, `off_track`. Without a recorded baseline the
  earliest reading stands in for it. `boolean` targets have no line: not yet true before the due
  date is `on_track`.
- No readings up to the date judged: `status` is null.
""".strip()


class TargetDefinition(InputModel):
    """A measurable target of a commitment."""

    reference: Reference = Field(examples=["PDHSC-1c-EPR"])
    metric: Short = Field(examples=["NHS trusts with an electronic patient record"])
    unit: Unit = Field(description="`percent` 0-100; `boolean` 0 (false) or 1 (true).")
    direction: Direction = Field(
        default=Direction.increase, description="Whether higher (`increase`) or lower is better."
    )
    baseline_value: float | None = Field(default=None, examples=[86])
    baseline_on: date | None = Field(default=None, examples=["2022-06-29"])
    target_value: float = Field(examples=[90])
    due_on: date = Field(examples=["2023-12-31"])
    data_source: Short | None = Field(default=None, examples=["NHS England EPR returns"])

    @field_validator("baseline_value", "target_value", mode="before")
    @classmethod
    def _booleans_as_numbers(cls, v: object) -> object:
        return float(v) if isinstance(v, bool) else v


class TargetCreate(TargetDefinition):
    """A new target for an existing commitment: a change to the commitment, so with a reason."""

    reason: Reason = Field(description=REASON_DOC)
    effective_on: date | None = Field(default=None, description=EFFECTIVE_DOC)


class TargetUpdate(InputModel):
    """A JSON merge patch of a target; a `reason` is required, the change is a revision."""

    metric: Short | None = None
    unit: Unit | None = None
    direction: Direction | None = None
    baseline_value: float | None = None
    baseline_on: date | None = None
    target_value: float | None = None
    due_on: date | None = None
    data_source: Short | None = None
    reason: Reason | None = Field(default=None, description=REASON_DOC)
    effective_on: date | None = Field(default=None, description=EFFECTIVE_DOC)

    @field_validator("baseline_value", "target_value", mode="before")
    @classmethod
    def _booleans_as_numbers(cls, v: object) -> object:
        return float(v) if isinstance(v, bool) else v


class TargetProgress(ReadModel):
    """How a target is going, judged as of a date (the rule is in the API description)."""

    status: ProgressStatus | None = Field(
        description="Null until the first reading. `on_track` includes a reading short of the "
        "trajectory by no more than the tolerance (`COMMITMENTS_ON_TRACK_TOLERANCE`, by default "
        "5% of the distance from baseline to target)."
    )
    judged_on: date | None = Field(
        default=None, description="The date the status is judged as of (today, or `as_of`)."
    )
    assessed_on: date | None = Field(description="The latest reading's date: when this was known.")
    latest_value: float | None
    expected_value: float | None = Field(
        description="The trajectory's value on `assessed_on`; null when no line applies."
    )
    reading_count: int


class TargetRead(ReadModel):
    """A target and its progress."""

    id: uuid.UUID
    reference: str
    commitment_id: uuid.UUID
    metric: str
    unit: Unit
    direction: Direction
    baseline_value: float | None
    baseline_on: date | None
    target_value: float
    due_on: date
    data_source: str | None
    progress: TargetProgress
    created_at: datetime
    updated_at: datetime


class ReadingCreate(InputModel):
    """A progress figure for a target."""

    value: float = Field(description="In the target's unit; `boolean`: 0/1 or false/true.")
    as_of: date = Field(description="The date the figure describes; not before the baseline.")
    source: Short = Field(examples=["Government response to the Expert Panel, April 2023"])
    unit: Unit | None = Field(
        default=None, description="Optional check: refused unless it is the target's unit."
    )
    evidence_url: HttpUrl | None = None
    evidence_submission_id: uuid.UUID | None = Field(
        default=None, description="A submission in the evidence service that supports the figure."
    )

    @field_validator("value", mode="before")
    @classmethod
    def _booleans_as_numbers(cls, v: object) -> object:
        return float(v) if isinstance(v, bool) else v


class ReadingRead(ReadModel):
    """A progress reading."""

    id: uuid.UUID
    target_id: uuid.UUID
    value: float
    as_of: date
    source: str
    evidence_url: str | None
    evidence_submission_id: uuid.UUID | None
    client_id: str
    organisation: str
    created_at: datetime


# --- revisions and lineage ---------------------------------------------------------------------


class FieldChange(ReadModel):
    """One changed field: a JSON pointer into the commitment (targets by id) and both values."""

    path: str = Field(examples=["/due_on", "/targets/0190c0de-.../target_value"])
    before: Any = None
    after: Any = None


class RevisionRead(ReadModel):
    """A recorded change to a commitment or its targets."""

    id: uuid.UUID
    commitment_id: uuid.UUID
    number: int
    action: str = Field(
        examples=["created", "updated", "target_added", "target_updated", "superseded"]
    )
    effective_on: date | None
    recorded_at: datetime = Field(validation_alias="created_at")
    client_id: str
    organisation: str
    reason: str | None
    changes: list[FieldChange]


class LineageLinkCreate(InputModel):
    """This commitment was superseded by, split into (one link per part) or merged into another."""

    kind: LineageKind
    successor_id: uuid.UUID
    reason: Reason
    effective_on: date | None = Field(default=None, description=EFFECTIVE_DOC)


class LineageLinkRead(ReadModel):
    """A lineage link, readable from both of its commitments."""

    id: uuid.UUID
    kind: LineageKind
    predecessor_id: uuid.UUID
    successor_id: uuid.UUID
    reason: str
    client_id: str
    organisation: str
    created_at: datetime


# --- import / export ---------------------------------------------------------------------------


class RecordCounts(ReadModel):
    """How many records of each kind."""

    sources: int = 0
    policy_areas: int = 0
    commitments: int = 0
    targets: int = 0
    lineage_links: int = 0


class ImportReport(ReadModel):
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    rows: int
    created: RecordCounts
    updated: RecordCounts
    unchanged: RecordCounts


# Forward references (a commitment's targets are defined below it).


# --- milestones and self-assessment ------------------------------------------------------------


class MilestoneCreate(InputModel):
    """A dated milestone of a commitment."""

    title: Title = Field(examples=["Digital workforce plan published"])
    due_on: date = Field(examples=["2023-12-31"])
    met_on: date | None = Field(default=None, description="When it was met; null while it is not.")


class MilestoneUpdate(InputModel):
    """A JSON merge patch of a milestone (typically `met_on`, when it is met)."""

    title: Title | None = None
    due_on: date | None = None
    met_on: date | None = None


class MilestoneRead(ReadModel):
    """A milestone, met or not."""

    id: uuid.UUID
    commitment_id: uuid.UUID
    title: str
    due_on: date
    met_on: date | None
    created_at: datetime
    updated_at: datetime

    @computed_field(  # type: ignore[prop-decorator]  # pydantic's documented form
        description="Derived: due date passed and not met."
    )
    @property
    def overdue(self) -> bool:
        """Whether the milestone is past its date and not met."""
        return self.met_on is None and self.due_on < utc_today()


class Confidence(StrEnum):
    """The IPA's delivery confidence assessment, most to least confident."""

    green = "green"
    amber_green = "amber_green"
    amber = "amber"
    amber_red = "amber_red"
    red = "red"


class SelfAssessmentCreate(InputModel):
    """The responsible body's own delivery confidence in a commitment, on a date."""

    confidence: Confidence = Field(examples=["amber"])
    commentary: LongText = Field(examples=["Broadly on track against the revised timelines."])
    assessed_on: date = Field(examples=["2023-04-17"])


class SelfAssessmentRead(ReadModel):
    """A recorded self-assessment (never changed: a new one is recorded instead)."""

    id: uuid.UUID
    commitment_id: uuid.UUID
    confidence: Confidence
    commentary: str
    assessed_on: date
    client_id: str
    organisation: str
    created_at: datetime


CommitmentCreate.model_rebuild()
CommitmentDetail.model_rebuild()
