"""The operator's client commands (`scrutiny clients disable | enable | rotate-secret`, the
gateway's own management code) against a running gateway: what each promises holds at once, or
within the gateway's client cache for tokens already issued."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import httpx

from tests.gateway.conftest import KEY_ENCRYPTION_KEY, MakeClient, Stack, bearer, cli, token_for
from tests.gateway.replicas import client_of, replica


async def _token_status(gateway: httpx.AsyncClient, creds: dict[str, str]) -> int:
    r = await gateway.post("/oauth/token", data={"grant_type": "client_credentials", **creds})
    return r.status_code


async def test_disable_refuses_new_and_live_tokens_and_enable_restores(
    stack: Stack, gateway_db: str, gateway: httpx.AsyncClient, make_client: MakeClient
):
    _, creds = await make_client("commitments:write")
    live = bearer(await token_for(gateway, creds))
    async with replica(stack, gateway_db, client_cache_ttl_s=0.2) as other, client_of(other) as c:
        assert (await c.get("/v1/sources", headers=live)).status_code == 200
        out = await cli(gateway_db, "clients", "disable", creds["client_id"], "--json")
        assert json.loads(out.stdout)["active"] is False
        # No new token at once, on any replica (the check reads the database).
        assert await _token_status(gateway, creds) == 401
        assert await _token_status(c, creds) == 401
        # The live token is refused once the replica's client cache (0.2 s here) has expired.
        await asyncio.sleep(0.25)
        r = await c.get("/v1/sources", headers=live)
        assert r.status_code == 401
        assert "invalid_token" in r.headers["www-authenticate"]

        await cli(gateway_db, "clients", "enable", creds["client_id"])
        assert await _token_status(c, creds) == 200


async def test_rotate_secret_prints_a_new_one_and_the_old_stops_at_once(
    gateway_db: str, gateway: httpx.AsyncClient, make_client: MakeClient
):
    _, old = await make_client("commitments:write")
    out = await cli(gateway_db, "clients", "rotate-secret", old["client_id"], "--json")
    new = json.loads(out.stdout)
    assert new["client_id"] == old["client_id"]
    assert new["client_secret"] != old["client_secret"]
    assert await _token_status(gateway, old) == 401
    assert await _token_status(gateway, new) == 200


async def test_an_unknown_client_is_an_error(gateway_db: str):
    done = await asyncio.to_thread(_run_unchecked, gateway_db, "clients", "disable", "f" * 32)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: no API client '{'f' * 32}'"


def _run_unchecked(gateway_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.identity.manage", *args],
        env={
            **os.environ,
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        },
        capture_output=True,
        text=True,
        check=False,
    )
