"""Request and response bodies: `XCreate` / `XUpdate` (merge patch) / `XRead`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, HttpUrl, StringConstraints

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
    status: CommitmentStatus = CommitmentStatus.not_started


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
