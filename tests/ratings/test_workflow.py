"""The publication workflow: draft → in_review → published (or withdrawn), agreeing ratings,
freezing, who published, visibility of drafts, and which events are public."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from tests.ratings.helpers import (
    PROBLEM,
    G,
    I,
    R,
    agree,
    evaluation,
    events_since,
    feed_head,
    levels,
    pointers,
    published,
    rate,
    rating_url,
    transition,
)
from tests.support.databases import ON_POSTGRES


async def test_the_whole_workflow_records_who_and_when_and_freezes(
    client, writer, publisher, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter, n=2)
    url = rating_url(ev, ids[0])
    r = await rate(client, writer, ev, ids[0], G, R, R, R)
    assert r.status_code == 201
    assert r.json()["status"] == "draft"

    # Agreeing is a PATCH of the status, with the ETag.
    r = await client.patch(url, json={"status": "agreed"}, headers=writer)
    assert r.status_code == 428
    r = await agree(client, writer, ev, ids[0])
    assert r.status_code == 200, r.text
    agreed = r.json()
    assert agreed["status"] == "agreed"
    assert agreed["agreed_at"]

    # Changing an agreed rating returns it to draft; agreeing in the same PATCH keeps it agreed.
    got = await client.get(url, headers=writer)
    r = await client.patch(
        url,
        json={"rationales": {"impact": "Outcomes unclear."}},
        headers={**writer, "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "draft"
    assert r.json()["agreed_at"] is None
    assert r.json()["rationales"] == {"impact": "Outcomes unclear."}
    r = await client.patch(
        url,
        json={"rationales": {"appropriateness": "Fits."}, "status": "agreed"},
        headers={**writer, "If-Match": r.headers["etag"]},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "agreed"
    assert r.json()["rationales"] == {"impact": "Outcomes unclear.", "appropriateness": "Fits."}

    # Publishing needs review first, then every commitment rated and agreed.
    r = await transition(client, publisher, ev, "publish", {})
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert "in review" in r.json()["detail"]
    r = await transition(client, writer, ev, "submit-for-review")
    assert r.status_code == 200
    assert r.json()["status"] == "in_review"
    assert (await transition(client, writer, ev, "submit-for-review")).status_code == 409
    r = await transition(client, publisher, ev, "publish", {})
    assert r.status_code == 409
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        (f"ratings.{ids[1]}", "unrated")
    ]
    await rate(client, writer, ev, ids[1], I, I, I, G)  # ratings may still change in review
    r = await transition(client, publisher, ev, "publish", {})
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [
        (f"ratings.{ids[1]}", "not_agreed")
    ]
    assert (await client.get(f"/v1/evaluations/{ev['id']}", headers=writer)).json()[
        "status"
    ] == "in_review"
    await agree(client, writer, ev, ids[1])

    # Publishing is ratings:publish only, and records who and when.
    assert (await transition(client, writer, ev, "publish", {})).status_code == 403
    r = await transition(client, publisher, ev, "publish")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "published"
    assert out["published_on"] == dt.datetime.now(dt.UTC).date().isoformat()
    assert out["publication"]["published_by"] == {
        "client_id": "panel-member",
        "organisation": "Expert Panel",
    }
    assert out["publication"]["published_at"]
    assert (await transition(client, publisher, ev, "publish", {})).status_code == 409

    # Frozen: every change is 409, whatever the ETag, and nothing changes.
    rating = await client.get(url)
    assert rating.json()["status"] == "published"
    etag = rating.headers["etag"]
    for attempt in (
        client.put(url, json={"levels": levels(G, G, G, G)}, headers={**writer, "If-Match": etag}),
        client.put(url, json={"levels": rating.json()["levels"]}, headers=writer),
        client.patch(url, json={"status": "draft"}, headers={**writer, "If-Match": etag}),
        client.patch(
            f"/v1/evaluations/{ev['id']}",
            json={"title": "New"},
            headers={**writer, "If-Match": r.headers["etag"]},
        ),
        transition(client, writer, ev, "return-to-draft"),
    ):
        resp = await attempt
        assert resp.status_code == 409, resp.text
        assert resp.headers["content-type"] == PROBLEM
    assert (await client.get(url)).json() == rating.json()


async def test_publishing_keeps_a_given_date_and_return_to_draft(
    client, writer, publisher, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter, published_on="2023-02-01")
    await rate(client, writer, ev, ids[0], G, G, G, G)
    await agree(client, writer, ev, ids[0])
    r = await transition(client, writer, ev, "return-to-draft")
    assert r.status_code == 409
    assert "in review" in r.json()["detail"]
    await transition(client, writer, ev, "submit-for-review")
    r = await transition(client, writer, ev, "return-to-draft")
    assert r.status_code == 200
    assert r.json()["status"] == "draft"
    await transition(client, writer, ev, "submit-for-review")
    # An ETag that is stale makes the transition fail (If-Match is optional here).
    r = await transition(client, {**publisher, "If-Match": '"000000000000-1"'}, ev, "publish", {})
    assert r.status_code == 412
    current = await client.get(f"/v1/evaluations/{ev['id']}", headers=writer)
    r = await transition(
        client, {**publisher, "If-Match": current.headers["etag"]}, ev, "publish", {}
    )
    assert r.status_code == 200
    assert r.json()["published_on"] == "2023-02-01"
    assert r.headers["etag"] != current.headers["etag"]

    ev2, ids2 = await evaluation(client, writer, commitments, cwriter)
    await rate(client, writer, ev2, ids2[0], G, G, G, G)
    await agree(client, writer, ev2, ids2[0])
    await transition(client, writer, ev2, "submit-for-review")
    r = await transition(client, publisher, ev2, "publish", {"published_on": "2023-02-17"})
    assert r.json()["published_on"] == "2023-02-17"
    r = await transition(client, publisher, ev2, "publish", {"published_on": "17/02/2023"})
    assert r.status_code == 422


async def test_withdrawal_needs_a_reason_and_a_published_one_stays_public(
    client, writer, publisher, commitments, cwriter
):
    ev, ids = await published(client, writer, publisher, commitments, cwriter, [(G, G, G, R)])
    r = await transition(client, publisher, ev, "withdraw", {})
    assert pointers(r) == ["body.reason"]
    r = await transition(client, publisher, ev, "withdraw", {"reason": "  "})
    assert pointers(r) == ["body.reason"]
    assert (await transition(client, writer, ev, "withdraw", {"reason": "x"})).status_code == 403
    r = await transition(
        client, publisher, ev, "withdraw", {"reason": "Superseded by a correction."}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "withdrawn"
    assert out["withdrawal"]["reason"] == "Superseded by a correction."
    assert out["withdrawal"]["withdrawn_by"] == "panel-member"
    assert out["publication"]["published_by"]["client_id"] == "panel-member"
    assert (await transition(client, publisher, ev, "withdraw", {"reason": "x"})).status_code == 409
    # Still on the public record, marked withdrawn; its ratings stay frozen.
    anon = await client.get(f"/v1/evaluations/{ev['id']}")
    assert anon.status_code == 200
    assert anon.json()["withdrawal"] is not None
    assert (await client.get(rating_url(ev, ids[0]))).status_code == 200
    r = await client.put(
        rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=writer
    )
    assert r.status_code == 409

    # A draft that is withdrawn was never public, and stays hidden.
    draft, _ = await evaluation(client, writer, commitments, cwriter)
    r = await transition(client, publisher, draft, "withdraw", {"reason": "Started by mistake."})
    assert r.status_code == 200
    assert r.json()["publication"] is None
    assert (await client.get(f"/v1/evaluations/{draft['id']}")).status_code == 404
    assert (await transition(client, writer, draft, "submit-for-review")).status_code == 409


async def test_evaluation_patch_needs_if_match_and_keeps_required_fields(
    client, writer, commitments, cwriter
):
    ev, _ = await evaluation(client, writer, commitments, cwriter)
    url = f"/v1/evaluations/{ev['id']}"
    assert (await client.patch(url, json={"title": "Renamed"}, headers=writer)).status_code == 428
    got = await client.get(url, headers=writer)
    r = await client.patch(
        url,
        json={"title": "Renamed", "chair": None, "members": ["A"]},
        headers={**writer, "If-Match": got.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "Renamed"
    assert r.json()["members"] == ["A"]
    assert r.headers["etag"] != got.headers["etag"]
    r2 = await client.patch(
        url, json={"title": None}, headers={**writer, "If-Match": r.headers["etag"]}
    )
    assert pointers(r2) == ["body.title"]
    r2 = await client.patch(
        url, json={"scale": []}, headers={**writer, "If-Match": r.headers["etag"]}
    )
    assert pointers(r2) == ["body.scale"]
    r2 = await client.patch(
        url, json={"title": "X"}, headers={**writer, "If-Match": got.headers["etag"]}
    )
    assert r2.status_code == 412
    r2 = await client.patch(
        f"/v1/evaluations/{uuid.uuid4()}", json={"title": "X"}, headers={**writer, "If-Match": "*"}
    )
    assert r2.status_code == 404


async def test_drafts_are_private_published_ones_public(
    client, writer, publisher, issuer, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    await rate(client, writer, ev, ids[0], G, G, G, G)
    base = f"/v1/evaluations/{ev['id']}"
    paths = [
        base,
        f"{base}/summary",
        f"{base}/ratings",
        rating_url(ev, ids[0]),
        f"{base}/responses",
    ]
    outsiders = [{}, issuer.auth("evidence:submit"), issuer.auth("responses:write")]
    for path in paths:
        for auth in outsiders:
            r = await client.get(path, headers=auth)
            assert r.status_code == 404, (path, auth)
            assert r.headers["content-type"] == PROBLEM, (path, auth)
        for auth in (writer, publisher):
            assert (await client.get(path, headers=auth)).status_code == 200, path
    assert (await client.get(base, headers={"Authorization": "Bearer junk"})).status_code == 401
    listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]})
    assert listed.json()["items"] == []

    await agree(client, writer, ev, ids[0])
    await transition(client, writer, ev, "submit-for-review")
    await transition(client, publisher, ev, "publish", {})
    for path in paths:
        assert (await client.get(path)).status_code == 200, path
    listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]})
    assert [e["id"] for e in listed.json()["items"]] == [ev["id"]]


async def test_events_are_private_until_published_then_public(
    client, writer, publisher, issuer, commitments, cwriter
):
    internal = issuer.auth("events:internal")
    start = await feed_head(client, internal)
    ev, ids = await evaluation(client, writer, commitments, cwriter, n=2)
    for cid in ids:
        await rate(client, writer, ev, cid, G, R, R, R)
        await agree(client, writer, ev, cid)
    await transition(client, writer, ev, "submit-for-review")
    # evaluation.created, twice (rating.created, rating.agreed), submitted_for_review
    private = await events_since(client, start, internal, at_least=6, evaluation_id=ev["id"])
    assert [e["type"] for e in private][:6] == [
        "evaluation.created",
        "rating.created",
        "rating.agreed",
        "rating.created",
        "rating.agreed",
        "evaluation.submitted_for_review",
    ]
    assert await events_since(client, start, evaluation_id=ev["id"]) == []  # none of it public

    await transition(client, publisher, ev, "publish", {})
    public = await events_since(client, start, at_least=3, evaluation_id=ev["id"])
    assert [e["type"] for e in public] == [
        "rating.published",
        "rating.published",
        "evaluation.published",
    ]
    assert [e["payload"]["commitment_id"] for e in public[:2]] == ids
    assert all(e["payload"]["status"] == "published" for e in public[:2])
    assert public[2]["payload"]["status"] == "published"
    assert public[2]["payload"]["publication"]["published_by"]["client_id"] == "panel-member"


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks only exist on PostgreSQL")
async def test_a_rating_cannot_change_under_a_concurrent_publication(
    client, writer, publisher, commitments, cwriter
):
    # Publishing locks the evaluation; a rating write takes the lock shared, so either the write
    # lands first (and publication sees it unagreed: 409), or publication does (write: 409).
    for _ in range(3):
        ev, ids = await evaluation(client, writer, commitments, cwriter)
        await rate(client, writer, ev, ids[0], G, G, G, G)
        agreed = await agree(client, writer, ev, ids[0])
        await transition(client, writer, ev, "submit-for-review")
        change, pub = await asyncio.gather(
            client.put(
                rating_url(ev, ids[0]),
                json={"levels": levels(I, I, I, I)},
                headers={**writer, "If-Match": agreed.headers["etag"]},
            ),
            transition(client, publisher, ev, "publish", {}),
        )
        assert sorted([change.status_code, pub.status_code]) == [200, 409]
        final = (await client.get(rating_url(ev, ids[0]), headers=writer)).json()
        if pub.status_code == 200:
            assert final["status"] == "published"
            assert final["levels"] == levels(G, G, G, G)
        else:
            assert final["status"] == "draft"
            assert final["levels"] == levels(I, I, I, I)
