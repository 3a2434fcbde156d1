"""Checks that the loaded data set is what the API serves, and that the floor answers alike.

`sanity` reads generated rows back through the gateway and sends a few writes through it (a
commitment that must reach evidence's read model through the feed, a submission replayed with
its `Idempotency-Key`); `floor_check` compares the floor's bytes and ETag with the service's.
Both land in results.json (`sanity`, `floor_check`).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from bench import data, pg
from bench.run.measure import Bench


async def sanity(b: Bench, plan: data.Plan, token: str) -> dict[str, Any]:
    """Generated rows read back through the real API; a few writes go through it too."""
    gw = b.endpoints.url("gateway")
    auth = {"Authorization": f"Bearer {token}"}
    checks: dict[str, Any] = {}
    cid = str(plan.commitment_ids[len(plan.commitment_ids) // 2])
    async with httpx.AsyncClient(base_url=gw, timeout=30) as client:
        r = await client.get(f"/v1/commitments/{cid}")
        body = r.json()
        checks["get_generated_commitment"] = (
            r.status_code == 200 and len(body.get("targets", [])) == b.sizes.targets_per_commitment
        )
        r = await client.get("/v1/commitments", params={"page_size": 5})
        checks["list_first_page"] = r.status_code == 200 and len(r.json()["items"]) == 5
        r = await client.get(f"/v1/evaluations/{plan.evaluation_ids[0]}/report")
        rep = r.json()
        n = sum(len(a["commitments"]) for a in rep.get("policy_areas", []))
        checks["report_9"] = (
            r.status_code == 200 and n == len(plan.scopes[0]) and not rep.get("missing")
        )
        r = await client.get(f"/v1/commitments/{cid}/scorecard")
        card = r.json()
        checks["scorecard"] = (
            r.status_code == 200
            and not card.get("missing")
            and bool(card.get("ratings") is not None)
        )
        r = await client.get(
            "/v1/submissions", params={"commitment_id": cid, "status": "published"}
        )
        checks["published_evidence_listed"] = r.status_code == 200 and len(r.json()["items"]) > 0
        # A write through the API reaches the read models through the feed (positions were
        # set to the generated heads, so nothing is replayed and nothing new is skipped).
        area = str(plan.policy_areas[0])
        src = (await client.get("/v1/sources", params={"page_size": 1})).json()["items"][0]["id"]
        r = await client.post(
            "/v1/commitments",
            headers=auth,
            json={
                "reference": f"BENCH-API-{uuid.uuid4().hex[:8]}",
                "title": "Bench API commitment",
                "text": "Created through the API by the bench.",
                "kind": "pledge",
                "policy_area_id": area,
                "source_id": src,
                "status": "not_started",
            },
        )
        checks["create_commitment"] = r.status_code == 201
        if r.status_code != 201:
            checks["create_commitment_error"] = r.text[:500]
        new_id = r.json().get("id") if r.status_code == 201 else None
        seen = False
        for _ in range(60):
            if new_id is None:
                break
            got = await pg.scalar(
                b.server,
                pg.db_name(b.prefix, "evidence"),
                "SELECT count(*) FROM known_commitments WHERE id = $1",
                uuid.UUID(new_id),
            )
            if got:
                seen = True
                break
            await asyncio.sleep(0.25)
        checks["feed_reaches_evidence_read_model"] = seen
        key = uuid.uuid4().hex
        sub = {
            "commitment_ids": [new_id or cid],
            "title": "Bench API evidence",
            "body": "Read back.",
            "stance": "neutral",
            "consent": "publish",
        }
        h = {**auth, "Idempotency-Key": key}
        r1 = await client.post("/v1/submissions", headers=h, json=sub)
        r2 = await client.post("/v1/submissions", headers=h, json=sub)
        checks["submit_and_replay"] = (
            r1.status_code == 201
            and r2.status_code == 201
            and r1.json()["id"] == r2.json()["id"]
            and r2.headers.get("idempotent-replayed") == "true"
        )
        if r1.status_code != 201:
            checks["submit_error"] = r1.text[:500]
    checks["ok"] = all(v for k, v in checks.items() if not k.endswith("_error"))
    print(f"  sanity: {checks}", flush=True)
    return checks


def floor_check(b: Bench, plan: data.Plan, other: str = "floor") -> dict[str, Any]:
    """The floor answers the same bytes as the service for the same commitment."""
    same = 0
    sample = plan.commitment_ids[:: max(1, len(plan.commitment_ids) // 20)][:20]
    diff = None
    with httpx.Client(timeout=10) as client:
        for cid in sample:
            ours = client.get(f"{b.endpoints.url('commitments')}/v1/commitments/{cid}")
            theirs = client.get(f"{b.endpoints.url(other)}/v1/commitments/{cid}")
            if ours.content == theirs.content and ours.headers.get("etag") == theirs.headers.get(
                "etag"
            ):
                same += 1
            elif diff is None:
                diff = {"service": ours.text[:400], other: theirs.text[:400]}
    out: dict[str, Any] = {"compared": len(sample), "identical": same}
    if diff:
        out["first_difference"] = diff
    print(f"  {other} bytes identical to the service: {same}/{len(sample)}", flush=True)
    return out
