"""Routing through the gateway to the real services: writes, problems, headers, failures."""

from __future__ import annotations

import uuid

import httpx
import pytest

from gateway.main import create_app
from gateway.proxy.forward import service_for
from tests.conftest import serve
from tests.gateway.conftest import (
    Failing,
    auth_settings,
    for_services,
    gateway_settings,
    unverified_claims,
)

PROBLEM = "application/problem+json"


def ref(prefix: str = "P") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/sources", "commitments"),
        ("/v1/policy-areas/abc", "commitments"),
        ("/v1/commitments", "commitments"),
        ("/v1/commitments/abc", "commitments"),
        ("/v1/commitments/abc/ratings", "ratings"),
        ("/v1/commitments/abc/ratings/x", "ratings"),
        ("/v1/submissions/abc", "evidence"),
        ("/v1/calls-for-evidence", "evidence"),
        ("/v1/evaluations/abc/summary", "ratings"),
        ("/v1/events", None),
        ("/v1/commitmentsX", None),
        ("/healthz", None),
    ],
)
def test_route_table(path, service):
    assert service_for(path) == service


@pytest.mark.usefixtures("stack")
async def test_create_and_update_through_the_gateway(gateway, writer):
    area = await gateway.post(
        "/v1/policy-areas", json={"slug": ref("a").lower(), "name": "Area"}, headers=writer
    )
    assert area.status_code == 201, area.text
    assert area.headers["location"] == f"/v1/policy-areas/{area.json()['id']}"
    got = await gateway.get(area.headers["location"])
    assert got.status_code == 200
    assert got.json() == area.json()
    etag = got.headers["etag"]
    r = await gateway.patch(
        area.headers["location"], json={"name": "Renamed"}, headers={**writer, "If-Match": etag}
    )
    assert r.status_code == 200
    assert r.json()["name"] == "Renamed"
    # If-Match reached the service: a stale one is refused there.
    r = await gateway.patch(
        area.headers["location"], json={"name": "Again"}, headers={**writer, "If-Match": etag}
    )
    assert r.status_code == 412
    assert r.headers["content-type"] == PROBLEM


async def test_a_service_problem_passes_through_unchanged(gateway, writer, stack):
    body = {"reference": ref(), "title": 3, "publisher": "D", "kind": "plan", "colour": "red"}
    via_gateway = await gateway.post("/v1/sources", json=body, headers=writer)
    transport = httpx.ASGITransport(app=stack.commitments_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as direct:
        straight = await direct.post(
            "/v1/sources", json=body, headers=await for_services(stack, writer)
        )
    assert via_gateway.status_code == straight.status_code == 422
    assert via_gateway.headers["content-type"] == PROBLEM
    assert via_gateway.content == straight.content


async def test_the_gateway_does_not_cap_bodies_below_the_service(gateway, writer):
    big = {
        "reference": ref(),
        "title": "P",
        "publisher": "D",
        "kind": "plan",
        "url": "x" * 1_500_000,
    }
    r = await gateway.post("/v1/sources", json=big, headers=writer)
    # The commitments service's own 413, not the gateway's default cap.
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM


async def test_headers_forwarded_and_hop_by_hop_dropped(gateway, writer, stack):
    rid = str(uuid.uuid4())
    before = len(stack.commitments.requests)
    r = await gateway.get(
        "/v1/sources",
        params={"reference": "none"},
        headers={
            **writer,
            "X-Request-ID": rid,
            "Idempotency-Key": "k-1",
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        },
    )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == rid
    assert r.headers.get_list("x-request-id") == [rid]
    sent = stack.commitments.requests[before:]
    assert len(sent) == 1
    h = sent[0].headers
    assert h["x-request-id"] == rid
    # The caller's token, exchanged for one with the same client and the services' audience.
    sent_claims = unverified_claims(h["authorization"])
    caller_claims = unverified_claims(writer["Authorization"])
    assert sent_claims["aud"] == "scrutiny-services"
    assert caller_claims["aud"] == "scrutiny-api"
    for claim in ("sub", "client_id", "org", "scope", "iss"):
        assert sent_claims[claim] == caller_claims[claim], claim
    assert h["idempotency-key"] == "k-1"
    for hop in ("x-secret-hop", "keep-alive", "proxy-authorization"):
        assert hop not in h
    assert sent[0].url.path == "/v1/sources"
    assert sent[0].url.params["reference"] == "none"


async def test_request_id_is_made_when_absent(gateway, stack):
    before = len(stack.commitments.requests)
    r = await gateway.get("/v1/commitments")
    assert r.status_code == 200
    assert stack.commitments.requests[before].headers["x-request-id"] == r.headers["x-request-id"]


async def test_services_internal_routes_are_not_exposed(gateway, writer):
    await gateway.post(
        "/v1/sources",
        json={"reference": ref(), "title": "P", "publisher": "D", "kind": "plan"},
        headers=writer,
    )
    # /v1/events is the gateway's own log, not the commitments feed.
    events = (await gateway.get("/v1/events")).json()["items"]
    assert all(e["resource_type"] != "source" for e in events)
    r = await gateway.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (httpx.ConnectError, 503),
        (httpx.ConnectTimeout, 503),
        (httpx.ReadTimeout, 504),
        (httpx.RemoteProtocolError, 502),
    ],
)
async def test_transport_failures_become_problems(gateway_db, exc, status):
    app = create_app(
        gateway_settings(gateway_db),
        transports={name: Failing(exc) for name in ("commitments", "evidence", "ratings")},
        auth=auth_settings(),
    )
    async for client in serve(app):
        r = await client.get("/v1/commitments")
        assert r.status_code == status
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == status
        assert "commitments" in r.json()["detail"]
        if status == 503:
            assert int(r.headers["retry-after"]) > 0
        else:
            assert "retry-after" not in r.headers
        # The gateway's own routes keep working.
        assert (await client.get("/.well-known/jwks.json")).status_code == 200


async def test_a_caller_hanging_up_mid_body_is_not_a_server_error(stack, writer, caplog):
    """The caller disconnects before its body arrives: nothing reaches the service, the gateway
    answers 499 into the void and logs no error."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/sources",
        "raw_path": b"/v1/sources",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"gateway"),
            (b"content-type", b"application/json"),
            (b"content-length", b"64"),
            *((k.lower().encode(), v.encode()) for k, v in writer.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway", 80),
    }
    before = len(stack.commitments.requests)
    await stack.gateway_app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 499
    assert len(stack.commitments.requests) == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_proxied_requests_are_counted_by_route_and_own_routes_still_win(gateway, stack):
    before = len(stack.commitments.requests)
    r = await gateway.get(f"/v1/commitments/{uuid.uuid4()}")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    assert len(stack.commitments.requests) == before + 1
    # The composed scorecard lives under a proxied prefix but is the gateway's own route: the
    # commitments service is asked for the commitment, never for a `/scorecard` path.
    await gateway.get(f"/v1/commitments/{uuid.uuid4()}/scorecard")
    assert not any(q.url.path.endswith("/scorecard") for q in stack.commitments.requests[before:])
    metrics = (await gateway.get("/metrics")).text
    assert 'method="GET",route="/v1/commitments/{rest:path}",service="gateway",status="404"' in (
        metrics
    )
    assert 'route="/v1/commitments/{id}/scorecard"' in metrics


@pytest.mark.parametrize("path", ["/v1/events", "/v1/sources", "/v1/event-types"])
async def test_an_invalid_token_is_401_on_public_reads_through_the_gateway(gateway, path):
    r = await gateway.get(path, headers={"Authorization": "Bearer garbage"})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/events", "/v1/sources"])
async def test_an_unknown_query_parameter_is_400_own_route_or_proxied(gateway, path):
    r = await gateway.get(path, params={"pagesize": 5})
    assert r.status_code == 400, r.text
    assert r.json()["type"] == "/problems/unknown-query-parameter"


async def test_the_callers_request_id_comes_back(gateway):
    r = await gateway.get("/v1/sources", headers={"X-Request-ID": "integrator-probe-0001"})
    assert r.headers["x-request-id"] == "integrator-probe-0001"


async def test_an_oversized_header_goes_no_further_than_the_gateway(gateway, stack):
    before = len(stack.commitments.requests)
    r = await gateway.get("/v1/sources", headers={"X-Padding": "a" * (8 * 1024 * 1024)})
    assert r.status_code == 431, r.text
    assert len(stack.commitments.requests) == before
