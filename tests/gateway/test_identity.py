"""Identity through the gateway's HTTP API: tokens, clients, keys, and the CLI."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from gateway.identity import manage
from gateway.identity.clients import _private_key
from gateway.identity.keycrypt import KeyCipher
from gateway.models import ApiClient, SigningKey
from tests.gateway.conftest import AUDIENCE, ISSUER, KEY_ENCRYPTION_KEY, bearer, cli, token_for
from tests.gateway.replicas import client_of, replica

PROBLEM = "application/problem+json"


def ref(prefix: str = "G") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_token_from_form_body(gateway, make_client):
    client, creds = await make_client("commitments:write", "evidence:submit", org="NHS Providers")
    r = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "commitments:write evidence:submit"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    assert header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == claims["client_id"] == creds["client_id"]
    assert claims["org"] == "NHS Providers"
    assert claims["name"] == client["name"]
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


async def test_token_with_http_basic(gateway, make_client):
    _, creds = await make_client("evidence:submit")
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "evidence:submit"
    # Two authentication methods at once is a malformed request (RFC 6749 §2.3).
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_secret": creds["client_secret"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_a_bearer_header_at_the_token_endpoint_is_not_client_authentication(
    gateway, make_client
):
    """A client library that sends its old token everywhere still gets a new one by the form."""
    _, creds = await make_client("evidence:submit")
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **creds},
        headers={"Authorization": "Bearer an-expired-token"},
    )
    assert r.status_code == 200, r.text


async def test_a_nul_in_the_token_form_is_invalid_request(gateway):
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "s"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


async def test_a_nul_in_basic_credentials_is_invalid_client(gateway):
    basic = base64.b64encode(b"a%00b:secret").decode()
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client"


async def test_a_nul_in_a_signing_key_id_is_422(gateway, admin):
    r = await gateway.get("/v1/signing-keys/%00", headers=admin)
    assert r.status_code == 422, r.text


async def test_failed_token_requests_are_limited_per_client_and_per_address(
    stack, gateway_db, make_client
):
    """Past its failures a client id (or an address) gets 429 with Retry-After, before any
    password-hash check; another client from another address is not held up."""
    _, creds = await make_client("evidence:submit")
    _, other = await make_client("evidence:submit")
    # The limiter's sliding window weighs the previous minute less as the current one goes on: a
    # run that crosses a minute boundary would count fewer failures than it made. Start at the
    # top of a minute, so the test's few seconds sit inside one.
    into_minute = time.time() % 60
    if into_minute > 30:
        await asyncio.sleep(60.5 - into_minute)
    limits: dict[str, Any] = {
        "token_failures_per_client_per_minute": 3,
        "token_failures_per_address_per_minute": 5,
    }
    async with replica(stack, gateway_db, **limits) as app, client_of(app) as c:

        async def attempt(who: dict[str, str], secret: str) -> httpx.Response:
            data = {"grant_type": "client_credentials", "client_id": who["client_id"]}
            return await c.post("/oauth/token", data={**data, "client_secret": secret})

        assert [(await attempt(creds, "wrong")).status_code for _ in range(3)] == [401] * 3
        refused = await attempt(creds, creds["client_secret"])
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "invalid_client"
        # The address has failed three times too: two more and it is refused for everyone.
        assert (await attempt(other, "wrong")).status_code == 401
        assert (await attempt(other, "wrong")).status_code == 401
        assert (await attempt(other, other["client_secret"])).status_code == 429


async def test_invalid_client_says_nothing_about_which_part(gateway, make_client):
    _, creds = await make_client("evidence:submit")
    attempts = [
        {"client_id": creds["client_id"], "client_secret": "wrong"},
        {"client_id": "no-such-client", "client_secret": creds["client_secret"]},
        {"client_id": creds["client_id"]},
        {},
    ]
    bodies = []
    for attempt in attempts:
        r = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **attempt})
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Basic")
        assert r.headers["content-type"] == "application/json"
        bodies.append(r.json())
    assert all(
        b == {"error": "invalid_client", "error_description": bodies[0]["error_description"]}
        for b in bodies
    )


@pytest.mark.parametrize(
    ("data", "headers", "error"),
    [
        ({"client_id": "x", "client_secret": "y"}, {}, "invalid_request"),
        (
            {"grant_type": "password", "username": "a", "password": "b"},
            {},
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            {"content-type": "application/x-www-form-urlencoded"},
            "invalid_request",
        ),
        (
            '{"grant_type": "client_credentials"}',
            {"content-type": "application/json"},
            "invalid_request",
        ),
    ],
)
async def test_malformed_token_requests(gateway, data, headers, error):
    if isinstance(data, str):
        r = await gateway.post("/oauth/token", content=data, headers=headers)
    else:
        r = await gateway.post("/oauth/token", data=data, headers=headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == error
    assert r.json()["error_description"]


@pytest.mark.usefixtures("writer")
async def test_scope_narrows_to_a_subset(gateway, make_client):
    _, creds = await make_client("commitments:write", "evidence:submit")
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:submit", **creds},
    )
    assert r.status_code == 200
    assert r.json()["scope"] == "evidence:submit"
    narrow = bearer(r.json()["access_token"])
    body = {"reference": ref(), "title": "P", "publisher": "D", "kind": "plan"}
    r = await gateway.post("/v1/sources", json=body, headers=narrow)
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    r = await gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "evidence:submit admin", **creds},
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


async def test_disabled_client_is_refused_and_can_be_enabled(gateway, make_client, admin):
    client, creds = await make_client("evidence:submit")
    url = f"/v1/clients/{client['id']}"
    got = await gateway.get(url, headers=admin)
    assert got.status_code == 200
    assert "client_secret" not in got.json()
    r = await gateway.patch(url, json={"active": False}, headers=admin)
    assert r.status_code == 428
    r = await gateway.patch(
        url, json={"active": False}, headers={**admin, "If-Match": got.headers["etag"]}
    )
    assert r.status_code == 200
    assert r.json()["active"] is False
    stale = await gateway.patch(
        url, json={"name": "x"}, headers={**admin, "If-Match": got.headers["etag"]}
    )
    assert stale.status_code == 412
    refused = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    r = await gateway.patch(
        url, json={"active": True}, headers={**admin, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200
    await token_for(gateway, creds)


async def test_secret_rotation_invalidates_the_old_secret(gateway, make_client, admin):
    client, creds = await make_client("evidence:submit")
    r = await gateway.post(f"/v1/clients/{client['id']}/secret", headers=admin)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    new = r.json()
    assert new["client_id"] == creds["client_id"]
    assert new["client_secret"] != creds["client_secret"]
    old = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    assert old.status_code == 401
    await token_for(gateway, {"client_id": new["client_id"], "client_secret": new["client_secret"]})


async def test_admin_routes_need_the_admin_scope(gateway, make_client, admin):
    r = await gateway.get("/v1/clients")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    _, creds = await make_client("commitments:write")
    r = await gateway.get("/v1/clients", headers=bearer(await token_for(gateway, creds)))
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    r = await gateway.post(
        "/v1/clients", json={"name": "n", "organisation": "o", "scopes": ["nope"]}, headers=admin
    )
    assert r.status_code == 422
    r = await gateway.post(
        "/v1/clients",
        json={"name": "n", "organisation": "Unique Org " + ref(), "scopes": ["admin"]},
        headers=admin,
    )
    assert r.status_code == 201
    assert r.headers["location"] == f"/v1/clients/{r.json()['id']}"
    listed = await gateway.get(
        "/v1/clients", params={"organisation": r.json()["organisation"]}, headers=admin
    )
    assert [c["id"] for c in listed.json()["items"]] == [r.json()["id"]]
    assert "client_secret" not in listed.json()["items"][0]
    assert "secret_hash" not in listed.json()["items"][0]


async def _clients_of(gateway, admin, organisation: str) -> list[str]:
    r = await gateway.get("/v1/clients", params={"organisation": organisation}, headers=admin)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def test_a_client_create_retried_with_its_key_replays_the_secret(gateway, make_client, admin):
    org = "Retry Org " + ref()
    body = {"name": "uploader", "organisation": org, "scopes": ["evidence:submit"]}
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post("/v1/clients", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await gateway.post("/v1/clients", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert again.json()["id"] == first.json()["id"]
    # The retry learns the secret the first answer carried, and it works.
    assert again.json()["client_secret"] == first.json()["client_secret"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert await _clients_of(gateway, admin, org) == [first.json()["id"]]
    creds = {k: again.json()[k] for k in ("client_id", "client_secret")}
    await token_for(gateway, creds)
    # Keys are the caller's own: another admin with the same key creates, and sees no secret.
    _, other_creds = await make_client("admin")
    other = bearer(await token_for(gateway, other_creds))
    r = await gateway.post(
        "/v1/clients", json=body, headers={**other, "Idempotency-Key": headers["Idempotency-Key"]}
    )
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers
    assert r.json()["id"] != first.json()["id"]
    assert len(await _clients_of(gateway, admin, org)) == 2


async def test_a_client_key_reused_with_another_body_is_422(gateway, admin):
    org = "Retry Org " + ref()
    body = {"name": "uploader", "organisation": org, "scopes": ["evidence:submit"]}
    headers = {**admin, "Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post("/v1/clients", json=body, headers=headers)
    assert first.status_code == 201, first.text
    r = await gateway.post("/v1/clients", json={**body, "name": "other"}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert await _clients_of(gateway, admin, org) == [first.json()["id"]]


async def _signing_key(stack) -> SigningKey:
    async with stack.gateway_app.state.sessionmaker() as session:
        keys = (
            await session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc()))
        ).all()
        return next(k for k in keys if k.retired_at is None)


def _claims(client_id: str, **over) -> dict:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": client_id,
        "client_id": client_id,
        "org": "Forgers",
        "scope": "commitments:write admin",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        **over,
    }


async def _bad_tokens(stack, gateway, make_client) -> dict[str, str]:
    key = await _signing_key(stack)
    private = _private_key(key.private_key_pem, KeyCipher.parse(KEY_ENCRYPTION_KEY))
    headers = {"kid": key.kid, "typ": "at+jwt"}
    _, creds = await make_client("commitments:write")
    good = await token_for(gateway, creds)
    h, p, s = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims["scope"] = "commitments:write admin"
    tampered = ".".join([h, b64(json.dumps(claims).encode()), s])
    none = ".".join(
        [
            b64(json.dumps({"alg": "none", **headers}).encode()),
            b64(json.dumps(_claims("x")).encode()),
            "",
        ]
    )
    public_pem = private.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    signing_input = ".".join(
        [
            b64(json.dumps({"alg": "HS256", **headers}).encode()),
            b64(json.dumps(_claims("x")).encode()),
        ]
    )
    hs256 = (
        signing_input
        + "."
        + b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    )
    return {
        "expired": jwt.encode(
            _claims("x", iat=int(time.time()) - 900, exp=int(time.time()) - 600),
            private,
            "ES256",
            headers,
        ),
        "tampered": tampered,
        "wrong_aud": jwt.encode(_claims("x", aud="someone-else"), private, "ES256", headers),
        "wrong_iss": jwt.encode(_claims("x", iss="http://evil.test"), private, "ES256", headers),
        "alg_none": none,
        "hs256_with_public_key": hs256,
        "wrong_typ": jwt.encode(_claims("x"), private, "ES256", {"kid": key.kid, "typ": "JWT"}),
        "unknown_kid": jwt.encode(_claims("x"), private, "ES256", {"kid": "nope", "typ": "at+jwt"}),
    }


async def test_bad_tokens_are_401_at_the_gateway_and_at_services(stack, gateway, make_client):
    tokens = await _bad_tokens(stack, gateway, make_client)
    body = {"reference": ref(), "title": "P", "publisher": "D", "kind": "plan"}
    for name, token in tokens.items():
        at_gateway = await gateway.get("/v1/clients", headers=bearer(token))
        at_service = await gateway.post("/v1/sources", json=body, headers=bearer(token))
        for r in (at_gateway, at_service):
            assert r.status_code == 401, (name, r.status_code, r.text)
            assert r.headers["content-type"] == PROBLEM, name
            assert r.headers["www-authenticate"].startswith("Bearer"), name
    listed = await gateway.get("/v1/sources", params={"reference": body["reference"]})
    assert listed.json()["items"] == []


@pytest.mark.usefixtures("stack")
async def test_key_rotation_keeps_old_tokens_valid(gateway, make_client, admin):
    _, creds = await make_client("commitments:write")
    old_token = await token_for(gateway, creds)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    r = await gateway.post("/v1/signing-keys", headers=admin)
    assert r.status_code == 201, r.text
    new_kid = r.json()["kid"]
    assert new_kid != old_kid
    assert "private" not in json.dumps(r.json()).lower()
    assert (await gateway.get(r.headers["location"], headers=admin)).json()["kid"] == new_kid
    jwks = (await gateway.get("/.well-known/jwks.json")).json()
    kids = {k["kid"] for k in jwks["keys"]}
    assert {old_kid, new_kid} <= kids
    assert all("d" not in k for k in jwks["keys"]), "JWKS must hold public keys only"
    new_token = await token_for(gateway, creds)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    for token in (old_token, new_token):
        body = {"reference": ref(), "title": "P", "publisher": "D", "kind": "plan"}
        r = await gateway.post("/v1/sources", json=body, headers=bearer(token))
        assert r.status_code == 201, r.text
        # The gateway's own routes verify with the same keys (admin's token predates rotation).
        assert (await gateway.get("/v1/signing-keys", headers=admin)).status_code == 200


@pytest.mark.usefixtures("stack")
async def test_cli_creates_clients_and_rotates_keys(gateway, gateway_db, monkeypatch):
    out = await cli(
        gateway_db,
        "clients",
        "create",
        "--name",
        "Dashboard",
        "--org",
        "DHSC",
        "--scope",
        "commitments:write",
        "--scope",
        "evidence:submit",
        "--json",
    )
    creds = json.loads(out.stdout)
    r = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    assert r.status_code == 200
    assert r.json()["scope"] == "commitments:write evidence:submit"
    before = jwt.get_unverified_header(r.json()["access_token"])["kid"]
    monkeypatch.setenv("GATEWAY_DATABASE_URL", gateway_db)
    monkeypatch.setenv("GATEWAY_KEY_PUBLISH_DELAY_S", "0")
    monkeypatch.setenv("GATEWAY_KEY_ENCRYPTION_KEY", KEY_ENCRYPTION_KEY)
    assert await asyncio.to_thread(manage.main, ["keys", "rotate", "--json"]) == 0
    after = await token_for(gateway, creds)
    assert jwt.get_unverified_header(after)["kid"] != before


async def test_nul_characters_are_refused_not_a_server_error(gateway, admin):
    # Found by contract fuzzing on PostgreSQL (text cannot hold U+0000): these were 500s.
    r = await gateway.post(
        "/v1/clients",
        json={"name": "a\u0000", "organisation": "Org", "scopes": ["admin"]},
        headers=admin,
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    r = await gateway.get("/v1/clients", params={"client_id": "x\u0000"}, headers=admin)
    assert r.status_code == 422, r.text
    r = await gateway.get(
        "/v1/webhook-subscriptions", params={"owner_client_id": "x\u0000"}, headers=admin
    )
    assert r.status_code == 422, r.text


async def test_reserved_scopes_are_never_granted_to_an_api_client(
    stack, gateway, gateway_db, make_client, admin
):
    body = {"name": "Sneaky", "organisation": "Test Org", "scopes": ["events:internal"]}
    r = await gateway.post("/v1/clients", json=body, headers=admin)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "reserved" in r.text
    assert r.json()["errors"][0]["pointer"].startswith("body.scopes")
    made, creds = await make_client("ratings:write")
    assert made["service"] is False
    url = f"/v1/clients/{made['id']}"
    got = await gateway.get(url, headers=admin)
    r = await gateway.patch(
        url,
        json={"scopes": ["ratings:write", "events:internal"]},
        headers={
            **admin,
            "If-Match": got.headers["etag"],
            "Content-Type": "application/merge-patch+json",
        },
    )
    assert r.status_code == 422
    after = await gateway.get(url, headers=admin)
    assert after.json()["scopes"] == ["ratings:write"]
    assert after.headers["etag"] == got.headers["etag"]

    # A client granted one before the rule gets no token at all, until the scope goes.
    async with stack.gateway_app.state.sessionmaker() as session, session.begin():
        row = await session.get(ApiClient, uuid.UUID(made["id"]))
        assert row is not None
        row.scopes = ["events:internal", "ratings:write"]
    r = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    assert r.status_code == 400
    assert r.json()["error"] == "unauthorized_client"

    # The operator's command makes the services' own clients, which may hold it.
    out = await cli(
        gateway_db,
        "clients",
        "create",
        "--name",
        "Ratings service",
        "--org",
        "Scrutiny",
        "--scope",
        "events:internal",
        "--service",
        "--json",
    )
    service_creds = json.loads(out.stdout)
    r = await gateway.post(
        "/oauth/token", data={"grant_type": "client_credentials", **service_creds}
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "events:internal"
