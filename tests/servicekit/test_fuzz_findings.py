"""What the contract fuzzing found, each pinned by a test that tries it again (#19): numbers
read as timestamps, integers read as booleans, and the document's links and NUL-free strings."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from commitments.config import Settings
from commitments.main import create_app
from gateway.webhooks.schemas import SubscriptionUpdate
from servicekit.auth import TokenVerifier
from servicekit.openapi import add_links
from servicekit.schemas import NO_NUL, InputModel
from tests.conftest import serve
from tests.support.databases import migrated_database
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="module")
async def app(issuer: TestIssuer, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    url = await asyncio.to_thread(
        migrated_database, "commitments", tmp_path_factory.mktemp("fuzz-findings")
    )
    return create_app(
        Settings(database_url=url, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(app):
        yield c


class _Dated(InputModel):
    on: dt.date | None = None
    at: dt.datetime | None = None


@pytest.mark.parametrize("value", [0, 1.5, "0", "1700000000", " 12.5 ", True])
def test_a_number_is_not_a_date_in_a_body(value: Any) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        _Dated(on=value)
    with pytest.raises(ValidationError, match="ISO 8601"):
        _Dated(at=value)


def test_iso_dates_still_pass_in_a_body() -> None:
    got = _Dated(on="2026-04-01", at="2026-04-01T09:30:00Z")
    assert got.on == dt.date(2026, 4, 1)
    assert got.at == dt.datetime(2026, 4, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("value", ["0", "0.5", "1700000000"])
async def test_a_number_is_not_a_date_in_a_query(client, value: str) -> None:
    r = await client.get("/v1/commitments", params={"due_before": value})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["pointer"] == "query.due_before"
    ok = await client.get("/v1/commitments", params={"due_before": "2026-04-01"})
    assert ok.status_code == 200, ok.text


async def test_a_number_is_not_a_date_in_a_patch(client, issuer) -> None:
    writer = issuer.auth("commitments:write")
    r = await client.post(
        "/v1/sources",
        json={
            "reference": f"S-{uuid.uuid4().hex[:8]}",
            "title": "T",
            "publisher": "P",
            "kind": "plan",
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/sources/{r.json()['id']}",
        json={"published_on": 0},
        headers={
            **writer,
            "content-type": "application/merge-patch+json",
            "If-Match": r.headers["etag"],
        },
    )
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("value", [0, 1, "true", "yes"])
def test_only_true_and_false_are_booleans(value: Any) -> None:
    with pytest.raises(ValidationError):
        SubscriptionUpdate.model_validate({"active": value})
    assert SubscriptionUpdate.model_validate({"active": False}).active is False


async def test_every_input_string_says_it_holds_no_nul(client) -> None:
    doc = (await client.get("/openapi.json")).json()
    create = doc["components"]["schemas"]["CommitmentCreate"]["properties"]
    assert create["lead_bodies"]["items"]["pattern"] == NO_NUL
    assert create["title"]["pattern"] == NO_NUL
    params = {p["name"]: p for p in doc["paths"]["/v1/commitments"]["get"]["parameters"]}
    assert params["q"]["schema"]["anyOf"][0]["pattern"] == NO_NUL


async def test_a_create_links_to_what_can_be_done_with_what_it_made(client) -> None:
    doc = (await client.get("/openapi.json")).json()
    links = doc["paths"]["/v1/commitments"]["post"]["responses"]["201"]["links"]
    assert links["get_commitment"]["parameters"] == {"path.id": "$response.body#/id"}
    assert links["update_commitment"]["parameters"] == {
        "path.id": "$response.body#/id",
        "header.If-Match": "$response.header.ETag",
    }
    # A nested create links to the created resource's own home.
    target = doc["paths"]["/v1/commitments/{id}/targets"]["post"]["responses"]["201"]["links"]
    assert target["get_target"]["parameters"] == {"path.id": "$response.body#/id"}
    # A read links to the updates of the same resource, its ETag into If-Match.
    read = doc["paths"]["/v1/commitments/{id}"]["get"]["responses"]["200"]["links"]
    assert read["update_commitment"]["parameters"]["header.If-Match"] == "$response.header.ETag"
    every = {op["operationId"] for item in doc["paths"].values() for op in item.values()}
    for item in doc["paths"].values():
        for op in item.values():
            for resp in op["responses"].values():
                assert {link["operationId"] for link in resp.get("links", {}).values()} <= every


def test_links_name_only_operations_in_the_document() -> None:
    doc: dict[str, Any] = {
        "paths": {
            "/v1/things": {
                "post": {
                    "operationId": "create_thing",
                    "responses": {
                        "201": {"content": {"application/json": {"schema": {"$ref": "#/c"}}}}
                    },
                }
            },
            "/v1/things/{id}": {"get": {"operationId": "get_thing", "responses": {}}},
        },
        "components": {"schemas": {}},
    }
    doc["paths"]["/v1/things"]["post"]["responses"]["201"]["content"]["application/json"][
        "schema"
    ] = {"properties": {"id": {}}}
    add_links(doc)
    links = doc["paths"]["/v1/things"]["post"]["responses"]["201"]["links"]
    assert set(links) == {"get_thing"}
    del doc["paths"]["/v1/things/{id}"]
    add_links(doc)
    assert "links" not in doc["paths"]["/v1/things"]["post"]["responses"]["201"]
