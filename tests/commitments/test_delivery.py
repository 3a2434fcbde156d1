"""Delivery: overdue commitments (derived, filterable, swept into the feed once), milestones and
completion, and the responsible body's self-assessment beside them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from commitments.delivery import sweep_overdue
from servicekit.db import create_engine, make_sessionmaker
from servicekit.mediatypes import MERGE_PATCH
from tests.commitments.helpers import area_and_source, commitment, post


def _days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def _ids(client, **params) -> list[str]:
    r = await client.get("/v1/commitments", params=params)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def _events(client, type_: str, resource_id: str) -> list[dict]:
    """The feed's events of a type about a resource, once the sequencer has placed any."""
    found: list[dict] = []
    for _ in range(100):  # the sequencer positions committed events a moment later
        after, found = 0, []
        while True:
            page = (await client.get("/v1/events", params={"after": after, "limit": 1000})).json()
            found += [
                e for e in page["items"] if e["type"] == type_ and e["resource_id"] == resource_id
            ]
            if page["next_after"] == after:
                break
            after = page["next_after"]
        if found:
            break
        await asyncio.sleep(0.05)
    return found


async def test_overdue_is_derived_and_filterable(client, writer):
    area, source = await area_and_source(client, writer)
    mine = {"policy_area_id": area["id"], "source_id": source["id"]}
    late = await commitment(client, writer, **mine, due_on=_days(-1), status="in_progress")
    met = await commitment(client, writer, **mine, due_on=_days(-1), status="met")
    future = await commitment(client, writer, **mine, due_on=_days(1))
    undated = await commitment(client, writer, **mine)
    assert [c["overdue"] for c in (late, met, future, undated)] == [True, False, False, False]
    got = (await client.get(f"/v1/commitments/{late['id']}")).json()
    assert got["overdue"] is True
    assert await _ids(client, policy_area_id=area["id"], overdue="true") == [late["id"]]
    assert await _ids(client, policy_area_id=area["id"], overdue="false") == [
        met["id"],
        future["id"],
        undated["id"],
    ]
    r = await client.get("/v1/commitments", params={"overdue": "late"})
    assert r.status_code == 422


async def test_the_sweep_emits_commitment_overdue_once(client, writer, commitments_db):
    late = await commitment(client, writer, due_on=_days(-3), status="in_progress")
    engine = create_engine(commitments_db)
    maker = make_sessionmaker(engine)
    try:
        for _ in range(2):
            async with maker.begin() as session:
                await sweep_overdue(session, date.today())
    finally:
        await engine.dispose()
    found = await _events(client, "commitment.overdue", late["id"])
    assert len(found) == 1
    assert found[0]["payload"]["overdue"] is True


async def test_milestones_and_completion(client, writer, issuer):
    c = await commitment(client, writer)
    url = f"/v1/commitments/{c['id']}/milestones"
    first = await post(
        client, url, {"title": "Plan drafted", "due_on": _days(-30), "met_on": _days(-31)}, writer
    )
    second = await post(client, url, {"title": "Plan published", "due_on": _days(-1)}, writer)
    await post(client, url, {"title": "Posts filled", "due_on": _days(60)}, writer)
    assert (first["overdue"], second["overdue"]) == (False, True)
    detail = (await client.get(f"/v1/commitments/{c['id']}")).json()
    assert detail["completion"] == {"milestones": 3, "met": 1, "share": 1 / 3}
    listed = (await client.get(url)).json()["items"]
    assert [m["title"] for m in listed] == ["Plan drafted", "Plan published", "Posts filled"]

    m_url = f"/v1/milestones/{second['id']}"
    etag = (await client.get(m_url)).headers["etag"]
    patch = {**writer, "Content-Type": MERGE_PATCH}
    r = await client.patch(m_url, json={"met_on": _days(1)}, headers={**patch, "If-Match": etag})
    assert r.status_code == 422  # not met in the future
    r = await client.patch(m_url, json={"met_on": _days(0)}, headers=patch)
    assert r.status_code == 428
    r = await client.patch(m_url, json={"met_on": _days(0)}, headers={**patch, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["overdue"] is False
    detail = (await client.get(f"/v1/commitments/{c['id']}")).json()
    assert detail["completion"] == {"milestones": 3, "met": 2, "share": 2 / 3}
    updated = await _events(client, "milestone.updated", second["id"])
    assert [e["payload"]["met_on"] for e in updated] == [_days(0)]

    assert (await client.post(url, json={"title": "X", "due_on": _days(1)})).status_code == 401
    reader = issuer.auth("evidence:submit")
    r = await client.post(url, json={"title": "X", "due_on": _days(1)}, headers=reader)
    assert r.status_code == 403
    r = await client.post(url, json={"title": "", "due_on": "soon"}, headers=writer)
    assert sorted(e["pointer"] for e in r.json()["errors"]) == ["body.due_on", "body.title"]
    assert len((await client.get(url)).json()["items"]) == 3


async def test_only_a_lead_body_assesses_its_own_delivery_and_the_history_is_kept(
    client, writer, issuer
):
    c = await commitment(client, writer, lead_bodies=["NHS England"])
    url = f"/v1/commitments/{c['id']}/self-assessments"
    nhse = issuer.auth("commitments:write", client_id="nhse", org="NHS England")
    body = {"confidence": "amber", "commentary": "Broadly on track.", "assessed_on": _days(-40)}
    r = await client.post(url, json=body, headers=writer)  # "Test Org" is not a lead body
    assert r.status_code == 403
    assert r.json()["type"] == "/problems/not-responsible-body"
    made = await post(client, url, body, nhse)
    assert (made["confidence"], made["organisation"]) == ("amber", "NHS England")
    [event] = await _events(client, "self_assessment.created", made["id"])
    assert event["payload"] == made
    later = {"confidence": "amber_red", "commentary": "Slipping.", "assessed_on": _days(-2)}
    await post(client, url, later, nhse)
    admin = issuer.auth("admin", client_id="admin", org="Scrutiny")
    earlier = {"confidence": "green", "commentary": "Recorded late.", "assessed_on": _days(-90)}
    await post(client, url, earlier, admin)
    history = (await client.get(url)).json()["items"]
    assert [h["confidence"] for h in history] == ["amber", "amber_red", "green"]
    detail = (await client.get(f"/v1/commitments/{c['id']}")).json()
    assert detail["self_assessment"]["confidence"] == "amber_red"  # the latest by its date

    for bad, pointer in (
        ({**body, "confidence": "yellow"}, "body.confidence"),
        ({**body, "assessed_on": _days(1)}, "body.assessed_on"),
        ({**body, "commentary": ""}, "body.commentary"),
    ):
        r = await client.post(url, json=bad, headers=nhse)
        assert r.status_code == 422
        assert [e["pointer"] for e in r.json()["errors"]] == [pointer]
    assert len((await client.get(url)).json()["items"]) == 3
