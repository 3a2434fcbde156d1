"""Routes of attachments: upload a file to your submission, download one."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request, Response, status
from fastapi.responses import StreamingResponse

from evidence import attachments
from evidence.dependencies import (
    Blobs,
    CurrentViewer,
    EvidenceSettings,
    NewBlobs,
    SubmitterPrincipal,
)
from evidence.media import OCTET_STREAM, content_disposition
from evidence.schemas import AttachmentRead, SubmissionStatus
from evidence.uploads import FILE_FIELD, receive_upload
from servicekit.dependencies import ReadSession, Session
from servicekit.problems import problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "additionalProperties": False,
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The file, with its name in the part's filename.",
                        }
                    },
                }
            }
        },
    }
}
DOWNLOAD_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, streamed.",
        "content": {OCTET_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "ETag": {"description": "The file's SHA-256, quoted.", "schema": {"type": "string"}},
            "Content-Disposition": {
                "description": "`attachment` with the file's (sanitised) name.",
                "schema": {"type": "string"},
            },
        },
    },
    304: {"description": "Not modified (`If-None-Match` matched the ETag)."},
}


@router.post(
    "/submissions/{id}/attachments",
    operation_id="create_attachment",
    summary="Attach a file",
    tags=["attachments"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra=UPLOAD_BODY,
)
async def create_attachment(
    submitter: SubmitterPrincipal,
    id: uuid.UUID,
    request: Request,
    reads: ReadSession,
    session: Session,
    store: Blobs,
    placed: NewBlobs,
    settings: EvidenceSettings,
    response: Response,
) -> AttachmentRead:
    """Upload a file (multipart/form-data, one part named `file`) to your received submission.

    Streamed to disk as it arrives: 413 the moment it passes the call's size limit (25 MiB by
    default). Its type is recognised from its content, which must be one the call allows (PDF,
    DOCX, ODT, XLSX, CSV, plain text or Markdown by default); executables are refused (415)
    whatever they are called.
    """
    limits = await attachments.upload_limits(
        reads, id, submitter, ceiling=settings.max_attachment_bytes_ceiling
    )
    # The look is over: its connection goes back to the pool rather than wait idle while the
    # file streams in. The unit of work (`session`) has not touched the database yet.
    await reads.close()
    staged = await receive_upload(request, store.staging_dir, limits.max_attachment_bytes)
    read = await attachments.attach(session, placed, id, submitter, staged, limits)
    response.headers["Location"] = read.url
    return read


@router.get(
    "/submissions/{id}/attachments/{attachment_id}",
    operation_id="download_attachment",
    summary="Download a file",
    tags=["attachments"],
    response_class=StreamingResponse,
    responses={**DOWNLOAD_DOC, **problem_responses(401, 404)},
)
async def download_attachment(
    id: uuid.UUID,
    attachment_id: uuid.UUID,
    request: Request,
    session: ReadSession,
    viewer: CurrentViewer,
    store: Blobs,
) -> Response:
    """A submission's file, streamed; visible exactly when its submission is."""
    submission, row = await attachments.downloadable(session, id, attachment_id, viewer)
    published = submission.status == SubmissionStatus.published
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": content_disposition(row.filename),
        "X-Content-Type-Options": "nosniff",
        # Even if a browser opened it inline, it could run nothing and load nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=300" if published else "private, no-store",
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(row.size_bytes)
    return StreamingResponse(store.open(row.sha256), media_type=row.media_type, headers=headers)
