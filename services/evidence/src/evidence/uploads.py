"""Receiving an attachment: a `multipart/form-data` body streamed to disk, never held in memory.

The body is read chunk by chunk from the ASGI stream (`request.stream()`, not `request.form()`,
which would spool every part before we could count it) and fed to python-multipart's push
parser. The one part allowed, `file`, is written to a staged file in the blob store's staging
folder while it is hashed (SHA-256), counted and sniffed. The moment the count passes the limit
the upload is refused with 413 and the staged file removed; the same happens on any other
failure (a malformed body, a client that goes away). Memory in use is a chunk or two, whatever
the size of the upload.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from evidence.media import Sniffer, safe_filename
from servicekit.problems import ProblemError, invalid

FILE_FIELD = "file"
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 4096


@dataclass
class StagedUpload:
    """A received file on local disk, not yet stored: its name, size, hash, and a look at it."""

    path: Path
    filename: str
    declared_media_type: str | None
    size: int
    sha256: str
    sniffer: Sniffer


def _malformed(detail: str) -> ProblemError:
    return ProblemError(400, "Malformed upload", detail, type_="/problems/malformed-multipart")


def too_large(limit: int) -> ProblemError:
    """413 for an attachment over its limit; the connection is closed rather than drained."""
    return ProblemError(
        413,
        "Content Too Large",
        f"The attachment exceeds the limit of {limit} bytes for this submission.",
        type_="/problems/attachment-too-large",
        headers={"Connection": "close"},
    )


class _Part:
    """The parser's callbacks: collect the part's headers and hand its data over per chunk."""

    def __init__(self) -> None:
        self.count = 0
        self.ended = False
        self.filename: str | None = None
        self.declared: str | None = None
        self.pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def on_part_begin(self) -> None:
        self.count += 1
        if self.count > 1:
            raise invalid(
                "body", f"Send exactly one part, named {FILE_FIELD!r}.", "unexpected_part"
            )
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or params.get(b"name") != FILE_FIELD.encode():
            raise invalid(
                "body", f"Send exactly one part, named {FILE_FIELD!r}.", "unexpected_part"
            )
        raw = params.get(b"filename")
        if raw is None:
            raise invalid("body.file", "The part has no filename.", "missing_filename")
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            name = raw.decode("latin-1")
        self.filename = safe_filename(name)
        declared = self._headers.get(b"content-type")
        self.declared = declared.decode("latin-1")[:255] if declared else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.pending.append(data[start:end])

    def on_end(self) -> None:
        self.ended = True


async def receive_upload(request: Request, staging_dir: Path, limit: int) -> StagedUpload:
    """Stream the request's one file part to a staged file; 413 as soon as it passes `limit`."""
    media, params = parse_options_header(request.headers.get("content-type"))
    boundary = params.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise ProblemError(
            415,
            "Unsupported Media Type",
            f"Send the file as multipart/form-data with one part named {FILE_FIELD!r}.",
            type_="/problems/unsupported-media-type",
        )
    part = _Part()
    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": part.on_part_begin,
            "on_header_field": part.on_header_field,
            "on_header_value": part.on_header_value,
            "on_header_end": part.on_header_end,
            "on_headers_finished": part.on_headers_finished,
            "on_part_data": part.on_part_data,
            "on_end": part.on_end,
        },
        max_header_count=MAX_PART_HEADERS,
        max_header_size=MAX_PART_HEADER_BYTES,
    )
    await anyio.Path(staging_dir).mkdir(parents=True, exist_ok=True)
    path = staging_dir / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    sniffer = Sniffer()
    size = 0
    try:
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in request.stream():
                try:
                    parser.write(chunk)
                except MultipartParseError as exc:
                    raise _malformed(f"The multipart body is malformed: {exc}.") from None
                for piece in part.pending:
                    size += len(piece)
                    if size > limit:
                        raise too_large(limit)
                    digest.update(piece)
                    sniffer.feed(piece)
                    await out.write(piece)
                part.pending.clear()
        parser.finalize()
        if not part.ended:
            raise _malformed("The multipart body ended before its closing boundary.")
        if part.filename is None:
            raise invalid("body.file", f"No part named {FILE_FIELD!r} was sent.", "missing")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedUpload(
        path=path,
        filename=part.filename,
        declared_media_type=part.declared,
        size=size,
        sha256=digest.hexdigest(),
        sniffer=sniffer,
    )
