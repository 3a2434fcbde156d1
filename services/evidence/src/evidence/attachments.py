"""Attaching files to evidence: who may, how many, of what type, stored once by content.

Only the submitter attaches, and only while its submission is `received`; its call's limits
(count, size, media types) apply, the defaults to stand-alone evidence. An upload runs in three
steps, none of which holds a transaction open while the file streams in:

1. `upload_limits`: before a byte is read, on a read session, the caller, the submission's
   status and the count are checked and the size limit found.
2. `evidence.uploads.receive_upload` streams the file to a staged file (413 past the limit).
3. `attach`: the file is judged by its content, then, in the request's unit of work, everything
   is checked again under the submission's lock, the row and its event are written and the blob
   is moved into place, the last step before the commit.

A blob is only ever left without a row if that commit fails; `PlacedBlobs` (a request-scoped
dependency, `evidence.dependencies.NewBlobs`) removes it again then. The staged file is removed
whatever happens.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evidence import repository
from evidence.blobs import BlobStore
from evidence.media import check_type, detect
from evidence.models import Attachment, Event, Submission
from evidence.schemas import AttachmentRead, SubmissionStatus
from evidence.submissions import Limits, limits_for
from evidence.uploads import StagedUpload
from evidence.visibility import Viewer, attachment_read, get_visible, require_owner
from servicekit.auth import Principal
from servicekit.db import autocommit
from servicekit.ids import new_id, utcnow
from servicekit.outbox import record_event
from servicekit.problems import ProblemError, conflict, invalid, not_found

log = logging.getLogger("evidence.attachments")


class PlacedBlobs:
    """The blobs one request put in the store: taken out again if its unit of work fails."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.created: list[str] = []

    async def put(self, staged: Path, sha256: str) -> None:
        """Move a staged file into the store, remembering it if this request created the blob."""
        if await self.store.put(staged, sha256):
            self.created.append(sha256)

    async def discard(self, maker: async_sessionmaker[AsyncSession]) -> None:
        """Remove the blobs this request created that no committed attachment points at.

        The request's own transaction has rolled back, so the check reads afresh (autocommit,
        no lock): another upload of the same content may have committed in the meantime.
        """
        for sha256 in self.created:
            try:
                async with autocommit(maker) as session:
                    if not await repository.blob_referenced(session, sha256):
                        await self.store.delete(sha256)
            except Exception:
                log.exception("could not remove blob %s after a failed upload", sha256)
        self.created.clear()


def _check_attachable(row: Submission | None, ident: uuid.UUID, viewer: Viewer) -> Submission:
    row = require_owner(row, ident, viewer)
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


async def upload_limits(
    session: AsyncSession, ident: uuid.UUID, principal: Principal, *, ceiling: int
) -> Limits:
    """The limits a file for the caller's submission is held to, checked before it is read.

    404 unless the caller may see the submission, 403 unless it submitted it, 409 unless the
    submission is received and has room for another file.
    """
    viewer = Viewer.of(principal)
    row = _check_attachable(await repository.get_submission(session, ident), ident, viewer)
    limits = await limits_for(session, row, ceiling)
    if len(row.attachments) >= limits.max_attachments:
        raise _too_many(limits)
    return limits


async def attach(
    session: AsyncSession,
    blobs: PlacedBlobs,
    ident: uuid.UUID,
    principal: Principal,
    staged: StagedUpload,
    limits: Limits,
) -> AttachmentRead:
    """Record a received file on the caller's submission and store it by content.

    The content is judged before the session is touched (on SQLite the first statement takes
    the write lock); the checks of `upload_limits` are then made again under the submission's
    lock, since another request may have attached or moderated meanwhile. The staged file is
    consumed or removed.
    """
    viewer = Viewer.of(principal)
    try:
        if staged.size == 0:
            raise invalid("body.file", "The file is empty.", "empty")
        detected = await anyio.to_thread.run_sync(
            detect, staged.path, staged.sniffer, staged.declared_media_type, staged.filename
        )
        media_type = check_type(detected, staged.declared_media_type, limits.allowed_media_types)
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
            session, Event, "attachment.created", "attachment", attachment.id, payload, public=False
        )
        # Last step before the commit, so that only a failed commit can leave a blob behind.
        await blobs.put(staged.path, staged.sha256)
    finally:
        staged.path.unlink(missing_ok=True)
    return read


async def downloadable(
    session: AsyncSession, ident: uuid.UUID, attachment_id: uuid.UUID, viewer: Viewer
) -> tuple[Submission, Attachment]:
    """An attachment the caller may download (its submission must be visible to them)."""
    row = await get_visible(session, ident, viewer)
    found = next((a for a in row.attachments if a.id == attachment_id), None)
    if found is None:
        raise not_found("attachment", attachment_id)
    return row, found
