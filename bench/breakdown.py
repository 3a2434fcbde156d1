"""Where a get-by-id's CPU goes: each step of the commitments service's read, timed on its own.

`python -m bench.breakdown` (PostgreSQL; `--server` / `BENCH_POSTGRES` as for the bench) makes
scratch `bench_breakdown_*` databases, migrates them, adds a commitment with five targets through
the service's API, then
runs each step many times in one process and prints the CPU time (process time, not wall time)
per call:

- `checkout`: open the route's read session (autocommit) and check a connection out of the pool;
- `query`: the service's get-by-id statement through that session (`repository`);
- `build`: the service's `current_detail` minus the query: rows to pydantic models and JSON;
- `raw query`: the same SQL on the bare asyncpg connection, as the floor app runs it;
- `http`: the whole `GET /v1/commitments/{id}` in-process, and `GET /healthz` for comparison
  (both include the in-process HTTP client's own cost, the same for each).

Steps are measured with the service's own code, so a change to it shows here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
from asgi_lifespan import LifespanManager
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from bench import pg, suite
from bench.floor import DETAIL_SQL
from commitments import commitments, repository
from commitments.config import Settings
from commitments.main import create_app
from servicekit.auth import AuthSettings, TokenVerifier


async def per_call(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    """Microseconds of process CPU per call of `fn`, after a warm-up."""
    for _ in range(max(n // 10, 20)):
        await fn()
    started = time.process_time()
    for _ in range(n):
        await fn()
    return (time.process_time() - started) / n * 1e6


async def measure(url: str, n: int) -> dict[str, float]:
    """Each step's CPU per call, in microseconds."""
    issuer = _Issuer()
    app = create_app(Settings(database_url=url, log_json=False), token_verifier=issuer.verifier())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            ident = await _commitment(client, {"Authorization": f"Bearer {issuer.token()}"})
            read = app.state.read_sessionmaker

            async def checkout() -> None:
                async with read() as session:
                    await session.connection()

            async def query() -> None:
                async with read() as session:
                    await repository.commitment_with_targets(session, ident)

            async def whole_read() -> None:
                async with read() as session:
                    detail, _ = await commitments.current_detail(session, ident)
                    detail.__pydantic_serializer__.to_json(detail)

            async def http_get() -> None:
                assert (await client.get(f"/v1/commitments/{ident}")).status_code == 200

            async def healthz() -> None:
                await client.get("/healthz")

            raw = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
            try:

                async def raw_query() -> None:
                    await raw.fetch(DETAIL_SQL, ident)

                out = {
                    "checkout": await per_call(checkout, n),
                    "query": await per_call(query, n),
                    "whole read (checkout + query + build)": await per_call(whole_read, n),
                    "raw query (asyncpg, as the floor)": await per_call(raw_query, n),
                    "http GET /v1/commitments/{id}": await per_call(http_get, n),
                    "http GET /healthz": await per_call(healthz, n),
                }
            finally:
                await raw.close()
    whole = out.pop("whole read (checkout + query + build)")
    query_only = out["query"] - out["checkout"]
    return {
        "checkout": out["checkout"],
        "query": query_only,
        "build": whole - out["query"],
        **{k: v for k, v in out.items() if k not in ("checkout", "query")},
    }


class _Issuer:
    """A signing key of its own, so the scratch data is written through the API."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.settings = AuthSettings(
            token_issuer="http://bench",
            jwks_json=json.dumps(
                {
                    "keys": [
                        {
                            **json.loads(ECAlgorithm.to_jwk(self.key.public_key())),
                            "kid": "bench",
                            "use": "sig",
                            "alg": "ES256",
                        }
                    ]
                }
            ),
        )

    def verifier(self) -> TokenVerifier:
        """What the service checks tokens with."""
        return TokenVerifier(self.settings)

    def token(self) -> str:
        """A `commitments:write` access token."""
        now = int(time.time())
        claims = {
            "iss": self.settings.token_issuer,
            "aud": self.settings.service_audience,
            "sub": "bench",
            "client_id": "bench",
            "org": "Bench",
            "scope": "commitments:write",
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
        }
        headers = {"kid": "bench", "typ": "at+jwt"}
        return jwt.encode(claims, self.key, algorithm="ES256", headers=headers)


async def _commitment(client: httpx.AsyncClient, auth: dict[str, str]) -> uuid.UUID:
    """A commitment with five targets, made through the API."""

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await client.post(path, json=body, headers=auth)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    area = await post("/v1/policy-areas", {"slug": "bench-area", "name": "Area"})
    source = await post(
        "/v1/sources",
        {"reference": "BENCH-S", "title": "Plan", "publisher": "DHSC", "kind": "plan"},
    )
    c = await post(
        "/v1/commitments",
        {
            "reference": "BENCH-C",
            "title": "A commitment",
            "text": "We will do a thing.",
            "policy_area_id": area["id"],
            "source_id": source["id"],
        },
    )
    for i in range(5):
        await post(
            f"/v1/commitments/{c['id']}/targets",
            {
                "reference": f"BENCH-T{i}",
                "metric": "Share done",
                "unit": "percent",
                "baseline_value": 0,
                "baseline_on": "2024-01-01",
                "target_value": 100,
                "due_on": "2026-01-01",
                "reason": "Measurable target agreed.",
            },
        )
    return uuid.UUID(c["id"])


async def main(server: str, n: int) -> None:
    """Make scratch databases, migrate, measure, drop them."""
    prefix = "bench_breakdown"
    await pg.recreate_databases(server, prefix)
    try:
        env = suite.environment(server, prefix, 18100, Path("/tmp/bench-breakdown"))
        await asyncio.to_thread(pg.migrate, {**os.environ, **env})
        steps = await measure(pg.sqlalchemy_url(server, pg.db_name(prefix, "commitments")), n)
    finally:
        await pg.drop_databases(server, prefix)
    width = max(len(k) for k in steps)
    for step, us in steps.items():
        print(f"{step:<{width}}  {us:8.1f} µs CPU per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__)
    parser.add_argument(
        "--server", default=os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
    )
    parser.add_argument("-n", type=int, default=3000, help="calls per step")
    args = parser.parse_args()
    asyncio.run(main(args.server, args.n))
