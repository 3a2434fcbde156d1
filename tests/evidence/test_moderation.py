"""Moderation: the transition table, reasons, consent, publication references, withdrawal."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid

import pytest
from sqlalchemy import select

from evidence.models import Decision, Event
from tests.evidence.helpers import (
    PROBLEM,
    decide,
    make_call,
    publish,
    received,
    submitter,
)
from tests.support.databases import NO_POSTGRES_REASON, ON_POSTGRES

# (steps from received, the status they lead to) — every allowed path of the table.
PATHS = [
    (["accept"], "accepted"),
    (["reject"], "rejected"),
    (["accept", "reject"], "rejected"),
    (["accept", "publish"], "published"),
    (["accept", "withhold"], "withheld"),
    (["accept", "withhold", "publish"], "published"),
    (["accept", "withhold", "reject"], "rejected"),
    (["accept", "publish", "withhold"], "withheld"),
    (["accept", "publish", "withhold", "publish"], "published"),
]
# (steps, then a step out of order)
OUT_OF_ORDER = [
    ([], "publish"),
    ([], "withhold"),
    (["accept"], "accept"),
    (["reject"], "accept"),
    (["reject"], "publish"),
    (["accept", "publish"], "publish"),
    (["accept", "publish"], "reject"),
    (["accept", "publish"], "accept"),
]


async def _history(client, auth, ident) -> list[dict]:
    r = await client.get(f"/v1/submissions/{ident}/decisions", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_every_allowed_path_is_recorded_with_its_reasons(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    for steps, final in PATHS:
        s = await received(client, owner, [c])
        for i, action in enumerate(steps):
            r = await decide(client, moderator, s["id"], action, f"step {i}")
            assert r.status_code == 201, (steps, action, r.text)
            assert r.headers["location"] == f"/v1/submissions/{s['id']}/decisions/{r.json()['id']}"
        got = (await client.get(f"/v1/submissions/{s['id']}", headers=moderator)).json()
        assert got["status"] == final, steps
        history = await _history(client, moderator, s["id"])
        assert [(d["action"], d["reason"], d["decided_by"]) for d in history] == [
            (a, f"step {i}", "panel-secretariat") for i, a in enumerate(steps)
        ]
        assert history[0]["from_status"] == "received"
        for before, after in itertools.pairwise(history):
            assert after["from_status"] == before["to_status"]
        assert await _history(client, owner, s["id"]) == history


async def test_steps_out_of_order_are_409_and_change_nothing(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    for steps, wrong in OUT_OF_ORDER:
        s = await received(client, owner, [c])
        for action in steps:
            assert (await decide(client, moderator, s["id"], action)).status_code == 201
        before = (await client.get(f"/v1/submissions/{s['id']}", headers=moderator)).json()
        r = await decide(client, moderator, s["id"], wrong)
        assert r.status_code == 409, (steps, wrong, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "/problems/invalid-transition"
        assert before["status"] in r.json()["detail"]
        after = (await client.get(f"/v1/submissions/{s['id']}", headers=moderator)).json()
        assert after == before
        assert len(await _history(client, moderator, s["id"])) == len(steps)


async def test_moderation_needs_the_scope_and_a_reason(client, issuer, moderator, make_commitments):
    [c] = await make_commitments()
    owner = submitter(issuer)
    s = await received(client, owner, [c])
    url = f"/v1/submissions/{s['id']}/decisions"
    assert (await client.post(url, json={"action": "accept", "reason": "x"})).status_code == 401
    r = await client.post(url, json={"action": "accept", "reason": "x"}, headers=owner)
    assert r.status_code == 403
    for body in (
        {"action": "accept"},
        {"action": "accept", "reason": ""},
        {"action": "bless", "reason": "x"},
    ):
        r = await client.post(url, json=body, headers=moderator)
        assert r.status_code == 422, body
    r = await decide(client, moderator, str(uuid.uuid4()), "accept")
    assert r.status_code == 404
    assert await _history(client, moderator, s["id"]) == []
    # The history is the submitter's and the moderators', not the public's.
    await publish(client, moderator, s["id"])
    assert (await client.get(url)).status_code == 403
    assert (await client.get(url, headers=submitter(issuer))).status_code == 403


async def test_do_not_publish_is_never_published(client, issuer, moderator, make_commitments):
    [c] = await make_commitments()
    s = await received(client, submitter(issuer), [c], consent="do_not_publish")
    assert (await decide(client, moderator, s["id"], "accept")).status_code == 201
    r = await decide(client, moderator, s["id"], "publish")
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/publication-not-consented"
    assert (await decide(client, moderator, s["id"], "withhold")).status_code == 201
    r = await decide(client, moderator, s["id"], "publish")
    assert r.status_code == 409
    assert r.json()["type"] == "/problems/publication-not-consented"
    got = (await client.get(f"/v1/submissions/{s['id']}", headers=moderator)).json()
    assert got["status"] == "withheld"
    assert got["publication_reference"] is None
    assert (await client.get(f"/v1/submissions/{s['id']}")).status_code == 404


async def test_publication_references_per_call_and_stable(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    prefix = "T" + uuid.uuid4().hex[:6].upper().translate(str.maketrans("0123456789", "GHIJKLMNOP"))
    call = await make_call(client, moderator, [c], reference_prefix=prefix)
    owner = submitter(issuer)
    refs = []
    for _ in range(3):
        s = await received(client, owner, [c], call_id=call["id"])
        decision = await publish(client, moderator, s["id"])
        refs.append(decision["publication_reference"])
    assert refs == [f"{prefix}0001", f"{prefix}0002", f"{prefix}0003"]
    # Withheld and published again, a submission keeps its reference; nothing is skipped.
    s_id = (await client.get("/v1/submissions", params={"q": "EPR", "call_id": call["id"]})).json()[
        "items"
    ][0]["id"]
    assert (await decide(client, moderator, s_id, "withhold")).status_code == 201
    again = (await decide(client, moderator, s_id, "publish")).json()
    assert again["publication_reference"] == refs[0]
    s = await received(client, owner, [c], call_id=call["id"])
    assert (await publish(client, moderator, s["id"]))["publication_reference"] == f"{prefix}0004"
    # Stand-alone evidence: the service's default prefix.
    s = await received(client, owner, [c])
    ref = (await publish(client, moderator, s["id"]))["publication_reference"]
    assert re.fullmatch(r"EV\d{4,}", ref)
    # The prefix of a call with published evidence no longer changes.
    url = f"/v1/calls-for-evidence/{call['id']}"
    r = await client.patch(
        url, json={"reference_prefix": "ZZZ"}, headers={**moderator, "If-Match": "*"}
    )
    assert r.status_code == 409


async def test_the_submitter_withdraws_before_publication(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    owner = submitter(issuer)
    other = submitter(issuer)
    s = await received(client, owner, [c])
    url = f"/v1/submissions/{s['id']}/withdrawal"
    # Another client's submission: as if it did not exist; nothing changes.
    r = await client.post(url, json={}, headers=other)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert (await client.post(url, json={}, headers=moderator)).status_code == 403
    r = await client.post(url, json={"reason": "Sent too early."}, headers=owner)
    assert r.status_code == 201, r.text
    assert r.json()["to_status"] == "withdrawn"
    assert r.json()["decided_by"] == s["submitter"]["client_id"]
    assert (await client.post(url, json={}, headers=owner)).status_code == 409
    assert (await decide(client, moderator, s["id"], "accept")).status_code == 409
    # Accepted evidence may still be withdrawn; published evidence may not.
    s2 = await received(client, owner, [c])
    assert (await decide(client, moderator, s2["id"], "accept")).status_code == 201
    r = await client.post(f"/v1/submissions/{s2['id']}/withdrawal", json={}, headers=owner)
    assert r.status_code == 201
    assert r.json()["reason"] == "Withdrawn by the submitter."
    s3 = await received(client, owner, [c])
    await publish(client, moderator, s3["id"])
    r = await client.post(f"/v1/submissions/{s3['id']}/withdrawal", json={}, headers=owner)
    assert r.status_code == 409
    r = await client.post(f"/v1/submissions/{s3['id']}/withdrawal", json={}, headers=other)
    assert r.status_code == 403


async def test_events_of_moderation(client, issuer, moderator, make_commitments, evidence_app):
    [c] = await make_commitments()
    call = await make_call(client, moderator, [c])
    s = await received(client, submitter(issuer), [c], call_id=call["id"])
    await publish(client, moderator, s["id"])
    assert (await decide(client, moderator, s["id"], "withhold")).status_code == 201
    s2 = await received(client, submitter(issuer), [c])
    assert (await decide(client, moderator, s2["id"], "reject")).status_code == 201
    async with evidence_app.state.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Event)
                .where(Event.resource_id.in_([uuid.UUID(s["id"]), uuid.UUID(s2["id"])]))
                .order_by(Event.occurred_at, Event.id)
            )
        ).all()
        decisions = (
            await session.scalars(
                select(Decision).where(Decision.submission_id == uuid.UUID(s["id"]))
            )
        ).all()
    assert [(e.type, e.public) for e in rows] == [
        ("submission.received", False),
        ("submission.accepted", False),
        ("submission.published", True),
        ("submission.withheld", False),
        ("submission.received", False),
        ("submission.rejected", False),
    ]
    for e in rows:
        assert {"id", "status", "commitment_ids", "call_id"} <= set(e.payload)
        assert e.payload["commitment_ids"] == [c]
    assert rows[2].payload["status"] == "published"
    assert rows[2].payload["call_id"] == call["id"]
    assert rows[2].payload["publication_reference"].startswith("DIG")
    assert len(decisions) == 3


# --- PostgreSQL: references under concurrency -------------------------------------------------

postgres = pytest.mark.skipif(not ON_POSTGRES, reason=NO_POSTGRES_REASON)


@postgres
async def test_concurrent_publications_get_unique_gap_free_references(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    prefix = "C" + uuid.uuid4().hex[:6].upper().translate(str.maketrans("0123456789", "GHIJKLMNOP"))
    call = await make_call(client, moderator, [c], reference_prefix=prefix)
    owner = submitter(issuer)
    ids = [(await received(client, owner, [c], call_id=call["id"]))["id"] for _ in range(12)]
    for ident in ids:
        assert (await decide(client, moderator, ident, "accept")).status_code == 201
    results = await asyncio.gather(*(decide(client, moderator, i, "publish") for i in ids))
    assert [r.status_code for r in results] == [201] * len(ids)
    refs = sorted(r.json()["publication_reference"] for r in results)
    assert refs == [f"{prefix}{n:04d}" for n in range(1, len(ids) + 1)]


@postgres
async def test_racing_publishers_of_one_submission_publish_it_once(
    client, issuer, moderator, make_commitments
):
    [c] = await make_commitments()
    prefix = "R" + uuid.uuid4().hex[:6].upper().translate(str.maketrans("0123456789", "GHIJKLMNOP"))
    call = await make_call(client, moderator, [c], reference_prefix=prefix)
    s = await received(client, submitter(issuer), [c], call_id=call["id"])
    assert (await decide(client, moderator, s["id"], "accept")).status_code == 201
    results = await asyncio.gather(
        *(decide(client, moderator, s["id"], "publish") for _ in range(6))
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201] + [409] * 5, codes
    nxt = await received(client, submitter(issuer), [c], call_id=call["id"])
    assert (await publish(client, moderator, nxt["id"]))["publication_reference"] == f"{prefix}0002"
