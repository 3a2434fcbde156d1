"""The ratings service through its HTTP API, its read model fed by the real commitments service."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ratings import repository
from ratings.models import Rating
from tests.ratings.helpers import (
    CHAIR_CLIENT,
    DIMS,
    PROBLEM,
    G,
    I,
    O,
    R,
    create_evaluation,
    evaluation,
    feed_head,
    levels,
    make_area,
    make_commitments,
    pointers,
    rating_url,
    ref,
)

# --- evaluations -------------------------------------------------------------------------------


async def test_create_evaluation_with_defaults(client, writer, commitments, cwriter):
    ids = await make_commitments(commitments, cwriter, 2)
    r = await create_evaluation(
        client,
        writer,
        ids,
        chair="Professor Dame Jane Dacre",
        members=["A Member", "Another Member"],
        published_on="2023-02-17",
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["status"] == "draft"
    assert ev["published_on"] == "2023-02-17"
    assert ev["aggregation_rule"] == "floor_mean"
    assert ev["commitment_ids"] == ids
    assert [(s["code"], s["score"], s["label"]) for s in ev["scale"]] == [
        (O, 4, "Outstanding"),
        (G, 3, "Good"),
        (R, 2, "Requires improvement"),
        (I, 1, "Inadequate"),
    ]
    assert [d["code"] for d in ev["dimensions"]] == list(DIMS)
    assert ev["dimensions"][1]["label"] == "Funding and resource"
    assert r.headers["etag"]
    assert ev["previous_evaluation_id"] is None
    assert ev["publication"] is None
    assert ev["withdrawal"] is None
    got = await client.get(r.headers["location"], headers=writer)
    assert got.status_code == 200
    assert got.json() == ev
    assert got.headers["etag"] == r.headers["etag"]
    # A draft is the panel's business: anonymous readers do not see it at all.
    assert (await client.get(r.headers["location"])).status_code == 404


async def test_unknown_commitment_is_422_at_its_index_and_nothing_stored(
    client, writer, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    stranger = str(uuid.uuid4())
    r = await client.post(
        "/v1/evaluations",
        json={"title": "T", "body": "B", "commitment_ids": [ids[0], stranger]},
        headers=writer,
    )
    assert pointers(r) == ["body.commitment_ids.1"]
    assert stranger in r.json()["errors"][0]["detail"]
    listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]}, headers=writer)
    assert [e["id"] for e in listed.json()["items"]] == [ev["id"]]


async def test_evaluation_input_is_validated(client, writer, commitments, cwriter):
    _, ids = await evaluation(client, writer, commitments, cwriter)
    base = {"title": "T", "body": "B", "commitment_ids": ids}

    async def post(**over):
        return await client.post("/v1/evaluations", json={**base, **over}, headers=writer)

    assert pointers(await post(commitment_ids=[ids[0], ids[0]])) == ["body.commitment_ids.1"]
    assert pointers(await post(commitment_ids=[])) == ["body.commitment_ids"]
    assert pointers(await post(commitment_ids=[str(uuid.uuid4())] * 2001)) == [
        "body.commitment_ids"
    ]
    dup_scale = [
        {"code": "hi", "label": "Hi", "score": 2},
        {"code": "hi", "label": "Lo", "score": 1},
    ]
    assert pointers(await post(scale=dup_scale)) == ["body.scale.1.code"]
    unordered = [
        {"code": "lo", "label": "Lo", "score": 1},
        {"code": "hi", "label": "Hi", "score": 2},
    ]
    r = await post(scale=unordered)
    assert pointers(r) == ["body.scale.1.score"]
    assert "strictly decrease" in r.json()["detail"]
    dims = [{"code": "x", "label": "X"}, {"code": "x", "label": "Y"}]
    assert pointers(await post(dimensions=dims)) == ["body.dimensions.1.code"]
    three = [
        {"code": "a", "label": "A", "score": 3},
        {"code": "b", "label": "B", "score": 2},
        {"code": "c", "label": "C", "score": 1},
    ]
    r = await post(scale=three, aggregation_rule="cqc_principles")
    assert pointers(r) == ["body.aggregation_rule"]
    assert "four levels" in r.json()["detail"]
    assert pointers(await post(aggregation_rule="median")) == ["body.aggregation_rule"]
    assert pointers(await post(status="published")) == ["body.status"]
    assert pointers(await post(scale=[{"code": "Bad Code", "label": "x", "score": 1}])) == [
        "body.scale.0.code"
    ]
    assert pointers(await post(scale=[{"code": "only", "label": "x", "score": 1}])) == [
        "body.scale"
    ]
    r = await client.post("/v1/evaluations", json={"title": "T", "body": "B"}, headers=writer)
    assert pointers(r) == ["body.commitment_ids"]
    assert r.json()["errors"][0]["code"] == "missing"
    listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]}, headers=writer)
    assert len(listed.json()["items"]) == 1


async def test_list_evaluations_filters_and_pages(client, writer, commitments, cwriter):
    ids = await make_commitments(commitments, cwriter, 1)
    made = []
    for _ in range(3):
        r = await create_evaluation(client, writer, ids)
        made.append(r.json()["id"])
    seen, token = [], None
    while True:
        params = {"commitment_id": ids[0], "status": "draft", "page_size": 2}
        if token:
            params["page_token"] = token
        page = (await client.get("/v1/evaluations", params=params, headers=writer)).json()
        seen += [e["id"] for e in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == made
    page = await client.get(
        "/v1/evaluations",
        params=[("commitment_id", ids[0]), ("status", "published")],
        headers=writer,
    )
    assert page.json()["items"] == []
    # Anonymous readers list published evaluations only.
    page = await client.get("/v1/evaluations", params={"commitment_id": ids[0]})
    assert page.json()["items"] == []
    assert pointers(await client.get("/v1/evaluations", params={"status": "final"})) == [
        "query.status.0"
    ]
    assert (await client.get(f"/v1/evaluations/{uuid.uuid4()}")).status_code == 404


# --- ratings -----------------------------------------------------------------------------------


async def test_rating_is_created_then_replaced_with_if_match(client, writer, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    url = rating_url(ev, ids[0])
    body = {
        "levels": levels(G, R, R, R),
        "rationales": {"impact": "Registrations rose; outcomes unclear."},
    }
    r = await client.put(url, json=body, headers=writer)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == url
    assert r.headers["etag"]
    rating = r.json()
    assert rating["levels"] == body["levels"]
    assert rating["status"] == "draft"
    assert rating["rationales"] == body["rationales"]
    assert rating["cited_submission_ids"] == []
    assert rating["override"] is None
    assert rating["previous"] is None
    assert rating["agreed_at"] is None
    assert rating["overall"] == {
        "level": R,
        "score": 2,
        "rule": "floor_mean",
        "explanation": "floor of the mean of 3, 2, 2, 2 = 2.25 → 2 (requires_improvement)",
        "computed_level": R,
        "overridden": False,
        "override_reason": None,
    }
    got = await client.get(url, headers=writer)
    assert got.json() == rating
    assert got.headers["etag"] == r.headers["etag"]
    etag = r.headers["etag"]
    # A retried first PUT (same body, no If-Match) finds it done: 200, same rating, same ETag.
    retry = await client.put(url, json=body, headers=writer)
    assert retry.status_code == 200
    assert retry.json() == rating
    assert retry.headers["etag"] == etag

    better = {"levels": levels(O, G, G, G)}
    r = await client.put(url, json=better, headers=writer)
    assert r.status_code == 428
    assert r.headers["content-type"] == PROBLEM
    r = await client.put(url, json=better, headers={**writer, "If-Match": '"stale-1"'})
    assert r.status_code == 412
    assert (await client.get(url, headers=writer)).json() == rating
    r = await client.put(url, json=better, headers={**writer, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert "location" not in r.headers
    assert r.headers["etag"] != etag
    replaced = r.json()
    assert replaced["id"] == rating["id"]
    assert replaced["overall"]["level"] == G
    # PUT replaces the whole rating: what was not sent is gone.
    assert replaced["rationales"] == {}
    assert replaced["cited_submission_ids"] == []
    # The same body again changes nothing, so the ETag stays.
    again = await client.put(url, json=better, headers={**writer, "If-Match": r.headers["etag"]})
    assert again.status_code == 200
    assert again.headers["etag"] == r.headers["etag"]
    r = await client.put(url, json=body, headers={**writer, "If-Match": etag})
    assert r.status_code == 412


async def test_if_match_on_a_rating_that_does_not_exist_is_412(
    client, writer, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    url = rating_url(ev, ids[0])
    r = await client.put(
        url, json={"levels": levels(G, G, G, G)}, headers={**writer, "If-Match": '"abc-1"'}
    )
    assert r.status_code == 412
    assert (await client.get(url, headers=writer)).status_code == 404


async def test_override_needs_a_reason_and_wins(client, writer, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    url = rating_url(ev, ids[0])
    r = await client.put(
        url,
        json={"levels": levels(G, R, R, R), "override": {"level": I, "reason": "Stalled since."}},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    overall = r.json()["overall"]
    assert overall["level"] == I
    assert overall["score"] == 1
    assert overall["computed_level"] == R
    assert overall["overridden"] is True
    assert overall["override_reason"] == "Stalled since."
    assert overall["explanation"].endswith("overridden by the panel to inadequate")
    assert r.json()["override"] == {"level": I, "reason": "Stalled since."}
    summary = (await client.get(f"/v1/evaluations/{ev['id']}/summary", headers=writer)).json()
    assert summary["overall"]["level"] == I


async def test_rating_errors_are_precise_and_change_nothing(client, writer, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    (outsider,) = await make_commitments(commitments, cwriter, 1)
    url = rating_url(ev, ids[0])
    good = {"levels": levels(G, G, G, G)}

    r = await client.put(
        f"/v1/evaluations/{uuid.uuid4()}/ratings/{ids[0]}", json=good, headers=writer
    )
    assert r.status_code == 404
    assert "evaluation" in r.json()["detail"]
    # Known to the service but not in this evaluation's scope; and not known at all.
    await create_evaluation(client, writer, [outsider])
    for cid in (outsider, str(uuid.uuid4())):
        r = await client.put(rating_url(ev, cid), json=good, headers=writer)
        assert r.status_code == 404
        assert r.headers["content-type"] == PROBLEM
        assert "not in the scope" in r.json()["detail"]

    r = await client.put(url, json={"levels": levels(G, "excellent", G, G)}, headers=writer)
    assert pointers(r) == ["body.levels.funding_and_resource"]
    assert "not on this evaluation's scale" in r.json()["detail"]
    r = await client.put(url, json={"levels": {**levels(G, G, G, G), "colour": G}}, headers=writer)
    assert pointers(r) == ["body.levels.colour"]
    assert r.json()["errors"][0]["code"] == "unknown_dimension"
    missing = {k: v for k, v in levels(G, G, G, G).items() if k != "appropriateness"}
    r = await client.put(url, json={"levels": missing, "status": "agreed"}, headers=writer)
    assert pointers(r) == ["body.levels.appropriateness"]
    assert r.json()["errors"][0]["code"] == "missing"
    assert "agreeing" in r.json()["detail"]
    r = await client.put(
        url, json={"levels": missing, "override": {"level": I, "reason": "x"}}, headers=writer
    )
    assert pointers(r) == ["body.override"]
    assert r.json()["errors"][0]["code"] == "nothing_to_override"
    r = await client.put(url, json={**good, "status": "published"}, headers=writer)
    assert pointers(r) == ["body.status"]
    r = await client.put(url, json={**good, "override": {"level": I}}, headers=writer)
    assert pointers(r) == ["body.override.reason"]
    r = await client.put(
        url, json={**good, "override": {"level": I, "reason": "  "}}, headers=writer
    )
    assert pointers(r) == ["body.override.reason"]
    r = await client.put(
        url, json={**good, "override": {"level": "meh", "reason": "x"}}, headers=writer
    )
    assert pointers(r) == ["body.override.level"]
    r = await client.put(url, json={**good, "rationales": {"colour": "x"}}, headers=writer)
    assert pointers(r) == ["body.rationales.colour"]
    r = await client.put(url, json={**good, "stars": 5}, headers=writer)
    assert pointers(r) == ["body.stars"]
    r = await client.put(url, content=b"levels", headers={**writer, "content-type": "text/plain"})
    assert r.status_code == 415

    assert (await client.get(url, headers=writer)).status_code == 404
    listed = await client.get(f"/v1/evaluations/{ev['id']}/ratings", headers=writer)
    assert listed.json()["items"] == []
    r = await client.get(f"/v1/evaluations/{uuid.uuid4()}/ratings", headers=writer)
    assert r.status_code == 404


async def test_ratings_list_in_evaluation_order(client, writer, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter, n=5)
    for cid in reversed(ids[:4]):  # rated out of order, one left unrated
        r = await client.put(
            rating_url(ev, cid), json={"levels": levels(G, G, G, G)}, headers=writer
        )
        assert r.status_code == 201
    seen, token = [], None
    while True:
        params = {"page_size": 3, **({"page_token": token} if token else {})}
        page = (
            await client.get(f"/v1/evaluations/{ev['id']}/ratings", params=params, headers=writer)
        ).json()
        seen += [x["commitment_id"] for x in page["items"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == ids[:4]
    r = await client.get(
        f"/v1/evaluations/{ev['id']}/ratings",
        params=[("commitment_id", ids[2]), ("commitment_id", ids[0])],
        headers=writer,
    )
    assert [x["commitment_id"] for x in r.json()["items"]] == [ids[0], ids[2]]
    r = await client.get(
        f"/v1/evaluations/{ev['id']}/ratings", params={"page_token": "nope"}, headers=writer
    )
    assert pointers(r) == ["query.page_token"]


async def test_concurrent_first_ratings_one_wins(
    client, writer, commitments, cwriter, ratings_db, monkeypatch
):
    """Two first PUTs at once: one creates the rating, the other is refused and keeps nothing.

    On PostgreSQL both are held until each has read "no rating yet", so the loser's insert hits
    the unique key: 409. SQLite takes its write lock at BEGIN (IMMEDIATE), so there the loser
    waits for the winner's commit, finds its rating and, sending no If-Match, gets 428.
    """
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    url = rating_url(ev, ids[0])
    on_sqlite = ratings_db.startswith("sqlite")
    if not on_sqlite:
        read_rating = repository.get_rating
        both_read = asyncio.Barrier(2)
        reads = 0

        async def get_rating(*args: Any) -> Rating | None:
            nonlocal reads
            row = await read_rating(*args)
            reads += 1
            if reads <= 2:  # the two PUTs; later reads (the GET below) pass straight through
                await asyncio.wait_for(both_read.wait(), 10)
            return row

        monkeypatch.setattr(repository, "get_rating", get_rating)
    results = await asyncio.gather(
        client.put(url, json={"levels": levels(G, G, G, G)}, headers=writer),
        client.put(url, json={"levels": levels(I, I, I, I)}, headers=writer),
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 428 if on_sqlite else 409], [r.text for r in results]
    winner = next(r for r in results if r.status_code == 201).json()
    assert (await client.get(url, headers=writer)).json() == winner


async def test_other_rules_and_custom_scales_through_the_api(client, writer, commitments, cwriter):
    ev, ids = await evaluation(
        client, writer, commitments, cwriter, n=2, aggregation_rule="cqc_principles"
    )
    r = await client.put(
        rating_url(ev, ids[0]), json={"levels": levels(O, O, G, G)}, headers=writer
    )
    assert r.json()["overall"]["level"] == O
    assert r.json()["overall"]["explanation"].startswith(
        "CQC principles over 2 outstanding, 2 good"
    )
    r = await client.put(
        rating_url(ev, ids[1]), json={"levels": levels(G, G, G, I)}, headers=writer
    )
    assert r.json()["overall"]["level"] == R
    summary = (await client.get(f"/v1/evaluations/{ev['id']}/summary", headers=writer)).json()
    assert summary["rule"] == "cqc_principles"
    assert summary["overall"]["level"] == G  # outstanding + requires improvement → good

    scale = [
        {"code": "on_track", "label": "On track", "score": 10},
        {"code": "at_risk", "label": "At risk", "score": 5},
        {"code": "off_track", "label": "Off track", "score": 0},
    ]
    dims = [{"code": "delivery", "label": "Delivery"}, {"code": "value", "label": "Value"}]
    ev, ids = await evaluation(
        client,
        writer,
        commitments,
        cwriter,
        scale=scale,
        dimensions=dims,
        aggregation_rule="lowest",
    )
    r = await client.put(
        rating_url(ev, ids[0]),
        json={"levels": {"delivery": "on_track", "value": "at_risk"}},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["overall"]["level"] == "at_risk"
    assert r.json()["overall"]["score"] == 5
    r = await client.put(
        rating_url(ev, ids[0]),
        json={"levels": {"delivery": G, "value": "at_risk"}},
        headers={**writer, "If-Match": r.headers["etag"]},
    )
    assert pointers(r) == ["body.levels.delivery"]
    assert "on_track, at_risk, off_track" in r.json()["detail"]


# --- summary: the 2023 evaluation end to end ---------------------------------------------------

AREAS_2023 = [
    "Care of patients and people in receipt of social care",
    "Health of the population",
    "Cost and efficiency of care",
    "Workforce literacy and the digital workforce",
]
TABLE_2023 = [  # (area index, dimension levels, overall as published)
    (0, (G, R, R, R), R),
    (0, (R, R, R, R), R),
    (0, (I, I, I, G), I),
    (1, (I, G, I, G), R),
    (1, (I, I, I, G), I),
    (2, (R, R, R, R), R),
    (2, (R, R, R, R), R),
    (3, (I, R, I, G), I),
    (3, (I, I, I, I), I),
]


async def test_summary_reproduces_the_2023_table(client, writer, commitments, cwriter):
    areas = [await make_area(commitments, cwriter, name) for name in AREAS_2023]
    ids = await make_commitments(commitments, cwriter, areas=[areas[a] for a, _, _ in TABLE_2023])
    r = await create_evaluation(
        client,
        writer,
        ids,
        title="Evaluation of Government commitments made on the digitisation of the NHS",
        body="Health and Social Care Committee Expert Panel",
        published_on="2023-02-17",
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    summary_url = f"/v1/evaluations/{ev['id']}/summary"

    empty = (await client.get(summary_url, headers=writer)).json()
    assert empty["overall"] is None
    assert all(c["rating"] is None for c in empty["commitments"])

    for cid, (_, dims, _) in zip(ids, TABLE_2023, strict=True):
        r = await client.put(rating_url(ev, cid), json={"levels": levels(*dims)}, headers=writer)
        assert r.status_code == 201, r.text
        if cid == ids[3]:
            partial = (await client.get(summary_url, headers=writer)).json()
            assert partial["overall"] is None
            assert [a["overall"] is None for a in partial["policy_areas"]] == [
                False,
                True,
                True,
                True,
            ]

    r = await client.get(summary_url, headers=writer)
    assert r.status_code == 200
    s = r.json()
    assert set(s) == {"evaluation_id", "rule", "commitments", "policy_areas", "overall"}
    assert s["evaluation_id"] == ev["id"]
    assert s["rule"] == "floor_mean"
    assert [c["commitment_id"] for c in s["commitments"]] == ids
    assert [c["policy_area_id"] for c in s["commitments"]] == [areas[a] for a, _, _ in TABLE_2023]
    assert [c["rating"]["overall"]["level"] for c in s["commitments"]] == [
        o for _, _, o in TABLE_2023
    ]
    assert set(s["commitments"][0]) == {
        "commitment_id",
        "policy_area_id",
        "rating",
        "withheld_until_scored",
    }
    assert [a["policy_area_id"] for a in s["policy_areas"]] == areas
    assert [a["commitment_ids"] for a in s["policy_areas"]] == [
        ids[0:3],
        ids[3:5],
        ids[5:7],
        ids[7:9],
    ]
    assert [a["overall"]["level"] for a in s["policy_areas"]] == [I, I, R, I]
    assert s["policy_areas"][0]["overall"]["explanation"] == (
        "floor of the mean of 2, 2, 1 ≈ 1.67 → 1 (inadequate)"
    )
    assert s["overall"] == {
        "level": I,
        "score": 1,
        "rule": "floor_mean",
        "explanation": "floor of the mean of 2, 2, 1, 2, 1, 2, 2, 1, 1 ≈ 1.56 → 1 (inadequate)",
        "computed_level": I,
        "overridden": False,
        "override_reason": None,
    }
    assert (await client.get(summary_url)).status_code == 404  # a draft, to anonymous readers
    r = await client.get(f"/v1/evaluations/{uuid.uuid4()}/summary", headers=writer)
    assert r.status_code == 404


async def test_a_commitment_moving_policy_area_moves_in_the_summary(
    client, writer, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter, n=2)
    new_area = await make_area(commitments, cwriter)
    c = await commitments.get(f"/v1/commitments/{ids[1]}")
    r = await commitments.patch(
        f"/v1/commitments/{ids[1]}",
        json={"policy_area_id": new_area},
        headers={**cwriter, "If-Match": c.headers["etag"]},
    )
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = (await client.get(f"/v1/evaluations/{ev['id']}/summary", headers=writer)).json()
        if s["commitments"][1]["policy_area_id"] == new_area:
            break
        await asyncio.sleep(0.02)
    assert [a["policy_area_id"] for a in s["policy_areas"]][1] == new_area
    assert [a["commitment_ids"] for a in s["policy_areas"]] == [[ids[0]], [ids[1]]]


# --- auth, events, routes ----------------------------------------------------------------------


async def test_writes_need_a_token_with_ratings_write(client, writer, issuer, commitments, cwriter):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    body = {"title": "T", "body": "B", "commitment_ids": ids}
    r = await client.post("/v1/evaluations", json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("/v1/evaluations", json=body, headers=issuer.auth("commitments:write"))
    assert r.status_code == 403
    assert "ratings:write" in r.json()["detail"]
    r = await client.post("/v1/evaluations", json=body, headers={"Authorization": "Bearer junk"})
    assert r.status_code == 401
    url = rating_url(ev, ids[0])
    rating = {"levels": levels(G, G, G, G)}
    assert (await client.put(url, json=rating)).status_code == 401
    r = await client.put(url, json=rating, headers=issuer.auth("ratings:publish"))
    assert r.status_code == 403
    assert (await client.get(url, headers=writer)).status_code == 404
    listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]}, headers=writer)
    assert len(listed.json()["items"]) == 1
    # Drafts are visible to their panel only; anyone else gets 404, as if absent, whatever its
    # scopes (the panel's own scopes included).
    outsiders: list[dict[str, str]] = [
        {},
        issuer.auth("commitments:write"),
        issuer.auth("responses:write"),
        issuer.auth("ratings:write", client_id="another-panel"),
        issuer.auth("ratings:publish", client_id="another-panel"),
    ]
    for auth in outsiders:
        assert (await client.get(f"/v1/evaluations/{ev['id']}", headers=auth)).status_code == 404
        r = await client.get(f"/v1/evaluations/{ev['id']}/ratings", headers=auth)
        assert r.status_code == 404
        listed = await client.get("/v1/evaluations", params={"commitment_id": ids[0]}, headers=auth)
        assert listed.json()["items"] == []
    chair = issuer.auth("ratings:publish", client_id=CHAIR_CLIENT)
    assert (await client.get(f"/v1/evaluations/{ev['id']}", headers=chair)).status_code == 200


async def test_unpublished_changes_stay_off_the_public_feed(client, writer, commitments, cwriter):
    async def head() -> int:
        return await feed_head(client)

    start = await head()
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    await client.put(rating_url(ev, ids[0]), json={"levels": levels(G, G, G, G)}, headers=writer)
    for _ in range(250):
        if (after := await head()) >= start + 2:
            break
        await asyncio.sleep(0.02)
    assert after >= start + 2  # both events were written and positioned...
    page = (await client.get("/v1/events", params={"after": start})).json()
    assert page["items"] == []  # ...but a draft is not public


def test_every_write_route_requires_a_scope():
    from ratings.routers import ROUTERS

    def scopes(dependant: Dependant) -> set[str]:
        found: set[str] = set()
        for sub in dependant.dependencies:
            scope = getattr(sub.call, "required_scope", None)
            if scope is not None:
                found.add(scope)
            found |= scopes(sub)
        return found

    writes = [
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and set(r.methods or ()) - {"GET", "HEAD"}
    ]
    expected = {
        "create_evaluation": "ratings:write",
        "update_evaluation": "ratings:write",
        "submit_evaluation_for_review": "ratings:write",
        "return_evaluation_to_draft": "ratings:write",
        "publish_evaluation": "ratings:publish",
        "withdraw_evaluation": "ratings:publish",
        "put_rating": "ratings:write",
        "update_rating": "ratings:write",
        "add_panel_member": "ratings:write",
        "remove_panel_member": "ratings:write",
        "declare_interest": "ratings:write",
        "put_score": "ratings:write",
        "send_for_factual_accuracy": "ratings:write",
        "create_factual_accuracy_comment": "responses:write",
        "decide_factual_accuracy_comment": "ratings:write",
        "correct_evaluation": "ratings:publish",
        "create_response": "responses:write",
    }
    assert {r.name for r in writes} == set(expected)
    for route in writes:
        assert scopes(route.dependant) == {expected[route.name]}, route.path


async def test_probes(client):
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["migrations"] == "head"


@pytest.mark.parametrize("event_type", ["commitment.created", "commitment.updated"])
async def test_the_read_model_applies_events_idempotently(ratings_db, event_type):
    from sqlalchemy import func, select

    from ratings.models import KnownCommitment
    from ratings.read_models import apply_commitment_event
    from servicekit.db import create_engine, make_sessionmaker

    engine = create_engine(ratings_db)
    maker = make_sessionmaker(engine)
    cid, area = uuid.uuid4(), uuid.uuid4()
    payload = {
        "id": str(cid),
        "reference": ref(),
        "title": "T",
        "policy_area_id": str(area),
        "status": "in_progress",
        "text": "ignored",
    }
    try:
        for _ in range(2):
            async with maker() as session, session.begin():
                await apply_commitment_event(session, {"type": event_type, "payload": payload})
                await apply_commitment_event(
                    session, {"type": "policy_area.created", "payload": {"id": str(area)}}
                )
        async with maker() as session:
            n = await session.scalar(
                select(func.count()).select_from(KnownCommitment).where(KnownCommitment.id == cid)
            )
            row = await session.get(KnownCommitment, cid)
        assert n == 1
        assert row is not None
        assert row.policy_area_id == area
    finally:
        await engine.dispose()


async def test_rating_patch_merges_by_dimension_and_partial_drafts_have_no_overall(
    client, writer, commitments, cwriter
):
    ev, ids = await evaluation(client, writer, commitments, cwriter)
    url = rating_url(ev, ids[0])
    r = await client.put(
        url,
        json={"levels": {"impact": R}, "rationales": {"impact": "Too early to tell."}},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["overall"] is None
    assert r.json()["levels"] == {"impact": R}
    summary = (await client.get(f"/v1/evaluations/{ev['id']}/summary", headers=writer)).json()
    assert summary["overall"] is None
    assert summary["commitments"][0]["rating"]["overall"] is None

    patch = {"levels": {"commitment_met": G, "funding_and_resource": G, "appropriateness": G}}
    r = await client.patch(url, json=patch, headers={**writer, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["levels"] == levels(G, G, R, G)  # merged, in dimension order
    assert r.json()["overall"]["explanation"] == (
        "floor of the mean of 3, 3, 2, 3 = 2.75 → 2 (requires_improvement)"
    )
    r = await client.patch(
        url,
        json={"levels": {"impact": None}, "rationales": None},
        headers={**writer, "If-Match": r.headers["etag"]},
    )
    assert r.json()["levels"] == {k: G for k in levels(G, G, G, G) if k != "impact"}
    assert r.json()["rationales"] == {}
    assert r.json()["overall"] is None
    r2 = await client.patch(
        url, json={"status": "agreed"}, headers={**writer, "If-Match": r.headers["etag"]}
    )
    assert pointers(r2) == ["body.levels.impact"]
    r2 = await client.patch(
        url,
        json={"levels": {"impact": "superb"}},
        headers={**writer, "If-Match": r.headers["etag"]},
    )
    assert pointers(r2) == ["body.levels.impact"]
    r2 = await client.patch(url, json={"colour": "red"}, headers={**writer, "If-Match": "*"})
    assert pointers(r2) == ["body.colour"]
    assert (await client.get(url, headers=writer)).json() == r.json()
    r2 = await client.patch(
        rating_url(ev, str(uuid.uuid4())), json={}, headers={**writer, "If-Match": "*"}
    )
    assert r2.status_code == 404
