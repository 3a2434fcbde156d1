"""All SQL of the evidence service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from evidence.models import KnownCommitment, Submission, SubmissionCommitment
from servicekit.pagination import PageParams, keyset_page

PUBLISHED = "published"


async def upsert_known_commitment(session: AsyncSession, ident: uuid.UUID, **values: Any) -> None:
    """Insert or overwrite one commitment of the read model."""
    row = await session.get(KnownCommitment, ident)
    if row is None:
        session.add(KnownCommitment(id=ident, **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    # The consumer's session does not autoflush; a later event in the same batch must see it.
    await session.flush()


async def known_commitment_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` the read model knows."""
    if not ids:
        return set()
    rows = await session.scalars(select(KnownCommitment.id).where(KnownCommitment.id.in_(ids)))
    return set(rows.all())


async def receipt_reference_taken(session: AsyncSession, reference: str) -> bool:
    """Whether a receipt reference is already in use."""
    stmt = select(Submission.id).where(Submission.receipt_reference == reference).limit(1)
    return (await session.scalar(stmt)) is not None


async def get_submission(session: AsyncSession, ident: uuid.UUID) -> Submission | None:
    """A submission with its commitments, or None."""
    stmt = (
        select(Submission)
        .where(Submission.id == ident)
        .options(selectinload(Submission.commitments))
    )
    return (await session.scalars(stmt)).one_or_none()


def visible_to(client_id: str | None, *, see_all: bool) -> ColumnElement[bool]:
    """The rows a caller may see: published ones, plus its own, or all for moderators."""
    if see_all:
        return true()
    if client_id is None:
        return Submission.status == PUBLISHED
    return or_(Submission.status == PUBLISHED, Submission.submitter_client_id == client_id)


async def list_submissions(
    session: AsyncSession,
    params: PageParams,
    *,
    visible: ColumnElement[bool],
    commitment_id: Sequence[uuid.UUID],
    status: Sequence[str],
    kind: Sequence[str],
    stance: Sequence[str],
) -> tuple[list[Submission], str | None]:
    """A page of the submissions a caller may see, matching every filter (each any-of)."""
    stmt = select(Submission).where(visible).options(selectinload(Submission.commitments))
    if commitment_id:
        about = select(SubmissionCommitment.submission_id).where(
            SubmissionCommitment.commitment_id.in_(commitment_id)
        )
        stmt = stmt.where(Submission.id.in_(about))
    for column, values in (
        (Submission.status, status),
        (Submission.kind, kind),
        (Submission.stance, stance),
    ):
        if values:
            stmt = stmt.where(column.in_(values))
    return await keyset_page(session, stmt, Submission.created_at, Submission.id, params)
