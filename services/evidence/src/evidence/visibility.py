"""Who may see what of a submission, and the submission as a given viewer reads it.

Published evidence is public; the rest is shown only to its submitter and moderators (to anyone
else it does not exist: 404, never 403).

Consent: `publish_anonymously` hides the submitter from everyone but the submitter and
moderators, wherever a submission appears: get, list, search (a `submitter` filter never matches
it for them) and the public `submission.published` event.

Redactions (`evidence.redaction`): everyone but moderators reads `[redacted]` in place of a
redacted passage (the submitter too); moderators read the original and the list of redactions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.models import Attachment, Event, Redaction, Submission
from evidence.schemas import (
    AttachmentRead,
    Consent,
    RedactionRead,
    SubmissionRead,
    SubmissionStatus,
    Submitter,
)
from servicekit.auth import Principal
from servicekit.outbox import record_event
from servicekit.problems import ProblemError, not_found

SUBMIT_SCOPE = "evidence:submit"
MODERATE_SCOPE = "evidence:moderate"


@dataclass(frozen=True)
class Viewer:
    """The caller as far as visibility goes: anonymous, a submitter, or a moderator."""

    client_id: str | None = None
    moderator: bool = False

    @classmethod
    def of(cls, principal: Principal | None) -> Viewer:
        """The viewer a token (or its absence) makes."""
        if principal is None:
            return cls()
        if principal.has(MODERATE_SCOPE):
            return cls(principal.client_id, moderator=True)
        if principal.has(SUBMIT_SCOPE):
            return cls(principal.client_id)
        return cls()

    def owns(self, row: Submission) -> bool:
        """Whether the caller submitted this."""
        return self.client_id is not None and row.submitter_client_id == self.client_id

    def can_see(self, row: Submission) -> bool:
        """Published evidence is public; the rest only to its submitter and moderators."""
        return self.moderator or row.status == SubmissionStatus.published or self.owns(row)

    def filter(self) -> ColumnElement[bool]:
        """The same rule as a WHERE clause, for lists."""
        return repository.visible_to(self.client_id, see_all=self.moderator)


FULL_VIEW = Viewer(moderator=True)
PUBLIC_VIEW = Viewer()


def attachment_read(row: Attachment) -> AttachmentRead:
    """An attachment's representation (with its download URL)."""
    return AttachmentRead(
        id=row.id,
        filename=row.filename,
        media_type=row.media_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        url=f"/v1/submissions/{row.submission_id}/attachments/{row.id}",
        created_at=row.created_at,
    )


def redaction_read(row: Redaction) -> RedactionRead:
    """A redaction's representation (moderators only)."""
    return RedactionRead(
        id=row.id,
        submission_id=row.submission_id,
        field=row.field,
        passage=row.passage,
        reason=row.reason,
        redacted_by=row.redacted_by,
        created_at=row.created_at,
    )


def to_read(row: Submission, viewer: Viewer) -> SubmissionRead:
    """The representation `viewer` may see: consent and redactions applied for all but moderators.

    Moderators read the original text and the redactions; the submitter reads the redacted text
    and the content hash of its receipt; everyone else the redacted text, without the content
    hash (it would confirm a guess at a redacted passage), and without the submitter when it
    asked to be published anonymously. The receipt reference is derived from the public id, so
    it is shown to all.
    """
    mod, own = viewer.moderator, viewer.owns(row)
    hide = row.consent == Consent.publish_anonymously and not (mod or own)
    return SubmissionRead(
        id=row.id,
        receipt_reference=row.receipt_reference,
        received_at=row.received_at,
        recorded_at=row.created_at,
        content_sha256=row.content_sha256 if mod or own else None,
        submitter=None
        if hide
        else Submitter(client_id=row.submitter_client_id, organisation=row.submitter_organisation),
        commitment_ids=[c.commitment_id for c in row.commitments],
        kind=row.kind,
        title=row.title if mod else row.public_title,
        summary=row.summary if mod else row.public_summary,
        body=row.body if mod else row.public_body,
        stance=row.stance,
        consent=row.consent,
        status=row.status,
        publication_reference=row.publication_reference,
        published_at=row.published_at,
        call_id=row.call_id,
        late=row.late,
        attachments=[attachment_read(a) for a in row.attachments],
        redactions=[redaction_read(r) for r in row.redactions] if mod else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_visible(session: AsyncSession, ident: uuid.UUID, viewer: Viewer) -> Submission:
    """A submission the caller may see; 404 otherwise (never 403: existence is not disclosed)."""
    row = await repository.get_submission(session, ident)
    if row is None or not viewer.can_see(row):
        raise not_found("submission", ident)
    return row


def require_owner(row: Submission | None, ident: uuid.UUID, viewer: Viewer) -> Submission:
    """The caller's own submission: 404 if it may not see it, 403 if it sees but does not own it."""
    if row is None or not viewer.can_see(row):
        raise not_found("submission", ident)
    if not viewer.owns(row):
        raise ProblemError(
            403,
            "Forbidden",
            "Only the client that submitted this evidence may do this.",
            type_="/problems/not-submitter",
        )
    return row


def record_submission_event(
    session: AsyncSession, type_: str, row: Submission, *, public: bool = False
) -> None:
    """A submission event: public ones carry the public view, private ones the moderators'."""
    payload = to_read(row, PUBLIC_VIEW if public else FULL_VIEW).model_dump(mode="json")
    record_event(session, Event, type_, "submission", row.id, payload, public=public)
