"""Every create of the evidence service honours `Idempotency-Key` (submissions: test_api).

Attachments are the exception: an upload is streamed to disk, so it takes no key.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.evidence.helpers import PROBLEM, Auth, Json, call_body, received, submitter
from tests.support.tokens import TestIssuer


@dataclass
class Create:
    """One create to send twice (as `auth`), a different body, and the list that counts it."""

    path: str
    body: Json
    changed: Json
    auth: Auth
    list_path: str
    list_params: dict[str, Any] = field(default_factory=dict)


Family = Callable[[httpx.AsyncClient, TestIssuer, Auth, str], Awaitable[Create]]


async def _call(
    _client: httpx.AsyncClient, _issuer: TestIssuer, moderator: Auth, commitment: str
) -> Create:
    body = call_body([commitment])
    return Create(
        "/v1/calls-for-evidence",
        body,
        {**body, "title": "Another call"},
        moderator,
        "/v1/calls-for-evidence",
        {"commitment_id": commitment},
    )


async def _decision(
    client: httpx.AsyncClient, issuer: TestIssuer, moderator: Auth, commitment: str
) -> Create:
    s = await received(client, submitter(issuer), [commitment])
    path = f"/v1/submissions/{s['id']}/decisions"
    return Create(
        path,
        {"action": "accept", "reason": "Relevant."},
        {"action": "reject", "reason": "Relevant."},
        moderator,
        path,
    )


async def _redaction(
    client: httpx.AsyncClient, issuer: TestIssuer, moderator: Auth, commitment: str
) -> Create:
    name = "Dr " + uuid.uuid4().hex[:8]
    s = await received(client, submitter(issuer), [commitment], body=f"{name} told us so.")
    path = f"/v1/submissions/{s['id']}/redactions"
    body = {"passage": name, "reason": "Names a member of staff."}
    return Create(path, body, {**body, "reason": "Names someone."}, moderator, path)


async def _withdrawal(
    client: httpx.AsyncClient, issuer: TestIssuer, _moderator: Auth, commitment: str
) -> Create:
    owner = submitter(issuer)
    s = await received(client, owner, [commitment])
    return Create(
        f"/v1/submissions/{s['id']}/withdrawal",
        {"reason": "Sent too early."},
        {"reason": "Sent by mistake."},
        owner,
        f"/v1/submissions/{s['id']}/decisions",
    )


FAMILIES: dict[str, Family] = {
    "call_for_evidence": _call,
    "decision": _decision,
    "redaction": _redaction,
    "withdrawal": _withdrawal,
}


async def _count(client: httpx.AsyncClient, create: Create) -> int:
    r = await client.get(create.list_path, params=create.list_params, headers=create.auth)
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_a_retry_with_the_same_key_replays_the_create(
    client, issuer, moderator, make_commitments, family
):
    [c] = await make_commitments()
    create = await FAMILIES[family](client, issuer, moderator, c)
    before = await _count(client, create)
    headers = {**create.auth, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(create.path, json=create.body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await client.post(create.path, json=create.body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers.get("etag") == first.headers.get("etag")
    assert await _count(client, create) == before + 1


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_the_same_key_with_another_body_is_422(
    client, issuer, moderator, make_commitments, family
):
    [c] = await make_commitments()
    create = await FAMILIES[family](client, issuer, moderator, c)
    before = await _count(client, create)
    headers = {**create.auth, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(create.path, json=create.body, headers=headers)
    assert first.status_code == 201, first.text
    r = await client.post(create.path, json=create.changed, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert r.json()["errors"][0]["pointer"] == "header.Idempotency-Key"
    assert await _count(client, create) == before + 1


async def test_every_create_but_the_upload_declares_the_key(client):
    doc = (await client.get("/openapi.json")).json()
    for path in (
        "/v1/submissions",
        "/v1/calls-for-evidence",
        "/v1/submissions/{id}/decisions",
        "/v1/submissions/{id}/redactions",
        "/v1/submissions/{id}/withdrawal",
    ):
        op = doc["paths"][path]["post"]
        assert "Idempotency-Key" in [p["name"] for p in op.get("parameters", [])], path
        assert "Idempotent-Replayed" in op["responses"]["201"]["headers"], path
    upload = doc["paths"]["/v1/submissions/{id}/attachments"]["post"]
    assert "Idempotency-Key" not in [p["name"] for p in upload.get("parameters", [])]
