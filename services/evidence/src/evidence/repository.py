"""All SQL of the evidence service."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, column, false, func, or_, select, table, text, true
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from evidence.models import (
    PG_SEARCH_ALL,
    PG_SEARCH_PUBLIC,
    SQLITE_SEARCH_TABLE,
    Attachment,
    CallCommitment,
    CallForEvidence,
    Decision,
    Event,
    PublicationCounter,
    Redaction,
    Submission,
    SubmissionCommitment,
)
from servicekit.pagination import PageParams, keyset_page

PUBLISHED = "published"
ANONYMOUS = "publish_anonymously"


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# --- calls for evidence --------------------------------------------------------------------------


async def get_call(session: AsyncSession, ident: uuid.UUID) -> CallForEvidence | None:
    """A call with its commitments, or None."""
    stmt = (
        select(CallForEvidence)
        .where(CallForEvidence.id == ident)
        .options(selectinload(CallForEvidence.commitments))
    )
    return (await session.scalars(stmt)).one_or_none()


async def list_calls(
    session: AsyncSession,
    params: PageParams,
    *,
    commitment_id: Sequence[uuid.UUID],
    open_at: datetime | None,
) -> tuple[list[CallForEvidence], str | None]:
    """A page of calls, optionally those about some commitments or open at a time."""
    stmt = select(CallForEvidence).options(selectinload(CallForEvidence.commitments))
    if commitment_id:
        about = select(CallCommitment.call_id).where(
            CallCommitment.commitment_id.in_(commitment_id)
        )
        stmt = stmt.where(CallForEvidence.id.in_(about))
    if open_at is not None:
        stmt = stmt.where(CallForEvidence.opens_at <= open_at, CallForEvidence.closes_at > open_at)
    return await keyset_page(session, stmt, CallForEvidence.created_at, CallForEvidence.id, params)


async def call_has_publications(session: AsyncSession, call_id: uuid.UUID) -> bool:
    """Whether any submission answering the call has been given a publication reference."""
    stmt = (
        select(Submission.id)
        .where(Submission.call_id == call_id, Submission.publication_reference.is_not(None))
        .limit(1)
    )
    return (await session.scalar(stmt)) is not None


# --- submissions ---------------------------------------------------------------------------------


_SUBMISSION_COLUMNS = tuple(c.key for c in Submission.__table__.columns)


async def insert_submission(session: AsyncSession, row: Submission) -> bool:
    """Store a new submission and its commitment links; False (nothing stored) if its receipt
    reference is taken.

    Core INSERTs, not the unit of work: a new row has nothing for the session to track, and its
    bookkeeping cost about 0.6 ms of a submission's ~4.7 ms CPU (in-process A/B runs). The
    receipt check rides on the insert (`ON CONFLICT DO NOTHING` on the unique reference)
    instead of a SELECT before it.
    """
    values = {key: getattr(row, key) for key in _SUBMISSION_COLUMNS}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Submission)
        .on_conflict_do_nothing(index_elements=["receipt_reference"])
        .returning(Submission.id)
    )
    if (await session.execute(stmt, [values])).first() is None:
        return False
    links = [
        {"submission_id": row.id, "commitment_id": c.commitment_id, "position": c.position}
        for c in row.commitments
    ]
    if links:
        await session.execute(sa_insert(SubmissionCommitment), links)
    return True


def _with_children(stmt: Any) -> Any:
    return stmt.options(
        selectinload(Submission.commitments),
        selectinload(Submission.attachments),
        selectinload(Submission.redactions),
    )


async def get_submission(
    session: AsyncSession, ident: uuid.UUID, *, for_update: bool = False
) -> Submission | None:
    """A submission with its commitments, attachments and redactions, or None.

    `for_update` locks the row on PostgreSQL until the transaction ends, so two moderators (or
    a moderator and the submitter) acting at once are serialised; SQLite's single writer
    already is.
    """
    stmt = _with_children(select(Submission).where(Submission.id == ident))
    if for_update and _is_postgres(session):
        stmt = stmt.with_for_update(of=Submission)
    return (await session.scalars(stmt)).one_or_none()


def visible_to(client_id: str | None, *, see_all: bool) -> ColumnElement[bool]:
    """The rows a caller may see: published ones, plus its own, or all for moderators."""
    if see_all:
        return true()
    if client_id is None:
        return Submission.status == PUBLISHED
    return or_(Submission.status == PUBLISHED, Submission.submitter_client_id == client_id)


def search_words(q: str) -> list[str]:
    """The words of a query; punctuation and operators are not syntax (every word must match)."""
    return re.findall(r"\w+", q)


def search_condition(session: AsyncSession, q: str, *, original: bool) -> ColumnElement[bool]:
    """Submissions containing every word of `q` (stemmed), in the original or the public text.

    Only moderators search the original; everyone else searches the text with redactions
    applied, so a search can never reveal that a redacted passage contained a word.
    """
    words = search_words(q)
    if not words:
        return false()
    if _is_postgres(session):
        # The same expressions as the GIN indexes, so the indexes serve them.
        vector = PG_SEARCH_ALL if original else PG_SEARCH_PUBLIC
        return text(f"{vector} @@ plainto_tsquery('english', :q)").bindparams(  # type: ignore[return-value]
            q=q
        )
    columns = "title summary body" if original else "public_title public_summary public_body"
    match = "{" + columns + "} : (" + " ".join(f'"{w}"' for w in words) + ")"
    fts = table(SQLITE_SEARCH_TABLE, column("submission_id"))
    hits = select(fts.c.submission_id).where(
        text(f"{SQLITE_SEARCH_TABLE} MATCH :match").bindparams(match=match)
    )
    return Submission.id.in_(hits)


async def list_submissions(
    session: AsyncSession,
    params: PageParams,
    *,
    visible: ColumnElement[bool],
    viewer_client_id: str | None = None,
    moderator: bool = False,
    commitment_id: Sequence[uuid.UUID] = (),
    call_id: Sequence[uuid.UUID] = (),
    submitter: Sequence[str] = (),
    status: Sequence[str] = (),
    kind: Sequence[str] = (),
    stance: Sequence[str] = (),
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    q: str | None = None,
) -> tuple[list[Submission], str | None]:
    """A page of the submissions a caller may see, matching every filter (each any-of)."""
    stmt = _with_children(select(Submission).where(visible))
    if commitment_id:
        about = select(SubmissionCommitment.submission_id).where(
            SubmissionCommitment.commitment_id.in_(commitment_id)
        )
        stmt = stmt.where(Submission.id.in_(about))
    for col, values in (
        (Submission.call_id, call_id),
        (Submission.status, status),
        (Submission.kind, kind),
        (Submission.stance, stance),
    ):
        if values:
            stmt = stmt.where(col.in_(values))
    if submitter:
        by = or_(
            Submission.submitter_client_id.in_(submitter),
            Submission.submitter_organisation.in_(submitter),
        )
        if not moderator:
            # Filtering by submitter must not unmask anonymous evidence: it matches only where
            # the caller may see who submitted.
            named = Submission.consent != ANONYMOUS
            if viewer_client_id is not None:
                named = or_(named, Submission.submitter_client_id == viewer_client_id)
            by = and_(by, named)
        stmt = stmt.where(by)
    if received_after is not None:
        stmt = stmt.where(Submission.received_at >= received_after)
    if received_before is not None:
        stmt = stmt.where(Submission.received_at < received_before)
    if q is not None:
        stmt = stmt.where(search_condition(session, q, original=moderator))
    return await keyset_page(session, stmt, Submission.created_at, Submission.id, params)


# --- publication references ----------------------------------------------------------------------


async def next_publication_number(session: AsyncSession, prefix: str) -> int:
    """The next number for `prefix`, taken under the counter row's lock (held until commit).

    Two publishers of the same prefix queue on the lock; the second reads the first's committed
    number. A rolled-back publication rolls its increment back with it, so there are no gaps.
    """
    insert = pg_insert if _is_postgres(session) else sqlite_insert
    await session.execute(
        insert(PublicationCounter)
        .values(prefix=prefix, last_number=0)
        .on_conflict_do_nothing(index_elements=["prefix"])
    )
    stmt = (
        select(PublicationCounter)
        .where(PublicationCounter.prefix == prefix)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    counter = (await session.scalars(stmt)).one()
    counter.last_number += 1
    await session.flush()
    return counter.last_number


# --- attachments, decisions, redactions ---------------------------------------------------------


async def attachment_count(session: AsyncSession, submission_id: uuid.UUID) -> int:
    """How many files a submission has."""
    stmt = select(func.count()).where(Attachment.submission_id == submission_id)
    return int(await session.scalar(stmt) or 0)


async def blob_referenced(session: AsyncSession, sha256: str) -> bool:
    """Whether any attachment still points at a blob."""
    stmt = select(Attachment.id).where(Attachment.sha256 == sha256).limit(1)
    return (await session.scalar(stmt)) is not None


async def list_decisions(
    session: AsyncSession, submission_id: uuid.UUID, params: PageParams
) -> tuple[list[Decision], str | None]:
    """A page of a submission's decisions, oldest first."""
    stmt = select(Decision).where(Decision.submission_id == submission_id)
    return await keyset_page(session, stmt, Decision.created_at, Decision.id, params)


async def get_decision(
    session: AsyncSession, submission_id: uuid.UUID, ident: uuid.UUID
) -> Decision | None:
    """One decision of a submission, or None."""
    row = await session.get(Decision, ident)
    return row if row is not None and row.submission_id == submission_id else None


async def get_redaction(
    session: AsyncSession, submission_id: uuid.UUID, ident: uuid.UUID
) -> Redaction | None:
    """One redaction of a submission, or None."""
    row = await session.get(Redaction, ident)
    return row if row is not None and row.submission_id == submission_id else None


async def public_submission_events(session: AsyncSession, ident: uuid.UUID) -> list[Event]:
    """The public events of one submission, locked: a redaction rewrites their payloads."""
    stmt = (
        select(Event)
        .where(
            Event.resource_type == "submission",
            Event.resource_id == ident,
            Event.public.is_(True),
        )
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())
