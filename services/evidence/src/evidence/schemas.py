"""Request and response bodies: `XCreate` / `XRead`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from servicekit.schemas import InputModel

MAX_COMMITMENTS = 20
MAX_CALL_COMMITMENTS = 100
MIB = 1024 * 1024
DEFAULT_MAX_WORDS = 3000
DEFAULT_MAX_ATTACHMENTS = 10
DEFAULT_MAX_ATTACHMENT_BYTES = 25 * MIB
REDACTION_MARKER = "[redacted]"
# PostgreSQL text cannot hold NUL characters; refuse them up front (422, not a 500 on insert).
NO_NUL = r"^[^\x00]*$"
Title = Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=NO_NUL)]
Summary = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=100_000, pattern=NO_NUL)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=NO_NUL)]
Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2,8}$")]


class MediaType(StrEnum):
    """Attachment types a call may allow; each is recognised by its content, not its name."""

    pdf = "application/pdf"
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    odt = "application/vnd.oasis.opendocument.text"
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    csv = "text/csv"
    txt = "text/plain"
    markdown = "text/markdown"


DEFAULT_MEDIA_TYPES = list(MediaType)


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


class CallStatus(StrEnum):
    upcoming = "upcoming"
    open = "open"
    closed = "closed"


class _CallFields(InputModel):
    @model_validator(mode="after")
    def _distinct_commitments(self) -> _CallFields:
        ids = getattr(self, "commitment_ids", None) or []
        if len(set(ids)) != len(ids):
            raise ValueError("commitment_ids must be distinct")
        types = getattr(self, "allowed_media_types", None) or []
        if len(set(types)) != len(types):
            raise ValueError("allowed_media_types must be distinct")
        return self


class CallForEvidenceCreate(_CallFields):
    """A new call for evidence."""

    title: Title = Field(examples=["Evaluation of digitisation commitments: written evidence"])
    description: Body = Field(description="What the panel wants to know, for whom, and how.")
    commitment_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_CALL_COMMITMENTS,
        description="The commitments in scope; evidence answering the call may cite only these.",
        json_schema_extra={"uniqueItems": True},
    )
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    late_submissions_allowed: StrictBool = Field(
        default=False, description="Whether evidence is still received (marked late) after closing."
    )
    max_words: int = Field(
        default=DEFAULT_MAX_WORDS, ge=1, le=20_000, description="Most words in a submission's body."
    )
    max_attachments: int = Field(default=DEFAULT_MAX_ATTACHMENTS, ge=0, le=50)
    max_attachment_bytes: int = Field(
        default=DEFAULT_MAX_ATTACHMENT_BYTES,
        ge=1,
        description="Largest attachment in bytes (25 MiB by default; the service sets a ceiling).",
    )
    # Distinct (the validator above says so; uniqueItems says it in the document too).
    allowed_media_types: list[MediaType] = Field(
        default_factory=lambda: list(DEFAULT_MEDIA_TYPES),
        min_length=1,
        json_schema_extra={"uniqueItems": True},
    )
    reference_prefix: Prefix = Field(
        examples=["DIG"],
        description="Published evidence of this call is referenced `<prefix><NNNN>`, e.g. DIG0001.",
    )

    @model_validator(mode="after")
    def _window(self) -> CallForEvidenceCreate:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class CallForEvidenceUpdate(_CallFields):
    """A JSON merge patch of a call; only the fields sent change."""

    title: Title | None = None
    description: Body | None = None
    commitment_ids: list[uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CALL_COMMITMENTS,
        json_schema_extra={"uniqueItems": True},
    )
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    late_submissions_allowed: StrictBool | None = None
    max_words: int | None = Field(default=None, ge=1, le=20_000)
    max_attachments: int | None = Field(default=None, ge=0, le=50)
    max_attachment_bytes: int | None = Field(default=None, ge=1)
    allowed_media_types: list[MediaType] | None = Field(
        default=None, min_length=1, json_schema_extra={"uniqueItems": True}
    )
    reference_prefix: Prefix | None = None


class CallForEvidenceRead(BaseModel):
    """A call for evidence and whether it is open now."""

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
    allowed_media_types: list[MediaType]
    reference_prefix: str
    status: CallStatus = Field(description="upcoming, open or closed, at the time of reading.")
    created_at: datetime
    updated_at: datetime


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
    call_id: uuid.UUID | None = Field(
        default=None,
        description=(
            "The call for evidence this answers, if any: it must be open (or accept late "
            "evidence), the body within its word limit, and every commitment in its scope."
        ),
    )
    received_at: AwareDatetime | None = Field(
        default=None,
        description=(
            "Only with the `admin` scope (403 otherwise): when this evidence was actually "
            "received, for entering the historical record (not in the future). The call is "
            "judged open, closed or late at this time; `recorded_at` keeps when it was entered."
        ),
        examples=["2022-11-15T12:00:00Z"],
    )


class AttachmentRead(BaseModel):
    """A file attached to a submission (download it from `url`)."""

    id: uuid.UUID
    filename: str
    media_type: str = Field(description="The type recognised from the file's content.")
    size_bytes: int
    sha256: str = Field(description="SHA-256 (hex) of the file; also its download ETag.")
    url: str
    created_at: datetime


# The fields a redaction may apply to (a Literal: `title` would clash with `str.title`).
RedactionField = Literal["title", "summary", "body"]


class RedactionCreate(InputModel):
    """Hide every occurrence of a passage of one field from everyone but moderators."""

    field: RedactionField = "body"
    passage: Reason = Field(description="The exact text to hide, as it appears in the field.")
    reason: Reason = Field(examples=["Names a member of staff."])


class RedactionRead(BaseModel):
    """A redaction (moderators only): the hidden passage and why."""

    id: uuid.UUID
    submission_id: uuid.UUID
    field: RedactionField
    passage: str
    reason: str
    redacted_by: str
    created_at: datetime


class DecisionAction(StrEnum):
    accept = "accept"
    reject = "reject"
    publish = "publish"
    withhold = "withhold"


class DecisionCreate(InputModel):
    """A moderation step and its reason (kept in the submission's history)."""

    action: DecisionAction
    reason: Reason = Field(examples=["Relevant to the commitments in scope; no personal data."])


class WithdrawalCreate(InputModel):
    """The submitter withdraws its evidence (possible until it is published)."""

    reason: Reason | None = Field(default=None, examples=["Superseded by our later submission."])


class DecisionRead(BaseModel):
    """One step of a submission's history: who moved it from which status to which, and why."""

    id: uuid.UUID
    submission_id: uuid.UUID
    action: str = Field(description="accept, reject, publish, withhold or withdraw.")
    from_status: SubmissionStatus
    to_status: SubmissionStatus
    reason: str
    decided_by: str
    decided_at: datetime
    publication_reference: str | None


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
    received_at: datetime = Field(
        description=(
            "When the evidence was received: its arrival, or the historical date an "
            "administrator recorded it under."
        )
    )
    recorded_at: datetime = Field(
        description=(
            "When this service stored it: equal to `received_at` except for evidence entered "
            "later into the historical record."
        )
    )
    content_sha256: str | None = Field(
        description=(
            "SHA-256 (hex) of the RFC 8785 canonical JSON of the content as received: the "
            "object with `commitment_ids`, `kind`, `title`, `summary`, `body`, `stance`, "
            "`consent` (and `call_id` when given; never `received_at`), after trimming "
            "surrounding whitespace and filling in defaults. Shown to the submitter and "
            "moderators only: it would let anyone confirm a guess at a redacted passage."
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
    published_at: datetime | None
    call_id: uuid.UUID | None
    late: bool = Field(
        description="Received after its call closed (the call accepts late evidence)."
    )
    attachments: list[AttachmentRead]
    redactions: list[RedactionRead] | None = Field(
        description=(
            "For moderators: the passages hidden from everyone else (title, summary and body "
            "are then the originals). Null for everyone else, who read `[redacted]` in their "
            "place."
        )
    )
    created_at: datetime
    updated_at: datetime
