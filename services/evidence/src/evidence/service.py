"""Rules of the evidence service. Never commits: the unit of work around it does."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository
from evidence.models import Event, Submission, SubmissionCommitment
from evidence.schemas import SubmissionCreate, SubmissionRead, SubmissionStatus, Submitter
from servicekit.auth import Principal
from servicekit.ids import new_id, utcnow
from servicekit.outbox import record_event
from servicekit.problems import FieldError, ProblemError, not_found

log = logging.getLogger("evidence.service")

SUBMIT_SCOPE = "evidence:submit"
MODERATE_SCOPE = "evidence:moderate"
COMMITMENT_EVENTS = frozenset({"commitment.created", "commitment.updated"})
# Crockford's base32: no I, L, O or U, so a receipt read aloud or retyped is unambiguous.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


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


def to_read(row: Submission, viewer: Viewer) -> SubmissionRead:
    """The representation `viewer` may see: anonymous submitters stay anonymous to others."""
    hide = row.consent == "publish_anonymously" and not (viewer.moderator or viewer.owns(row))
    return SubmissionRead(
        id=row.id,
        receipt_reference=row.receipt_reference,
        received_at=row.received_at,
        content_sha256=row.content_sha256,
        submitter=None
        if hide
        else Submitter(client_id=row.submitter_client_id, organisation=row.submitter_organisation),
        commitment_ids=[c.commitment_id for c in row.commitments],
        kind=row.kind,
        title=row.title,
        summary=row.summary,
        body=row.body,
        stance=row.stance,
        consent=row.consent,
        status=row.status,
        publication_reference=row.publication_reference,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def get_visible(session: AsyncSession, ident: uuid.UUID, viewer: Viewer) -> Submission:
    """A submission the caller may see; 404 otherwise (never 403: existence is not disclosed)."""
    row = await repository.get_submission(session, ident)
    if row is None or not viewer.can_see(row):
        raise not_found("submission", ident)
    return row


# --- submissions ---------------------------------------------------------------------------------


def content_sha256(body: SubmissionCreate) -> str:
    """SHA-256 of the RFC 8785 canonical JSON of what was submitted (the receipt's checksum)."""
    return hashlib.sha256(rfc8785.dumps(body.model_dump(mode="json"))).hexdigest()


def receipt_reference(ident: uuid.UUID) -> str:
    """`SUB-` and 8 Crockford base32 characters from the id's random bits."""
    bits = ident.int & ((1 << 40) - 1)
    chars = [_CROCKFORD[(bits >> shift) & 31] for shift in range(35, -1, -5)]
    return "SUB-" + "".join(chars)


async def _check_commitments(session: AsyncSession, ids: list[uuid.UUID]) -> None:
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
    known = await repository.known_commitment_ids(session, list(seen))
    errors += [
        FieldError(
            pointer=f"body.commitment_ids.{i}",
            detail=f"unknown commitment {ident}",
            code="unknown_reference",
        )
        for i, ident in enumerate(ids)
        if ident not in known
    ]
    if errors:
        errors.sort(key=lambda e: int(e.pointer.rsplit(".", 1)[1]))
        n = len(errors)
        raise ProblemError(
            422,
            "Your request is not valid",
            f"{n} commitment id{'s' if n != 1 else ''} failed validation. New commitments "
            "reach this service from the commitments feed within seconds; retry shortly if "
            "one was created just now.",
            type_="/problems/validation-error",
            errors=errors,
        )


async def create_submission(
    session: AsyncSession, body: SubmissionCreate, principal: Principal
) -> SubmissionRead:
    """Receive evidence from the caller against commitments this service knows."""
    await _check_commitments(session, body.commitment_ids)
    ident = new_id()
    # 40 random bits rarely collide, but a receipt must be unique: draw another id if so.
    while await repository.receipt_reference_taken(session, receipt_reference(ident)):
        ident = new_id()
    now = utcnow()
    row = Submission(
        id=ident,
        created_at=now,
        submitter_client_id=principal.client_id,
        submitter_organisation=principal.organisation,
        kind=body.kind,
        title=body.title,
        summary=body.summary,
        body=body.body,
        stance=body.stance,
        consent=body.consent,
        status=SubmissionStatus.received,
        receipt_reference=receipt_reference(ident),
        received_at=now,
        content_sha256=content_sha256(body),
        publication_reference=None,
        commitments=[
            SubmissionCommitment(commitment_id=c, position=i)
            for i, c in enumerate(body.commitment_ids)
        ],
    )
    session.add(row)
    await session.flush()
    read = to_read(row, FULL_VIEW)
    # Unpublished evidence stays off public feeds; the gateway's internal reader still sees it.
    record_event(
        session,
        Event,
        "submission.received",
        "submission",
        row.id,
        read.model_dump(mode="json"),
        public=False,
    )
    return read
