"""Shared helpers of the evidence tests: bodies, tokens, moderation steps, sample files."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from servicekit.mediatypes import PROBLEM
from tests.support.tokens import TestIssuer

__all__ = ["PROBLEM"]

MIB = 1024 * 1024
# Request headers (a token), and a JSON object read back.
Auth = dict[str, str]
Json = dict[str, Any]


def submission(commitment_ids: list[str], **over: Any) -> Json:
    return {
        "commitment_ids": commitment_ids,
        "kind": "written",
        "title": "Evidence on EPR coverage",
        "summary": "Coverage is improving.",
        "body": "Most acute trusts now have an electronic patient record.",
        "stance": "mixed",
        "consent": "publish",
        **over,
    }


def submitter(
    issuer: TestIssuer, name: str | None = None, org: str = "Ashby Care Partnership (fictional)"
) -> Auth:
    return issuer.auth(
        "evidence:submit", client_id=name or f"stakeholder-{uuid.uuid4().hex[:8]}", org=org
    )


async def post(
    client: httpx.AsyncClient, auth: Auth, body: Json, key: str | None = None
) -> httpx.Response:
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return await client.post("/v1/submissions", json=body, headers=headers)


async def listed(client: httpx.AsyncClient, auth: Auth | None, **params: Any) -> list[Json]:
    r = await client.get("/v1/submissions", params=params, headers=auth or {})
    assert r.status_code == 200, r.text
    items: list[Json] = r.json()["items"]
    return items


def at(days: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def call_body(commitment_ids: list[str], **over: Any) -> Json:
    return {
        "title": "Digitisation commitments: written evidence",
        "description": "Tell the panel how delivery is going.",
        "commitment_ids": commitment_ids,
        "opens_at": at(-1),
        "closes_at": at(30),
        "reference_prefix": "DIG",
        **over,
    }


async def make_call(
    client: httpx.AsyncClient, moderator: Auth, commitment_ids: list[str], **over: Any
) -> Json:
    r = await client.post(
        "/v1/calls-for-evidence", json=call_body(commitment_ids, **over), headers=moderator
    )
    assert r.status_code == 201, r.text
    call: Json = r.json()
    return call


async def decide(
    client: httpx.AsyncClient, moderator: Auth, ident: str, action: str, reason: str = "Reason."
) -> httpx.Response:
    return await client.post(
        f"/v1/submissions/{ident}/decisions",
        json={"action": action, "reason": reason},
        headers=moderator,
    )


async def publish(client: httpx.AsyncClient, moderator: Auth, ident: str) -> Json:
    for action in ("accept", "publish"):
        r = await decide(client, moderator, ident, action)
        assert r.status_code == 201, r.text
    decision: Json = r.json()
    return decision


async def received(
    client: httpx.AsyncClient, auth: Auth, commitment_ids: list[str], **over: Any
) -> Json:
    r = await post(client, auth, submission(commitment_ids, **over))
    assert r.status_code == 201, r.text
    receipt: Json = r.json()
    return receipt


# --- sample files ------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def pdf(tag: str = "") -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\n% " + tag.encode() + b"\ntrailer <<>>\n%%EOF\n"


def docx(tag: str = "") -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": tag.encode() or b"<w/>"})


def docm(tag: str = "") -> bytes:
    return _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": tag.encode() or b"<w/>",
            "word/vbaProject.bin": b"\x00macro",
        }
    )


def xlsx(tag: str = "") -> bytes:
    return _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": tag.encode() or b"<x/>"})


def odt(tag: str = "") -> bytes:
    return _zip(
        {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": tag.encode()}
    )


def zip_labelled_pdf(inner: bytes) -> bytes:
    """A ZIP whose `mimetype` entry claims PDF, holding `inner`."""
    return _zip({"mimetype": b"application/pdf", "report.pdf": inner})


def odt_with(name: str, data: bytes) -> bytes:
    """An OpenDocument text with an extra part."""
    return _zip(
        {
            "mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": b"<office/>",
            name: data,
        }
    )


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x3e\x00"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 24


async def upload(
    client: httpx.AsyncClient,
    auth: Auth,
    ident: str,
    filename: str,
    content: bytes,
    content_type: str | None = None,
) -> httpx.Response:
    part: tuple[str, bytes] | tuple[str, bytes, str]
    part = (filename, content, content_type) if content_type else (filename, content)
    return await client.post(
        f"/v1/submissions/{ident}/attachments", files={"file": part}, headers=auth
    )
