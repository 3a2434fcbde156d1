"""Receiving evidence: checks against the call and the read model, limits, word counts, receipts.

A submission answering a call must arrive while the call is open (409 otherwise, unless it takes
late evidence), keep to its word limit and cite only commitments in its scope (422); stand-alone
evidence keeps to the default limits. Every submission gets a receipt at once: a reference
(`SUB-` and 8 Crockford base32 characters) and the SHA-256 of what was submitted.

An administrator entering the historical record may give `received_at`, a past date: the call is
then judged at that date, and `recorded_at` (the row's creation) still says when it was entered.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.calls import call_status
from evidence.models import CallForEvidence, Submission, SubmissionCommitment
from evidence.read_model import unknown_commitments
from evidence.schemas import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_WORDS,
    DEFAULT_MEDIA_TYPES,
    CallStatus,
    SubmissionCreate,
    SubmissionRead,
    SubmissionStatus,
)
from evidence.visibility import Viewer, record_submission_event, to_read
from servicekit.auth import Principal
from servicekit.ids import new_id, utcnow
from servicekit.problems import FieldError, ProblemError, field_errors, invalid, validation_problem

# Recording evidence under a past date (the historical record) needs this scope.
ADMIN_SCOPE = "admin"

# Crockford's base32: no I, L, O or U, so a receipt read aloud or retyped is unambiguous.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Limits:
    """What a submission (and its attachments) may be: its call's limits, or the defaults."""

    max_words: int = DEFAULT_MAX_WORDS
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES
    allowed_media_types: list[str] = field(default_factory=lambda: list(DEFAULT_MEDIA_TYPES))

    @classmethod
    def of(cls, call: CallForEvidence | None, ceiling: int) -> Limits:
        """A call's limits; stand-alone evidence gets the defaults (within the ceiling)."""
        if call is None:
            return cls(max_attachment_bytes=min(DEFAULT_MAX_ATTACHMENT_BYTES, ceiling))
        return cls(
            call.max_words,
            call.max_attachments,
            min(call.max_attachment_bytes, ceiling),
            list(call.allowed_media_types),
        )


async def limits_for(session: AsyncSession, row: Submission, ceiling: int) -> Limits:
    """The limits a stored submission is held to (its call's, or the defaults)."""
    call = None if row.call_id is None else await repository.get_call(session, row.call_id)
    return Limits.of(call, ceiling)


def content_sha256(body: SubmissionCreate) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of what was submitted (the receipt's checksum)."""
    # When it was received is a fact about the record, not part of the evidence it received.
    content = body.model_dump(mode="json", exclude={"received_at"})
    if content["call_id"] is None:
        # Receipts of stand-alone evidence keep the hash they had before calls existed.
        del content["call_id"]
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


def receipt_reference(ident: uuid.UUID) -> str:
    """`SUB-` and 8 Crockford base32 characters from the id's random bits."""
    bits = ident.int & ((1 << 40) - 1)
    chars = [_CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5)]
    return "SUB-" + "".join(chars)


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of non-space characters."""
    return len(text.split())


async def _check_commitments(
    session: AsyncSession, ids: list[uuid.UUID], call: CallForEvidence | None
) -> list[tuple[str, str, str]]:
    """`(field, detail, code)` for each cited commitment listed twice, unknown or out of scope."""
    failures: list[tuple[str, str, str]] = []
    seen: set[uuid.UUID] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            failures.append(
                (f"commitment_ids.{i}", f"commitment {ident} is listed twice", "duplicate")
            )
        seen.add(ident)
    failures += await unknown_commitments(session, ids)
    if call is not None:
        scope = {c.commitment_id for c in call.commitments}
        flagged = {f for f, _, _ in failures}
        failures += [
            (
                f"commitment_ids.{i}",
                f"commitment {ident} is not in the scope of call {call.id}",
                "out_of_scope",
            )
            for i, ident in enumerate(ids)
            if ident not in scope and f"commitment_ids.{i}" not in flagged
        ]
    return failures


async def _answerable_call(
    session: AsyncSession, call_id: uuid.UUID, now: datetime
) -> tuple[CallForEvidence, bool]:
    """The call a submission answers, and whether it arrives late; 422/409 if it cannot."""
    call = await repository.get_call(session, call_id)
    if call is None:
        raise invalid(
            "body.call_id", f"No call for evidence with id {call_id}.", "unknown_reference"
        )
    status = call_status(call, now)
    if status is CallStatus.upcoming:
        raise ProblemError(
            409,
            "Call not open yet",
            f"Call {call.id} opens at {call.opens_at.isoformat()}; submit then.",
            type_="/problems/call-not-open",
        )
    if status is CallStatus.closed and not call.late_submissions_allowed:
        raise ProblemError(
            409,
            "Call closed",
            f"Call {call.id} closed at {call.closes_at.isoformat()} and does not accept late "
            "evidence.",
            type_="/problems/call-closed",
        )
    return call, status is CallStatus.closed


def _error_order(e: FieldError) -> tuple[str, int]:
    head, _, tail = e.pointer.rpartition(".")
    return (head, int(tail)) if tail.isdigit() else (e.pointer, -1)


async def create_submission(
    session: AsyncSession, body: SubmissionCreate, principal: Principal
) -> SubmissionRead:
    """Receive evidence from the caller against commitments this service knows."""
    now = utcnow()
    received = _received_at(body, principal, now)
    call, late = (None, False)
    if body.call_id is not None:
        # Judged against the call as it stood when the evidence was received.
        call, late = await _answerable_call(session, body.call_id, received)
    max_words = DEFAULT_MAX_WORDS if call is None else call.max_words
    failures = await _check_commitments(session, body.commitment_ids, call)
    words = word_count(body.body)
    if words > max_words:
        failures.append(
            (
                "body",
                f"the body has {words} words; at most {max_words} are accepted",
                "too_many_words",
            )
        )
    if failures:
        n = len(failures)
        raise validation_problem(
            sorted(field_errors(failures), key=_error_order),
            f"{n} field{'s' if n != 1 else ''} failed validation. New commitments reach this "
            "service from the commitments feed within seconds; retry shortly if one was "
            "created just now.",
        )
    while True:
        # 40 random bits rarely collide, but a receipt must be unique: draw another id if so.
        row = _new_submission(body, principal, now, received, late)
        if await repository.insert_submission(session, row):
            break
    # Unpublished evidence stays off public feeds; the gateway's internal reader still sees it.
    record_submission_event(session, "submission.received", row)
    # The receipt is what the submitter would read back with GET.
    return to_read(row, Viewer.of(principal))


def _received_at(body: SubmissionCreate, principal: Principal, now: datetime) -> datetime:
    """When the evidence counts as received: now, or the past date an administrator records.

    Backdating decides whether evidence was late, so only `admin` may do it (403 otherwise).
    """
    if body.received_at is None:
        return now
    if not principal.has(ADMIN_SCOPE):
        raise ProblemError(
            403,
            "Forbidden",
            f"Only a client with the scope {ADMIN_SCOPE!r} may set received_at (it records "
            "the historical date of evidence); leave it out to submit evidence now.",
            type_="/problems/insufficient-scope",
            errors=[
                FieldError(
                    pointer="body.received_at",
                    detail=f"needs the scope {ADMIN_SCOPE!r}",
                    code="insufficient_scope",
                )
            ],
        )
    if body.received_at > now:
        raise invalid(
            "body.received_at",
            "received_at records when evidence was received; it cannot be in the future.",
            "in_future",
        )
    return body.received_at


def _new_submission(
    body: SubmissionCreate, principal: Principal, now: datetime, received: datetime, late: bool
) -> Submission:
    """A just-received submission (not yet stored), with a fresh id and receipt reference."""
    ident = new_id()
    return Submission(
        id=ident,
        created_at=now,
        updated_at=now,
        version=1,
        submitter_client_id=principal.client_id,
        submitter_organisation=principal.organisation,
        kind=body.kind,
        title=body.title,
        summary=body.summary,
        body=body.body,
        public_title=body.title,
        public_summary=body.summary,
        public_body=body.body,
        stance=body.stance,
        consent=body.consent,
        status=SubmissionStatus.received,
        receipt_reference=receipt_reference(ident),
        received_at=received,
        content_sha256=content_sha256(body),
        publication_reference=None,
        published_at=None,
        call_id=body.call_id,
        late=late,
        commitments=[
            SubmissionCommitment(commitment_id=c, position=i)
            for i, c in enumerate(body.commitment_ids)
        ],
        attachments=[],
        redactions=[],
    )
