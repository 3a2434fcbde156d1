"""Helpers shared by the ratings tests: commitments to rate, evaluations, ratings, publication."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

PROBLEM = "application/problem+json"
O, G, R, I = "outstanding", "good", "requires_improvement", "inadequate"  # noqa: E741
DIMS = ("commitment_met", "funding_and_resource", "impact", "appropriateness")
# The client the `writer` and `publisher` fixtures' tokens belong to, the chair's by default.
CHAIR_CLIENT = "panel-member"
DEFAULT_PANEL = [{"name": "A. Chair (fictional)", "role": "chair", "client_id": CHAIR_CLIENT}]
# Request headers (a token), and a JSON object read back.
Auth = dict[str, str]
Json = dict[str, Any]


def ref(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def levels(*codes: str) -> dict[str, str]:
    return dict(zip(DIMS, codes, strict=True))


async def make_area(commitments: httpx.AsyncClient, cw: Auth, name: str = "Area") -> str:
    r = await commitments.post(
        "/v1/policy-areas", json={"slug": ref("area").lower(), "name": name}, headers=cw
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_source(commitments: httpx.AsyncClient, cw: Auth) -> str:
    r = await commitments.post(
        "/v1/sources",
        json={"reference": ref("src"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=cw,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def make_commitments(
    commitments: httpx.AsyncClient,
    cw: Auth,
    n: int = 1,
    *,
    areas: list[str] | None = None,
    references: list[str] | None = None,
    titles: list[str] | None = None,
) -> list[str]:
    """n commitments (in one new area unless `areas` gives each one's area)."""
    source = await make_source(commitments, cw)
    if areas is None:
        areas = [await make_area(commitments, cw)] * n
    ids = []
    for i, area in enumerate(areas):
        r = await commitments.post(
            "/v1/commitments",
            json={
                "reference": references[i] if references else ref("C"),
                "title": titles[i] if titles else f"Commitment {i + 1}",
                "text": "We will do a thing.",
                "policy_area_id": area,
                "source_id": source,
            },
            headers=cw,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


async def create_evaluation(
    client: httpx.AsyncClient, writer: Auth, commitment_ids: list[str] | None, **over: Any
) -> httpx.Response:
    """Create an evaluation, waiting (bounded) for the read model to learn the commitments."""
    body: dict[str, Any] = {
        "title": "Evaluation",
        "body": "Expert Panel",
        "panel": DEFAULT_PANEL,
        **over,
    }
    if commitment_ids is not None:
        body["commitment_ids"] = commitment_ids
    deadline = time.monotonic() + 10
    while True:
        r = await client.post("/v1/evaluations", json=body, headers=writer)
        unknown = r.status_code == 422 and all(
            e["code"] == "unknown_reference" and e["pointer"].startswith("body.commitment_ids")
            for e in r.json()["errors"]
        )
        if not unknown or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.02)


async def evaluation(client, writer, commitments, cw, n: int = 1, **over) -> tuple[Json, list[str]]:
    ids = await make_commitments(commitments, cw, n)
    r = await create_evaluation(client, writer, ids, **over)
    assert r.status_code == 201, r.text
    return r.json(), ids


def rating_url(ev: Json, cid: str) -> str:
    return f"/v1/evaluations/{ev['id']}/ratings/{cid}"


def pointers(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    return [e["pointer"] for e in r.json()["errors"]]


async def rate(
    client: httpx.AsyncClient, writer: Auth, ev: Json, cid: str, *codes: str, **body: Any
) -> httpx.Response:
    """PUT a rating (with If-Match when one exists already)."""
    url = rating_url(ev, cid)
    got = await client.get(url, headers=writer)
    headers = {**writer, **({"If-Match": got.headers["etag"]} if got.status_code == 200 else {})}
    return await client.put(url, json={"levels": levels(*codes), **body}, headers=headers)


async def agree(client: httpx.AsyncClient, writer: Auth, ev: Json, cid: str) -> httpx.Response:
    """Agree a rating (PATCH status with its current ETag)."""
    url = rating_url(ev, cid)
    got = await client.get(url, headers=writer)
    return await client.patch(
        url, json={"status": "agreed"}, headers={**writer, "If-Match": got.headers["etag"]}
    )


async def transition(
    client: httpx.AsyncClient, auth: Auth, ev: Json, action: str, body: Any = None
) -> httpx.Response:
    """POST one of the evaluation's transition routes."""
    path = f"/v1/evaluations/{ev['id']}/{action}"
    if body is None:
        return await client.post(path, headers=auth)
    return await client.post(path, json=body, headers=auth)


async def published(
    client, writer, publisher, commitments, cw, rows: list[tuple[str, ...]], **over
) -> tuple[Json, list[str]]:
    """An evaluation whose commitments are rated `rows`, agreed, and published."""
    ev, ids = await evaluation(client, writer, commitments, cw, n=len(rows), **over)
    for cid, codes in zip(ids, rows, strict=True):
        assert (await rate(client, writer, ev, cid, *codes)).status_code == 201
        assert (await agree(client, writer, ev, cid)).status_code == 200
    assert (await transition(client, writer, ev, "submit-for-review")).status_code == 200
    r = await transition(client, publisher, ev, "publish", {})
    assert r.status_code == 200, r.text
    return r.json(), ids


async def all_pages(
    client: httpx.AsyncClient, path: str, page_size: int, auth: Auth | None = None
) -> list[Json]:
    """Every item of a list, fetched `page_size` at a time, each page checked to be full but the
    last."""
    items: list[Json] = []
    params: dict[str, str | int] = {"page_size": page_size}
    while True:
        r = await client.get(path, params=params, headers=auth or {})
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if page["next_page_token"] is None:
            return items
        assert len(page["items"]) == page_size
        params["page_token"] = page["next_page_token"]


async def feed_head(client: httpx.AsyncClient, auth: Auth | None = None) -> int:
    """The last position of the ratings feed as `auth` sees it."""
    after = 0
    while True:
        page = (
            await client.get(
                "/v1/events", params={"after": after, "limit": 1000}, headers=auth or {}
            )
        ).json()
        if not page["items"] and page["next_after"] == after:
            return after
        after = page["next_after"]


async def events_since(
    client: httpx.AsyncClient,
    start: int,
    auth: Auth | None = None,
    *,
    at_least: int = 0,
    types: set[str] | None = None,
    evaluation_id: str | None = None,
) -> list[Json]:
    """Events after `start` visible to `auth` (of `types`, and about `evaluation_id`, if given),
    waiting (bounded) until the sequencer has placed `at_least` of them.

    An earlier test's last commits may be numbered after `start` (a late commit gets a later
    position, by design), so a test that counts events names the evaluation they are about."""
    deadline = time.monotonic() + 10
    while True:
        items: list[Json] = []
        after = start
        while True:
            page = (
                await client.get(
                    "/v1/events", params={"after": after, "limit": 1000}, headers=auth or {}
                )
            ).json()
            items += [
                e
                for e in page["items"]
                if (types is None or e["type"] in types)
                and (evaluation_id is None or _about(e, evaluation_id))
            ]
            if page["next_after"] == after:
                break
            after = page["next_after"]
        if len(items) >= at_least or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.02)


def _about(event: Json, evaluation_id: str) -> bool:
    payload = event.get("payload") or {}
    return evaluation_id in (event["resource_id"], payload.get("evaluation_id"))


async def wait_known_submissions(app: FastAPI, wanted: dict[str, str], within: float = 10) -> None:
    """Wait until the ratings read model holds each submission id with the given status."""
    from ratings.models import KnownSubmission

    deadline = time.monotonic() + within
    ids = {uuid.UUID(k): v for k, v in wanted.items()}
    while True:
        async with app.state.sessionmaker() as session:
            rows = await session.scalars(select(KnownSubmission).where(KnownSubmission.id.in_(ids)))
            have = {r.id: r.status for r in rows.all()}
        if have == ids:
            return
        assert time.monotonic() < deadline, f"read model has {have}, wanted {ids}"
        await asyncio.sleep(0.02)
