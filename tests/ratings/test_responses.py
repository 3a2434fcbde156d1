"""Responses to published evaluations and to single ratings."""

from __future__ import annotations

import uuid

from tests.ratings.helpers import (
    PROBLEM,
    G,
    I,
    R,
    evaluation,
    events_since,
    feed_head,
    pointers,
    published,
    transition,
)

DISPUTE = {
    "position": "disputes",
    "text": "We do not recognise the overall rating of inadequate.",
    "received_on": "2023-04-17",
}


async def test_a_response_to_a_published_evaluation_and_to_one_rating(
    client, writer, publisher, respondent, commitments, cwriter
):
    ev, ids = await published(
        client, writer, publisher, commitments, cwriter, [(G, R, R, R), (I, I, I, G)]
    )
    start = await feed_head(client)
    url = f"/v1/evaluations/{ev['id']}/responses"
    r = await client.post(url, json=DISPUTE, headers=respondent)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["respondent"] == "Department of Health and Social Care"  # from the token
    assert made["recorded_by"] == {
        "client_id": "dhsc",
        "organisation": "Department of Health and Social Care",
    }
    assert made["commitment_id"] is None
    assert made["position"] == "disputes"
    assert made["received_on"] == "2023-04-17"
    assert made["evaluation_id"] == ev["id"]
    assert r.headers["location"] == f"{url}/{made['id']}"
    assert r.headers["etag"]
    assert (await client.get(r.headers["location"])).json() == made

    one = {
        "position": "partially_accepts",
        "text": "Progress on records is faster than the panel found.",
        "received_on": "2023-04-17",
        "commitment_id": ids[1],
        "respondent": "NHS England",
    }
    r = await client.post(url, json=one, headers=respondent)
    assert r.status_code == 201, r.text
    assert r.json()["respondent"] == "NHS England"
    assert r.json()["commitment_id"] == ids[1]

    listed = (await client.get(url)).json()  # public, anonymous
    assert [x["position"] for x in listed["items"]] == ["disputes", "partially_accepts"]
    only = (await client.get(url, params={"commitment_id": ids[1]})).json()["items"]
    assert [x["commitment_id"] for x in only] == [ids[1]]
    only = (await client.get(url, params={"position": "disputes"})).json()["items"]
    assert [x["id"] for x in only] == [made["id"]]
    page = (await client.get(url, params={"page_size": 1})).json()
    assert len(page["items"]) == 1
    assert page["next_page_token"]
    assert pointers(await client.get(url, params={"position": "rejects"})) == ["query.position.0"]

    public = await events_since(client, start, at_least=2, types={"response.created"})
    assert [e["type"] for e in public] == ["response.created", "response.created"]
    assert public[0]["payload"] == made
    r = await client.get(f"{url}/{uuid.uuid4()}")
    assert r.status_code == 404


async def test_response_refusals_are_precise_and_store_nothing(
    client, writer, publisher, respondent, issuer, commitments, cwriter
):
    draft, _ = await evaluation(client, writer, commitments, cwriter)
    url = f"/v1/evaluations/{draft['id']}/responses"
    r = await client.post(url, json=DISPUTE, headers=respondent)
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert "only a published evaluation" in r.json()["detail"]
    await transition(client, writer, draft, "submit-for-review")
    assert (await client.post(url, json=DISPUTE, headers=respondent)).status_code == 409

    ev, _ = await published(client, writer, publisher, commitments, cwriter, [(G, G, G, G)])
    url = f"/v1/evaluations/{ev['id']}/responses"
    assert (await client.post(url, json=DISPUTE)).status_code == 401
    assert (await client.post(url, json=DISPUTE, headers=writer)).status_code == 403
    outsider = str(uuid.uuid4())
    r = await client.post(url, json={**DISPUTE, "commitment_id": outsider}, headers=respondent)
    assert pointers(r) == ["body.commitment_id"]
    assert r.json()["errors"][0]["code"] == "not_in_scope"
    assert pointers(
        await client.post(url, json={**DISPUTE, "position": "rejects"}, headers=respondent)
    ) == ["body.position"]
    assert pointers(
        await client.post(url, json={**DISPUTE, "received_on": "April"}, headers=respondent)
    ) == ["body.received_on"]
    r = await client.post(
        url, json={k: v for k, v in DISPUTE.items() if k != "text"}, headers=respondent
    )
    assert pointers(r) == ["body.text"]
    assert pointers(
        await client.post(url, json={**DISPUTE, "tone": "cross"}, headers=respondent)
    ) == ["body.tone"]
    no_org = issuer.auth("responses:write", org="")
    r = await client.post(url, json=DISPUTE, headers=no_org)
    assert pointers(r) == ["body.respondent"]
    r = await client.post(
        f"/v1/evaluations/{uuid.uuid4()}/responses", json=DISPUTE, headers=respondent
    )
    assert r.status_code == 404
    assert (await client.get(url)).json()["items"] == []

    await transition(client, publisher, ev, "withdraw", {"reason": "Withdrawn."})
    r = await client.post(url, json=DISPUTE, headers=respondent)
    assert r.status_code == 409
    assert "withdrawn" in r.json()["detail"]
