"""HTTP routes of the commitments service."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from commitments import lifecycle, repository, service, transfer
from commitments.dependencies import Idempotent, Maker, ReadSession, Session, Writer
from commitments.models import Commitment, LineageLink, PolicyArea, Reading, Source, Target
from commitments.schemas import (
    TARGET_RULE,
    CommitmentCreate,
    CommitmentDetail,
    CommitmentKind,
    CommitmentRead,
    CommitmentSort,
    CommitmentStatus,
    CommitmentUpdate,
    ImportReport,
    LineageEnd,
    LineageLinkCreate,
    LineageLinkRead,
    PolicyAreaCreate,
    PolicyAreaRead,
    PolicyAreaUpdate,
    ReadingCreate,
    ReadingRead,
    RevisionRead,
    SourceCreate,
    SourceKind,
    SourceRead,
    SourceUpdate,
    TargetCreate,
    TargetRead,
    TargetUpdate,
)
from servicekit.crud import get_or_404
from servicekit.etag import etag_for, require_if_match, set_created, set_etag
from servicekit.idempotency import (
    IdempotencyKeyHeader,
    StoredResponse,
    created_response_doc,
)
from servicekit.pagination import Page, PageQuery
from servicekit.problems import ProblemError, problem_responses
from servicekit.routing import json_router
from servicekit.schemas import FilterText

router = json_router(prefix="/v1")

CREATE_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422)
PATCH_ERRORS = problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428)
MERGE_PATCH: dict[str, Any] = {
    "requestBody": {"content": {"application/merge-patch+json": {"schema": {}}}}
}


def _created(
    response: Response, request: Request, name: str, ident: uuid.UUID, version: int
) -> None:
    set_created(response, str(request.url_for(name, id=ident).path), ident, version)


# --- sources -----------------------------------------------------------------------------------


@router.post(
    "/sources",
    operation_id="create_source",
    summary="Create a source",
    tags=["sources"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_source(
    _writer: Writer, body: SourceCreate, session: Session, request: Request, response: Response
) -> SourceRead:
    """Record a document commitments come from (a plan, strategy, review, report...)."""
    read = await service.create_source(session, body)
    _created(response, request, "get_source", read.id, 1)
    return read


@router.get(
    "/sources",
    operation_id="list_sources",
    summary="List sources",
    tags=["sources"],
    responses=problem_responses(422),
)
async def list_sources(
    session: ReadSession,
    page: PageQuery,
    reference: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    kind: Annotated[list[SourceKind], Query()] = [],  # noqa: B006
) -> Page[SourceRead]:
    """Sources, oldest first; filter by `reference` or `kind` (repeat for any-of)."""
    rows, token = await repository.list_sources(session, page, reference=reference, kind=kind)
    return Page(items=[SourceRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/sources/{id}",
    operation_id="get_source",
    summary="Get a source",
    tags=["sources"],
    responses=problem_responses(404),
)
async def get_source(id: uuid.UUID, session: ReadSession, response: Response) -> SourceRead:
    """One source document."""
    row = await get_or_404(session, Source, id, "source")
    set_etag(response, row.id, row.version)
    return SourceRead.model_validate(row)


@router.patch(
    "/sources/{id}",
    operation_id="update_source",
    summary="Update a source",
    tags=["sources"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_source(
    _writer: Writer,
    id: uuid.UUID,
    body: SourceUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> SourceRead:
    """Change a source with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, Source, id, "source")
    require_if_match(request, row.id, row.version)
    read = await service.update_source(session, row, body)
    set_etag(response, row.id, row.version)
    return read


# --- policy areas ------------------------------------------------------------------------------


@router.post(
    "/policy-areas",
    operation_id="create_policy_area",
    summary="Create a policy area",
    tags=["policy areas"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_policy_area(
    _writer: Writer, body: PolicyAreaCreate, session: Session, request: Request, response: Response
) -> PolicyAreaRead:
    """Record a policy area commitments are grouped under."""
    read = await service.create_policy_area(session, body)
    _created(response, request, "get_policy_area", read.id, 1)
    return read


@router.get(
    "/policy-areas",
    operation_id="list_policy_areas",
    summary="List policy areas",
    tags=["policy areas"],
    responses=problem_responses(422),
)
async def list_policy_areas(
    session: ReadSession,
    page: PageQuery,
    slug: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    id: Annotated[list[uuid.UUID], Query(max_length=200)] = [],  # noqa: B006
) -> Page[PolicyAreaRead]:
    """Policy areas, oldest first; filter by `slug` or `id` (repeat for any-of)."""
    rows, token = await repository.list_policy_areas(session, page, slug=slug, ids=id)
    return Page(items=[PolicyAreaRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/policy-areas/{id}",
    operation_id="get_policy_area",
    summary="Get a policy area",
    tags=["policy areas"],
    responses=problem_responses(404),
)
async def get_policy_area(
    id: uuid.UUID, session: ReadSession, response: Response
) -> PolicyAreaRead:
    """One policy area."""
    row = await get_or_404(session, PolicyArea, id, "policy area")
    set_etag(response, row.id, row.version)
    return PolicyAreaRead.model_validate(row)


@router.patch(
    "/policy-areas/{id}",
    operation_id="update_policy_area",
    summary="Update a policy area",
    tags=["policy areas"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_policy_area(
    _writer: Writer,
    id: uuid.UUID,
    body: PolicyAreaUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> PolicyAreaRead:
    """Change a policy area with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, PolicyArea, id, "policy area")
    require_if_match(request, row.id, row.version)
    read = await service.update_policy_area(session, row, body)
    set_etag(response, row.id, row.version)
    return read


# --- commitments -------------------------------------------------------------------------------


@router.post(
    "/commitments",
    operation_id="create_commitment",
    summary="Create a commitment",
    tags=["commitments"],
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def create_commitment(
    writer: Writer, body: CommitmentCreate, session: Session, request: Request, response: Response
) -> CommitmentDetail:
    """Record a commitment in the words it was published in, optionally with its targets."""
    read = await service.create_commitment(session, body, writer)
    _created(response, request, "get_commitment", read.id, 1)
    return read


@router.get(
    "/commitments",
    operation_id="list_commitments",
    summary="List commitments",
    tags=["commitments"],
    responses=problem_responses(422),
)
async def list_commitments(
    session: ReadSession,
    page: PageQuery,
    policy_area_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    source_id: Annotated[list[uuid.UUID], Query(max_length=100)] = [],  # noqa: B006
    status: Annotated[list[CommitmentStatus], Query()] = [],  # noqa: B006
    kind: Annotated[list[CommitmentKind], Query()] = [],  # noqa: B006
    reference: Annotated[list[FilterText], Query(max_length=100)] = [],  # noqa: B006
    id: Annotated[list[uuid.UUID], Query(max_length=1000)] = [],  # noqa: B006
    lead_body: Annotated[
        list[FilterText], Query(max_length=20, description="A lead body, exactly as recorded.")
    ] = [],  # noqa: B006
    due_before: Annotated[date | None, Query(description="Due strictly before this date.")] = None,
    due_after: Annotated[date | None, Query(description="Due strictly after this date.")] = None,
    has_targets: Annotated[
        bool | None, Query(description="With (true) or without (false) measurable targets.")
    ] = None,
    off_track: Annotated[
        bool | None,
        Query(description="true: at least one target is `off_track`; false: none is."),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Full text over reference, title and text: every word must match "
            "(English stemming; punctuation ignored).",
        ),
    ] = None,
    sort: Annotated[
        CommitmentSort,
        Query(
            description="`created_at` (default, oldest first), `due_on` / `-due_on` (commitments "
            "without a due date last either way), `reference` / `-reference`. A page token "
            "belongs to the sort it came from."
        ),
    ] = CommitmentSort.created_at,
) -> Page[CommitmentRead]:
    """Commitments; every filter may be repeated for any-of, and filters combine with AND."""
    rows, token = await repository.list_commitments(
        session,
        page,
        reference=reference,
        policy_area_id=policy_area_id,
        source_id=source_id,
        status=status,
        kind=kind,
        ids=id,
        lead_body=lead_body,
        due_before=due_before,
        due_after=due_after,
        has_targets=has_targets,
        off_track=off_track,
        q=q,
        sort=sort,
    )
    return Page(items=[CommitmentRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/commitments/{id}",
    operation_id="get_commitment",
    summary="Get a commitment",
    tags=["commitments"],
    responses=problem_responses(404, 422),
)
async def get_commitment(
    id: uuid.UUID,
    session: ReadSession,
    response: Response,
    as_of: Annotated[
        date | None,
        Query(
            description="Return the commitment and its targets as they stood on this date "
            "(wording from the revision in force then; progress from readings dated up to it)."
        ),
    ] = None,
) -> CommitmentDetail:
    """One commitment with its targets and their progress, now or as it stood on `as_of`."""
    if as_of is not None:
        row = await get_or_404(session, Commitment, id, "commitment")
        return await service.detail_as_of(session, row, as_of)
    detail, version = await service.current_detail(session, id)
    set_etag(response, id, version)
    return detail


@router.patch(
    "/commitments/{id}",
    operation_id="update_commitment",
    summary="Update a commitment",
    tags=["commitments"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
    description="Change a commitment with a JSON merge patch; send `If-Match` with its ETag. "
    "Every change is a revision; wording (`title`, `text`) and `due_on` changes need a `reason`."
    "\n\nStatus transitions:\n\n```\n" + (lifecycle.__doc__ or "") + "```",
)
async def update_commitment(
    writer: Writer,
    id: uuid.UUID,
    body: CommitmentUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> CommitmentDetail:
    """Change a commitment with a JSON merge patch; send `If-Match` with its ETag."""
    row = await get_or_404(session, Commitment, id, "commitment")
    require_if_match(request, row.id, row.version)
    read = await service.update_commitment(session, row, body, writer)
    set_etag(response, row.id, row.version)
    return read


@router.get(
    "/commitments/{id}/revisions",
    operation_id="list_commitment_revisions",
    summary="List a commitment's revisions",
    tags=["commitments"],
    responses=problem_responses(404, 422),
)
async def list_commitment_revisions(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[RevisionRead]:
    """Every recorded change, oldest first: who, when, why, and a field-level diff."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_revisions(session, page, id)
    return Page(items=[RevisionRead.model_validate(r) for r in rows], next_page_token=token)


# --- lineage -----------------------------------------------------------------------------------


@router.post(
    "/commitments/{id}/lineage-links",
    operation_id="create_lineage_link",
    summary="Record a commitment's successor",
    tags=["lineage"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_lineage_link(
    writer: Writer,
    id: uuid.UUID,
    body: LineageLinkCreate,
    session: Session,
    request: Request,
    response: Response,
) -> LineageLinkRead:
    """Record that this commitment was superseded by, split into or merged into another.

    The commitment becomes `superseded` (for `superseded_by` and `merged_into` its
    `superseded_by_id` names the successor). A split is recorded as one link per part. Links
    that would make a cycle are refused.
    """
    row = await get_or_404(session, Commitment, id, "commitment")
    read = await service.add_link(session, row, body, writer)
    response.headers["Location"] = str(request.url_for("get_lineage_link", id=read.id).path)
    return read


@router.get(
    "/commitments/{id}/lineage-links",
    operation_id="list_commitment_lineage_links",
    summary="List a commitment's lineage",
    tags=["lineage"],
    responses=problem_responses(404, 422),
)
async def list_commitment_lineage_links(
    id: uuid.UUID,
    session: ReadSession,
    page: PageQuery,
    end: Annotated[
        list[LineageEnd],
        Query(
            description="`successors` (links from this commitment), `predecessors` (links to "
            "it); both by default."
        ),
    ] = [],  # noqa: B006
) -> Page[LineageLinkRead]:
    """Links with this commitment at either end: what it became and what it came from."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_links(
        session,
        page,
        id,
        successors=not end or "successors" in end,
        predecessors=not end or "predecessors" in end,
    )
    return Page(items=[LineageLinkRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/lineage-links/{id}",
    operation_id="get_lineage_link",
    summary="Get a lineage link",
    tags=["lineage"],
    responses=problem_responses(404),
)
async def get_lineage_link(id: uuid.UUID, session: ReadSession) -> LineageLinkRead:
    """One lineage link."""
    return LineageLinkRead.model_validate(
        await get_or_404(session, LineageLink, id, "lineage link")
    )


# --- targets and readings ----------------------------------------------------------------------


@router.post(
    "/commitments/{id}/targets",
    operation_id="create_target",
    summary="Add a target to a commitment",
    tags=["targets"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
)
async def create_target(
    writer: Writer,
    id: uuid.UUID,
    body: TargetCreate,
    session: Session,
    request: Request,
    response: Response,
) -> TargetRead:
    """Add a measurable target; it is a change to the commitment, recorded with its reason."""
    row = await get_or_404(session, Commitment, id, "commitment")
    read = await service.add_target(session, row, body, writer)
    _created(response, request, "get_target", read.id, 1)
    return read


@router.get(
    "/commitments/{id}/targets",
    operation_id="list_commitment_targets",
    summary="List a commitment's targets",
    tags=["targets"],
    responses=problem_responses(404, 422),
    description="A commitment's targets with their progress, oldest first.\n\n" + TARGET_RULE,
)
async def list_commitment_targets(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[TargetRead]:
    """A commitment's targets with their progress, oldest first."""
    await get_or_404(session, Commitment, id, "commitment")
    rows, token = await repository.list_targets(session, page, id)
    return Page(items=[service.target_read(t) for t in rows], next_page_token=token)


@router.get(
    "/targets/{id}",
    operation_id="get_target",
    summary="Get a target",
    tags=["targets"],
    responses=problem_responses(404),
    description="One target and its progress.\n\n" + TARGET_RULE,
)
async def get_target(id: uuid.UUID, session: ReadSession, response: Response) -> TargetRead:
    """One target and its progress."""
    t = await get_or_404(session, Target, id, "target")
    set_etag(response, t.id, t.version)
    return service.target_read(t)


@router.patch(
    "/targets/{id}",
    operation_id="update_target",
    summary="Update a target",
    tags=["targets"],
    responses=PATCH_ERRORS,
    openapi_extra=MERGE_PATCH,
)
async def update_target(
    writer: Writer,
    id: uuid.UUID,
    body: TargetUpdate,
    session: Session,
    request: Request,
    response: Response,
) -> TargetRead:
    """Change a target (merge patch, `If-Match`, a `reason`): a revision of its commitment."""
    t = await get_or_404(session, Target, id, "target")
    require_if_match(request, t.id, t.version)
    read = await service.update_target(session, t, body, writer)
    set_etag(response, t.id, t.version)
    return read


@router.post(
    "/targets/{id}/readings",
    operation_id="create_reading",
    summary="Record a progress reading",
    tags=["targets"],
    status_code=status.HTTP_201_CREATED,
    response_model=ReadingRead,
    responses={
        **created_response_doc("Recorded; the target's progress is re-judged."),
        **problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    },
)
async def create_reading(
    writer: Writer,
    id: uuid.UUID,
    body: ReadingCreate,
    request: Request,
    maker: Maker,
    idempotency: Idempotent,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Record a progress figure for a target; send `Idempotency-Key` to retry safely."""

    async def create(session: AsyncSession) -> StoredResponse:
        t = await get_or_404(session, Target, id, "target")
        read = await service.add_reading(session, t, body, writer)
        location = str(request.url_for("get_reading", id=read.id).path)
        return StoredResponse.json(
            201, read.model_dump(mode="json"), {"Location": location, "ETag": etag_for(read.id, 1)}
        )

    return await idempotency.run_request(
        maker, request, body, client_id=writer.client_id, key=idempotency_key, create=create
    )


@router.get(
    "/targets/{id}/readings",
    operation_id="list_target_readings",
    summary="List a target's readings",
    tags=["targets"],
    responses=problem_responses(404, 422),
)
async def list_target_readings(
    id: uuid.UUID, session: ReadSession, page: PageQuery
) -> Page[ReadingRead]:
    """A target's progress readings, in the order they were recorded."""
    await get_or_404(session, Target, id, "target")
    rows, token = await repository.list_readings(session, page, id)
    return Page(items=[ReadingRead.model_validate(r) for r in rows], next_page_token=token)


@router.get(
    "/readings/{id}",
    operation_id="get_reading",
    summary="Get a progress reading",
    tags=["targets"],
    responses=problem_responses(404),
)
async def get_reading(id: uuid.UUID, session: ReadSession) -> ReadingRead:
    """One progress reading."""
    return ReadingRead.model_validate(await get_or_404(session, Reading, id, "reading"))


# --- import / export ---------------------------------------------------------------------------


@router.post(
    "/commitment-imports",
    operation_id="import_commitments",
    summary="Import sources, policy areas, commitments and targets from CSV",
    tags=["import and export"],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422),
    description=transfer.IMPORT_DOC,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def import_commitments(
    writer: Writer,
    request: Request,
    session: Session,
    dry_run: Annotated[
        bool, Query(description="Check everything and report, but store nothing.")
    ] = False,
    reason: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=2000,
            description="The reason recorded on revisions that need one (wording, due date, "
            "target changes; some status transitions).",
        ),
    ] = None,
) -> ImportReport:
    """Import a CSV file: all or nothing, every bad row reported, idempotent on re-import."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("text/csv", "application/csv"):
        raise ProblemError(
            415,
            "Unsupported Media Type",
            "Send the file as text/csv.",
            type_="/problems/unsupported-media-type",
        )
    content = await request.body()
    return await transfer.import_csv(session, content, writer, reason=reason, dry_run=dry_run)


@router.get(
    "/commitment-exports",
    operation_id="export_commitments",
    summary="Export sources, policy areas, commitments and targets as CSV",
    tags=["import and export"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    description="Everything in the import format (see `import_commitments`), streamed: "
    "importing it elsewhere reproduces the same data, and exporting that gives the same file.",
)
async def export_commitments(maker: Maker) -> StreamingResponse:
    """Export every source, policy area, commitment and target as CSV."""
    return StreamingResponse(
        transfer.export_csv(maker),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="commitments.csv"'},
    )
