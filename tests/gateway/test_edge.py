"""The gateway's edge, as a client meets it: rate limits, body caps, disabled clients, security
headers and CORS, on gateway instances wired to the real services."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from typing import Any

import httpx
import pytest

from gateway.edge.middleware import client_directory
from tests.gateway.conftest import bearer, token_for
from tests.gateway.replicas import client_of, replica

PROBLEM = "application/problem+json"


def ref(prefix: str = "E") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_ip() -> str:
    """A caller address no other test uses (anonymous counts are per IP)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def new_client(gateway, admin, *scopes, rate_limit=None):
    body = {"name": "edge test", "organisation": "Edge Org", "scopes": list(scopes)}
    if rate_limit is not None:
        body["rate_limit_per_minute"] = rate_limit
    r = await gateway.post("/v1/clients", json=body, headers=admin)
    assert r.status_code == 201, r.text
    record = r.json()
    creds = {"client_id": record["client_id"], "client_secret": record["client_secret"]}
    return record, bearer(await token_for(gateway, creds))


def parse_item(value: str) -> tuple[str, dict[str, int]]:
    """A structured-field Item with integer parameters: `"name";a=1;b=2`."""
    name, *params = value.split(";")
    assert name.startswith('"'), value
    assert name.endswith('"'), value
    return name.strip('"'), {k: int(v) for k, v in (p.split("=") for p in params)}


# --- rate limits ------------------------------------------------------------------------------


async def test_client_quota_headers_then_429(stack, gateway_db, gateway, admin):
    _, auth = await new_client(gateway, admin, "commitments:write")
    async with replica(stack, gateway_db, rate_limit_per_minute=3) as app, client_of(app) as c:
        for remaining in (2, 1, 0):
            r = await c.get("/v1/commitments", headers=auth)
            assert r.status_code == 200, r.text
            assert parse_item(r.headers["ratelimit-policy"]) == ("default", {"q": 3, "w": 60})
            name, state = parse_item(r.headers["ratelimit"])
            assert name == "default"
            assert state["r"] == remaining
            assert 0 < state["t"] <= 60
        r = await c.get("/v1/commitments", headers=auth)
        assert r.status_code == 429
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == 429
        assert r.json()["type"] == "/problems/rate-limited"
        retry = int(r.headers["retry-after"])
        _, state = parse_item(r.headers["ratelimit"])
        assert state["r"] == 0
        assert 0 < retry <= 60
        # Retry-After and the reset parameter name the same moment (draft §5).
        assert abs(state["t"] - retry) <= 1
        assert r.headers["x-request-id"]
        # Writes are counted too, and refused before they reach the service.
        before = len(stack.commitments.requests)
        r = await c.post("/v1/sources", json={}, headers=auth)
        assert r.status_code == 429
        assert len(stack.commitments.requests) == before


async def test_per_client_override(stack, gateway_db, gateway, admin):
    _, custom = await new_client(gateway, admin, "commitments:write", rate_limit=2)
    _, default = await new_client(gateway, admin, "commitments:write")
    async with replica(stack, gateway_db, rate_limit_per_minute=5) as app, client_of(app) as c:
        codes = [(await c.get("/v1/sources", headers=custom)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = await c.get("/v1/sources", headers=default)
        assert r.status_code == 200
        assert parse_item(r.headers["ratelimit-policy"]) == ("default", {"q": 5, "w": 60})
        r = await c.get("/v1/sources", headers=custom)
        assert parse_item(r.headers["ratelimit-policy"]) == ("client", {"q": 2, "w": 60})


async def test_anonymous_callers_are_limited_per_ip(stack, gateway_db):
    async with replica(
        stack, gateway_db, anonymous_rate_limit_per_minute=2, rate_limit_per_minute=50
    ) as app:
        first, second = new_ip(), new_ip()
        async with client_of(app, first) as a, client_of(app, second) as b:
            codes = [(await a.get("/v1/commitments")).status_code for _ in range(3)]
            assert codes == [200, 200, 429]
            r = await b.get("/v1/commitments")
            assert r.status_code == 200
            assert parse_item(r.headers["ratelimit-policy"]) == ("anonymous", {"q": 2, "w": 60})
            # A token that does not verify buys nothing: it counts against the IP.
            await b.get("/v1/commitments", headers={"Authorization": "Bearer not.a.token"})
            r = await b.get("/v1/commitments")
            assert r.status_code == 429
            # Probes are never limited.
            assert (await a.get("/healthz")).status_code == 200
            assert "ratelimit" not in (await a.get("/healthz")).headers


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_replicas_share_counts_in_redis(stack, gateway_db, gateway, admin):
    _, auth = await new_client(gateway, admin, "commitments:write")
    shared: dict[str, Any] = {
        "rate_limit_storage": "redis://127.0.0.1:6379/0",
        "rate_limit_per_minute": 4,
    }
    async with (
        replica(stack, gateway_db, **shared) as one,
        replica(stack, gateway_db, **shared) as two,
        client_of(one) as a,
        client_of(two) as b,
    ):
        seen = []
        for c in (a, b, a, b):
            r = await c.get("/v1/policy-areas", headers=auth)
            assert r.status_code == 200, r.text
            seen.append(parse_item(r.headers["ratelimit"])[1]["r"])
        assert seen == [3, 2, 1, 0]
        assert (await a.get("/v1/policy-areas", headers=auth)).status_code == 429
        assert (await b.get("/v1/policy-areas", headers=auth)).status_code == 429


async def test_limits_fail_open_when_the_store_is_down(stack, gateway_db):
    # Nothing listens on port 1: every count fails; the API keeps answering.
    async with (
        replica(stack, gateway_db, rate_limit_storage="redis://127.0.0.1:1/0") as app,
        client_of(app, new_ip()) as c,
    ):
        r = await c.get("/v1/commitments")
        assert r.status_code == 200
        assert "ratelimit" not in r.headers


async def test_client_limits_are_cached_not_queried_per_request(stack, gateway_db, gateway, admin):
    _, auth = await new_client(gateway, admin, "commitments:write")
    async with replica(stack, gateway_db, client_cache_ttl_s=30) as app:
        directory = client_directory(app)
        async with client_of(app) as c:
            rs = await asyncio.gather(*(c.get("/v1/sources", headers=auth) for _ in range(20)))
            assert all(r.status_code == 200 for r in rs)
        assert directory.queries == 1


# --- disabled clients -------------------------------------------------------------------------


async def test_disabled_clients_tokens_stop_at_the_gateway(stack, gateway_db, gateway, admin):
    record, auth = await new_client(gateway, admin, "commitments:write")
    async with (
        replica(stack, gateway_db, client_cache_ttl_s=0.2) as other,
        client_of(other) as c,
    ):
        assert (await c.get("/v1/sources", headers=auth)).status_code == 200
        assert (await gateway.get("/v1/sources", headers=auth)).status_code == 200
        got = await gateway.get(f"/v1/clients/{record['id']}", headers=admin)
        r = await gateway.patch(
            f"/v1/clients/{record['id']}",
            json={"active": False},
            headers={**admin, "If-Match": got.headers["etag"]},
        )
        assert r.status_code == 200
        assert r.json()["active"] is False
        # The replica that disabled it refuses at once, on proxied and own routes alike.
        for path in ("/v1/sources", f"/v1/commitments/{uuid.uuid4()}/scorecard"):
            r = await gateway.get(path, headers=auth)
            assert r.status_code == 401, (path, r.text)
            assert r.headers["content-type"] == PROBLEM
            assert "invalid_token" in r.headers["www-authenticate"]
        # Another replica within its cache TTL.
        await asyncio.sleep(0.25)
        r = await c.get("/v1/sources", headers=auth)
        assert r.status_code == 401


# --- body caps --------------------------------------------------------------------------------


async def test_body_caps_json_and_attachments(stack, gateway_db, writer):
    caps: dict[str, Any] = {"proxy_max_body_bytes": 10_000, "attachment_max_body_bytes": 100_000}
    async with replica(stack, gateway_db, **caps) as app, client_of(app) as c:
        before = len(stack.commitments.requests)
        big = {"reference": ref(), "title": "x" * 20_000, "publisher": "D", "kind": "plan"}
        r = await c.post("/v1/sources", json=big, headers=writer)
        assert r.status_code == 413
        assert r.headers["content-type"] == PROBLEM
        assert "10000 bytes" in r.json()["detail"]
        assert len(stack.commitments.requests) == before, "refused at the edge"

        path = f"/v1/submissions/{uuid.uuid4()}/attachments"
        ev_before = len(stack.evidence.requests)
        r = await c.post(
            path,
            content=b"%PDF" + b"0" * 50_000,
            headers={**writer, "Content-Type": "application/pdf"},
        )
        # Over the JSON cap but under the attachment cap: the evidence service decides.
        assert r.status_code != 413
        assert len(stack.evidence.requests) == ev_before + 1
        r = await c.post(
            path,
            content=b"0" * 200_000,
            headers={**writer, "Content-Type": "application/pdf"},
        )
        assert r.status_code == 413
        assert "100000 bytes" in r.json()["detail"]
        assert len(stack.evidence.requests) == ev_before + 1

        # Chunked bodies (no Content-Length) are counted as they stream.
        async def chunks():
            for _ in range(5):
                yield b"x" * 5_000

        r = await c.post(
            "/v1/sources",
            content=chunks(),
            headers={**writer, "Content-Type": "application/json"},
        )
        assert r.status_code == 413


# --- security headers and CORS ----------------------------------------------------------------


async def test_security_headers(gateway, admin_credentials):
    for r in (
        await gateway.get("/v1/commitments"),
        await gateway.get("/v1/nothing-here"),
        await gateway.get("/.well-known/jwks.json"),
    ):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in r.headers  # public URL is http here
    r = await gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials", **admin_credentials}
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    bad = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert bad.status_code == 401
    assert bad.headers["cache-control"] == "no-store"
    # Swagger UI keeps a CSP it can run under: its own scripts plus its inline bootstrap by hash.
    docs = await gateway.get("/docs")
    csp = docs.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp
    assert "'unsafe-inline'" not in csp.split("style")[0]
    assert "frame-ancestors 'none'" in csp


async def test_hsts_when_public_url_is_https(stack, gateway_db):
    async with (
        replica(stack, gateway_db, public_url="https://api.scrutiny.example") as app,
        client_of(app) as c,
    ):
        r = await c.get("/v1/commitments")
        assert r.headers["strict-transport-security"] == "max-age=31536000"


async def test_cors_allow_list(stack, gateway_db, gateway):
    allowed, other = "https://dashboard.example", "https://evil.example"
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, idempotency-key, content-type",
    }
    # Default: no origin is allowed.
    r = await gateway.options("/v1/submissions", headers={"Origin": allowed, **preflight})
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    async with (
        replica(stack, gateway_db, cors_allow_origins=[allowed]) as app,
        client_of(app) as c,
    ):
        r = await c.options("/v1/submissions", headers={"Origin": allowed, **preflight})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == allowed
        granted = r.headers["access-control-allow-headers"].lower()
        for h in ("authorization", "idempotency-key", "content-type", "if-match"):
            assert h in granted
        assert "access-control-allow-credentials" not in r.headers
        r = await c.options("/v1/submissions", headers={"Origin": other, **preflight})
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers

        r = await c.get("/v1/commitments", headers={"Origin": allowed})
        assert r.headers["access-control-allow-origin"] == allowed
        exposed = r.headers["access-control-expose-headers"].lower()
        for h in ("ratelimit", "ratelimit-policy", "etag", "location", "x-request-id"):
            assert h in exposed
        r = await c.get("/v1/commitments", headers={"Origin": other})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("status", [429, 503])
async def test_downstream_throttling_passes_through(stack, gateway_db, status):
    body = json.dumps({"type": "about:blank", "title": "Busy", "status": status}).encode()

    def answer(_request: httpx.Request) -> httpx.Response:
        # A raw stream, as a real connection gives (the proxy passes bytes on unread).
        return httpx.Response(
            status,
            headers={"Retry-After": "7", "Content-Type": PROBLEM},
            stream=httpx.ByteStream(body),
        )

    async with (
        replica(stack, gateway_db, transports={"evidence": httpx.MockTransport(answer)}) as app,
        client_of(app) as c,
    ):
        r = await c.get("/v1/submissions")
        assert r.status_code == status
        assert r.headers["retry-after"] == "7"
        assert r.json() == {"type": "about:blank", "title": "Busy", "status": status}
        # An answer, however unwelcome, is not a transport failure: the breaker stays shut.
        assert app.state.backends.evidence.breaker.failures == 0
