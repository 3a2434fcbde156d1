"""The commitment scorecard, composed from the REAL commitments, ratings and evidence services,
and what it says when any one of them is down."""

from __future__ import annotations

import asyncio
import importlib
import json
import uuid

import httpx
import pytest

from gateway.proxy.forward import service_for
from tests.gateway.conftest import Failing, unverified_claims
from tests.gateway.replicas import client_of, replica
from tests.support.tokens import chair_panel

PROBLEM = "application/problem+json"
DIMS = ("commitment_met", "funding_and_resource", "impact", "appropriateness")


def ref(prefix: str = "K") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def _post(gateway, path, body, auth):
    r = await gateway.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
async def rated(gateway, writer):
    """A commitment with a target and two readings, rated in an evaluation."""
    area = await _post(
        gateway, "/v1/policy-areas", {"slug": ref("a").lower(), "name": "Care"}, writer
    )
    source = await _post(
        gateway,
        "/v1/sources",
        {"reference": ref("s"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        writer,
    )
    commitment = await _post(
        gateway,
        "/v1/commitments",
        {
            "reference": ref("C"),
            "title": "Electronic patient records everywhere",
            "text": "Every trust will have an EPR.",
            "policy_area_id": area["id"],
            "source_id": source["id"],
        },
        writer,
    )
    target = await _post(
        gateway,
        f"/v1/commitments/{commitment['id']}/targets",
        {
            "reference": ref("T"),
            "metric": "Trusts with an EPR",
            "unit": "percent",
            "baseline_value": 80,
            "baseline_on": "2022-01-01",
            "target_value": 100,
            "due_on": "2025-03-31",
            "reason": "Set by the plan",
        },
        writer,
    )
    for value, as_of in ((86, "2022-06-30"), (90, "2023-03-31")):
        await _post(
            gateway,
            f"/v1/targets/{target['id']}/readings",
            {"value": value, "as_of": as_of, "source": "NHS England"},
            writer,
        )
    body = {
        "title": ref("Review"),
        "body": "Expert Panel",
        "commitment_ids": [commitment["id"]],
        "panel": chair_panel(writer),
    }
    for _ in range(200):
        r = await gateway.post("/v1/evaluations", json=body, headers=writer)
        if r.status_code != 422:
            break
        await asyncio.sleep(0.05)
    assert r.status_code == 201, r.text
    evaluation = r.json()
    r = await gateway.put(
        f"/v1/evaluations/{evaluation['id']}/ratings/{commitment['id']}",
        json={"levels": dict(zip(DIMS, ("good", "good", "requires_improvement", "good")))},
        headers=writer,
    )
    assert r.status_code == 201, r.text
    return {"commitment": commitment, "target": target, "evaluation": evaluation}


async def test_scorecard_composes_every_service(gateway, rated, stack, writer):
    c, t, ev = rated["commitment"], rated["target"], rated["evaluation"]
    rid = str(uuid.uuid4())
    before = {n: len(getattr(stack, n).requests) for n in ("commitments", "ratings", "evidence")}
    # The evaluation is still a draft: only a token that may read drafts sees its rating.
    r = await gateway.get(
        f"/v1/commitments/{c['id']}/scorecard", headers={**writer, "X-Request-ID": rid}
    )
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["missing"] == []
    assert card["commitment_id"] == c["id"]
    assert card["commitment"]["reference"] == c["reference"]
    assert "targets" not in card["commitment"]
    [target] = card["targets"]
    assert target["target"]["id"] == t["id"]
    assert target["target"]["progress"]["reading_count"] == 2
    assert [x["value"] for x in target["readings"]] == [86, 90]
    [rating] = card["ratings"]
    assert rating["evaluation"]["id"] == ev["id"]
    assert rating["evaluation"]["title"] == ev["title"]
    assert rating["rating"]["levels"]["impact"] == "requires_improvement"
    assert rating["rating"]["overall"]["level"] == "requires_improvement"
    assert rating["change"] is None  # the first rating has nothing to compare with
    assert card["evidence"] == []
    assert card["evidence_next"] is None
    # Every backend call carried the caller's request id.
    for name, n in before.items():
        sent = getattr(stack, name).requests[n:]
        assert sent, name
        assert {s.headers["x-request-id"] for s in sent} == {rid}, name
        # The caller's token, exchanged for the services' audience.
        caller = unverified_claims(writer["Authorization"])["client_id"]
        for s in sent:
            claims = unverified_claims(s.headers["authorization"])
            assert (claims["aud"], claims["client_id"]) == ("scrutiny-services", caller), name

    anonymous = (await gateway.get(f"/v1/commitments/{c['id']}/scorecard")).json()
    assert anonymous["missing"] == []
    assert anonymous["ratings"] == []
    assert anonymous["targets"][0]["readings"]


async def test_unknown_commitment_is_404(gateway):
    r = await gateway.get(f"/v1/commitments/{uuid.uuid4()}/scorecard")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM


async def test_bad_token_is_401_not_an_empty_card(gateway, rated):
    r = await gateway.get(
        f"/v1/commitments/{rated['commitment']['id']}/scorecard",
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("down", "missing"),
    [
        ("commitments", ["commitment", "targets", "self_assessments"]),
        ("ratings", ["ratings"]),
        ("evidence", ["evidence"]),
    ],
)
async def test_scorecard_degrades_with_a_backend_down(
    stack, gateway_db, rated, writer, down, missing
):
    c = rated["commitment"]
    async with (
        replica(
            stack, gateway_db, transports={down: Failing(httpx.ConnectError)}, retry_attempts=1
        ) as app,
        client_of(app) as client,
    ):
        r = await client.get(f"/v1/commitments/{c['id']}/scorecard", headers=writer)
        assert r.status_code == 200, r.text
        card = r.json()
        assert card["missing"] == missing
        if down == "commitments":
            assert card["commitment"] is None
            assert card["targets"] == []
        else:
            assert card["commitment"]["id"] == c["id"]
            assert card["targets"][0]["readings"]
        assert bool(card["ratings"]) is (down != "ratings")


async def test_slow_backend_is_reported_missing_not_waited_for(stack, gateway_db, rated):
    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, _request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            raise AssertionError("not reached")

    async with (
        # A budget the healthy parts meet even on a loaded machine, far below the slow one's 5 s.
        replica(stack, gateway_db, transports={"ratings": Slow()}, compose_timeout_s=1.5) as app,
        client_of(app) as client,
    ):
        r = await client.get(f"/v1/commitments/{rated['commitment']['id']}/scorecard")
        assert r.status_code == 200
        assert r.json()["missing"] == ["ratings"]
        assert r.elapsed.total_seconds() < 4


async def test_readings_failing_alone(stack, gateway_db, rated):
    class NoReadings(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/readings"):
                return httpx.Response(500, json={"title": "boom", "status": 500})
            return await stack.commitments.handle_async_request(request)

    async with (
        replica(stack, gateway_db, transports={"commitments": NoReadings()}) as app,
        client_of(app) as client,
    ):
        r = await client.get(f"/v1/commitments/{rated['commitment']['id']}/scorecard")
        card = r.json()
        assert card["missing"] == ["readings"]
        assert card["targets"][0]["target"]["id"] == rated["target"]["id"]
        assert card["targets"][0]["readings"] is None


def _published_submission(n: int) -> dict[str, object]:
    """A published submission in the evidence service's shape (fictional content)."""
    return {
        "id": str(uuid.UUID(int=n + 1)),
        "receipt_reference": f"SUB-TEST{n:04d}",
        "publication_reference": f"DIG{n:04d}",
        "submitter": None,
        "kind": "written_evidence",
        "title": f"S{n}",
        "summary": None,
        "stance": "neutral",
    }


async def test_published_evidence_and_where_it_continues(stack, gateway_db, rated):
    cid = rated["commitment"]["id"]
    seen: list[httpx.Request] = []

    def evidence(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        size = int(request.url.params["page_size"])
        token = request.url.params.get("page_token")
        start = int(token) if token else 0
        items = [_published_submission(i) for i in range(start, start + size)]
        body = json.dumps({"items": items, "next_page_token": str(start + size)})
        return httpx.Response(200, headers={"Content-Type": "application/json"}, content=body)

    async with (
        replica(stack, gateway_db, transports={"evidence": httpx.MockTransport(evidence)}) as app,
        client_of(app) as client,
    ):
        card = (await client.get(f"/v1/commitments/{cid}/scorecard")).json()
    assert card["missing"] == []
    assert [e["title"] for e in card["evidence"]] == [f"S{i}" for i in range(100)]
    assert card["evidence_next"].startswith("/v1/submissions?")
    nxt = httpx.URL(card["evidence_next"])
    assert nxt.params["commitment_id"] == cid
    assert nxt.params["status"] == "published"
    assert nxt.params["page_token"] == "100"
    assert seen[0].url.params.get_list("status") == ["published"]


def _service_paths(name: str) -> set[str]:
    app = importlib.import_module(f"{name}.main").create_app()
    doc = app.openapi()
    return {p for p in doc["paths"] if p.startswith("/v1/") and p != "/v1/events"}


async def test_every_public_service_route_is_routed_to_its_service(stack):
    for name in ("commitments", "evidence", "ratings"):
        for path in _service_paths(name):
            concrete = path.replace("{", "x").replace("}", "x")
            assert service_for(concrete) == name, f"{path} does not reach {name}"
    # The scorecard is the gateway's own, in front of the commitments rule.
    own = stack.gateway_app.openapi()["paths"]
    assert "get" in own["/v1/commitments/{id}/scorecard"]
