"""Every create of the ratings service honours `Idempotency-Key`: evaluations and responses.

(Ratings are `PUT`, transitions are steps on an existing evaluation: neither creates by POST.)
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.ratings.helpers import PROBLEM, Auth, G, Json, evaluation, published


@dataclass
class Create:
    """One create to send twice (as `auth`), a different body, and the list that counts it."""

    path: str
    body: Json
    changed: Json
    auth: Auth
    list_path: str
    list_params: dict[str, Any] = field(default_factory=dict)


Family = Callable[..., Awaitable[Create]]


async def _evaluation(client, writer, _publisher, _respondent, commitments, cwriter) -> Create:
    # A first evaluation of the commitments proves the read model knows them.
    _, ids = await evaluation(client, writer, commitments, cwriter)
    body = {"title": "Evaluation", "body": "Expert Panel", "commitment_ids": ids}
    return Create(
        "/v1/evaluations",
        body,
        {**body, "title": "Another evaluation"},
        writer,
        "/v1/evaluations",
        {"commitment_id": ids[0]},
    )


async def _response(client, writer, publisher, respondent, commitments, cwriter) -> Create:
    ev, _ = await published(client, writer, publisher, commitments, cwriter, [(G, G, G, G)])
    path = f"/v1/evaluations/{ev['id']}/responses"
    body = {"position": "accepts", "text": "We accept the rating.", "received_on": "2023-04-17"}
    return Create(path, body, {**body, "position": "disputes"}, respondent, path)


FAMILIES: dict[str, Family] = {"evaluation": _evaluation, "response": _response}


async def _count(client: httpx.AsyncClient, create: Create) -> int:
    r = await client.get(create.list_path, params=create.list_params, headers=create.auth)
    assert r.status_code == 200, r.text
    return len(r.json()["items"])


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_a_retry_with_the_same_key_replays_the_create(
    client, writer, publisher, respondent, commitments, cwriter, family
):
    create = await FAMILIES[family](client, writer, publisher, respondent, commitments, cwriter)
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
    assert again.headers["etag"] == first.headers["etag"]
    assert await _count(client, create) == before + 1


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_the_same_key_with_another_body_is_422(
    client, writer, publisher, respondent, commitments, cwriter, family
):
    create = await FAMILIES[family](client, writer, publisher, respondent, commitments, cwriter)
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


async def test_every_create_declares_the_key(client):
    doc = (await client.get("/openapi.json")).json()
    for path in ("/v1/evaluations", "/v1/evaluations/{id}/responses"):
        op = doc["paths"][path]["post"]
        assert "Idempotency-Key" in [p["name"] for p in op.get("parameters", [])], path
        assert "Idempotent-Replayed" in op["responses"]["201"]["headers"], path
