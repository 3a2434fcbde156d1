"""Revisions, field-level diffs, `as_of` reads, the status lifecycle and lineage."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from commitments.lifecycle import TRANSITIONS
from commitments.schemas import CommitmentStatus
from servicekit.mediatypes import PROBLEM
from tests.commitments.helpers import commitment, patch, post, target

TODAY = date.today().isoformat()


async def test_every_change_is_a_revision_with_who_why_and_a_diff(client, writer, issuer):
    c = await commitment(
        client,
        writer,
        title="A paperless NHS by 2018",
        text="Paperless by 2018.",
        due_on="2018-12-31",
    )
    url = f"/v1/commitments/{c['id']}"
    other = issuer.auth("commitments:write", client_id="pac-clerk", org="Public Accounts Committee")
    r = await patch(
        client,
        url,
        {
            "title": "A core level of digitisation by 2024",
            "due_on": "2024-12-31",
            "reason": "The 2018 target was missed and watered down.",
            "effective_on": "2020-11-06",
        },
        other,
    )
    assert r.status_code == 200
    assert r.json()["revision"] == 2
    revisions = (await client.get(f"{url}/revisions")).json()["items"]
    assert [x["number"] for x in revisions] == [1, 2]
    first, second = revisions
    assert first["action"] == "created"
    assert first["effective_on"] is None
    assert {"path": "/title", "before": None, "after": "A paperless NHS by 2018"} in first[
        "changes"
    ]
    assert second["client_id"] == "pac-clerk"
    assert second["organisation"] == "Public Accounts Committee"
    assert second["reason"] == "The 2018 target was missed and watered down."
    assert second["effective_on"] == "2020-11-06"
    assert second["recorded_at"]
    assert second["changes"] == [
        {
            "path": "/title",
            "before": "A paperless NHS by 2018",
            "after": "A core level of digitisation by 2024",
        },
        {"path": "/due_on", "before": "2018-12-31", "after": "2024-12-31"},
    ]


async def test_as_of_reads_return_the_commitment_and_targets_as_they_stood(client, writer):
    c = await commitment(
        client, writer, made_on="2019-01-01", due_on="2020-04-10", text="Original."
    )
    url = f"/v1/commitments/{c['id']}"
    t = await target(client, writer, c["id"], effective_on="2019-06-01")
    await client.post(
        f"/v1/targets/{t['id']}/readings",
        json={"value": 50, "as_of": "2020-02-20", "source": "R"},
        headers=writer,
    )
    turl = f"/v1/targets/{t['id']}"
    r = await client.patch(
        turl,
        json={"target_value": 60, "reason": "Watered down.", "effective_on": "2020-03-01"},
        headers={**writer, "If-Match": (await client.get(turl)).headers["etag"]},
    )
    assert r.status_code == 200
    r = await patch(
        client,
        url,
        {"text": "Revised.", "reason": "Reworded.", "effective_on": "2020-05-01"},
        writer,
    )
    assert r.status_code == 200

    before_made = await client.get(url, params={"as_of": "2018-12-31"})
    assert before_made.status_code == 404
    assert before_made.headers["content-type"] == PROBLEM
    made = (await client.get(url, params={"as_of": "2019-01-01"})).json()
    assert made["text"] == "Original."
    assert made["targets"] == []
    assert made["revision"] == 1
    with_target = (await client.get(url, params={"as_of": "2020-02-29"})).json()
    assert with_target["as_of"] == "2020-02-29"
    [tt] = with_target["targets"]
    assert tt["target_value"] == 100
    assert tt["progress"]["status"] == "on_track"
    before_reading = (await client.get(url, params={"as_of": "2020-02-19"})).json()
    assert before_reading["targets"][0]["progress"]["status"] is None
    watered = (await client.get(url, params={"as_of": "2020-04-30"})).json()
    assert watered["targets"][0]["target_value"] == 60
    assert watered["text"] == "Original."
    now = (await client.get(url, params={"as_of": TODAY})).json()
    current = (await client.get(url)).json()
    assert now["text"] == current["text"] == "Revised."
    assert {k: v for k, v in now.items() if k != "as_of"} == {
        k: v for k, v in current.items() if k != "as_of"
    }
    diffs = [x["changes"] for x in (await client.get(f"{url}/revisions")).json()["items"]]
    assert diffs[2] == [
        {"path": f"/targets/{t['id']}/target_value", "before": 100.0, "after": 60.0}
    ]
    assert diffs[1][0]["path"] == f"/targets/{t['id']}"
    assert diffs[1][0]["before"] is None


async def test_bad_effective_dates_are_refused(client, writer):
    c = await commitment(client, writer, made_on="2020-01-01")
    url = f"/v1/commitments/{c['id']}"
    future = (date.today() + timedelta(days=3)).isoformat()
    r = await patch(client, url, {"lead_bodies": ["X"], "effective_on": future}, writer)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "future_date"
    r = await patch(client, url, {"lead_bodies": ["X"], "effective_on": "2019-12-31"}, writer)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "before_previous_revision"
    assert (await client.get(url)).json()["revision"] == 1


@pytest.mark.parametrize("field", ["title", "text", "due_on"])
async def test_wording_and_due_date_changes_need_a_reason(client, writer, field):
    c = await commitment(client, writer, due_on="2030-01-01")
    url = f"/v1/commitments/{c['id']}"
    value = "2031-01-01" if field == "due_on" else "Changed"
    r = await patch(client, url, {field: value}, writer)
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.reason"
    got = (await client.get(url)).json()
    assert got[field] == c[field]
    assert got["revision"] == 1
    assert len((await client.get(f"{url}/revisions")).json()["items"]) == 1
    r = await patch(client, url, {"lead_bodies": ["NHS England"]}, writer)
    assert r.status_code == 200
    assert r.json()["revision"] == 2


def test_the_transition_table_is_complete():
    for src in CommitmentStatus:
        assert set(TRANSITIONS[src]) == set(CommitmentStatus) - {src}


@pytest.mark.parametrize(
    ("start", "to", "due", "reason", "outcome"),
    [
        ("not_started", "in_progress", None, None, 200),
        ("in_progress", "met", "2020-01-01", None, 200),  # after the due date
        ("in_progress", "met", "2099-01-01", None, "reason_required"),  # early: needs a reason
        ("in_progress", "met", "2099-01-01", "Delivered early.", 200),
        ("in_progress", "missed", None, None, "reason_required"),  # no due date
        ("in_progress", "missed", TODAY, None, 200),  # on the due date itself
        ("in_progress", "withdrawn", None, None, "reason_required"),
        ("in_progress", "superseded", None, "r", "successor_required"),
        ("in_progress", "not_started", None, None, "reason_required"),
        ("met", "in_progress", "2020-01-01", None, "reason_required"),
        ("met", "not_started", "2020-01-01", "r", "transition"),
        ("withdrawn", "met", "2020-01-01", "r", "transition"),
        ("withdrawn", "in_progress", None, "Reinstated.", 200),
    ],
)
async def test_status_transitions(client, writer, start, to, due, reason, outcome):
    c = await commitment(client, writer, status=start, due_on=due, reason="setup")
    url = f"/v1/commitments/{c['id']}"
    body = {"status": to, **({"reason": reason} if reason else {})}
    r = await patch(client, url, body, writer)
    if outcome == 200:
        assert r.status_code == 200, r.text
        assert r.json()["status"] == to
        last = (await client.get(f"{url}/revisions")).json()["items"][-1]
        assert last["action"] == "status_changed"
        assert last["reason"] == reason
    else:
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["code"] == outcome, r.text
        assert (await client.get(url)).json()["status"] == start


async def test_creating_in_an_outcome_status_follows_the_same_rules(client, writer):
    area_source = await commitment(client, writer)
    base = {
        "reference": "X-" + area_source["id"][-8:],
        "title": "t",
        "text": "x",
        "policy_area_id": area_source["policy_area_id"],
        "source_id": area_source["source_id"],
    }
    for status in ("superseded", "withdrawn", "met"):
        r = await client.post("/v1/commitments", json={**base, "status": status}, headers=writer)
        assert r.status_code == 422, status
    assert (await client.get("/v1/commitments", params={"reference": base["reference"]})).json()[
        "items"
    ] == []


async def test_lineage_is_readable_from_both_ends(client, writer):
    old = await commitment(client, writer, status="in_progress")
    area = {"policy_area_id": old["policy_area_id"], "source_id": old["source_id"]}
    new = await commitment(client, writer, **area)
    r = await client.post(
        f"/v1/commitments/{old['id']}/lineage-links",
        json={
            "kind": "superseded_by",
            "successor_id": new["id"],
            "reason": "Replaced in the 2022 plan.",
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    link = r.json()
    assert (await client.get(r.headers["location"])).json() == link
    got = (await client.get(f"/v1/commitments/{old['id']}")).json()
    assert got["status"] == "superseded"
    assert got["superseded_by_id"] == new["id"]
    from_old = (await client.get(f"/v1/commitments/{old['id']}/lineage-links")).json()["items"]
    from_new = (await client.get(f"/v1/commitments/{new['id']}/lineage-links")).json()["items"]
    assert from_old == from_new == [link]
    only = await client.get(
        f"/v1/commitments/{new['id']}/lineage-links", params={"end": "successors"}
    )
    assert only.json()["items"] == []
    last = (await client.get(f"/v1/commitments/{old['id']}/revisions")).json()["items"][-1]
    assert last["action"] == "superseded_by"
    assert last["reason"] == "Replaced in the 2022 plan."
    assert {"path": "/status", "before": "in_progress", "after": "superseded"} in last["changes"]
    # Superseded is final.
    r = await patch(
        client, f"/v1/commitments/{old['id']}", {"status": "in_progress", "reason": "r"}, writer
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "transition"


async def test_split_and_merge(client, writer):
    whole = await commitment(client, writer)
    area = {"policy_area_id": whole["policy_area_id"], "source_id": whole["source_id"]}
    part1, part2 = (
        await commitment(client, writer, **area),
        await commitment(client, writer, **area),
    )
    for part in (part1, part2):
        await post(
            client,
            f"/v1/commitments/{whole['id']}/lineage-links",
            {"kind": "split_into", "successor_id": part["id"], "reason": "Split in two."},
            writer,
        )
    got = (await client.get(f"/v1/commitments/{whole['id']}")).json()
    assert got["status"] == "superseded"
    assert got["superseded_by_id"] is None
    merged = await commitment(client, writer, **area)
    for part in (part1, part2):
        await post(
            client,
            f"/v1/commitments/{part['id']}/lineage-links",
            {"kind": "merged_into", "successor_id": merged["id"], "reason": "Merged back."},
            writer,
        )
    into = (await client.get(f"/v1/commitments/{merged['id']}/lineage-links")).json()["items"]
    assert {x["predecessor_id"] for x in into} == {part1["id"], part2["id"]}
    # Whole was split into part1, so part1 -> whole is a cycle: refused as one (422) before
    # the rule on second successors is reached.
    r = await client.post(
        f"/v1/commitments/{part1['id']}/lineage-links",
        json={"kind": "superseded_by", "successor_id": whole["id"], "reason": "r"},
        headers=writer,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "lineage_cycle"
    # A second, different successor is refused unless both are parts of a split.
    other = await commitment(client, writer, **area)
    r = await client.post(
        f"/v1/commitments/{part1['id']}/lineage-links",
        json={"kind": "superseded_by", "successor_id": other["id"], "reason": "r"},
        headers=writer,
    )
    assert r.status_code == 409, r.text


async def test_lineage_cycles_and_bad_links_are_refused(client, writer):
    a = await commitment(client, writer)
    area = {"policy_area_id": a["policy_area_id"], "source_id": a["source_id"]}
    b, c = await commitment(client, writer, **area), await commitment(client, writer, **area)

    async def link(p, s, kind="superseded_by"):
        return await client.post(
            f"/v1/commitments/{p['id']}/lineage-links",
            json={"kind": kind, "successor_id": s["id"], "reason": "r"},
            headers=writer,
        )

    assert (await link(a, a)).json()["errors"][0]["code"] == "lineage_cycle"
    assert (await link(a, b)).status_code == 201
    assert (await link(b, c)).status_code == 201
    r = await link(c, a)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "lineage_cycle"
    assert (await client.get(f"/v1/commitments/{c['id']}")).json()["status"] == "not_started"
    assert (await link(a, c)).status_code == 409  # already has its successor
    r = await client.post(
        f"/v1/commitments/{c['id']}/lineage-links",
        json={
            "kind": "superseded_by",
            "successor_id": "00000000-0000-7000-8000-000000000000",
            "reason": "r",
        },
        headers=writer,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "unknown_reference"
    r = await client.post(
        f"/v1/commitments/{c['id']}/lineage-links",
        json={"kind": "superseded_by", "successor_id": a["id"]},
        headers=writer,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["pointer"] == "body.reason"
    assert (
        await client.get(f"/v1/commitments/{c['id']}/lineage-links", params={"end": "successors"})
    ).json()["items"] == []
