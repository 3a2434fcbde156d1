"""HTTP routes of the evidence service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from evidence import repository, service
from evidence.dependencies import (
    Blobs,
    CurrentViewer,
    EvidenceSettings,
    Idempotent,
    Maker,
    ModeratorPrincipal,
    ReadSession,
    Session,
    SubmitterPrincipal,
)
from evidence.media import content_disposition
from evidence.schemas import (
    AttachmentRead,
    CallForEvidenceCreate,
    CallForEvidenceRead,
    CallForEvidenceUpdate,
    DecisionCreate,
    DecisionRead,
    RedactionCreate,
    RedactionRead,
    Stance,
    SubmissionCreate,
    SubmissionKind,
    SubmissionRead,
    SubmissionStatus,
    WithdrawalCreate,
)
from evidence.uploads import FILE_FIELD, receive_upload
from servicekit.etag import etag_for, require_if_match, set_created, set_etag
from servicekit.idempotency import (
    IdempotencyKeyHeader,
    StoredResponse,
    created_response_doc,
)
from servicekit.ids import utcnow
from servicekit.pagination import Page, PageQuery
from servicekit.problems import not_found, problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

router = json_router(prefix="/v1")
SUBMISSIONS_PATH = "/v1/submissions"

PATCH_ERRORS = problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428)
MERGE_PATCH: dict[str, Any] = {
    "requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}
}
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
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
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
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


# --- calls for evidence --------------------------------------------------------------------------


@router.post(
    "/calls-for-evidence",
    operation_id="create_call_for_evidence",
    summary="Open a call for evidence",
    tags=["calls for evidence"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 413, 415, 422),
)
async def create_call_for_evidence(
    _moderator: ModeratorPrincipal,
    body: CallForEvidenceCreate,
    session: Session,
    settings: EvidenceSettings,
    response: Response,
) -> CallForEvidenceRead:
    """Invite evidence on some commitments between two times, within limits."""
    read = await service.create_call(session, body, ceiling=settings.max_attachment_bytes_ceiling)
    set_created(response, f"/v1/calls-for-evidence/{read.id}", read.id, 1)
    return read


@router.get(
    "/calls-for-evidence",
    operation_id="list_calls_for_evidence",
    summary="List calls for evidence",
    tags=["calls for evidence"],
    responses=problem_responses(422),
)
async def list_calls_for_evidence(
    session: ReadSession,
    page: PageQuery,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    open_now: Annotated[
        bool, Query(description="Only calls open at the time of the request.")
    ] = False,
) -> Page[CallForEvidenceRead]:
    """Calls for evidence, oldest first; filter by `commitment_id` (repeat for any-of)."""
    rows, token = await repository.list_calls(
        session, page, commitment_id=commitment_id, open_at=utcnow() if open_now else None
    )
    return Page(items=[service.call_read(r) for r in rows], next_page_token=token)


@router.get(
    "/calls-for-evidence/{id}",
    operation_id="get_call_for_evidence",
    summary="Get a call for evidence",
    tags=["calls for evidence"],
    responses=problem_responses(404),
)
async def get_call_for_evidence(
    id: uuid.UUID, session: ReadSession, response: Response
) -> CallForEvidenceRead:
    """One call for evidence, with its limits and whether it is open."""
    row = await service.get_call(session, id)
    set_etag(response, row.id, row.version)
    return service.call_read(row)


@router.patch(
    "/calls-for-evidence/{id}",
    operation_id="update_call_for_evidence",
    summary="Update a call for evidence",
    tags=["calls for evidence"],
    responses={**PATCH_ERRORS, **problem_responses(409)},
    openapi_extra=MERGE_PATCH,
)
async def update_call_for_evidence(
    _moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: CallForEvidenceUpdate,
    session: Session,
    settings: EvidenceSettings,
    request: Request,
    response: Response,
) -> CallForEvidenceRead:
    """Change a call with a JSON merge patch; send `If-Match` with its ETag."""
    row = await service.get_call(session, id)
    require_if_match(request, row.id, row.version)
    read = await service.update_call(
        session, row, body, ceiling=settings.max_attachment_bytes_ceiling
    )
    set_etag(response, row.id, row.version)
    return read


# --- submissions ---------------------------------------------------------------------------------


@router.post(
    "/submissions",
    operation_id="create_submission",
    summary="Submit evidence",
    tags=["submissions"],
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionRead,
    responses={
        **created_response_doc("Received; the body is your receipt."),
        **problem_responses(400, 401, 403, 409, 413, 415, 422),
    },
)
async def create_submission(
    submitter: SubmitterPrincipal,
    body: SubmissionCreate,
    request: Request,
    maker: Maker,
    idempotency: Idempotent,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Submit evidence against one or more commitments; send `Idempotency-Key` to retry safely.

    Evidence answering a call (`call_id`) must arrive while the call is open (409 otherwise,
    unless it accepts late evidence), keep to its word limit and cite only commitments in its
    scope (422); stand-alone evidence keeps to the default limit of 3,000 words.
    """

    async def create(session: AsyncSession) -> StoredResponse:
        read = await service.create_submission(session, body, submitter)
        location = f"{SUBMISSIONS_PATH}/{read.id}"
        return StoredResponse.json(
            201,
            read.model_dump(mode="json"),
            {"Location": location, "ETag": etag_for(read.id, 1)},
        )

    return await idempotency.run_request(
        maker, request, body, client_id=submitter.client_id, key=idempotency_key, create=create
    )


@router.get(
    "/submissions",
    operation_id="list_submissions",
    summary="List and search submissions",
    tags=["submissions"],
    responses=problem_responses(401, 422),
)
async def list_submissions(
    session: ReadSession,
    page: PageQuery,
    viewer: CurrentViewer,
    commitment_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    call_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    submitter: Annotated[
        list[FilterText],
        Query(max_length=100, description="A submitter's client id or organisation name."),
    ] = [],  # noqa: B006
    status: Annotated[list[SubmissionStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[SubmissionKind], Query()] = [],  # noqa: B006
    stance: Annotated[list[Stance], Query()] = [],  # noqa: B006
    received_after: Annotated[
        AwareDatetime | None, Query(description="Received at or after this time.")
    ] = None,
    received_before: Annotated[
        AwareDatetime | None, Query(description="Received before this time.")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full text: every word must occur (stemmed) in the title, summary or body.",
        ),
    ] = None,
) -> Page[SubmissionRead]:
    """Submissions you may see, oldest first; filters repeat for any-of and combine with AND.

    Anyone sees published evidence; with `evidence:submit` also your own, with
    `evidence:moderate` everything. `q` searches the text you may read: the published (redacted)
    text, or for moderators the original.
    """
    rows, token = await repository.list_submissions(
        session,
        page,
        visible=viewer.filter(),
        viewer_client_id=viewer.client_id,
        moderator=viewer.moderator,
        commitment_id=commitment_id,
        call_id=call_id,
        submitter=submitter,
        status=status,
        kind=kind,
        stance=stance,
        received_after=received_after,
        received_before=received_before,
        q=q,
    )
    return Page(items=[service.to_read(r, viewer) for r in rows], next_page_token=token)


@router.get(
    "/submissions/{id}",
    operation_id="get_submission",
    summary="Get a submission",
    tags=["submissions"],
    responses=problem_responses(401, 404),
)
async def get_submission(
    id: uuid.UUID, session: ReadSession, viewer: CurrentViewer, response: Response
) -> SubmissionRead:
    """One submission, if you may see it (otherwise 404, whether or not it exists)."""
    row = await service.get_visible(session, id, viewer)
    set_etag(response, row.id, row.version)
    return service.to_read(row, viewer)


@router.post(
    "/submissions/{id}/withdrawal",
    operation_id="withdraw_submission",
    summary="Withdraw your submission",
    tags=["submissions"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def withdraw_submission(
    submitter: SubmitterPrincipal,
    id: uuid.UUID,
    body: WithdrawalCreate,
    session: Session,
    response: Response,
) -> DecisionRead:
    """Take your evidence back while it is received or accepted (409 once published)."""
    read = await service.withdraw(session, id, body.reason, submitter)
    response.headers["Location"] = f"/v1/submissions/{id}/decisions/{read.id}"
    return read


# --- moderation ----------------------------------------------------------------------------------


@router.post(
    "/submissions/{id}/decisions",
    operation_id="create_decision",
    summary="Moderate a submission",
    tags=["moderation"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_decision(
    moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: DecisionCreate,
    session: Session,
    settings: EvidenceSettings,
    response: Response,
) -> DecisionRead:
    """Accept, reject, publish or withhold, with a reason; steps out of order are 409.

    received → accepted | rejected; accepted → published | withheld | rejected;
    withheld → published | rejected; published → withheld. Publishing assigns the publication
    reference (`<prefix><NNNN>`) once; `do_not_publish` evidence is never published.
    """
    read = await service.decide(
        session,
        id,
        body.action,
        body.reason,
        moderator,
        standalone_prefix=settings.standalone_reference_prefix,
    )
    response.headers["Location"] = f"/v1/submissions/{id}/decisions/{read.id}"
    return read


@router.get(
    "/submissions/{id}/decisions",
    operation_id="list_decisions",
    summary="A submission's decisions",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404, 422),
)
async def list_decisions(
    id: uuid.UUID, session: ReadSession, viewer: CurrentViewer, page: PageQuery
) -> Page[DecisionRead]:
    """Every step of a submission's history, oldest first (its submitter and moderators)."""
    await service.visible_history(session, id, viewer)
    rows, token = await repository.list_decisions(session, id, page)
    return Page(items=[service.decision_read(r) for r in rows], next_page_token=token)


@router.get(
    "/submissions/{id}/decisions/{decision_id}",
    operation_id="get_decision",
    summary="Get a decision",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def get_decision(
    id: uuid.UUID, decision_id: uuid.UUID, session: ReadSession, viewer: CurrentViewer
) -> DecisionRead:
    """One step of a submission's history (its submitter and moderators)."""
    await service.visible_history(session, id, viewer)
    row = await repository.get_decision(session, id, decision_id)
    if row is None:
        raise not_found("decision", decision_id)
    return service.decision_read(row)


@router.post(
    "/submissions/{id}/redactions",
    operation_id="create_redaction",
    summary="Redact a passage",
    tags=["moderation"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_redaction(
    moderator: ModeratorPrincipal,
    id: uuid.UUID,
    body: RedactionCreate,
    session: Session,
    response: Response,
) -> RedactionRead:
    """Hide every occurrence of a passage of the title, summary or body, with a reason."""
    read = await service.add_redaction(session, id, body, moderator)
    response.headers["Location"] = f"/v1/submissions/{id}/redactions/{read.id}"
    return read


@router.get(
    "/submissions/{id}/redactions",
    operation_id="list_redactions",
    summary="A submission's redactions",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def list_redactions(
    _moderator: ModeratorPrincipal, id: uuid.UUID, session: ReadSession, viewer: CurrentViewer
) -> Page[RedactionRead]:
    """The passages hidden from everyone but moderators, and why (moderators only; one page)."""
    row = await service.get_visible(session, id, viewer)
    return Page(items=[service.redaction_read(r) for r in row.redactions], next_page_token=None)


@router.get(
    "/submissions/{id}/redactions/{redaction_id}",
    operation_id="get_redaction",
    summary="Get a redaction",
    tags=["moderation"],
    responses=problem_responses(401, 403, 404),
)
async def get_redaction(
    _moderator: ModeratorPrincipal, id: uuid.UUID, redaction_id: uuid.UUID, session: ReadSession
) -> RedactionRead:
    """One hidden passage and why (moderators only)."""
    row = await repository.get_redaction(session, id, redaction_id)
    if row is None:
        raise not_found("redaction", redaction_id)
    return service.redaction_read(row)


@router.delete(
    "/submissions/{id}/redactions/{redaction_id}",
    operation_id="delete_redaction",
    summary="Undo a redaction",
    tags=["moderation"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 404),
)
async def delete_redaction(
    _moderator: ModeratorPrincipal, id: uuid.UUID, redaction_id: uuid.UUID, session: Session
) -> Response:
    """Show a redacted passage again."""
    await service.remove_redaction(session, id, redaction_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- attachments ---------------------------------------------------------------------------------


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
    maker: Maker,
    store: Blobs,
    settings: EvidenceSettings,
    response: Response,
) -> AttachmentRead:
    """Upload a file (multipart/form-data, one part named `file`) to your received submission.

    Streamed to disk as it arrives: 413 the moment it passes the call's size limit (25 MiB by
    default). Its type is recognised from its content, which must be one the call allows (PDF,
    DOCX, ODT, XLSX, CSV, plain text or Markdown by default); executables are refused (415)
    whatever they are called.
    """

    async def receive(limit: int) -> service.StagedUpload:
        return await receive_upload(request, store.staging_dir, limit)

    read = await service.attach(
        maker, store, id, submitter, receive, ceiling=settings.max_attachment_bytes_ceiling
    )
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
    submission, row = await service.downloadable(session, id, attachment_id, viewer)
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
