"""Request and response bodies: `XCreate` / `XRead`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from servicekit.schemas import InputModel

MAX_COMMITMENTS = 20
# PostgreSQL text cannot hold NUL characters; refuse them up front (422, not a 500 on insert).
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=NO_NUL)]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NO_NUL)]


class SubmissionKind(StrEnum):
    written = "written"
    oral_transcript = "oral_transcript"
    roundtable_note = "roundtable_note"
    data_return = "data_return"
    government_memorandum = "government_memorandum"
    independent_evaluation = "independent_evaluation"


class Stance(StrEnum):
    supports = "supports"
    challenges = "challenges"
    mixed = "mixed"
    neutral = "neutral"


class Consent(StrEnum):
    publish = "publish"
    publish_anonymously = "publish_anonymously"
    do_not_publish = "do_not_publish"


class SubmissionStatus(StrEnum):
    received = "received"
    accepted = "accepted"
    rejected = "rejected"
    published = "published"
    withheld = "withheld"
    withdrawn = "withdrawn"


class SubmissionCreate(InputModel):
    """New evidence. The submitter is taken from your access token, never from the body."""

    commitment_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_COMMITMENTS,
        description="The commitments this evidence is about (distinct; at most 20).",
    )
    kind: SubmissionKind = SubmissionKind.written
    title: Title = Field(examples=["Progress on electronic patient records in acute trusts"])
    summary: Summary | None = Field(
        default=None, examples=["Most trusts now have an EPR; interoperability lags."]
    )
    body: Body = Field(description="The evidence itself (plain text, at most 100,000 characters).")
    stance: Stance = Field(description="Your view of progress on the commitments.")
    consent: Consent = Field(description="Whether and how this evidence may be published.")


class Submitter(BaseModel):
    """Who submitted: the API client and the organisation it acts for."""

    client_id: str
    organisation: str


class SubmissionRead(BaseModel):
    """A submission and its receipt."""

    id: uuid.UUID
    receipt_reference: str = Field(
        description="Quote this to the secretariat; unique and stable.", examples=["SUB-0J8K2M4Q"]
    )
    received_at: datetime
    content_sha256: str = Field(
        description=(
            "SHA-256 (hex) of the RFC 8785 canonical JSON of the content as received: the "
            "object with `commitment_ids`, `kind`, `title`, `summary`, `body`, `stance`, "
            "`consent`, after trimming surrounding whitespace and filling in defaults."
        )
    )
    submitter: Submitter | None = Field(
        description=(
            "Null when the submitter asked to be published anonymously and you are neither "
            "the submitter nor a moderator."
        )
    )
    commitment_ids: list[uuid.UUID]
    kind: SubmissionKind
    title: str
    summary: str | None
    body: str
    stance: Stance
    consent: Consent
    status: SubmissionStatus
    publication_reference: str | None = Field(
        description="The public reference given on publication (e.g. `DIG0001`); null before."
    )
    created_at: datetime
    updated_at: datetime
