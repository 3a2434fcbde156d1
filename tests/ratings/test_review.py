"""#15's "done when": a synthetic (fictional) five-member panel through blind scoring, a recusal,
a factual-accuracy round with one changed rating, publication and a correction, with alpha checked
against the `krippendorff` package on the same matrix."""

from __future__ import annotations

import datetime as dt
import math

import httpx
import krippendorff
import pytest

from ratings.factual_accuracy import add_working_days
from tests.ratings.helpers import (
    G,
    I,
    O,
    R,
    all_pages,
    events_since,
    feed_head,
    levels,
    rating_url,
)
from tests.ratings.test_panels import ALL_SCOPES, Panel, client_id, member_id, panel_evaluation

MERGE = "application/merge-patch+json"
SCORE = {O: 4, G: 3, R: 2, I: 1}
# Each member's levels for the three (fictional) commitments; "bea" is recused from the first.
Levels = tuple[str, str, str, str]
SCORES: dict[str, list[Levels | None]] = {
    "chair": [(R, R, I, G), (G, R, R, G), (I, I, I, R)],
    "ann": [(R, R, R, G), (G, G, R, G), (I, I, I, I)],
    "bea": [None, (O, G, G, G), (R, I, I, R)],
    "cal": [(I, R, I, G), (G, R, R, R), (I, I, R, R)],
    "dev": [(R, I, I, G), (G, R, R, G), (I, R, I, R)],
}


def test_working_days_skip_weekends():
    friday = dt.date(2026, 12, 4)
    assert add_working_days(friday, 1) == dt.date(2026, 12, 7)  # Monday
    assert add_working_days(friday, 10) == dt.date(2026, 12, 18)


@pytest.mark.parametrize(
    ("start", "days", "closes"),
    [
        # Christmas 2026 is a Friday: Boxing Day, a Saturday, is made up on Monday the 28th.
        (dt.date(2026, 12, 24), 1, dt.date(2026, 12, 29)),
        (dt.date(2026, 12, 18), 10, dt.date(2027, 1, 6)),  # past New Year's Day too
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March are not working days.
        (dt.date(2027, 3, 25), 1, dt.date(2027, 3, 30)),
        (dt.date(2027, 3, 22), 10, dt.date(2027, 4, 7)),
        # The early May and spring bank holidays (Mondays).
        (dt.date(2026, 5, 1), 1, dt.date(2026, 5, 5)),
        (dt.date(2026, 5, 22), 1, dt.date(2026, 5, 26)),
    ],
)
def test_working_days_skip_england_and_wales_bank_holidays(start, days, closes):
    assert add_working_days(start, days) == closes


async def test_a_five_member_panel_from_blind_scores_to_a_correction(
    client: httpx.AsyncClient, issuer, commitments, cwriter
):
    p = Panel(issuer, *SCORES)
    ev, ids = await panel_evaluation(client, commitments, cwriter, p, n=3)
    assert len(ev["panel"]) == 5
    base = f"/v1/evaluations/{ev['id']}"
    members = {role: member_id(ev, p, role) for role in SCORES}
    start = await feed_head(client)

    # A declared interest recuses Bea from the first commitment.
    r = await client.post(
        f"{base}/panel-members/{members['bea']}/interests",
        json={
            "kind": "commitment",
            "commitment_id": ids[0],
            "description": "Sat on the programme's advisory board (fictional).",
            "declared_on": "2026-01-05",
        },
        headers=p.auth["bea"],
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        f"{base}/panel-members/{members['bea']}/scores/{ids[0]}",
        json={"levels": levels(G, G, G, G)},
        headers=p.auth["bea"],
    )
    assert r.status_code == 409
    assert r.json()["type"].endswith("/problems/recused")

    # Blind scoring: until Ann has scored a commitment she sees none of the others' scores of it.
    for role, rows in SCORES.items():
        for cid, row in zip(ids, rows, strict=True):
            if row is None:
                continue
            if role == "ann":
                seen = (await client.get(f"{base}/scores", headers=p.auth["ann"])).json()["items"]
                assert all(
                    s["member_id"] == members["ann"] for s in seen if s["commitment_id"] == cid
                )
            r = await client.put(
                f"{base}/panel-members/{members[role]}/scores/{cid}",
                json={"levels": levels(*row)},
                headers=p.auth[role],
            )
            assert r.status_code == 201, r.text
    seen = (await client.get(f"{base}/scores", headers=p.auth["ann"])).json()["items"]
    assert len(seen) == 14  # 5 x 3, less Bea's recusal: she has scored all she may

    # Agreement, checked against the package on the same matrix (rows: members; columns: each
    # commitment and dimension; NaN where a member did not score).
    matrix = [
        [SCORE[row[d]] if row else math.nan for row in rows for d in range(4)]
        for rows in SCORES.values()
    ]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    r = await client.get(f"{base}/agreement", headers=p.auth["chair"])
    assert r.status_code == 200, r.text
    agreement = r.json()
    assert agreement["recorded"] is True
    assert agreement["overall"]["alpha"] == pytest.approx(expected)
    assert agreement["overall"]["raters"] == 5
    assert agreement["overall"]["units"] == 12
    assert agreement["overall"]["scores"] == 56
    impact = [[SCORE[row[2]] if row else math.nan for row in rows] for rows in SCORES.values()]
    assert agreement["dimensions"]["impact"]["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=impact, level_of_measurement="ordinal")
    )
    # Before publication, agreement is the chair's alone.
    assert (await client.get(f"{base}/agreement", headers=p.auth["ann"])).status_code == 403

    # The chair agrees each rating; each shows the spread of the scores it came from.
    agreed_levels = [(R, R, I, G), (G, R, R, G), (I, I, I, R)]
    for cid, lv in zip(ids, agreed_levels, strict=True):
        r = await client.put(
            rating_url(ev, cid),
            json={"levels": levels(*lv), "status": "agreed"},
            headers=p.auth["chair"],
        )
        assert r.status_code == 201, r.text
    got = (await client.get(rating_url(ev, ids[0]), headers=p.auth["chair"])).json()
    assert got["spread"]["raters"] == 4
    assert got["spread"]["dimensions"]["commitment_met"]["counts"] == {R: 3, I: 1}
    assert (
        await client.post(f"{base}/submit-for-review", headers=p.auth["chair"])
    ).status_code == 200

    # The factual-accuracy round: the rated body's client comments on two draft ratings.
    body_client = client_id("rated-body")
    rated_body = issuer.auth(
        "responses:write", client_id=body_client, org="Fictional Department", ttl=3600
    )
    outsider = issuer.auth("responses:write", client_id=client_id("someone"))
    comment = {"commitment_id": ids[1], "text": "The impact rating misses the 2025 pilot."}
    r = await client.post(f"{base}/factual-accuracy-comments", json=comment, headers=rated_body)
    assert r.status_code == 404  # not sent yet: to the rated body the draft does not exist
    r = await client.post(
        f"{base}/factual-accuracy-check",
        json={"client_id": body_client, "organisation": "Fictional Department"},
        headers=p.auth["ann"],
    )
    assert r.status_code == 403  # the chair's
    r = await client.post(
        f"{base}/factual-accuracy-check",
        json={"client_id": body_client, "organisation": "Fictional Department"},
        headers=p.auth["chair"],
    )
    assert r.status_code == 200, r.text
    check = r.json()["factual_accuracy"]
    assert check["closes_on"] == add_working_days(dt.datetime.now(dt.UTC).date(), 10).isoformat()
    r = await client.post(f"{base}/factual-accuracy-comments", json=comment, headers=outsider)
    assert r.status_code == 404
    r = await client.post(f"{base}/factual-accuracy-comments", json=comment, headers=rated_body)
    assert r.status_code == 201, r.text
    changed_comment = r.json()["id"]
    r = await client.post(
        f"{base}/factual-accuracy-comments",
        json={"commitment_id": ids[2], "text": "Funding was announced in March."},
        headers=rated_body,
    )
    assert r.status_code == 201
    declined_comment = r.json()["id"]

    # Publication waits for every decision and for the window (or a waiver).
    r = await client.post(f"{base}/publish", json={}, headers=p.auth["chair"])
    assert r.status_code == 409
    assert {e["code"] for e in r.json()["errors"]} == {"undecided", "window_open"}
    decision = f"{base}/factual-accuracy-comments/{{}}/decision"
    r = await client.post(
        decision.format(changed_comment),
        json={"decision": "rating_changed", "reason": "The pilot counts; impact moves up."},
        headers=p.auth["chair"],
    )
    assert r.status_code == 409  # the rating has not been changed yet
    got = await client.get(rating_url(ev, ids[1]), headers=p.auth["chair"])
    r = await client.patch(
        rating_url(ev, ids[1]),
        json={"levels": {"impact": G}, "status": "agreed"},
        headers={**p.auth["chair"], "If-Match": got.headers["etag"], "Content-Type": MERGE},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        decision.format(changed_comment),
        json={"decision": "rating_changed", "reason": "The pilot counts; impact moves up."},
        headers=p.auth["chair"],
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        decision.format(declined_comment), json={"decision": "declined"}, headers=p.auth["chair"]
    )
    assert r.status_code == 422  # always with a reason
    r = await client.post(
        decision.format(declined_comment),
        json={"decision": "declined", "reason": "The announcement came after the evidence."},
        headers=p.auth["ann"],
    )
    assert r.status_code == 403
    r = await client.post(
        decision.format(declined_comment),
        json={"decision": "declined", "reason": "The announcement came after the evidence."},
        headers=p.auth["chair"],
    )
    assert r.status_code == 200
    r = await client.post(f"{base}/publish", json={}, headers=p.auth["chair"])
    assert r.status_code == 409
    assert [e["code"] for e in r.json()["errors"]] == ["window_open"]
    waiver = "The Committee's sitting brings publication forward (fictional)."
    r = await client.post(
        f"{base}/publish", json={"waive_factual_accuracy_window": waiver}, headers=p.auth["chair"]
    )
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["version"] == 1
    assert published["factual_accuracy"]["waiver_reason"] == waiver

    # Everything is public now: scores, declarations, comments with decisions, agreement.
    assert len((await client.get(f"{base}/scores")).json()["items"]) == 14
    comments = (await client.get(f"{base}/factual-accuracy-comments")).json()["items"]
    # Each of the panel's lists pages as every list does, to the same items.
    for path, size, total in [
        ("scores", 5, 14),
        ("factual-accuracy-comments", 1, 2),
        ("panel-members", 2, 5),
    ]:
        first = (await client.get(f"{base}/{path}")).json()["items"]
        assert [x["id"] for x in await all_pages(client, f"{base}/{path}", size)] == [
            x["id"] for x in first
        ]
        assert len(first) == total
    assert [(c["decision"], bool(c["decision_reason"])) for c in comments] == [
        ("rating_changed", True),
        ("declined", True),
    ]
    public = (await client.get(base)).json()
    bea = next(m for m in public["panel"] if m["id"] == members["bea"])
    assert [i["commitment_id"] for i in bea["interests"]] == [ids[0]]
    assert (await client.get(f"{base}/agreement")).json()["overall"]["alpha"] == pytest.approx(
        expected
    )
    rating = (await client.get(rating_url(ev, ids[1]))).json()
    assert rating["levels"]["impact"] == G
    assert rating["spread"]["raters"] == 5

    # A correction: the next version with its notice; the first stays readable as it was.
    outsider_chair = issuer.auth(*ALL_SCOPES, client_id=client_id("other-chair"))
    fix = {
        "what_changed": "The impact rating of the first commitment.",
        "why": "It misread the date of the evaluation report (fictional).",
        "ratings": [{"commitment_id": ids[0], "levels": {"impact": R}}],
    }
    r = await client.post(f"{base}/corrections", json=fix, headers=outsider_chair)
    assert r.status_code == 403
    r = await client.patch(
        rating_url(ev, ids[0]),
        json={"levels": {"impact": R}},
        headers={
            **p.auth["chair"],
            "If-Match": (await client.get(rating_url(ev, ids[0]))).headers["etag"],
            "Content-Type": MERGE,
        },
    )
    assert r.status_code == 409  # never a silent edit
    r = await client.post(f"{base}/corrections", json=fix, headers=p.auth["chair"])
    assert r.status_code == 200, r.text
    corrected = r.json()
    assert corrected["version"] == 2
    assert [(c["version"], c["why"]) for c in corrected["corrections"]] == [(2, fix["why"])]
    now = (await client.get(rating_url(ev, ids[0]))).json()
    assert now["levels"]["impact"] == R
    then = (await client.get(f"{base}/ratings", params={"version": 1})).json()["items"]
    assert then[0]["levels"]["impact"] == I
    first = (await client.get(base, params={"version": 1})).json()
    assert first["version"] == 1
    assert first["corrections"] == []
    assert (await client.get(base, params={"version": 3})).status_code == 404
    old_summary = (await client.get(f"{base}/summary", params={"version": 1})).json()
    assert old_summary["commitments"][0]["rating"]["levels"]["impact"] == I

    # The public feed carries the correction (and so do webhooks, which follow it).
    events = await events_since(
        client,
        start,
        types={"evaluation.corrected", "rating.corrected", "score.recorded"},
        evaluation_id=ev["id"],
        at_least=2,
    )
    assert sorted(e["type"] for e in events) == ["evaluation.corrected", "rating.corrected"]
