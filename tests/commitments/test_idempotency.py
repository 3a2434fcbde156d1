"""Every create of the commitments service honours `Idempotency-Key` (readings: test_progress)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from servicekit.mediatypes import PROBLEM
from tests.commitments.helpers import area_and_source, commitment, ref, target_body


@dataclass
class Create:
    """One create to send twice: where, what, a different body, and the list that counts it."""

    path: str
    body: dict[str, Any]
    changed: dict[str, Any]
    list_path: str
    list_params: dict[str, str] = field(default_factory=dict)


Family = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[Create]]


async def _source(_client: httpx.AsyncClient, _writer: dict[str, str]) -> Create:
    body = {"reference": ref("src"), "title": "Plan", "publisher": "DHSC", "kind": "plan"}
    return Create(
        "/v1/sources",
        body,
        {**body, "title": "Another plan"},
        "/v1/sources",
        {"reference": body["reference"]},
    )


async def _policy_area(_client: httpx.AsyncClient, _writer: dict[str, str]) -> Create:
    body = {"slug": ref("area").lower(), "name": "Area"}
    return Create(
        "/v1/policy-areas",
        body,
        {**body, "name": "Other"},
        "/v1/policy-areas",
        {"slug": body["slug"]},
    )


async def _commitment(client: httpx.AsyncClient, writer: dict[str, str]) -> Create:
    area, source = await area_and_source(client, writer)
    body = {
        "reference": ref("C"),
        "title": "A commitment",
        "text": "We will do a thing.",
        "policy_area_id": area["id"],
        "source_id": source["id"],
    }
    return Create(
        "/v1/commitments",
        body,
        {**body, "title": "Another commitment"},
        "/v1/commitments",
        {"reference": body["reference"]},
    )


async def _target(client: httpx.AsyncClient, writer: dict[str, str]) -> Create:
    c = await commitment(client, writer)
    body = target_body()
    path = f"/v1/commitments/{c['id']}/targets"
    return Create(path, body, {**body, "target_value": 90}, path)


async def _lineage_link(client: httpx.AsyncClient, writer: dict[str, str]) -> Create:
    whole = await commitment(client, writer)
    shared = {"policy_area_id": whole["policy_area_id"], "source_id": whole["source_id"]}
    part = await commitment(client, writer, **shared)
    body = {"kind": "split_into", "successor_id": part["id"], "reason": "Split in two."}
    path = f"/v1/commitments/{whole['id']}/lineage-links"
    return Create(path, body, {**body, "reason": "Split in three."}, path)


FAMILIES: dict[str, Family] = {
    "source": _source,
    "policy_area": _policy_area,
    "commitment": _commitment,
    "target": _target,
    "lineage_link": _lineage_link,
}


async def _count(client: httpx.AsyncClient, create: Create) -> int:
    r = await client.get(create.list_path, params=create.list_params)
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_a_retry_with_the_same_key_replays_the_create(client, writer, family):
    create = await FAMILIES[family](client, writer)
    before = await _count(client, create)
    headers = {**writer, "Idempotency-Key": str(uuid.uuid4())}
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
async def test_the_same_key_with_another_body_is_422(client, writer, family):
    create = await FAMILIES[family](client, writer)
    before = await _count(client, create)
    headers = {**writer, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(create.path, json=create.body, headers=headers)
    assert first.status_code == 201, first.text
    r = await client.post(create.path, json=create.changed, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert r.json()["errors"][0]["pointer"] == "header.Idempotency-Key"
    assert await _count(client, create) == before + 1


async def test_every_create_declares_the_key(client):
    doc = (await client.get("/openapi.json")).json()
    for path in (
        "/v1/sources",
        "/v1/policy-areas",
        "/v1/commitments",
        "/v1/commitments/{id}/targets",
        "/v1/commitments/{id}/lineage-links",
        "/v1/targets/{id}/readings",
    ):
        op = doc["paths"][path]["post"]
        assert "Idempotency-Key" in [p["name"] for p in op.get("parameters", [])], path
        assert "Idempotent-Replayed" in op["responses"]["201"]["headers"], path
