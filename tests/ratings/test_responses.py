"""Responses to published evaluations and to single ratings."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx

from ratings.responses import add_months, published_before, sweep_overdue
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
    }
    r = await client.post(url, json=one, headers=respondent)
    assert r.status_code == 201, r.text
    assert r.json()["commitment_id"] == ids[1]
    assert r.json()["items"] == []
    assert r.json()["on_behalf_of"] is False

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


async def test_a_response_commitment_by_commitment(
    client, writer, publisher, respondent, commitments, cwriter
):
    ev, ids = await published(
        client, writer, publisher, commitments, cwriter, [(G, R, R, R), (I, I, I, G), (R, R, R, R)]
    )
    url = f"/v1/evaluations/{ev['id']}/responses"
    body = {
        "text": "The Government's memorandum response.",
        "received_on": "2023-04-17",
        "items": [
            {"commitment_id": ids[2], "position": "already_in_hand", "text": "On track."},
            {"commitment_id": ids[0], "position": "not_accepted", "text": "Progress is good."},
        ],
    }
    r = await client.post(url, json=body, headers=respondent)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["position"] is None
    assert made["items"] == body["items"]  # in the respondent's order, not the evaluation's
    assert made["respondent"] == "Department of Health and Social Care"
    assert (await client.get(r.headers["location"])).json() == made
    found = (await client.get(url, params={"commitment_id": ids[2]})).json()["items"]
    assert [x["id"] for x in found] == [made["id"]]  # addressed by an item, not a rating
    assert (await client.get(url, params={"commitment_id": ids[1]})).json()["items"] == []
    deadline = (
        await client.get("/v1/response-deadlines", params={"evaluation_id": ev["id"]})
    ).json()["items"][0]
    assert (deadline["commitments_in_scope"], deadline["commitments_addressed"]) == (3, 2)


async def test_the_respondent_is_who_signs_in_unless_an_admin_records_for_another(
    client, writer, publisher, respondent, issuer, commitments, cwriter
):
    ev, _ = await published(client, writer, publisher, commitments, cwriter, [(G, G, G, G)])
    url = f"/v1/evaluations/{ev['id']}/responses"
    r = await client.post(url, json={**DISPUTE, "respondent": "NHS England"}, headers=respondent)
    assert r.status_code == 403
    assert r.json()["type"] == "/problems/not-your-organisation"
    assert (await client.get(url)).json()["items"] == []
    own = await client.post(
        url,
        json={**DISPUTE, "respondent": "Department of Health and Social Care"},
        headers=respondent,
    )
    assert own.json()["on_behalf_of"] is False
    admin = issuer.auth("admin", client_id="secretariat", org="Committee secretariat")
    r = await client.post(url, json={**DISPUTE, "respondent": "NHS England"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["respondent"] == "NHS England"
    assert r.json()["on_behalf_of"] is True
    assert r.json()["recorded_by"] == {
        "client_id": "secretariat",
        "organisation": "Committee secretariat",
    }


async def test_item_refusals_name_the_item_and_store_nothing(
    client, writer, publisher, respondent, commitments, cwriter
):
    ev, ids = await published(
        client, writer, publisher, commitments, cwriter, [(G, G, G, G), (R, R, R, R)]
    )
    url = f"/v1/evaluations/{ev['id']}/responses"
    base = {"text": "Response.", "received_on": "2023-04-17"}

    def item(cid: str, position: str = "accepted") -> dict[str, str]:
        return {"commitment_id": cid, "position": position, "text": "Why."}

    r = await client.post(url, json=base, headers=respondent)
    assert pointers(r) == ["body.position"]
    assert r.json()["errors"][0]["code"] == "missing"
    r = await client.post(
        url, json={**base, "items": [item(ids[0]), item(ids[0])]}, headers=respondent
    )
    assert pointers(r) == ["body.items.1.commitment_id"]
    assert r.json()["errors"][0]["code"] == "duplicate"
    r = await client.post(
        url, json={**base, "items": [item(ids[1]), item(str(uuid.uuid4()))]}, headers=respondent
    )
    assert pointers(r) == ["body.items.1.commitment_id"]
    assert r.json()["errors"][0]["code"] == "not_in_scope"
    r = await client.post(
        url, json={**base, "items": [item(ids[0], "accepts")]}, headers=respondent
    )
    assert pointers(r) == ["body.items.0.position"]
    r = await client.post(
        url, json={**base, "items": [{**item(ids[0]), "text": ""}]}, headers=respondent
    )
    assert pointers(r) == ["body.items.0.text"]
    assert (await client.get(url)).json()["items"] == []


def test_months_are_calendar_months_and_the_due_filter_is_exact() -> None:
    assert add_months(date(2023, 2, 17), 2) == date(2023, 4, 17)
    assert add_months(date(2023, 12, 31), 2) == date(2024, 2, 29)
    assert add_months(date(2023, 11, 30), 14) == date(2025, 1, 30)
    for due_before in (date(2024, 2, 29), date(2024, 3, 1), date(2023, 4, 30), date(2023, 1, 1)):
        bound = published_before(due_before, 2)
        # The bound is the first publication date whose response is not due before `due_before`.
        assert add_months(bound, 2) >= due_before
        assert add_months(bound - timedelta(days=1), 2) < due_before


async def test_a_response_goes_overdue_two_months_after_publication_and_the_sweep_says_so_once(
    client, ratings_app, writer, publisher, respondent, commitments, cwriter
):
    ev, _ = await published(
        client,
        writer,
        publisher,
        commitments,
        cwriter,
        [(G, G, G, G)],
    )
    old, _ = await published(
        client, writer, publisher, commitments, cwriter, [(R, R, R, R)], published_on="2023-02-17"
    )
    url = "/v1/response-deadlines"
    mine = {"evaluation_id": [ev["id"], old["id"]]}
    got = (await client.get(url, params=mine)).json()["items"]
    by_id = {d["evaluation_id"]: d for d in got}
    assert by_id[old["id"]]["due_on"] == "2023-04-17"
    assert by_id[old["id"]]["overdue"] is True
    assert by_id[old["id"]]["responded_on"] is None
    assert by_id[ev["id"]]["overdue"] is False  # published today: not yet due

    def ids(r: httpx.Response) -> list[str]:
        return [d["evaluation_id"] for d in r.json()["items"]]

    assert ids(await client.get(url, params={**mine, "overdue": "true"})) == [old["id"]]
    assert ids(await client.get(url, params={**mine, "overdue": "false"})) == [ev["id"]]
    assert ids(await client.get(url, params={**mine, "response_due_before": "2023-04-18"})) == [
        old["id"]
    ]
    assert ids(await client.get(url, params={**mine, "response_due_before": "2023-04-17"})) == []
    assert pointers(await client.get(url, params={"overdue": "soon"})) == ["query.overdue"]

    start = await feed_head(client)
    maker = ratings_app.state.sessionmaker
    for _ in range(2):
        async with maker.begin() as session:
            await sweep_overdue(session, 2, date.today())
    swept = await events_since(
        client, start, at_least=1, types={"response.overdue"}, evaluation_id=old["id"]
    )
    assert [e["payload"]["due_on"] for e in swept] == ["2023-04-17"]

    r = await client.post(
        f"/v1/evaluations/{old['id']}/responses", json=DISPUTE, headers=respondent
    )
    assert r.status_code == 201
    after = (await client.get(url, params={"evaluation_id": old["id"]})).json()["items"][0]
    assert (after["overdue"], after["responded_on"], after["response_count"]) == (
        False,
        "2023-04-17",
        1,
    )
    assert ids(await client.get(url, params={**mine, "overdue": "true"})) == []
