"""What the public reads: consent and redaction in every public view; search, filters, pages."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from evidence.models import Event
from tests.evidence.helpers import (
    PROBLEM,
    at,
    listed,
    make_call,
    publish,
    received,
    submitter,
)


async def _published_event(evidence_app, ident: str) -> dict:
    async with evidence_app.state.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(Event)
                .where(Event.resource_id == uuid.UUID(ident), Event.public.is_(True))
                .order_by(Event.occurred_at, Event.id)
            )
        ).all()
    assert rows, "no public event"
    return {"type": rows[-1].type, "payload": rows[-1].payload, "all": [r.type for r in rows]}


async def test_anonymous_evidence_stays_anonymous_in_every_public_view(
    client, issuer, moderator, make_commitments, evidence_app
):
    [c] = await make_commitments()
    word = "zq" + uuid.uuid4().hex[:8]
    org = f"Charity {uuid.uuid4().hex[:6]}"
    owner = submitter(issuer, org=org)
    client_id = (await received(client, owner, [c]))["submitter"]["client_id"]
    anon = await received(
        client, owner, [c], consent="publish_anonymously", body=f"App access for all {word}."
    )
    await publish(client, moderator, anon["id"])
    public_views = [
        (await client.get(f"/v1/submissions/{anon['id']}")).json(),
        *(await listed(client, None, commitment_id=c, status="published")),
        *(await listed(client, None, q=word)),
        (await _published_event(evidence_app, anon["id"]))["payload"],
    ]
    assert len(public_views) == 4
    for view in public_views:
        assert view["id"] == anon["id"]
        assert view["submitter"] is None
        assert view["content_sha256"] is None
        assert view["receipt_reference"] == anon["receipt_reference"]
        assert org not in str(view)
        assert client_id not in str(view)
    # Filtering by submitter cannot unmask it: no match for the public or other clients.
    for value in (org, client_id):
        for auth in (None, submitter(issuer)):
            assert await listed(client, auth, submitter=value, q=word) == []
        assert [s["id"] for s in await listed(client, moderator, submitter=value, q=word)] == [
            anon["id"]
        ]
        assert [s["id"] for s in await listed(client, owner, submitter=value, q=word)] == [
            anon["id"]
        ]
    for auth in (owner, moderator):
        got = (await client.get(f"/v1/submissions/{anon['id']}", headers=auth)).json()
        assert got["submitter"] == {"client_id": client_id, "organisation": org}


async def test_redaction_in_every_public_view_and_the_original_for_moderators(
    client, issuer, moderator, make_commitments, evidence_app
):
    [c] = await make_commitments()
    secret = "Dr " + uuid.uuid4().hex[:8]
    marker = "zr" + uuid.uuid4().hex[:8]
    owner = submitter(issuer)
    body = (
        f"The ward manager {secret} told us the records {marker} were incomplete; {secret} agreed."
    )
    s = await received(client, owner, [c], body=body, summary=f"Interview with {secret}.")
    url = f"/v1/submissions/{s['id']}/redactions"
    r = await client.post(
        url, json={"passage": secret, "reason": "Names a member of staff."}, headers=owner
    )
    assert r.status_code == 403
    r = await client.post(url, json={"passage": "not in it", "reason": "x"}, headers=moderator)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.passage"
    for field in ("body", "summary"):
        r = await client.post(
            url,
            json={"field": field, "passage": secret, "reason": "Names a member of staff."},
            headers=moderator,
        )
        assert r.status_code == 201, r.text
    r = await client.post(url, json={"passage": secret, "reason": "again"}, headers=moderator)
    assert r.status_code == 409
    await publish(client, moderator, s["id"])
    expected_body = body.replace(secret, "[redacted]")
    public_views = [
        (await client.get(f"/v1/submissions/{s['id']}")).json(),
        (await client.get(f"/v1/submissions/{s['id']}", headers=owner)).json(),
        *(await listed(client, None, q=marker)),
        (await _published_event(evidence_app, s["id"]))["payload"],
    ]
    for view in public_views:
        assert view["body"] == expected_body
        assert view["summary"] == "Interview with [redacted]."
        assert secret not in str(view)
        assert view["redactions"] is None
    # Public search runs over the redacted text; moderators search the original.
    hidden_word = secret.split()[1]
    assert await listed(client, None, q=hidden_word) == []
    assert await listed(client, owner, q=hidden_word) == []
    assert [x["id"] for x in await listed(client, moderator, q=hidden_word)] == [s["id"]]
    mod_view = (await client.get(f"/v1/submissions/{s['id']}", headers=moderator)).json()
    assert mod_view["body"] == body
    assert [(x["field"], x["passage"]) for x in mod_view["redactions"]] == [
        ("body", secret),
        ("summary", secret),
    ]
    listing = (await client.get(url, headers=moderator)).json()["items"]
    assert len(listing) == 2
    assert (await client.get(url)).status_code == 401
    # Undone, the passage shows again (and the change is public news, the submission being so).
    r = await client.delete(f"{url}/{listing[1]['id']}", headers=moderator)
    assert r.status_code == 204
    view = (await client.get(f"/v1/submissions/{s['id']}")).json()
    assert view["summary"] == f"Interview with {secret}."
    assert view["body"] == expected_body
    event = await _published_event(evidence_app, s["id"])
    assert event["type"] == "submission.redaction_removed"
    assert event["payload"]["body"] == expected_body


async def test_search_filters_and_pages(client, issuer, moderator, make_commitments):
    c1, c2 = await make_commitments(2)
    word = "zs" + uuid.uuid4().hex[:8]
    call = await make_call(client, moderator, [c1, c2])
    a = submitter(issuer, org=f"Org A {word}")
    b = submitter(issuer, org=f"Org B {word}")
    s1 = await received(client, a, [c1], call_id=call["id"], body=f"Shared care records {word}.")
    s2 = await received(
        client,
        b,
        [c2],
        kind="data_return",
        stance="challenges",
        body=f"Procurement frameworks {word}.",
    )
    s3 = await received(
        client, a, [c1, c2], stance="supports", body=f"Records and frameworks {word}."
    )
    unpublished = await received(client, b, [c1], body=f"Not yet public {word}.")
    for s in (s1, s2, s3):
        await publish(client, moderator, s["id"])
    ids = lambda items: [x["id"] for x in items]  # noqa: E731
    assert ids(await listed(client, None, q=word)) == [s1["id"], s2["id"], s3["id"]]
    assert ids(await listed(client, moderator, q=word)) == [
        s1["id"],
        s2["id"],
        s3["id"],
        unpublished["id"],
    ]
    assert ids(await listed(client, b, q=word)) == [s1["id"], s2["id"], s3["id"], unpublished["id"]]
    # Stemming: "record" finds "records".
    assert ids(await listed(client, None, q=f"record {word}")) == [s1["id"], s3["id"]]
    assert ids(await listed(client, None, q=word, call_id=call["id"])) == [s1["id"]]
    assert ids(await listed(client, None, q=word, commitment_id=c2)) == [s2["id"], s3["id"]]
    assert ids(await listed(client, None, q=word, kind="data_return")) == [s2["id"]]
    assert ids(await listed(client, None, q=word, stance="supports")) == [s3["id"]]
    org_a = s1["submitter"]["organisation"]
    assert ids(await listed(client, None, submitter=org_a)) == [s1["id"], s3["id"]]
    assert ids(await listed(client, None, submitter=s2["submitter"]["client_id"])) == [s2["id"]]
    assert ids(await listed(client, moderator, q=word, status="received")) == [unpublished["id"]]
    assert ids(await listed(client, None, q=word, received_after=s2["received_at"])) == [
        s2["id"],
        s3["id"],
    ]
    assert ids(await listed(client, None, q=word, received_before=s2["received_at"])) == [s1["id"]]
    assert await listed(client, None, q=word, received_after=at(1)) == []
    # Operators and punctuation are not syntax.
    assert ids(await listed(client, None, q=f'"{word}" -(*:')) == ids(
        await listed(client, None, q=word)
    )
    seen, token = [], None
    while True:
        params = {"q": word, "page_size": 2, **({"page_token": token} if token else {})}
        page = (await client.get("/v1/submissions", params=params, headers=moderator)).json()
        assert len(page["items"]) <= 2
        seen += ids(page["items"])
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == [s1["id"], s2["id"], s3["id"], unpublished["id"]]
    r = await client.get("/v1/submissions", params={"received_after": "yesterday"})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    r = await client.get("/v1/submissions", params={"q": "x" * 201})
    assert r.status_code == 422
