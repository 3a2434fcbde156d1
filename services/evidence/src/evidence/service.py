"""Rules of the evidence service. Never commits: the unit of work around it does.

Moderation (who may move a submission from which status to which):

| action     | by                              | from                          | to        |
|------------|---------------------------------|-------------------------------|-----------|
| accept     | moderator (`evidence:moderate`) | received                      | accepted  |
| reject     | moderator                       | received, accepted, withheld  | rejected  |
| publish    | moderator                       | accepted, withheld            | published |
| withhold   | moderator                       | accepted, published           | withheld  |
| withdraw   | the submitter (`evidence:submit`)| received, accepted           | withdrawn |

`rejected` and `withdrawn` are final. Anything else is 409 (`/problems/invalid-transition`).
Every step needs a reason and is kept as a `Decision` (who, when, from, to, why). Publishing
gives the submission its publication reference, `<prefix><NNNN>` (the call's prefix, or the
service's default for stand-alone evidence), once: withheld and published again, it keeps it.

Consent: `do_not_publish` evidence is never published (409, `/problems/publication-not-consented`);
it may still be accepted and used by the panel. `publish_anonymously` hides the submitter from
everyone but the submitter and moderators, wherever a submission appears: get, list, search (a
`submitter` filter never matches it for them) and the public `submission.published` event.

Redaction: moderators hide passages of the title, summary or body, each with a reason. Everyone
but moderators reads `[redacted]` in their place (the submitter too, once redacted); moderators
read the original and the list of redactions. Public full-text search runs over the redacted
text, so it cannot reveal a redacted word.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import rfc8785
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evidence import repository
from evidence.blobs import BlobStore
from evidence.media import Sniffer, check_type, detect
from evidence.models import (
    Attachment,
    CallCommitment,
    CallForEvidence,
    Decision,
    Event,
    Redaction,
    Submission,
    SubmissionCommitment,
)
from evidence.schemas import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_WORDS,
    DEFAULT_MEDIA_TYPES,
    REDACTION_MARKER,
    AttachmentRead,
    CallForEvidenceCreate,
    CallForEvidenceRead,
    CallForEvidenceUpdate,
    CallStatus,
    Consent,
    DecisionAction,
    DecisionRead,
    RedactionCreate,
    RedactionRead,
    SubmissionCreate,
    SubmissionRead,
    SubmissionStatus,
    Submitter,
)
from servicekit.auth import Principal
from servicekit.crud import apply_values
from servicekit.ids import new_id, utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, conflict, invalid, not_found
from servicekit.schemas import merge_patch

log = logging.getLogger("evidence.service")

SUBMIT_SCOPE = "evidence:submit"
MODERATE_SCOPE = "evidence:moderate"
COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})
# Crockford's base32: no I, L, O or U, so a receipt read aloud or retyped is unambiguous.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

S = SubmissionStatus
WITHDRAW = "withdraw"
# action → {from status: to status}; see the module docstring.
TRANSITIONS: dict[str, dict[str, str]] = {
    DecisionAction.accept: {S.received: S.accepted},
    DecisionAction.reject: {S.received: S.rejected, S.accepted: S.rejected, S.withheld: S.rejected},
    DecisionAction.publish: {S.accepted: S.published, S.withheld: S.published},
    DecisionAction.withhold: {S.accepted: S.withheld, S.published: S.withheld},
    WITHDRAW: {S.received: S.withdrawn, S.accepted: S.withdrawn},
}


# --- the read model of commitments ---------------------------------------------------------------


async def apply_commitment_event(session: AsyncSession, event: dict[str, Any]) -> None:
    """Apply one event of the commitments feed to `known_commitments` (idempotent upsert)."""
    if event.get("type") not in COMMITMENT_EVENTS:
        return
    p = event["payload"]
    await repository.upsert_known_commitment(
        session,
        uuid.UUID(p["id"]),
        reference=p["reference"],
        title=p["title"],
        policy_area_id=uuid.UUID(p["policy_area_id"]),
        status=p["status"],
        updated_at=datetime.fromisoformat(p.get("updated_at") or event["occurred_at"]),
    )


# --- who may see what ----------------------------------------------------------------------------


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


def _require_owner(row: Submission | None, ident: uuid.UUID, viewer: Viewer) -> Submission:
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


def _record(session: AsyncSession, type_: str, row: Submission, *, public: bool = False) -> None:
    """A submission event: public ones carry the public view, private ones the moderators'."""
    payload = to_read(row, PUBLIC_VIEW if public else FULL_VIEW).model_dump(mode="json")
    record_event(session, Event, type_, "submission", row.id, payload, public=public)


# --- calls for evidence --------------------------------------------------------------------------


def call_status(row: CallForEvidence, now: datetime | None = None) -> CallStatus:
    """Whether a call is upcoming, open or closed at `now`."""
    now = now or utcnow()
    if now < row.opens_at:
        return CallStatus.upcoming
    return CallStatus.open if now < row.closes_at else CallStatus.closed


def call_read(row: CallForEvidence) -> CallForEvidenceRead:
    """A call's representation."""
    return CallForEvidenceRead(
        id=row.id,
        title=row.title,
        description=row.description,
        commitment_ids=[c.commitment_id for c in row.commitments],
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        late_submissions_allowed=row.late_submissions_allowed,
        max_words=row.max_words,
        max_attachments=row.max_attachments,
        max_attachment_bytes=row.max_attachment_bytes,
        allowed_media_types=row.allowed_media_types,
        reference_prefix=row.reference_prefix,
        status=call_status(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _emit_call(session: AsyncSession, type_: str, row: CallForEvidence) -> CallForEvidenceRead:
    read = call_read(row)
    record_event(session, Event, type_, "call_for_evidence", row.id, read.model_dump(mode="json"))
    return read


async def _unknown_commitments(
    session: AsyncSession, ids: Sequence[uuid.UUID], pointer: str
) -> list[FieldError]:
    known = await repository.known_commitment_ids(session, list(set(ids)))
    return [
        FieldError(
            pointer=f"{pointer}.{i}",
            detail=f"unknown commitment {ident}",
            code="unknown_reference",
        )
        for i, ident in enumerate(ids)
        if ident not in known
    ]


def _field_errors(errors: list[FieldError], detail: str) -> ProblemError:
    errors.sort(key=lambda e: (e.pointer.rsplit(".", 1)[0], int(e.pointer.rsplit(".", 1)[1])))
    return ProblemError(
        422, "Your request is not valid", detail, type_="/problems/validation-error", errors=errors
    )


def _check_attachment_ceiling(max_bytes: int | None, ceiling: int) -> None:
    if max_bytes is not None and max_bytes > ceiling:
        raise invalid(
            "body.max_attachment_bytes",
            f"max_attachment_bytes may be at most {ceiling} on this service.",
            "too_large",
        )


async def create_call(
    session: AsyncSession, body: CallForEvidenceCreate, *, ceiling: int
) -> CallForEvidenceRead:
    """Open a call for evidence on commitments this service knows."""
    _check_attachment_ceiling(body.max_attachment_bytes, ceiling)
    errors = await _unknown_commitments(session, body.commitment_ids, "body.commitment_ids")
    if errors:
        raise _field_errors(errors, "Every commitment in scope must be one this service knows.")
    values = body.model_dump(exclude={"commitment_ids"})
    values["allowed_media_types"] = [m.value for m in body.allowed_media_types]
    row = CallForEvidence(
        id=new_id(),
        created_at=utcnow(),
        **values,
        commitments=[
            CallCommitment(commitment_id=c, position=i) for i, c in enumerate(body.commitment_ids)
        ],
    )
    session.add(row)
    await session.flush()
    return _emit_call(session, "call_for_evidence.created", row)


async def get_call(session: AsyncSession, ident: uuid.UUID) -> CallForEvidence:
    """A call, or 404."""
    row = await repository.get_call(session, ident)
    if row is None:
        raise not_found("call for evidence", ident)
    return row


async def update_call(
    session: AsyncSession, row: CallForEvidence, patch: CallForEvidenceUpdate, *, ceiling: int
) -> CallForEvidenceRead:
    """Apply a merge patch to a call (its `If-Match` already checked)."""
    values: dict[str, Any] = merge_patch(
        patch, required=frozenset(CallForEvidenceUpdate.model_fields)
    )
    if "allowed_media_types" in values:
        values["allowed_media_types"] = [m.value for m in values["allowed_media_types"]]
    _check_attachment_ceiling(values.get("max_attachment_bytes"), ceiling)
    opens, closes = values.get("opens_at", row.opens_at), values.get("closes_at", row.closes_at)
    if closes <= opens:
        raise invalid("body.closes_at", "closes_at must be after opens_at.", "before_opening")
    if (
        "reference_prefix" in values
        and values["reference_prefix"] != row.reference_prefix
        and await repository.call_has_publications(session, row.id)
    ):
        raise conflict(
            "Evidence of this call has already been published under the prefix "
            f"{row.reference_prefix!r}; the prefix can no longer change."
        )
    ids = values.pop("commitment_ids", None)
    changed = apply_values(row, values)
    if ids is not None and ids != [c.commitment_id for c in row.commitments]:
        errors = await _unknown_commitments(session, ids, "body.commitment_ids")
        if errors:
            raise _field_errors(errors, "Every commitment in scope must be one this service knows.")
        row.commitments.clear()
        await session.flush()
        row.commitments.extend(
            CallCommitment(commitment_id=c, position=i) for i, c in enumerate(ids)
        )
        changed = True
    if not changed:
        return call_read(row)
    # The version column only moves when a column of the call's own row changes.
    row.updated_at = utcnow()
    await session.flush()
    return _emit_call(session, "call_for_evidence.updated", row)


# --- submissions ---------------------------------------------------------------------------------


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


def content_sha256(body: SubmissionCreate) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of what was submitted (the receipt's checksum)."""
    content = body.model_dump(mode="json")
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
) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[uuid.UUID] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            errors.append(
                FieldError(
                    pointer=f"body.commitment_ids.{i}",
                    detail=f"commitment {ident} is listed twice",
                    code="duplicate",
                )
            )
        seen.add(ident)
    errors += await _unknown_commitments(session, ids, "body.commitment_ids")
    if call is not None:
        scope = {c.commitment_id for c in call.commitments}
        flagged = {e.pointer for e in errors}
        errors += [
            FieldError(
                pointer=f"body.commitment_ids.{i}",
                detail=f"commitment {ident} is not in the scope of call {call.id}",
                code="out_of_scope",
            )
            for i, ident in enumerate(ids)
            if ident not in scope and f"body.commitment_ids.{i}" not in flagged
        ]
    return errors


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


async def create_submission(
    session: AsyncSession, body: SubmissionCreate, principal: Principal
) -> SubmissionRead:
    """Receive evidence from the caller against commitments this service knows."""
    now = utcnow()
    call, late = (None, False)
    if body.call_id is not None:
        call, late = await _answerable_call(session, body.call_id, now)
    max_words = DEFAULT_MAX_WORDS if call is None else call.max_words
    errors = await _check_commitments(session, body.commitment_ids, call)
    words = word_count(body.body)
    if words > max_words:
        errors.append(
            FieldError(
                pointer="body.body",
                detail=f"the body has {words} words; at most {max_words} are accepted",
                code="too_many_words",
            )
        )
    if errors:
        n = len(errors)
        raise ProblemError(
            422,
            "Your request is not valid",
            f"{n} field{'s' if n != 1 else ''} failed validation. New commitments reach this "
            "service from the commitments feed within seconds; retry shortly if one was "
            "created just now.",
            type_="/problems/validation-error",
            errors=sorted(errors, key=_error_order),
        )
    while True:
        # 40 random bits rarely collide, but a receipt must be unique: draw another id if so.
        row = _new_submission(body, principal, now, late)
        if await repository.insert_submission(session, row):
            break
    # Unpublished evidence stays off public feeds; the gateway's internal reader still sees it.
    _record(session, "submission.received", row)
    # The receipt is what the submitter would read back with GET.
    return to_read(row, Viewer.of(principal))


def _new_submission(
    body: SubmissionCreate, principal: Principal, now: datetime, late: bool
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
        received_at=now,
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


def _error_order(e: FieldError) -> tuple[str, int]:
    head, _, tail = e.pointer.rpartition(".")
    return (head, int(tail)) if tail.isdigit() else (e.pointer, -1)


# --- moderation ----------------------------------------------------------------------------------


def decision_read(row: Decision) -> DecisionRead:
    """A decision's representation."""
    return DecisionRead(
        id=row.id,
        submission_id=row.submission_id,
        action=row.action,
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        decided_by=row.decided_by,
        decided_at=row.created_at,
        publication_reference=row.publication_reference,
    )


def _transition(row: Submission, action: str) -> str:
    to = TRANSITIONS[action].get(row.status)
    if to is None:
        possible = sorted(a for a, moves in TRANSITIONS.items() if row.status in moves)
        raise ProblemError(
            409,
            "Step out of order",
            f"Cannot {action} a submission that is {row.status}. From {row.status}: "
            + (", ".join(possible) if possible else "no further steps (it is final)")
            + ".",
            type_="/problems/invalid-transition",
        )
    return to


def _decide(
    session: AsyncSession, row: Submission, action: str, to: str, reason: str, by: str
) -> Decision:
    decision = Decision(
        id=new_id(),
        created_at=utcnow(),
        submission_id=row.id,
        action=action,
        from_status=row.status,
        to_status=to,
        reason=reason,
        decided_by=by,
        publication_reference=None,
    )
    row.status = to
    session.add(decision)
    return decision


async def decide(
    session: AsyncSession,
    ident: uuid.UUID,
    action: DecisionAction,
    reason: str,
    moderator: Principal,
    *,
    standalone_prefix: str,
) -> DecisionRead:
    """Accept, reject, publish or withhold a submission, with the reason kept."""
    row = await repository.get_submission(session, ident, for_update=True)
    if row is None:
        raise not_found("submission", ident)
    if action is DecisionAction.publish and row.consent == Consent.do_not_publish:
        raise ProblemError(
            409,
            "Publication not consented",
            "The submitter asked for this evidence not to be published (consent "
            "do_not_publish); it can be accepted, withheld or rejected, never published.",
            type_="/problems/publication-not-consented",
        )
    to = _transition(row, action)
    decision = _decide(session, row, action, to, reason, moderator.client_id)
    if to == SubmissionStatus.published and row.publication_reference is None:
        prefix = standalone_prefix
        if row.call_id is not None:
            prefix = (await get_call(session, row.call_id)).reference_prefix
        number = await repository.next_publication_number(session, prefix)
        row.publication_reference = f"{prefix}{number:04d}"
        row.published_at = decision.created_at
    decision.publication_reference = row.publication_reference
    await session.flush()
    published = to == SubmissionStatus.published
    _record(session, f"submission.{to}", row, public=published)
    return decision_read(decision)


async def withdraw(
    session: AsyncSession, ident: uuid.UUID, reason: str | None, principal: Principal
) -> DecisionRead:
    """The submitter takes its evidence back, before publication."""
    viewer = Viewer.of(principal)
    row = _require_owner(
        await repository.get_submission(session, ident, for_update=True), ident, viewer
    )
    to = _transition(row, WITHDRAW)
    decision = _decide(
        session, row, WITHDRAW, to, reason or "Withdrawn by the submitter.", principal.client_id
    )
    await session.flush()
    _record(session, "submission.withdrawn", row)
    return decision_read(decision)


async def visible_history(session: AsyncSession, ident: uuid.UUID, viewer: Viewer) -> Submission:
    """A submission whose decisions the caller may read: its submitter's and moderators'."""
    row = await get_visible(session, ident, viewer)
    if not (viewer.moderator or viewer.owns(row)):
        raise ProblemError(
            403,
            "Forbidden",
            "A submission's decisions are shown to its submitter and moderators only.",
            type_="/problems/insufficient-scope",
        )
    return row


# --- redaction -----------------------------------------------------------------------------------


def redact(text: str | None, passages: Sequence[str]) -> str | None:
    """`text` with every occurrence of every passage replaced by the marker (overlaps merged)."""
    if text is None:
        return None
    spans: list[tuple[int, int]] = []
    for passage in passages:
        start = text.find(passage)
        while start != -1:
            spans.append((start, start + len(passage)))
            start = text.find(passage, start + 1)
    if not spans:
        return text
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, last = [], 0
    for start, end in merged:
        out += [text[last:start], REDACTION_MARKER]
        last = end
    out.append(text[last:])
    return "".join(out)


def _apply_redactions(row: Submission) -> None:
    for name in ("title", "summary", "body"):
        passages = [r.passage for r in row.redactions if r.field == name]
        setattr(row, f"public_{name}", redact(getattr(row, name), passages))


def _record_redaction(session: AsyncSession, type_: str, row: Submission) -> None:
    # Once published the change is public news (with the public view); before, it is internal.
    _record(session, type_, row, public=row.status == SubmissionStatus.published)


async def add_redaction(
    session: AsyncSession, ident: uuid.UUID, body: RedactionCreate, moderator: Principal
) -> RedactionRead:
    """Hide a passage from everyone but moderators."""
    row = await repository.get_submission(session, ident, for_update=True)
    if row is None:
        raise not_found("submission", ident)
    original = getattr(row, body.field) or ""
    if body.passage not in original:
        raise invalid(
            "body.passage",
            f"The passage does not occur in the submission's {body.field}.",
            "not_in_field",
        )
    if any(r.field == body.field and r.passage == body.passage for r in row.redactions):
        raise conflict("This passage of this field is already redacted.")
    redaction = Redaction(
        id=new_id(),
        created_at=utcnow(),
        submission_id=row.id,
        field=body.field,
        passage=body.passage,
        reason=body.reason,
        redacted_by=moderator.client_id,
    )
    row.redactions.append(redaction)
    _apply_redactions(row)
    await session.flush()
    _record_redaction(session, "submission.redacted", row)
    return redaction_read(redaction)


async def remove_redaction(
    session: AsyncSession, ident: uuid.UUID, redaction_id: uuid.UUID
) -> None:
    """Undo a redaction: the passage is shown again."""
    row = await repository.get_submission(session, ident, for_update=True)
    found = None if row is None else next((r for r in row.redactions if r.id == redaction_id), None)
    if row is None or found is None:
        raise not_found("redaction", redaction_id)
    row.redactions.remove(found)
    _apply_redactions(row)
    await session.flush()
    _record_redaction(session, "submission.redaction_removed", row)


# --- attachments ---------------------------------------------------------------------------------


@dataclass
class StagedUpload:
    """A received file on local disk, not yet stored: its name, size, hash, and a look at it."""

    path: Path
    filename: str
    declared_media_type: str | None
    size: int
    sha256: str
    sniffer: Sniffer


Receive = Callable[[int], Awaitable[StagedUpload]]


def _check_attachable(row: Submission | None, ident: uuid.UUID, viewer: Viewer) -> Submission:
    row = _require_owner(row, ident, viewer)
    if row.status != SubmissionStatus.received:
        raise ProblemError(
            409,
            "Submission no longer open",
            f"Files can be attached only while a submission is received; this one is {row.status}.",
            type_="/problems/submission-locked",
        )
    return row


def _too_many(limits: Limits) -> ProblemError:
    return ProblemError(
        409,
        "Too many attachments",
        f"A submission may have at most {limits.max_attachments} attachments.",
        type_="/problems/too-many-attachments",
    )


async def _limits_for(session: AsyncSession, row: Submission, ceiling: int) -> Limits:
    call = None if row.call_id is None else await repository.get_call(session, row.call_id)
    return Limits.of(call, ceiling)


async def attach(
    maker: async_sessionmaker[AsyncSession],
    store: BlobStore,
    ident: uuid.UUID,
    principal: Principal,
    receive: Receive,
    *,
    ceiling: int,
) -> AttachmentRead:
    """Receive a file for the caller's submission and store it by content.

    Checked before a byte is read (owner, status, count), the upload is then streamed to a
    staged file with no transaction open, judged by its content, and recorded in one short
    transaction that re-checks everything and moves the blob into place before committing.
    Whatever fails, the staged file is removed and no blob is left without a row.
    """
    viewer = Viewer.of(principal)
    async with maker() as session, session.begin():
        row = _check_attachable(await repository.get_submission(session, ident), ident, viewer)
        limits = await _limits_for(session, row, ceiling)
        if len(row.attachments) >= limits.max_attachments:
            raise _too_many(limits)
    staged = await receive(limits.max_attachment_bytes)
    created = False
    try:
        if staged.size == 0:
            raise invalid("body.file", "The file is empty.", "empty")
        detected = await anyio.to_thread.run_sync(
            detect, staged.path, staged.sniffer, staged.declared_media_type, staged.filename
        )
        media_type = check_type(detected, staged.declared_media_type, limits.allowed_media_types)
        async with maker() as session, session.begin():
            row = _check_attachable(
                await repository.get_submission(session, ident, for_update=True), ident, viewer
            )
            if await repository.attachment_count(session, ident) >= limits.max_attachments:
                raise _too_many(limits)
            same = next((a for a in row.attachments if a.sha256 == staged.sha256), None)
            if same is not None:
                raise conflict(f"This file is already attached to the submission (id {same.id}).")
            attachment = Attachment(
                id=new_id(),
                created_at=utcnow(),
                submission_id=row.id,
                filename=staged.filename,
                media_type=media_type.value,
                declared_media_type=staged.declared_media_type,
                size_bytes=staged.size,
                sha256=staged.sha256,
                uploaded_by=principal.client_id,
            )
            session.add(attachment)
            await session.flush()
            read = attachment_read(attachment)
            payload = {"submission_id": str(row.id), **read.model_dump(mode="json")}
            record_event(
                session,
                Event,
                "attachment.created",
                "attachment",
                attachment.id,
                payload,
                public=False,
            )
            # Last step before the commit: a blob is only ever left behind if the commit fails,
            # and then it is removed below.
            created = await store.put(staged.path, staged.sha256)
    except BaseException:
        if created:
            # Shielded: a cancelled request must still not leave its blob behind.
            with anyio.CancelScope(shield=True):
                await _discard_if_unreferenced(maker, store, staged.sha256)
        raise
    finally:
        staged.path.unlink(missing_ok=True)
    return read


async def _discard_if_unreferenced(
    maker: async_sessionmaker[AsyncSession], store: BlobStore, sha256: str
) -> None:
    try:
        async with maker() as session, session.begin():
            if not await repository.blob_referenced(session, sha256):
                await store.delete(sha256)
    except Exception:
        log.exception("could not remove blob %s after a failed upload", sha256)


async def downloadable(
    session: AsyncSession, ident: uuid.UUID, attachment_id: uuid.UUID, viewer: Viewer
) -> tuple[Submission, Attachment]:
    """An attachment the caller may download (its submission must be visible to them)."""
    row = await get_visible(session, ident, viewer)
    found = next((a for a in row.attachments if a.id == attachment_id), None)
    if found is None:
        raise not_found("attachment", attachment_id)
    return row, found
