"""Routes of bulk CSV import and export."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse

from commitments import transfer
from commitments.dependencies import Writer
from commitments.schemas import ImportReport
from servicekit.dependencies import Maker, Session
from servicekit.mediatypes import CSV
from servicekit.problems import ProblemError, problem_responses
from servicekit.routing import json_router

router = json_router(prefix="/v1")

# text/csv is the registered type (RFC 4180); some clients send application/csv instead.
_CSV_TYPES = (CSV, "application/csv")


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
            "content": {CSV: {"schema": {"type": "string"}}},
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
    if media not in _CSV_TYPES:
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
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
    description="Everything in the import format (see `import_commitments`), streamed: "
    "importing it elsewhere reproduces the same data, and exporting that gives the same file.",
)
async def export_commitments(maker: Maker) -> StreamingResponse:
    """Export every source, policy area, commitment and target as CSV."""
    return StreamingResponse(
        transfer.export_csv(maker),
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="commitments.csv"'},
    )
