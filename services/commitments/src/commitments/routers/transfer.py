"""Routes of bulk CSV import and export."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from commitments import transfer
from commitments.dependencies import Writer
from commitments.schemas import ImportReport
from servicekit.dependencies import Maker, Session
from servicekit.mediatypes import CSV, FORM_DATA
from servicekit.problems import FieldError, ProblemError, problem_responses
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
    # Documented as a form upload, which every generator supports; a raw `text/csv` body is
    # accepted too (curl --data-binary), as the description says.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM_DATA: {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        # One part only (the form is read with max_fields=0).
                        "additionalProperties": False,
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "contentMediaType": CSV,
                                "description": "The CSV file.",
                            }
                        },
                    },
                    "encoding": {"file": {"contentType": f"{CSV}, application/csv"}},
                }
            },
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
    content = await _csv_upload(request)
    return await transfer.import_csv(session, content, writer, reason=reason, dry_run=dry_run)


async def _csv_upload(request: Request) -> bytes:
    """The uploaded file's bytes: a form's `file` part, or a raw CSV body."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in _CSV_TYPES:
        return await request.body()
    if media == FORM_DATA:
        form = await request.form(max_files=1, max_fields=0)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await upload.read()
        raise ProblemError(
            422,
            "Your request is not valid",
            "The form has no `file` part.",
            type_="/problems/validation-error",
            errors=[FieldError(pointer="body.file", detail="Field required", code="missing")],
        )
    raise ProblemError(
        415,
        "Unsupported Media Type",
        "Send the file as multipart/form-data (a `file` part) or as text/csv.",
        type_="/problems/unsupported-media-type",
    )


@router.get(
    "/commitment-exports",
    operation_id="export_commitments",
    summary="Export sources, policy areas, commitments and targets as CSV",
    tags=["import and export"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                CSV: {"schema": {"type": "string"}, "example": ",".join(transfer.COLUMNS) + "\r\n"}
            }
        }
    },
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
