"""Calls for evidence, and the rules they set for the submissions that answer them."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from evidence.models import Event
from tests.evidence.helpers import (
    PROBLEM,
    at,
    call_body,
    listed,
    make_call,
    post,
    submission,
    submitter,
)


async def test_create_get_list_and_patch_a_call(client, moderator, make_commitments, evidence_app):
    c1, c2, c3 = await make_commitments(3)
    r = await client.post(
        "/v1/calls-for-evidence",
        json=call_body([c1, c2], late_submissions_allowed=True),
        headers=moderator,
    )
    assert r.status_code == 201, r.text
    call = r.json()
    assert r.headers["location"] == f"/v1/calls-for-evidence/{call['id']}"
    assert call["status"] == "open"
    assert call["commitment_ids"] == [c1, c2]
    # The defaults: 3,000 words, 25 MiB, seven document types.
    assert call["max_words"] == 3000
    assert call["max_attachment_bytes"] == 25 * 1024 * 1024
    assert set(call["allowed_media_types"]) == {
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
        "text/plain",
        "text/markdown",
    }
    got = await client.get(r.headers["location"])
    assert got.status_code == 200
    assert got.json() == call
    etag = got.headers["etag"]
    listed_calls = (await client.get("/v1/calls-for-evidence", params={"commitment_id": c2})).json()
    assert [c["id"] for c in listed_calls["items"]] == [call["id"]]
    url = r.headers["location"]
    patch = {"commitment_ids": [c1, c3], "max_words": 500}
    assert (await client.patch(url, json=patch, headers=moderator)).status_code == 428
    stale = await client.patch(url, json=patch, headers={**moderator, "If-Match": '"x-9"'})
    assert stale.status_code == 412
    r = await client.patch(url, json=patch, headers={**moderator, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["commitment_ids"] == [c1, c3]
    assert r.json()["max_words"] == 500
    assert r.headers["etag"] != etag
    r = await client.patch(url, json={"max_words": None}, headers={**moderator, "If-Match": "*"})
    assert r.status_code == 422
    async with evidence_app.state.sessionmaker() as session:
        events = (
            await session.scalars(
                select(Event)
                .where(Event.resource_id == uuid.UUID(call["id"]))
                .order_by(Event.occurred_at)
            )
        ).all()
    assert [(e.type, e.public) for e in events] == [
        ("call_for_evidence.created", True),
        ("call_for_evidence.updated", True),
    ]
    assert events[1].payload["commitment_ids"] == [c1, c3]


async def test_call_scopes_and_bad_calls(client, issuer, moderator, make_commitments):
    [c] = await make_commitments()
    assert (await client.post("/v1/calls-for-evidence", json=call_body([c]))).status_code == 401
    r = await client.post("/v1/calls-for-evidence", json=call_body([c]), headers=submitter(issuer))
    assert r.status_code == 403
    assert "evidence:moderate" in r.json()["detail"]
    cases = [
        ("body", call_body([c], opens_at=at(2), closes_at=at(1))),
        ("body.commitment_ids.1", call_body([c, str(uuid.uuid4())])),
        ("body.reference_prefix", call_body([c], reference_prefix="dig")),
        ("body.max_attachment_bytes", call_body([c], max_attachment_bytes=10**12)),
        ("body.allowed_media_types.0", call_body([c], allowed_media_types=["application/x-exe"])),
        ("body.opens_at", call_body([c], opens_at="2023-01-01T00:00:00")),
    ]
    for pointer, body in cases:
        r = await client.post("/v1/calls-for-evidence", json=body, headers=moderator)
        assert r.status_code == 422, (pointer, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert pointer in {e["pointer"] for e in r.json().get("errors", [])}, (pointer, r.json())
    calls = (await client.get("/v1/calls-for-evidence", params={"commitment_id": c})).json()
    assert calls["items"] == []


async def test_answering_a_call(client, issuer, moderator, make_commitments):
    c1, c2 = await make_commitments(2)
    call = await make_call(client, moderator, [c1, c2], max_words=10)
    auth = submitter(issuer)
    r = await post(client, auth, submission([c2, c1], call_id=call["id"], body="Ten words " * 5))
    assert r.status_code == 201, r.text
    assert r.json()["call_id"] == call["id"]
    assert r.json()["late"] is False
    assert [s["id"] for s in await listed(client, auth, call_id=call["id"])] == [r.json()["id"]]


async def test_bad_answers_are_precise_and_store_nothing(
    client, issuer, moderator, make_commitments
):
    c1, outside = await make_commitments(2)
    unknown = str(uuid.uuid4())
    open_call = await make_call(client, moderator, [c1], max_words=10)
    closed = await make_call(client, moderator, [c1], opens_at=at(-10), closes_at=at(-1))
    upcoming = await make_call(client, moderator, [c1], opens_at=at(1), closes_at=at(10))
    auth = submitter(issuer)
    cases = [
        (409, "/problems/call-closed", None, submission([c1], call_id=closed["id"])),
        (409, "/problems/call-not-open", None, submission([c1], call_id=upcoming["id"])),
        (422, None, "body.call_id", submission([c1], call_id=unknown)),
        (
            422,
            None,
            "body.body",
            submission([c1], call_id=open_call["id"], body="one two three four five six " * 2),
        ),
        (422, None, "body.commitment_ids.1", submission([c1, outside], call_id=open_call["id"])),
        (422, None, "body.commitment_ids.1", submission([c1, unknown], call_id=open_call["id"])),
        # Stand-alone evidence keeps to the default limit of 3,000 words.
        (422, None, "body.body", submission([c1], body="word " * 3001)),
    ]
    for status, type_, pointer, body in cases:
        r = await post(client, auth, body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == PROBLEM
        if type_:
            assert r.json()["type"] == type_
        if pointer:
            errors = {e["pointer"]: e["code"] for e in r.json()["errors"]}
            assert pointer in errors, r.json()
    r = await post(client, auth, submission([c1, outside], call_id=open_call["id"]))
    [err] = r.json()["errors"]
    assert err["code"] == "out_of_scope"
    assert open_call["id"] in err["detail"]
    r = await post(client, auth, submission([c1], body="word " * 3001))
    assert r.json()["errors"][0]["code"] == "too_many_words"
    assert await listed(client, moderator, commitment_id=c1) == []
    assert await listed(client, moderator, commitment_id=outside) == []
    # Exactly at the limit is fine.
    r = await post(client, auth, submission([c1], body="word " * 3000))
    assert r.status_code == 201


async def test_late_evidence_where_the_call_accepts_it(client, issuer, moderator, make_commitments):
    [c] = await make_commitments()
    call = await make_call(
        client, moderator, [c], opens_at=at(-10), closes_at=at(-1), late_submissions_allowed=True
    )
    assert call["status"] == "closed"
    r = await post(client, submitter(issuer), submission([c], call_id=call["id"]))
    assert r.status_code == 201
    assert r.json()["late"] is True


async def test_an_administrator_records_evidence_under_the_date_it_was_received(
    client, issuer, moderator, make_commitments, evidence_app
):
    [c] = await make_commitments()
    call = await make_call(
        client, moderator, [c], opens_at=at(-10), closes_at=at(-5), late_submissions_allowed=True
    )
    archivist = issuer.auth("evidence:submit", "admin", client_id="archivist", org="Archive")
    inside, after = at(-7), at(-3)
    r = await post(client, archivist, submission([c], call_id=call["id"], received_at=inside), "k1")
    assert r.status_code == 201, r.text
    receipt = r.json()
    # Judged against the call on the day it was received: inside the window, so not late ...
    assert receipt["late"] is False
    assert receipt["received_at"] == inside.replace("+00:00", "Z")
    # ... while the day it was entered stays visible beside it.
    assert receipt["recorded_at"] > receipt["received_at"]
    assert receipt["recorded_at"] == receipt["created_at"]
    # The date is not part of the evidence, so the receipt's checksum is the content's alone.
    plain = await post(client, archivist, submission([c], title="Other"), "k2")
    assert plain.json()["received_at"] == plain.json()["recorded_at"]
    again = await post(
        client, archivist, submission([c], call_id=call["id"], received_at=inside), "k1"
    )
    assert again.status_code == 201
    assert again.json()["id"] == receipt["id"]
    r = await post(client, archivist, submission([c], call_id=call["id"], received_at=after))
    assert r.json()["late"] is True
    # Before the call opened it could not have answered it; a date to come is no record.
    r = await post(client, archivist, submission([c], call_id=call["id"], received_at=at(-20)))
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/call-not-open"
    r = await post(client, archivist, submission([c], received_at=at(1)))
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.received_at"
    assert r.json()["errors"][0]["code"] == "in_future"
    # Recorded once (the replay added nothing), and announced with both dates, as any create.
    assert len(await listed(client, moderator, call_id=call["id"])) == 2
    async with evidence_app.state.sessionmaker() as session:
        event = await session.scalar(
            select(Event).where(
                Event.resource_id == uuid.UUID(receipt["id"]), Event.type == "submission.received"
            )
        )
    assert event is not None
    assert event.payload["received_at"] == receipt["received_at"]
    assert event.payload["recorded_at"] == receipt["recorded_at"]


async def test_only_an_administrator_may_set_the_date_evidence_was_received(
    client, issuer, moderator, make_commitments, evidence_app
):
    [c] = await make_commitments()
    call = await make_call(
        client, moderator, [c], opens_at=at(-10), closes_at=at(-5), late_submissions_allowed=True
    )

    async def announced() -> int:
        async with evidence_app.state.sessionmaker() as session:
            types = (await session.scalars(select(Event.type))).all()
        return types.count("submission.received")

    before = await announced()
    for auth in (submitter(issuer), issuer.auth("evidence:submit", "evidence:moderate")):
        r = await post(client, auth, submission([c], call_id=call["id"], received_at=at(-7)))
        assert r.status_code == 403, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["errors"][0]["pointer"] == "body.received_at"
        assert "admin" in r.json()["detail"]
    # Nothing stored, nothing announced.
    assert await listed(client, moderator, call_id=call["id"]) == []
    assert await announced() == before
