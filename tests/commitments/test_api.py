"""The commitments service through its public HTTP API, as a client would use it."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from servicekit.mediatypes import PROBLEM


def ref(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def make_area(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    r = await client.post(
        "/v1/policy-areas", json={"slug": ref("area").lower(), "name": "Area"}, headers=auth
    )
    assert r.status_code == 201, r.text
    return r.json()


async def make_source(client: httpx.AsyncClient, auth: dict[str, str]) -> dict:
    r = await client.post(
        "/v1/sources",
        json={"reference": ref("src"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def make_commitment(client: httpx.AsyncClient, auth: dict[str, str], **over) -> dict:
    area = await make_area(client, auth)
    source = await make_source(client, auth)
    body = {
        "reference": ref("C"),
        "title": "A commitment",
        "text": "We will do a thing.",
        "policy_area_id": area["id"],
        "source_id": source["id"],
        **over,
    }
    r = await client.post("/v1/commitments", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_returns_201_location_and_etag(client, writer):
    c = await make_commitment(client, writer, lead_bodies=["NHS England"], due_on="2024-03-31")
    assert c["status"] == "not_started"
    assert c["lead_bodies"] == ["NHS England"]
    r = await client.get(f"/v1/commitments/{c['id']}")
    assert r.status_code == 200
    assert r.json() == c
    assert r.headers["etag"]


async def test_location_header_points_at_the_resource(client, writer):
    r = await client.post(
        "/v1/sources",
        json={"reference": ref(), "title": "P", "publisher": "D", "kind": "review"},
        headers=writer,
    )
    assert r.status_code == 201
    got = await client.get(r.headers["location"])
    assert got.status_code == 200
    assert got.json()["id"] == r.json()["id"]


async def test_writes_need_a_token_with_the_scope(client, issuer):
    body = {"reference": ref(), "title": "P", "publisher": "D", "kind": "plan"}
    r = await client.post("/v1/sources", json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("/v1/sources", json=body, headers=issuer.auth("evidence:submit"))
    assert r.status_code == 403
    r = await client.get("/v1/sources", params={"reference": body["reference"]})
    assert r.json()["items"] == []


async def test_unknown_fields_and_bad_types_are_422_problems(client, writer):
    r = await client.post(
        "/v1/sources",
        json={"reference": ref(), "title": 3, "publisher": "D", "kind": "plan", "colour": "red"},
        headers=writer,
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    pointers = {e["pointer"] for e in r.json()["errors"]}
    assert pointers == {"body.title", "body.colour"}


async def test_malformed_json_and_wrong_media_type(client, writer):
    r = await client.post(
        "/v1/sources",
        content=b'{"reference": ',
        headers={**writer, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["type"] == "/problems/malformed-json"
    r = await client.post(
        "/v1/sources", content=b"reference=x", headers={**writer, "content-type": "text/plain"}
    )
    assert r.status_code == 415


async def test_oversized_body_is_413(client, writer):
    big = {
        "reference": ref(),
        "title": "P",
        "publisher": "D",
        "kind": "plan",
        "url": "x" * 2_000_000,
    }
    r = await client.post("/v1/sources", json=big, headers=writer)
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


async def test_unknown_area_or_source_is_422_and_nothing_stored(client, writer):
    source = await make_source(client, writer)
    reference = ref()
    r = await client.post(
        "/v1/commitments",
        json={
            "reference": reference,
            "title": "T",
            "text": "X",
            "policy_area_id": str(uuid.uuid4()),
            "source_id": source["id"],
        },
        headers=writer,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.policy_area_id"
    listed = await client.get("/v1/commitments", params={"reference": reference})
    assert listed.json()["items"] == []


async def test_duplicate_reference_is_409(client, writer):
    c = await make_commitment(client, writer)
    r = await client.post(
        "/v1/commitments",
        json={k: c[k] for k in ("reference", "title", "text", "policy_area_id", "source_id")},
        headers=writer,
    )
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/conflict"


async def test_patch_needs_if_match_and_refuses_stale(client, writer):
    c = await make_commitment(client, writer)
    url = f"/v1/commitments/{c['id']}"
    r = await client.patch(url, json={"status": "in_progress"}, headers=writer)
    assert r.status_code == 428
    etag = (await client.get(url)).headers["etag"]
    r = await client.patch(
        url, json={"status": "in_progress"}, headers={**writer, "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["status"] == "in_progress"
    assert r.headers["etag"] != etag
    r = await client.patch(url, json={"status": "met"}, headers={**writer, "If-Match": etag})
    assert r.status_code == 412
    assert (await client.get(url)).json()["status"] == "in_progress"


async def test_patch_is_a_merge_patch(client, writer):
    c = await make_commitment(client, writer, due_on="2024-01-01")
    url = f"/v1/commitments/{c['id']}"
    etag = (await client.get(url)).headers["etag"]
    r = await client.patch(
        url,
        # Removing a due date is a due-date change: it needs a reason (issue 5).
        content=b'{"due_on": null, "reason": "No date was ever set."}',
        headers={**writer, "If-Match": etag, "content-type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert r.json()["due_on"] is None
    assert r.json()["title"] == c["title"]
    etag = r.headers["etag"]
    r = await client.patch(url, json={"title": None}, headers={**writer, "If-Match": etag})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.title"


async def test_only_one_of_two_concurrent_patches_with_the_same_etag_wins(client, writer):
    c = await make_commitment(client, writer)
    url = f"/v1/commitments/{c['id']}"
    etag = (await client.get(url)).headers["etag"]
    results = await asyncio.gather(
        client.patch(
            url, json={"title": "one", "reason": "r"}, headers={**writer, "If-Match": etag}
        ),
        client.patch(
            url, json={"title": "two", "reason": "r"}, headers={**writer, "If-Match": etag}
        ),
    )
    assert sorted(r.status_code for r in results) == [200, 412]


async def test_list_filters_and_keyset_pagination(client, writer):
    area = await make_area(client, writer)
    source = await make_source(client, writer)
    made = []
    for i in range(5):
        r = await client.post(
            "/v1/commitments",
            json={
                "reference": ref(),
                "title": f"c{i}",
                "text": "x",
                "policy_area_id": area["id"],
                "source_id": source["id"],
                "status": "in_progress" if i % 2 else "not_started",
            },
            headers=writer,
        )
        made.append(r.json()["id"])
    seen, token = [], None
    while True:
        params = {"policy_area_id": area["id"], "page_size": 2}
        if token:
            params["page_token"] = token
        page = (await client.get("/v1/commitments", params=params)).json()
        seen += [c["id"] for c in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == made
    r = await client.get(
        "/v1/commitments",
        params=[("policy_area_id", area["id"]), ("status", "in_progress"), ("status", "met")],
    )
    assert [c["title"] for c in r.json()["items"]] == ["c1", "c3"]
    r = await client.get("/v1/commitments", params={"page_token": "garbage!"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "query.page_token"


async def test_every_change_is_on_the_feed_in_order(client, writer):
    start = (await client.get("/v1/events", params={"after": 0, "limit": 1000})).json()
    after = start["next_after"]
    while start["items"]:
        start = (await client.get("/v1/events", params={"after": after, "limit": 1000})).json()
        after = start["next_after"]
    c = await make_commitment(client, writer)
    for _ in range(50):
        page = (await client.get("/v1/events", params={"after": after})).json()
        if any(e["resource_id"] == c["id"] for e in page["items"]):
            break
        await asyncio.sleep(0.05)
    types = [e["type"] for e in page["items"]]
    assert types[-3:] == ["policy_area.created", "source.created", "commitment.created"]
    positions = [e["position"] for e in page["items"]]
    assert positions == sorted(positions)
    assert positions[0] > after
    assert page["items"][-1]["payload"]["reference"] == c["reference"]
    r = await client.get("/v1/events", params={"after": 10**12})
    assert r.status_code == 409


async def test_probes(client):
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["migrations"] == "head"
    rid = "0f0e5c4c-2d3b-4c3f-9a53-7b8c4f7d1e20"
    assert (await client.get("/healthz", headers={"X-Request-ID": rid})).headers[
        "x-request-id"
    ] == rid


async def test_oversized_chunked_body_is_413_while_streaming(client, writer):
    async def chunks():
        yield b'{"reference": "x", "title": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    r = await client.post(
        "/v1/sources", content=chunks(), headers={**writer, "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


async def test_nul_characters_are_refused_not_a_server_error(client, writer):
    # Found by contract fuzzing: PostgreSQL text cannot hold U+0000, so a NUL in a body or a
    # text filter reached the database and failed there (500). It is refused up front instead.
    r = await client.post(
        "/v1/policy-areas", json={"slug": ref("area").lower(), "name": "A\u0000"}, headers=writer
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    for path in ("/v1/commitments", "/v1/sources"):
        r = await client.get(path, params={"reference": "x\u0000"})
        assert r.status_code == 422, r.text
    r = await client.get("/v1/policy-areas", params={"slug": "x\u0000"})
    assert r.status_code == 422, r.text
