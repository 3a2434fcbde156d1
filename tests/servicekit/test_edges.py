"""The edges every service shares, tried on the commitments service as a client meets them:
tokens, query parameters, page sizes, request ids and the feed's pages."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from commitments.config import Settings
from commitments.main import create_app
from commitments.models import Event
from servicekit.auth import TokenVerifier
from servicekit.outbox import record_event
from servicekit.pagination import PAGE_SIZE_MAX
from tests.conftest import serve
from tests.support.databases import migrated_database
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="module")
async def app(issuer: TestIssuer, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    # A database of its own: these tests write made-up event types into the feed, which the
    # other packages' gateways (reading the session's shared commitments feed) must not import.
    url = await asyncio.to_thread(
        migrated_database, "commitments", tmp_path_factory.mktemp("edges")
    )
    return create_app(
        Settings(database_url=url, log_json=False),
        token_verifier=TokenVerifier(issuer.settings()),
    )


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in serve(app):
        yield c


async def test_a_present_but_invalid_token_is_401_on_a_public_read(client, issuer):
    expired = issuer.auth("commitments:write", ttl=-60)
    r = await client.get("/v1/sources", headers=expired)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_garbage_token_is_401_on_a_public_read(client):
    r = await client.get("/v1/sources", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401, r.text


async def test_no_token_reads_public_data(client):
    assert (await client.get("/v1/sources")).status_code == 200


async def test_an_unknown_query_parameter_is_400_naming_it(client):
    r = await client.get("/v1/commitments", params={"pagesize": 5})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["type"] == "/problems/unknown-query-parameter"
    assert [e["pointer"] for e in problem["errors"]] == ["query.pagesize"]
    assert "page_size" in problem["detail"]


async def test_declared_query_parameters_pass(client):
    r = await client.get("/v1/commitments", params={"page_size": 5, "status": "in_progress"})
    assert r.status_code == 200, r.text


async def test_page_size_above_the_cap_is_422_and_the_cap_is_in_the_schema(client):
    r = await client.get("/v1/sources", params={"page_size": PAGE_SIZE_MAX + 1})
    assert r.status_code == 422, r.text
    assert (await client.get("/v1/sources", params={"page_size": PAGE_SIZE_MAX})).status_code == 200
    doc = (await client.get("/openapi.json")).json()
    params = doc["paths"]["/v1/sources"]["get"]["parameters"]
    size = next(p for p in params if p["name"] == "page_size")
    assert size["schema"]["anyOf"][0]["maximum"] == PAGE_SIZE_MAX


@pytest.mark.parametrize("rid", ["integrator-probe-0001", "a" * 128, "x:y.z_1-2"])
async def test_a_well_formed_request_id_is_echoed(client, rid):
    r = await client.get("/healthz", headers={"X-Request-ID": rid})
    assert r.headers["x-request-id"] == rid


@pytest.mark.parametrize("rid", ["a" * 129, "has space", "semi;colon", "caf\u00e9"])
async def test_a_malformed_request_id_is_replaced(client, rid):
    r = await client.get("/healthz", headers=[(b"X-Request-ID", rid.encode("latin-1"))])
    echoed = r.headers["x-request-id"]
    assert echoed != rid
    assert len(echoed) == 32  # a fresh uuid4, hex


async def _positioned(maker: async_sessionmaker[AsyncSession], ids: set[uuid.UUID]) -> bool:
    async with maker() as session:
        n = await session.scalar(
            select(func.count()).where(Event.resource_id.in_(ids), Event.position.is_not(None))
        )
    return n == len(ids)


async def test_the_feed_fills_every_page_for_an_anonymous_reader(app, client, issuer):
    """Private events between and after public ones: an anonymous reader's pages are full until
    the head and the first empty page means up to date, with nothing left behind."""
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    start = await _head(client, issuer)
    ids: set[uuid.UUID] = set()
    public: list[uuid.UUID] = []
    async with maker() as session, session.begin():
        # 3 public, each after 4 private ones; then 5 private at the end.
        for i in range(3):
            for _ in range(4):
                ids.add(_record(session, public=False))
            rid = _record(session, public=True, n=i)
            ids.add(rid)
            public.append(rid)
        for _ in range(5):
            ids.add(_record(session, public=False))
    for _ in range(500):
        if await _positioned(maker, ids):
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the sequencer did not position the events")

    first = (await client.get("/v1/events", params={"after": start, "limit": 2})).json()
    assert [e["resource_id"] for e in first["items"]] == [str(r) for r in public[:2]]
    second = (
        await client.get("/v1/events", params={"after": first["next_after"], "limit": 2})
    ).json()
    assert [e["resource_id"] for e in second["items"]] == [str(public[2])]
    # Short page: resume from the head, past the private events at the end.
    assert second["next_after"] == await _head(client, issuer)
    third = (
        await client.get("/v1/events", params={"after": second["next_after"], "limit": 2})
    ).json()
    assert third == {"items": [], "next_after": second["next_after"]}


async def test_an_internal_reader_sees_every_event(app, client, issuer):
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    start = await _head(client, issuer)
    async with maker() as session, session.begin():
        ids = [_record(session, public=False), _record(session, public=True)]
    for _ in range(500):
        if await _positioned(maker, set(ids)):
            break
        await asyncio.sleep(0.01)
    internal = issuer.auth("events:internal")
    page = (
        await client.get("/v1/events", params={"after": start, "limit": 10}, headers=internal)
    ).json()
    assert [e["resource_id"] for e in page["items"]] == [str(i) for i in ids]
    assert [e["public"] for e in page["items"]] == [False, True]


def _record(session: AsyncSession, *, public: bool, n: int = 0) -> uuid.UUID:
    rid = uuid.uuid4()
    record_event(session, Event, "test.happened", "test", rid, {"n": n}, public=public)
    return rid


async def _head(client: httpx.AsyncClient, issuer: TestIssuer) -> int:
    """The feed's head, as an internal reader finds it (reading to the end)."""
    internal = issuer.auth("events:internal")
    after = 0
    while True:
        page = (
            await client.get("/v1/events", params={"after": after, "limit": 1000}, headers=internal)
        ).json()
        if not page["items"]:
            return after
        after = page["next_after"]


@pytest.mark.parametrize(
    ("path", "params", "pointer"),
    [
        ("/v1/commitments", {"q": "care\x00"}, "query.q"),
        ("/v1/sources", {"reference": "\x00"}, "query.reference"),
    ],
)
async def test_a_nul_in_a_query_parameter_is_422(client, path, params, pointer):
    """PostgreSQL text cannot hold U+0000: refused before any query runs (it was a 500)."""
    r = await client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == [pointer]


async def test_a_nul_in_a_path_parameter_is_422(client):
    r = await client.get("/v1/sources/%00")
    assert r.status_code == 422, r.text


async def test_a_nul_in_an_import_reason_is_422(client, issuer):
    writer = issuer.auth("commitments:write")
    r = await client.post(
        "/v1/commitment-imports",
        params={"reason": "x\x00"},
        content=b"record\n",
        headers={**writer, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["query.reason"]


async def test_headers_past_16_kib_are_431(client):
    r = await client.get("/v1/sources", headers={"X-Padding": "a" * (17 * 1024)})
    assert r.status_code == 431, r.text
    assert r.json()["type"] == "/problems/headers-too-large"


async def test_more_than_100_header_fields_are_431(client):
    headers = [(f"x-h{i}".encode(), b"1") for i in range(101)]
    r = await client.get("/v1/sources", headers=headers)
    assert r.status_code == 431, r.text


async def test_headers_within_the_limits_pass(client):
    headers = [(f"x-h{i}".encode(), b"1") for i in range(80)] + [(b"x-pad", b"a" * 8000)]
    assert (await client.get("/v1/sources", headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/sources", "GET, POST"),
        ("PUT", "/v1/commitments", "GET, POST"),
        ("POST", "/v1/sources/0192f7a4-5c00-7000-8000-000000000001", "GET, PATCH"),
    ],
)
async def test_a_405_lists_every_method_the_path_answers(client, method, path, allow):
    r = await client.request(method, path)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    assert r.json()["type"] == "/problems/method-not-allowed"
