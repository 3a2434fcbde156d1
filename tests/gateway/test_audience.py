"""Nothing goes around the gateway (#19): clients' tokens are for the gateway alone; a service
accepts only the short-lived token the gateway exchanges a caller's for when it forwards a call,
so the disabled-client check and the rate limit cannot be skipped by calling a service port."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from gateway.identity.exchange import TokenExchange
from tests.gateway.conftest import bearer, token_for, unverified_claims
from tests.gateway.replicas import client_of, replica

PROBLEM = "application/problem+json"
SERVICES = ("commitments", "evidence", "ratings")


def direct(stack, name: str) -> httpx.AsyncClient:
    """A client of a service app itself, as a caller reaching its port would be."""
    app = getattr(stack, f"{name}_app")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")


async def test_a_clients_token_works_through_the_gateway_and_at_no_service_port(
    stack, gateway, make_client
):
    _, creds = await make_client("evidence:submit", "commitments:write", "ratings:write")
    auth = bearer(await token_for(gateway, creds))
    assert unverified_claims(auth["Authorization"])["aud"] == "scrutiny-api"
    for path in ("/v1/submissions", "/v1/sources", "/v1/evaluations"):
        r = await gateway.get(path, headers=auth)
        assert r.status_code == 200, (path, r.text)
    for name in SERVICES:
        async with direct(stack, name) as service:
            r = await service.get("/v1/events", params={"after": 0}, headers=auth)
        assert r.status_code == 401, name
        assert r.headers["content-type"] == PROBLEM
        assert "aud" in r.json()["detail"]


async def test_what_the_gateway_sends_a_service_is_no_token_for_the_gateway(
    stack, gateway, make_client
):
    """The exchanged token carries the caller's claims, lives 2 s, is never given to the caller,
    and is refused if someone presents it to the gateway."""
    _, creds = await make_client("evidence:submit", org="Exchange Org")
    token = await token_for(gateway, creds)
    before = len(stack.evidence.requests)
    r = await gateway.get("/v1/submissions", headers=bearer(token))
    assert r.status_code == 200
    sent = stack.evidence.requests[before].headers["authorization"]
    internal = sent.removeprefix("Bearer ")
    assert internal != token
    assert internal not in r.text
    assert all(internal not in v for v in r.headers.values())
    claims, caller = unverified_claims(sent), unverified_claims(f"Bearer {token}")
    assert claims["aud"] == "scrutiny-services"
    assert claims["exp"] - claims["iat"] == 2
    for claim in ("iss", "sub", "client_id", "org", "name", "scope"):
        assert claims[claim] == caller[claim], claim

    r = await gateway.get("/v1/sources", headers={"Authorization": sent})
    assert r.status_code == 401
    assert "aud" in r.json()["detail"]


async def test_an_invalid_token_is_refused_by_the_gateway_and_reaches_no_service(stack, gateway):
    before = len(stack.commitments.requests)
    r = await gateway.get("/v1/sources", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert "invalid_token" in r.headers["www-authenticate"]
    r = await gateway.get("/v1/sources", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert r.status_code == 401
    assert len(stack.commitments.requests) == before


async def test_a_disabled_client_stops_everywhere_within_two_seconds(
    stack, gateway_db, gateway, admin, make_client
):
    """Disabled on one replica, its token is refused by another within that replica's 2 s
    client cache, and it never had a token a service port would take."""
    record, creds = await make_client("commitments:write")
    auth = bearer(await token_for(gateway, creds))
    async with replica(stack, gateway_db) as other, client_of(other) as c:
        assert (await c.get("/v1/sources", headers=auth)).status_code == 200
        got = await gateway.get(f"/v1/clients/{record['id']}", headers=admin)
        r = await gateway.patch(
            f"/v1/clients/{record['id']}",
            json={"active": False},
            headers={**admin, "If-Match": got.headers["etag"]},
        )
        assert r.status_code == 200
        disabled_at = time.monotonic()
        while (r := await c.get("/v1/sources", headers=auth)).status_code == 200:
            assert time.monotonic() - disabled_at < 2.5, "still admitted past the 2 s cache"
            await asyncio.sleep(0.05)
        assert r.status_code == 401
        assert "disabled" in r.json()["detail"]
        assert time.monotonic() - disabled_at <= 2.5
        for name in SERVICES:
            async with direct(stack, name) as service:
                r = await service.get("/v1/events", params={"after": 0}, headers=auth)
            assert r.status_code == 401, name


async def test_an_exchange_is_reused_for_half_its_life_then_renewed(stack, gateway, make_client):
    _, creds = await make_client("commitments:write")
    token = await token_for(gateway, creds)
    app = stack.gateway_app
    exchange = TokenExchange(
        app.state.sessionmaker,
        app.state.settings.model_copy(update={"client_cache_ttl_s": 1.0}),
        app.state.auth_settings,
        app.state.token_verifier,
    )
    first = await exchange.exchange(token)
    assert await exchange.exchange(token) == first
    assert exchange.mints == 1
    await asyncio.sleep(0.6)  # past the 0.5 s reuse window of a 1 s token
    renewed = await exchange.exchange(token)
    assert renewed != first
    assert exchange.mints == 2
    # A service takes the exchanged token (it verifies it itself, against the JWKS).
    async with direct(stack, "commitments") as service:
        r = await service.get(f"/v1/sources/{uuid.uuid4()}", headers=bearer(renewed))
    assert r.status_code == 404
