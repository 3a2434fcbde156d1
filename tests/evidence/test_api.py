"""The evidence service through its public HTTP API, with the real commitments feed behind it."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from datetime import timedelta

import httpx
import pytest
import rfc8785
from sqlalchemy import select, update

from evidence.main import create_app
from evidence.models import Event, IdempotencyKey, KnownCommitment
from evidence.schemas import SubmissionCreate
from servicekit.auth import TokenVerifier
from servicekit.idempotency import (
    Claim,
    Idempotency,
    StoredResponse,
    fingerprint,
    purge_expired,
)
from servicekit.ids import utcnow
from servicekit.problems import ProblemError
from tests.conftest import serve
from tests.evidence.conftest import create_commitment, evidence_settings
from tests.evidence.helpers import PROBLEM, Json, listed, post, submission, submitter
from tests.support.databases import ON_POSTGRES

RECEIPT = re.compile(r"^SUB-[0-9A-HJKMNP-TV-Z]{8}$")


# --- create ------------------------------------------------------------------------------------


async def test_create_returns_201_location_etag_and_receipt(client, issuer, make_commitments):
    c1, c2 = await make_commitments(2)
    auth = submitter(issuer, org="Royal College of Nursing")
    body = submission([c2, c1], body="Evidence ✓ with unicode — and more.")
    r = await post(client, auth, body)
    assert r.status_code == 201, r.text
    s = r.json()
    assert r.headers["location"] == f"/v1/submissions/{s['id']}"
    assert r.headers["etag"]
    assert "idempotent-replayed" not in r.headers
    assert RECEIPT.match(s["receipt_reference"])
    assert s["status"] == "received"
    assert s["publication_reference"] is None
    assert s["commitment_ids"] == [c2, c1]
    assert s["submitter"]["organisation"] == "Royal College of Nursing"
    assert s["received_at"] == s["created_at"]
    content = {k: body[k] for k in body}
    assert s["content_sha256"] == hashlib.sha256(rfc8785.dumps(content)).hexdigest()
    got = await client.get(r.headers["location"], headers=auth)
    assert got.status_code == 200
    assert got.json() == s
    assert got.headers["etag"] == r.headers["etag"]


async def test_a_receipt_reference_collision_draws_a_new_id(
    client, issuer, make_commitments, monkeypatch
):
    (c1,) = await make_commitments(1)
    auth = submitter(issuer)
    first = (await post(client, auth, submission([c1]))).json()
    # Receipt references come from an id's low 40 bits: offer an id sharing them first.
    taken = uuid.UUID(first["id"])
    twin = uuid.UUID(int=taken.int ^ (1 << 100))
    offered = iter([twin, uuid.uuid4()])
    monkeypatch.setattr("evidence.submissions.new_id", lambda: next(offered))
    r = await post(client, auth, submission([c1], title="Second"))
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["id"] != str(twin)
    assert second["receipt_reference"] != first["receipt_reference"]
    assert second["commitment_ids"] == [c1]
    listed_ids = {s["id"] for s in await listed(client, auth)}
    assert {first["id"], second["id"]} <= listed_ids
    assert str(twin) not in listed_ids


async def test_submitter_comes_from_the_token_never_the_body(client, issuer, make_commitments):
    [c] = await make_commitments()
    body = submission([c], submitter={"client_id": "someone-else", "organisation": "X"})
    r = await post(client, submitter(issuer), body)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert [e["pointer"] for e in r.json()["errors"]] == ["body.submitter"]


async def test_unknown_or_repeated_commitment_is_422_and_nothing_stored(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    auth = submitter(issuer)
    r = await post(client, auth, submission([c, str(uuid.uuid4())]))
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    [err] = r.json()["errors"]
    assert err["pointer"] == "body.commitment_ids.1"
    assert err["code"] == "unknown_reference"
    r = await post(client, auth, submission([c, c]))
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json()["errors"]] == ["body.commitment_ids.1"]
    assert await listed(client, moderator, commitment_id=c) == []


async def test_input_limits_and_unknown_fields(client, issuer, make_commitments):
    [c] = await make_commitments()
    auth = submitter(issuer)
    cases = [
        ("body.commitment_ids", submission([])),
        ("body.title", submission([c], title="x" * 301)),
        ("body.title", submission([c], title="   ")),
        ("body.summary", submission([c], summary="x" * 2001)),
        ("body.body", submission([c], body="x" * 100_001)),
        ("body.body", submission([c], body="nul \x00 byte")),
        ("body.stance", submission([c], stance="furious")),
        ("body.kind", submission([c], kind="tweet")),
        ("body.colour", submission([c], colour="red")),
    ]
    for pointer, body in cases:
        r = await post(client, auth, body)
        assert r.status_code == 422, pointer
        assert pointer in {e["pointer"] for e in r.json()["errors"]}, (pointer, r.json())
    many = [str(uuid.uuid4()) for _ in range(21)]
    r = await post(client, auth, submission(many))
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.commitment_ids"
    missing = submission([c])
    del missing["consent"]
    r = await post(client, auth, missing)
    assert r.json()["errors"][0]["pointer"] == "body.consent"
    r = await client.post(
        "/v1/submissions", content=b"title=x", headers={**auth, "content-type": "text/plain"}
    )
    assert r.status_code == 415


async def test_scopes(client, issuer, make_commitments):
    [c] = await make_commitments()
    r = await client.post("/v1/submissions", json=submission([c]))
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await post(client, issuer.auth("commitments:write"), submission([c]))
    assert r.status_code == 403
    assert "evidence:submit" in r.json()["detail"]
    r = await client.get("/v1/submissions", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_every_write_route_requires_a_scope(evidence_app):
    for route in evidence_app.routes:
        methods: set[str] = getattr(route, "methods", set()) - {"GET", "HEAD", "OPTIONS"}
        if not methods:
            continue
        scopes = [getattr(d.call, "required_scope", None) for d in route.dependant.dependencies]
        assert any(scopes), route.path


# --- the read model of commitments -------------------------------------------------------------


async def test_consumer_picks_up_commitments_created_and_updated_after_start(
    client, commitments, writer, issuer, evidence_app
):
    c = await create_commitment(commitments, writer)
    auth = submitter(issuer)
    deadline = time.monotonic() + 10
    while True:
        r = await post(client, auth, submission([c["id"]]))
        if r.status_code == 201:
            break
        assert r.status_code == 422, r.text
        assert time.monotonic() < deadline, "the evidence service never learnt the commitment"
        await asyncio.sleep(0.02)
    url = f"/v1/commitments/{c['id']}"
    etag = (await commitments.get(url)).headers["etag"]
    r = await commitments.patch(
        url,
        json={"title": "Renamed", "status": "in_progress", "reason": "Reworded."},
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while True:
        async with evidence_app.state.sessionmaker() as session:
            row = await session.get(KnownCommitment, uuid.UUID(c["id"]))
            if row.title == "Renamed":
                assert row.status == "in_progress"
                assert row.reference == c["reference"]
                break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


class Unreachable(httpx.AsyncBaseTransport):
    """The commitments service is down: every request fails to connect."""

    def __init__(self) -> None:
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("connection refused", request=request)


async def test_evidence_is_accepted_while_commitments_is_down(
    evidence_db, issuer, make_commitments, blob_dir
):
    [c] = await make_commitments()
    down = Unreachable()
    app = create_app(
        evidence_settings(evidence_db, blob_dir=blob_dir),
        token_verifier=TokenVerifier(issuer.settings()),
        commitments_transport=down,
    )
    async for isolated in serve(app):
        auth = submitter(issuer)
        r = await post(isolated, auth, submission([c]))
        assert r.status_code == 201, r.text
        assert (await isolated.get(r.headers["location"], headers=auth)).status_code == 200
        # The consumer does try the feed and fail, without taking the service down with it.
        # On PostgreSQL this second instance's consumer stands by instead: the session's
        # evidence service holds the feed's advisory lock (one active consumer per feed).
        deadline = time.monotonic() + 10
        while not down.attempts and not ON_POSTGRES:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert (await isolated.get("/healthz")).status_code == 200


# --- idempotency -------------------------------------------------------------------------------


async def test_same_key_same_body_replays_the_first_response(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    auth = submitter(issuer)
    key = str(uuid.uuid4())
    first = await post(client, auth, submission([c]), key)
    assert first.status_code == 201
    # Same content, keys in another order and whitespace trimmed: the same request.
    again = await client.post(
        "/v1/submissions",
        content=rfc8785.dumps(
            dict(reversed(submission([c], title=" Evidence on EPR coverage ").items()))
        ),
        headers={**auth, "Idempotency-Key": key, "content-type": "application/json"},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert len(await listed(client, moderator, commitment_id=c)) == 1
    # Keys are scoped to the client: another client's identical key is its own.
    other = await post(client, submitter(issuer), submission([c]), key)
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]


async def test_same_key_different_body_is_422(client, issuer, moderator, make_commitments):
    [c] = await make_commitments()
    auth = submitter(issuer)
    key = str(uuid.uuid4())
    assert (await post(client, auth, submission([c]), key)).status_code == 201
    r = await post(client, auth, submission([c], stance="supports"), key)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert r.json()["errors"][0]["pointer"] == "header.Idempotency-Key"
    assert len(await listed(client, moderator, commitment_id=c)) == 1


async def test_key_longer_than_200_characters_is_422(client, issuer, make_commitments):
    [c] = await make_commitments()
    r = await post(client, submitter(issuer), submission([c]), "k" * 201)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "header.Idempotency-Key"
    r = await post(client, submitter(issuer), submission([c]), '""')
    assert r.status_code == 422
    r = await post(client, submitter(issuer), submission([c]), "k" * 200)
    assert r.status_code == 201


async def test_a_failed_create_releases_the_key(client, issuer, make_commitments):
    [c] = await make_commitments()
    auth = submitter(issuer)
    key = str(uuid.uuid4())
    r = await post(client, auth, submission([str(uuid.uuid4())]), key)
    assert r.status_code == 422
    r = await post(client, auth, submission([c]), key)
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


async def test_concurrent_requests_with_one_key_store_exactly_one(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    auth = submitter(issuer)
    key = str(uuid.uuid4())
    body = submission([c])
    results = await asyncio.gather(*(post(client, auth, body, key) for _ in range(8)))
    codes = [r.status_code for r in results]
    assert set(codes) <= {201, 409}, codes
    originals = [
        r for r in results if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(originals) == 1, codes
    ids = {r.json()["id"] for r in results if r.status_code == 201}
    assert ids == {originals[0].json()["id"]}
    for r in results:
        if r.status_code == 409:
            assert r.json()["type"] == "/problems/idempotency-key-in-flight"
            assert r.headers["retry-after"]
    assert [s["id"] for s in await listed(client, moderator, commitment_id=c)] == list(ids)
    # Once settled, every retry gets the replay.
    r = await post(client, auth, body, key)
    assert r.status_code == 201
    assert r.headers["idempotent-replayed"] == "true"


def _fingerprint(body: Json) -> str:
    return fingerprint(
        "POST", "/v1/submissions", SubmissionCreate.model_validate(body).model_dump(mode="json")
    )


async def test_in_flight_is_409_and_an_abandoned_claim_is_taken_over(
    client, issuer, moderator, evidence_app, make_commitments
):
    [c] = await make_commitments()
    client_id = f"stakeholder-{uuid.uuid4().hex[:8]}"
    auth = submitter(issuer, client_id)
    body = submission([c])
    key = str(uuid.uuid4())
    maker = evidence_app.state.sessionmaker
    # A request of this client holds the key, as if still processing.
    await evidence_app.state.idempotency.claim(maker, client_id, key, _fingerprint(body))
    r = await post(client, auth, body, key)
    assert r.status_code == 409
    assert r.headers["retry-after"] == "1"
    # One that died: its lease is over, so a retry takes the key over and creates.
    key = str(uuid.uuid4())
    stale = Idempotency(IdempotencyKey, lease=timedelta(0))
    dead = await stale.claim(maker, client_id, key, _fingerprint(body))
    assert isinstance(dead, Claim)
    r = await post(client, auth, body, key)
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    # Should the "dead" one wake up and finish, its completion no longer holds the key.
    with pytest.raises(ProblemError) as exc:
        async with maker() as session, session.begin():
            await stale.complete(session, dead, StoredResponse.json(201, r.json()))
    assert exc.value.status == 409
    assert len(await listed(client, moderator, commitment_id=c)) == 1


async def test_expired_keys_may_be_reused_and_are_purged(
    client, issuer, evidence_app, make_commitments
):
    [c] = await make_commitments()
    client_id = f"stakeholder-{uuid.uuid4().hex[:8]}"
    auth = submitter(issuer, client_id)
    key = str(uuid.uuid4())
    maker = evidence_app.state.sessionmaker
    assert (await post(client, auth, submission([c]), key)).status_code == 201
    async with maker() as session, session.begin():
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.client_id == client_id, IdempotencyKey.key == key)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await post(client, auth, submission([c], stance="supports"), key)
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    async with maker() as session, session.begin():
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.client_id == client_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await purge_expired(maker, IdempotencyKey) >= 1
    async with maker() as session:
        left = await session.scalars(
            select(IdempotencyKey).where(IdempotencyKey.client_id == client_id)
        )
        assert left.all() == []


# --- visibility --------------------------------------------------------------------------------


async def test_unpublished_evidence_is_seen_only_by_its_submitter_and_moderators(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = (await post(client, owner, submission([c]))).json()
    url = f"/v1/submissions/{s['id']}"
    other = submitter(issuer)
    for auth in (None, other, issuer.auth("commitments:write")):
        r = await client.get(url, headers=auth or {})
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM
        assert await listed(client, auth, commitment_id=c) == []
    assert (await client.get(url, headers=owner)).json() == s
    assert [x["id"] for x in await listed(client, owner, commitment_id=c)] == [s["id"]]
    # Moderators also read the redactions (none here); the submitter reads `null` there.
    assert (await client.get(url, headers=moderator)).json() == {**s, "redactions": []}
    assert [x["id"] for x in await listed(client, moderator, commitment_id=c)] == [s["id"]]


async def _publish(client, moderator, ident: str) -> None:
    for action in ("accept", "publish"):
        r = await client.post(
            f"/v1/submissions/{ident}/decisions",
            json={"action": action, "reason": "Relevant."},
            headers=moderator,
        )
        assert r.status_code == 201, r.text


async def test_published_evidence_is_public_and_anonymous_stays_anonymous(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer, org="A Charity")
    named = (await post(client, owner, submission([c]))).json()
    anonymous = (await post(client, owner, submission([c], consent="publish_anonymously"))).json()
    for s in (named, anonymous):
        await _publish(client, moderator, s["id"])
    other = submitter(issuer)
    for auth in (None, other):
        items = await listed(client, auth, commitment_id=c)
        assert [(i["id"], i["submitter"]) for i in items] == [
            (named["id"], named["submitter"]),
            (anonymous["id"], None),
        ]
        r = await client.get(f"/v1/submissions/{anonymous['id']}", headers=auth or {})
        assert r.status_code == 200
        assert r.json()["submitter"] is None
    for auth in (owner, moderator):
        r = await client.get(f"/v1/submissions/{anonymous['id']}", headers=auth)
        assert r.json()["submitter"] == {
            "client_id": anonymous["submitter"]["client_id"],
            "organisation": "A Charity",
        }


# --- lists -------------------------------------------------------------------------------------


async def test_list_filters_and_keyset_pagination(client, issuer, make_commitments):
    c1, c2 = await make_commitments(2)
    auth = submitter(issuer)
    specs = [
        ([c1], "written", "supports"),
        ([c2], "data_return", "challenges"),
        ([c1, c2], "written", "challenges"),
        ([c2], "oral_transcript", "neutral"),
        ([c1], "data_return", "mixed"),
    ]
    made = []
    for cited, kind, stance in specs:
        r = await post(client, auth, submission(cited, kind=kind, stance=stance))
        assert r.status_code == 201
        made.append(r.json()["id"])
    seen, token = [], None
    while True:
        params = [("commitment_id", c1), ("commitment_id", c2), ("page_size", "2")]
        if token:
            params.append(("page_token", token))
        r = await client.get("/v1/submissions", params=params, headers=auth)
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [s["id"] for s in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == made

    def ids(items: list[Json]) -> list[str]:
        return [s["id"] for s in items]

    assert ids(await listed(client, auth, commitment_id=c1)) == [made[0], made[2], made[4]]
    assert ids(await listed(client, auth, commitment_id=c2, kind="written")) == [made[2]]
    r = await client.get(
        "/v1/submissions",
        params=[("commitment_id", c2), ("stance", "challenges"), ("stance", "neutral")],
        headers=auth,
    )
    assert ids(r.json()["items"]) == [made[1], made[2], made[3]]
    assert ids(await listed(client, auth, commitment_id=c1, status="received")) == ids(
        await listed(client, auth, commitment_id=c1)
    )
    assert await listed(client, auth, commitment_id=c1, status="published") == []
    r = await client.get("/v1/submissions", params={"stance": "furious"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "query.stance.0"
    r = await client.get("/v1/submissions", params={"page_token": "garbage!"})
    assert r.status_code == 422


# --- events and the API document ---------------------------------------------------------------


async def test_submission_received_event_is_recorded_and_kept_off_the_public_feed(
    client, issuer, evidence_app, make_commitments
):
    [c] = await make_commitments()
    s = (await post(client, submitter(issuer), submission([c]))).json()
    async with evidence_app.state.sessionmaker() as session:
        [event] = (
            await session.scalars(select(Event).where(Event.resource_id == uuid.UUID(s["id"])))
        ).all()
    assert event.type == "submission.received"
    assert event.public is False
    assert event.payload["receipt_reference"] == s["receipt_reference"]
    deadline = time.monotonic() + 10
    while True:
        async with evidence_app.state.sessionmaker() as session:
            positioned = await session.get(Event, event.id, populate_existing=True)
            if positioned.position is not None:
                break
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    feed = (await client.get("/v1/events", params={"after": positioned.position - 1})).json()
    assert all(e["id"] != str(event.id) for e in feed["items"])
    assert feed["next_after"] >= positioned.position


async def test_openapi_documents_idempotency(client):
    doc = (await client.get("/openapi.json")).json()
    op = doc["paths"]["/v1/submissions"]["post"]
    assert op["operationId"] == "create_submission"
    [param] = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
    assert param["in"] == "header"
    assert param["schema"]["anyOf"][0]["maxLength"] == 200
    assert "Idempotent-Replayed" in op["responses"]["201"]["headers"]
    assert {"409", "422"} <= set(op["responses"])
    for path, operation_id in (
        ("/v1/submissions", "list_submissions"),
        ("/v1/submissions/{id}", "get_submission"),
    ):
        assert doc["paths"][path]["get"]["operationId"] == operation_id
