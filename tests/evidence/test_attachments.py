"""Attachments: streamed in and out, judged by content, stored by hash, never left orphaned."""

from __future__ import annotations

import asyncio
import hashlib
import resource
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from evidence.blobs import LocalBlobStore
from evidence.models import Attachment
from tests.evidence.helpers import (
    ELF,
    MACHO,
    MIB,
    PE,
    PROBLEM,
    docm,
    docx,
    make_call,
    odt,
    odt_with,
    pdf,
    post,
    publish,
    received,
    submission,
    submitter,
    upload,
    xlsx,
    zip_labelled_pdf,
)


def _staged(blobs: LocalBlobStore) -> list[Path]:
    return [p for p in blobs.files() if p.parent.name == "staging"]


def _multipart(boundary: str, filename: str) -> tuple[bytes, bytes]:
    """The framing around one part named `file`: what goes before its bytes, and after."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


async def test_upload_detect_download(client, issuer, moderator, make_commitments, blobs):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c], consent="publish")
    tag = uuid.uuid4().hex
    files = [
        ("report.pdf", pdf(tag), "application/pdf", "application/pdf"),
        (
            "evidence.docx",
            docx(tag),
            None,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "figures.xlsx",
            xlsx(tag),
            "application/octet-stream",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("notes.odt", odt(tag), None, "application/vnd.oasis.opendocument.text"),
        ("data.csv", f"trust,epr\nA,{tag}\n".encode(), "text/csv", "text/csv"),
        ("README.md", f"# Notes {tag}\n".encode(), None, "text/markdown"),
        ("plain.txt", f"Plain ✓ {tag}".encode(), "text/plain", "text/plain"),
    ]
    made = []
    for name, content, declared, expected in files:
        r = await upload(client, owner, s["id"], name, content, declared)
        assert r.status_code == 201, (name, r.text)
        a = r.json()
        assert a["media_type"] == expected, name
        assert a["sha256"] == hashlib.sha256(content).hexdigest()
        assert a["size_bytes"] == len(content)
        assert a["filename"] == name
        assert r.headers["location"] == a["url"]
        made.append((a, content))
    got = (await client.get(f"/v1/submissions/{s['id']}", headers=owner)).json()
    assert [a["id"] for a in got["attachments"]] == [a["id"] for a, _ in made]
    a, content = made[0]
    r = await client.get(a["url"], headers=owner)
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-length"] == str(len(content))
    assert r.headers["etag"] == f'"{a["sha256"]}"'
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith('attachment; filename="report.pdf"')
    assert "no-store" in r.headers["cache-control"]
    r = await client.get(a["url"], headers={**owner, "If-None-Match": f'"{a["sha256"]}"'})
    assert r.status_code == 304
    # Unpublished: invisible to anyone else; published: public.
    for auth in (None, submitter(issuer)):
        r = await client.get(a["url"], headers=auth or {})
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM
    await publish(client, moderator, s["id"])
    r = await client.get(a["url"])
    assert r.status_code == 200
    assert r.content == content
    assert [x["id"] for x in (await client.get(f"/v1/submissions/{s['id']}")).json()["attachments"]]
    assert not _staged(blobs)


async def test_filenames_are_made_safe(client, issuer, make_commitments):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    r = await upload(client, owner, s["id"], '../../etc/pa"ss\r\nwd ünï.txt', b"hello")
    assert r.status_code == 201, r.text
    name = r.json()["filename"]
    assert "/" not in name
    assert '"' not in name
    assert "\n" not in name
    assert name.endswith(".txt")
    r = await client.get(r.json()["url"], headers=owner)
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''" in disposition


async def test_same_content_is_stored_once(client, issuer, make_commitments, blobs):
    [c] = await make_commitments()
    content = pdf(uuid.uuid4().hex)
    digest = hashlib.sha256(content).hexdigest()
    for _ in range(2):
        owner = submitter(issuer)
        s = await received(client, owner, [c])
        assert (await upload(client, owner, s["id"], "a.pdf", content)).status_code == 201
    assert len([p for p in blobs.files() if p.name == digest]) == 1
    # Twice on one submission is refused.
    r = await upload(client, owner, s["id"], "again.pdf", content)
    assert r.status_code == 409


async def test_bad_uploads_are_refused_and_leave_nothing(
    client, issuer, moderator, make_commitments, blobs
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    small = await make_call(
        client,
        moderator,
        [c],
        max_attachment_bytes=1000,
        max_attachments=1,
        allowed_media_types=["application/pdf"],
    )
    s = await received(client, owner, [c], call_id=small["id"])
    before = blobs.files()
    cases = [
        (413, "/problems/attachment-too-large", "big.pdf", pdf("x" * 2000), None),
        (415, "/problems/unsupported-attachment-type", "data.csv", b"a,b\n1,2\n", "text/csv"),
        (415, "/problems/executable-attachment", "report.pdf", ELF, "application/pdf"),
        (415, "/problems/executable-attachment", "report.pdf", PE, None),
        (415, "/problems/executable-attachment", "report.docx", MACHO, None),
        (415, "/problems/executable-attachment", "macro.docx", docm(), None),
        (415, "/problems/unsupported-attachment-type", "blob.pdf", b"\x00\x01\x02\xff", None),
        # A ZIP's own labels are not believed: a program inside, or a `mimetype` entry naming
        # a type the parts are not.
        (415, "/problems/executable-attachment", "report.pdf", zip_labelled_pdf(PE), None),
        (415, "/problems/executable-attachment", "notes.odt", odt_with("run.exe", b"x"), None),
        (415, "/problems/unsupported-attachment-type", "r.pdf", zip_labelled_pdf(b"hi"), None),
        (422, None, "empty.pdf", b"", None),
    ]
    for status, type_, name, content, declared in cases:
        r = await upload(client, owner, s["id"], name, content, declared)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == PROBLEM
        if type_:
            assert r.json()["type"] == type_, (name, r.json())
    # A declared type that contradicts the content (a DOCX sent as a PDF).
    other = await received(client, owner, [c])
    r = await upload(client, owner, other["id"], "x.pdf", docx(), "application/pdf")
    assert r.status_code == 415
    assert r.json()["type"] == "/problems/attachment-type-mismatch"
    # Not multipart, malformed multipart, a part with another name.
    url = f"/v1/submissions/{s['id']}/attachments"
    r = await client.post(url, content=pdf(), headers={**owner, "content-type": "application/pdf"})
    assert r.status_code == 415
    r = await client.post(
        url,
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF',
        headers={**owner, "content-type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/malformed-multipart"
    r = await client.post(url, files={"document": ("a.pdf", pdf())}, headers=owner)
    assert r.status_code == 422
    assert (await client.get(f"/v1/submissions/{s['id']}", headers=owner)).json()[
        "attachments"
    ] == []
    # Nothing was stored: no new blob, no staged file.
    assert blobs.files() == before
    # The call allows one file: a second is 409.
    assert (
        await upload(client, owner, s["id"], "ok.pdf", pdf(uuid.uuid4().hex))
    ).status_code == 201
    r = await upload(client, owner, s["id"], "two.pdf", pdf(uuid.uuid4().hex))
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/too-many-attachments"


async def test_only_the_submitter_attaches_and_only_while_received(
    client, issuer, moderator, make_commitments, blobs
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    before = blobs.files()
    r = await upload(client, submitter(issuer), s["id"], "a.pdf", pdf(uuid.uuid4().hex))
    assert r.status_code == 404
    r = await upload(client, moderator, s["id"], "a.pdf", pdf(uuid.uuid4().hex))
    assert r.status_code == 403  # a moderator token without evidence:submit
    r = await upload(client, owner, str(uuid.uuid4()), "a.pdf", pdf(uuid.uuid4().hex))
    assert r.status_code == 404
    await publish(client, moderator, s["id"])
    r = await upload(client, owner, s["id"], "late.pdf", pdf(uuid.uuid4().hex))
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/submission-locked"
    assert blobs.files() == before


UPLOAD_BYTES = 100 * MIB
# What the test allows the process's resident memory to grow by while a 100 MiB upload is
# refused at the default 25 MiB limit. Buffering the upload (or even just the part up to the
# limit) would grow it by at least 25 MiB; streaming holds a chunk or two (1 MiB each here).
RSS_GROWTH_BOUND = 16 * MIB


async def test_a_100_mb_upload_is_refused_with_flat_memory(client, issuer, make_commitments, blobs):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    boundary = "flatmemoryboundary"
    head, tail = _multipart(boundary, "big.txt")
    chunk = b"a" * MIB
    sent = 0

    async def body():
        nonlocal sent
        yield head
        for _ in range(UPLOAD_BYTES // MIB):
            sent += len(chunk)
            yield chunk
        yield tail

    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sampler.start()
    started = time.perf_counter()
    try:
        r = await client.post(
            f"/v1/submissions/{s['id']}/attachments",
            content=body(),
            headers={**owner, "content-type": f"multipart/form-data; boundary={boundary}"},
        )
    finally:
        done.set()
        sampler.join()
    elapsed = time.perf_counter() - started
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert r.status_code == 413, r.text
    assert r.json()["type"] == "/problems/attachment-too-large"
    assert r.headers["connection"] == "close"
    growth = peak - baseline
    print(
        f"\n100 MiB upload refused in {elapsed:.2f} s after {sent // MIB} MiB were sent; "
        f"RSS baseline {baseline / MIB:.1f} MiB, sampled peak {peak / MIB:.1f} MiB "
        f"(+{growth / MIB:.1f} MiB); ru_maxrss {maxrss_before / 1024:.1f} → "
        f"{maxrss_after / 1024:.1f} MiB"
    )
    # Refused the moment the limit was passed, not after reading everything.
    assert sent <= 27 * MIB
    assert growth < RSS_GROWTH_BOUND, f"RSS grew by {growth / MIB:.1f} MiB"
    assert not _staged(blobs)
    assert (await client.get(f"/v1/submissions/{s['id']}", headers=owner)).json()[
        "attachments"
    ] == []


@pytest.mark.parametrize("name", ["report.pdf", "evidence.docx"])
async def test_a_renamed_executable_is_refused_whatever_its_name(
    client, issuer, make_commitments, blobs, name
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    before = blobs.files()
    r = await upload(client, owner, s["id"], name, ELF + b"\x00" * 4096)
    assert r.status_code == 415
    assert r.json()["type"] == "/problems/executable-attachment"
    assert "ELF" in r.json()["detail"]
    assert blobs.files() == before


async def test_no_transaction_is_held_while_a_file_streams_in(client, issuer, make_commitments):
    # On SQLite a write transaction holds the database's one write lock: had the upload begun
    # one before streaming, the submission below would wait for the upload to finish.
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    boundary = "halfwayboundary"
    head, tail = _multipart(boundary, "notes.txt")
    halfway, resume = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield head
        yield b"The first half of the notes, "
        halfway.set()
        await resume.wait()
        yield b"and the second."
        yield tail

    uploading = asyncio.create_task(
        client.post(
            f"/v1/submissions/{s['id']}/attachments",
            content=body(),
            headers={**owner, "content-type": f"multipart/form-data; boundary={boundary}"},
        )
    )
    try:
        await asyncio.wait_for(halfway.wait(), 10)
        r = await asyncio.wait_for(post(client, owner, submission([c])), 10)
        assert r.status_code == 201, r.text
    finally:
        resume.set()
    r = await uploading
    assert r.status_code == 201, r.text
    assert r.json()["size_bytes"] == len(b"The first half of the notes, and the second.")


@pytest.fixture
def failing_commit_of_attachments() -> Iterator[None]:
    """Every commit that would store an attachment fails, as if the database went away."""

    def note(session: Session, _context: Any) -> None:
        if any(isinstance(row, Attachment) for row in session.new):
            session.info["attaching"] = True

    def fail(session: Session) -> None:
        if session.info.pop("attaching", False):
            raise OperationalError("COMMIT", {}, Exception("the database went away"))

    event.listen(Session, "after_flush", note)
    event.listen(Session, "before_commit", fail)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", fail)
        event.remove(Session, "after_flush", note)


@pytest.mark.usefixtures("client", "failing_commit_of_attachments")
async def test_a_failed_commit_leaves_no_blob_behind(
    evidence_app: FastAPI, issuer: Any, make_commitments: Any, blobs: LocalBlobStore
) -> None:
    [c] = await make_commitments()
    owner = submitter(issuer)
    transport = httpx.ASGITransport(app=evidence_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        s = await received(raw, owner, [c])
        content = pdf(uuid.uuid4().hex)
        before = blobs.files()
        r = await upload(raw, owner, s["id"], "report.pdf", content)
        assert r.status_code == 500, r.text
        assert r.headers["content-type"] == PROBLEM
        # The blob was moved into place before the commit; it is gone again, and so is the
        # staged file.
        assert blobs.files() == before
        got = await raw.get(f"/v1/submissions/{s['id']}", headers=owner)
        assert got.json()["attachments"] == []
