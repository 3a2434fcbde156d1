"""Attachment types are decided from the bytes (puremagic plus the ZIP structure checks), and the
declared type must agree with them (#19): real file headers, each accepted or refused."""

from __future__ import annotations

import struct
import zlib

import pytest

from evidence.media import library_matches
from tests.evidence.helpers import PE, docx, odt, received, submitter, upload

# A PDF as writers save it: the header, then a comment of high bytes marking it binary.
BINARY_PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"


def png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_the_library_reads_the_headers_it_is_trusted_with():
    assert library_matches(BINARY_PDF)[0].mime_type == "application/pdf"
    assert library_matches(png())[0].mime_type == "image/png"
    assert any(m.extension == ".exe" for m in library_matches(PE))
    assert library_matches(b"id,name\n1,a\n") == []


@pytest.mark.parametrize(
    ("filename", "content", "declared", "media_type"),
    [
        ("report.pdf", BINARY_PDF, "application/pdf", "application/pdf"),
        ("report", BINARY_PDF, "application/octet-stream", "application/pdf"),
        (
            "response.docx",
            docx("<w>evidence</w>"),
            None,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("response.odt", odt("<office/>"), None, "application/vnd.oasis.opendocument.text"),
        ("figures.csv", b"trust,coverage\nLeeds,0.92\n", "text/csv", "text/csv"),
        ("notes.txt", "Café notes, UTF-8.\n".encode(), "text/plain", "text/plain"),
    ],
)
async def test_documents_are_recognised_by_their_bytes(
    client, issuer, make_commitments, filename, content, declared, media_type
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    r = await upload(client, owner, s["id"], filename, content, declared)
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == media_type


async def test_a_png_is_named_by_its_bytes_and_refused_as_not_allowed(
    client, issuer, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    for declared in ("image/png", "application/pdf"):
        r = await upload(client, owner, s["id"], "chart.pdf", png(), declared)
        assert r.status_code == 415
        assert r.json()["type"] == "/problems/unsupported-attachment-type"
        assert "image/png" in r.json()["detail"]


async def test_a_declared_type_that_disagrees_with_the_bytes_is_refused(
    client, issuer, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    for declared in ("image/png", "application/zip", "text/plain"):
        r = await upload(client, owner, s["id"], "report.pdf", BINARY_PDF, declared)
        assert r.status_code == 415, declared
        assert r.json()["type"] == "/problems/attachment-type-mismatch"
        assert "application/pdf" in r.json()["detail"]


@pytest.mark.parametrize("name", ["minutes.pdf", "figures.csv", "report.docx"])
async def test_a_windows_program_renamed_is_refused(client, issuer, make_commitments, name):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    r = await upload(client, owner, s["id"], name, PE + b"\x00" * 2048, "application/pdf")
    assert r.status_code == 415
    assert r.json()["type"] == "/problems/executable-attachment"
