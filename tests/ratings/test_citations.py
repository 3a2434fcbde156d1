"""Evidence citations, checked against the ratings service's own read model of evidence.

The read model is fed by the evidence service's feed. Two ways in:

- the REAL evidence service (its outbox, sequencer, feed and private-event filtering), with a
  submission made through its API; moderation decisions are written into its outbox as the
  documented `submission.<status>` events (its moderation routes were being built concurrently
  when this was written, against the same contract);
- a tiny in-test app serving exactly the documented feed contract, to pin every event type.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request
from sqlalchemy import update

from ratings.models import ConsumerPosition
from ratings.read_models import apply_evidence_event
from servicekit.consumer import FeedConsumer
from servicekit.outbox import record_event
from tests.ratings.helpers import (
    G,
    I,
    Json,
    R,
    agree,
    evaluation,
    levels,
    pointers,
    rate,
    rating_url,
    transition,
    wait_known_submissions,
)


async def wait_evidence_knows(evidence_app: FastAPI, ids: list[str]) -> None:
    """Wait until the evidence service's commitments read model holds `ids`."""
    from sqlalchemy import select

    from evidence.models import KnownCommitment

    wanted = {uuid.UUID(i) for i in ids}
    deadline = time.monotonic() + 10
    while True:
        async with evidence_app.state.sessionmaker() as session:
            rows = await session.scalars(
                select(KnownCommitment.id).where(KnownCommitment.id.in_(wanted))
            )
            if set(rows.all()) == wanted:
                return
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def submit(evidence, issuer, commitment_ids: list[str]) -> Json:
    """A submission made through the real evidence service's API."""
    r = await evidence.post(
        "/v1/submissions",
        json={
            "commitment_ids": commitment_ids,
            "kind": "written",
            "title": "Evidence on shared care records",
            "summary": "Coverage varies.",
            "body": "Every ICS has a basic shared care record; social care is often missing.",
            "stance": "challenges",
            "consent": "publish",
        },
        headers=issuer.auth("evidence:submit", org="NHS Providers"),
    )
    assert r.status_code == 201, r.text
    submission: Json = r.json()
    return submission


async def decide(evidence_app: FastAPI, submission: Json, status: str) -> None:
    """A moderation decision as the evidence service records it: the row and its event."""
    from evidence.models import Event, Submission

    payload = {**submission, "status": status}
    async with evidence_app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Submission)
            .where(Submission.id == uuid.UUID(submission["id"]))
            .values(status=status)
        )
        record_event(
            session,
            Event,
            f"submission.{status}",
            "submission",
            uuid.UUID(submission["id"]),
            payload,
            public=status == "published",
        )


async def test_citations_through_the_real_evidence_feed(
    client, writer, publisher, issuer, commitments, cwriter, evidence, evidence_app, ratings_app
):
    ev, ids = await evaluation(client, writer, commitments, cwriter, n=2)
    await wait_evidence_knows(evidence_app, ids)
    about_first = await submit(evidence, issuer, [ids[0]])
    about_both = await submit(evidence, issuer, ids)
    about_second = await submit(evidence, issuer, [ids[1]])
    # submission.received is private: only a consumer with events:internal ever sees it.
    await wait_known_submissions(
        ratings_app,
        {
            about_first["id"]: "received",
            about_both["id"]: "received",
            about_second["id"]: "received",
        },
    )
    url = rating_url(ev, ids[0])
    body: dict[str, Any] = {"levels": levels(I, I, I, G)}

    r = await client.put(
        url, json={**body, "cited_submission_ids": [about_first["id"]]}, headers=writer
    )
    assert pointers(r) == ["body.cited_submission_ids.0"]
    assert r.json()["errors"][0]["code"] == "not_citable"
    assert "received" in r.json()["detail"]

    await decide(evidence_app, about_first, "accepted")
    await decide(evidence_app, about_both, "published")
    await decide(evidence_app, about_second, "accepted")
    await wait_known_submissions(
        ratings_app,
        {
            about_first["id"]: "accepted",
            about_both["id"]: "published",
            about_second["id"]: "accepted",
        },
    )
    stranger = str(uuid.uuid4())
    r = await client.put(
        url,
        json={
            **body,
            "cited_submission_ids": [
                about_first["id"],
                stranger,
                about_second["id"],
                about_first["id"],
            ],
        },
        headers=writer,
    )
    assert pointers(r) == [
        "body.cited_submission_ids.1",
        "body.cited_submission_ids.2",
        "body.cited_submission_ids.3",
    ]
    assert [e["code"] for e in r.json()["errors"]] == [
        "unknown_reference",
        "unrelated",
        "duplicate",
    ]
    assert (await client.get(url, headers=writer)).status_code == 404  # nothing stored

    cited = [about_first["id"], about_both["id"]]
    r = await client.put(url, json={**body, "cited_submission_ids": cited}, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["cited_submission_ids"] == cited
    r = await client.put(
        rating_url(ev, ids[1]),
        json={"levels": levels(R, R, R, R), "cited_submission_ids": [about_both["id"]]},
        headers=writer,
    )
    assert r.status_code == 201, r.text

    # Evidence withdrawn after it was cited blocks publication until the rating drops it.
    for cid in ids:
        await agree(client, writer, ev, cid)
    await transition(client, writer, ev, "submit-for-review")
    await decide(evidence_app, about_first, "withdrawn")
    await wait_known_submissions(ratings_app, {about_first["id"]: "withdrawn"})
    r = await transition(client, publisher, ev, "publish", {})
    assert r.status_code == 409
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        (f"ratings.{ids[0]}.cited_submission_ids.0", "not_citable")
    ]
    # Agreeing re-checks citations too.
    got = await client.get(url, headers=writer)
    r = await client.patch(
        url,
        json={"rationales": {"impact": "x"}},
        headers={**writer, "If-Match": got.headers["etag"]},
    )
    assert pointers(r) == ["body.cited_submission_ids.0"]
    r = await client.patch(
        url,
        json={"cited_submission_ids": [about_both["id"]], "status": "agreed"},
        headers={**writer, "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "agreed"
    assert (await transition(client, publisher, ev, "publish", {})).status_code == 200


CONTRACT_TYPES = [
    ("submission.received", "received", False),
    ("submission.accepted", "accepted", False),
    ("submission.rejected", "rejected", False),
    ("submission.withheld", "withheld", False),
    ("submission.withdrawn", "withdrawn", False),
    ("submission.published", "published", True),
]


def contract_feed(events: list[Json]) -> FastAPI:
    """The evidence feed as documented: `GET /v1/events?after=&limit=`, private events only for
    a bearer of `events:internal` (here: any bearer)."""
    app = FastAPI()

    @app.get("/v1/events")
    async def feed(request: Request, after: int = 0, limit: int = 100) -> Json:
        internal = request.headers.get("authorization", "").startswith("Bearer ")
        scanned = [e for e in events if e["position"] > after][:limit]
        items = [
            {k: v for k, v in e.items() if k != "public"}
            for e in scanned
            if internal or e["public"]
        ]
        return {"items": items, "next_after": scanned[-1]["position"] if scanned else after}

    return app


async def test_the_documented_evidence_feed_contract(
    client, writer, issuer, commitments, cwriter, ratings_app
):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    other = str(uuid.uuid4())
    subs = {status: str(uuid.uuid4()) for _, status, _ in CONTRACT_TYPES}
    events: list[Json] = []

    def add(type_: str, sid: str, status: str, public: bool, commitment_ids: list[str]) -> None:
        events.append(
            {
                "id": str(uuid.uuid4()),
                "position": len(events) + 1,
                "type": type_,
                "resource_type": "submission",
                "resource_id": sid,
                "occurred_at": "2023-01-01T00:00:00Z",
                "public": public,
                "payload": {"id": sid, "status": status, "commitment_ids": commitment_ids},
            }
        )

    for type_, status, public in CONTRACT_TYPES:
        add("submission.received", subs[status], "received", False, [ids[0]])
        if status != "received":
            add(type_, subs[status], status, public, [ids[0]])
    unrelated = str(uuid.uuid4())
    add("submission.received", unrelated, "received", False, [other])
    add("submission.accepted", unrelated, "accepted", False, [other])
    events.append(
        {
            **events[0],
            "id": str(uuid.uuid4()),
            "position": len(events) + 1,
            "type": "call_for_evidence.created",
            "payload": {"id": str(uuid.uuid4())},
        }
    )

    transport = httpx.ASGITransport(app=contract_feed(events))
    async with httpx.AsyncClient(transport=transport, base_url="http://evidence") as feed_client:
        # Read anonymously, only the published submission would ever be seen.
        anonymous = FeedConsumer(
            f"contract-anon-{uuid.uuid4().hex[:6]}",
            feed_client,
            ratings_app.state.sessionmaker,
            ConsumerPosition,
            apply_evidence_event,
        )
        seen = (await feed_client.get("/v1/events")).json()["items"]
        assert [e["type"] for e in seen] == ["submission.published"]
        assert await anonymous.poll_once() == 1

        async def token() -> dict[str, str]:
            headers: dict[str, str] = issuer.auth("events:internal")
            return headers

        consumer = FeedConsumer(
            f"contract-{uuid.uuid4().hex[:6]}",
            feed_client,
            ratings_app.state.sessionmaker,
            ConsumerPosition,
            apply_evidence_event,
            headers=token,
        )
        assert await consumer.poll_once() == len(events)
        assert await consumer.poll_once() == 0  # position stored: nothing applied twice
        assert await consumer.position() == len(events)
    await wait_known_submissions(
        ratings_app, {**{v: k for k, v in subs.items()}, unrelated: "accepted"}
    )

    rated = False  # the first citable submission creates the rating, later ones replace it
    for status, sid in subs.items():
        r = await rate(client, writer, ev, ids[0], G, G, G, G, cited_submission_ids=[sid])
        if status in ("accepted", "published"):
            assert r.status_code == (200 if rated else 201), (status, r.text)
            assert r.json()["cited_submission_ids"] == [sid]
            rated = True
        else:
            assert pointers(r) == ["body.cited_submission_ids.0"], status
            assert r.json()["errors"][0]["code"] == "not_citable", status
    r = await rate(client, writer, ev, ids[0], G, G, G, G, cited_submission_ids=[unrelated])
    assert pointers(r) == ["body.cited_submission_ids.0"]
    assert r.json()["errors"][0]["code"] == "unrelated"
