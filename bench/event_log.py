"""Measure the event log and webhooks on PostgreSQL (not a test: run it by hand).

    SCRUTINY_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432 \\
        .venv/bin/python -m bench.event_log [events] [deliveries]

1. Import rate: `events` events are written to the commitments service's outbox; the gateway (a
   fresh log, production poll intervals) imports and positions them; events per second.
2. Webhook latency: sources created one by one through the gateway; for each, the time from the
   commit in the commitments service (`occurred_at`) to the receiver on loopback getting it.
3. Delivery rate: `deliveries` events fanned out to one subscription and delivered.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.routing import Route

from commitments.config import Settings as CommitmentsSettings
from commitments.main import create_app as create_commitments_app
from commitments.models import Event as CommitmentsEvent
from gateway.config import Settings
from gateway.identity import clients as service
from gateway.identity.schemas import ClientCreate
from gateway.main import create_app
from gateway.models import ConsumerPosition, Event, WebhookAttempt, WebhookDelivery
from servicekit.auth import TokenVerifier
from servicekit.outbox import record_event
from tests.events.conftest import Receiver, auth_settings
from tests.support.databases import ON_POSTGRES, drop_created, migrated_database


async def _wait(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.01)


async def main(n_events: int, n_deliveries: int) -> None:
    """Print the three figures."""
    tmp = Path(tempfile.mkdtemp())
    dbs = {
        p: await asyncio.to_thread(migrated_database, p, tmp / p)
        for p in ("commitments", "gateway")
    }
    holder: dict[str, Any] = {}

    async def jwks() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=holder["gw"])
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as c:
            return (await c.get("/.well-known/jwks.json")).json()

    rec = Receiver()
    arrived: dict[str, float] = {}
    original = rec.handle

    async def handle(request: Any) -> Any:
        arrived[request.headers["webhook-id"]] = time.time()
        return await original(request)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/{kind}/{name}", handle, methods=["POST"])]),
            log_level="warning",
            lifespan="off",
        )
    )
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:  # noqa: ASYNC110 - a thread's flag, not an event of this loop
        await asyncio.sleep(0.01)
    rec.base = f"http://127.0.0.1:{sock.getsockname()[1]}"

    commitments = create_commitments_app(
        CommitmentsSettings(database_url=dbs["commitments"], log_json=False),
        token_verifier=TokenVerifier(auth_settings(), fetch_jwks=jwks),
    )
    async with LifespanManager(commitments) as cm:
        maker = commitments.state.sessionmaker
        for start in range(0, n_events, 1000):
            async with maker() as session, session.begin():
                for _ in range(min(1000, n_events - start)):
                    record_event(
                        session, CommitmentsEvent, "source.created", "source", uuid.uuid4(), {}
                    )

        async def positioned() -> bool:
            async with maker() as s:
                n = await s.scalar(
                    select(func.count()).where(CommitmentsEvent.position.is_not(None))
                )
                return bool(n == n_events)

        await _wait(positioned, 120)
        feed: dict[str, httpx.AsyncBaseTransport] = {"commitments": httpx.ASGITransport(app=cm.app)}
        gw = create_app(
            Settings(
                database_url=dbs["gateway"],
                log_json=False,
                key_publish_delay_s=0,
                webhooks_allow_http=True,
                webhooks_allow_private=True,
            ),
            transports=feed,
            feed_transports=feed,
            auth=auth_settings(),
        )
        holder["gw"] = gw
        t0 = time.monotonic()
        async with LifespanManager(gw) as gm:
            gmaker = gw.state.sessionmaker

            async def imported() -> bool:
                async with gmaker() as s:
                    n = await s.scalar(
                        select(func.count()).where(
                            Event.source == "commitments", Event.position.is_not(None)
                        )
                    )
                    return bool(n == n_events)

            await _wait(imported, 300)
            took = time.monotonic() - t0
            print(f"import: {n_events} events in {took:.2f} s = {n_events / took:,.0f} events/s")

            # --- webhook latency -------------------------------------------------------------
            async with gmaker() as s, s.begin():
                read, secret = await service.create_client(
                    s,
                    ClientCreate(
                        name="bench", organisation="B", scopes=["admin", "commitments:write"]
                    ),
                )
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gm.app), base_url="http://gw"
            )
            tok = (
                await client.post(
                    "/oauth/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": read.client_id,
                        "client_secret": secret,
                    },
                )
            ).json()["access_token"]
            auth = {"Authorization": f"Bearer {tok}"}
            r = await client.post(
                "/v1/webhook-subscriptions",
                json={"url": rec.url("ok", "lat"), "event_types": ["source.created"]},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            latencies = []
            for i in range(40):
                r = await client.post(
                    "/v1/sources",
                    json={
                        "reference": f"B-{i}-{uuid.uuid4().hex[:6]}",
                        "title": "T",
                        "publisher": "P",
                        "kind": "plan",
                    },
                    headers=auth,
                )
                assert r.status_code == 201, r.text
                rid = r.json()["id"]

                async def got(rid: str = rid) -> bool:
                    return any(rid.encode() in c.body for c in rec.calls)

                await _wait(got, 30)
                call = next(c for c in rec.calls if rid.encode() in c.body)
                occurred = json.loads(call.body)["data"]["occurred_at"]
                at = arrived[call.headers["webhook-id"]]
                latencies.append(at - datetime.fromisoformat(occurred).timestamp())
                await asyncio.sleep(0.05)
            q = statistics.quantiles(latencies, n=20)
            print(
                f"webhook latency (commit in commitments -> receiver), {len(latencies)} events: "
                f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {q[18] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
            )

            # --- delivery rate ---------------------------------------------------------------
            r = await client.post(
                "/v1/webhook-subscriptions",
                json={"url": rec.url("ok", "rate"), "event_types": ["source.*"]},
                headers=auth,
            )
            sub2 = r.json()["id"]
            before = len(rec.got("rate"))
            async with maker() as session, session.begin():
                for _ in range(n_deliveries):
                    record_event(
                        session, CommitmentsEvent, "source.updated", "source", uuid.uuid4(), {}
                    )
            t1 = time.monotonic()

            async def delivered() -> bool:
                return len(rec.got("rate")) - before >= n_deliveries

            await _wait(delivered, 300)
            took = time.monotonic() - t1
            print(
                f"deliveries: {n_deliveries} events to one subscription in {took:.2f} s = "
                f"{n_deliveries / took:,.0f} deliveries/s (commit to receipt, concurrency 32)"
            )
            async with gmaker() as s:
                pending = await s.scalar(
                    select(func.count()).where(
                        WebhookDelivery.subscription_id == uuid.UUID(sub2),
                        WebhookDelivery.status != "succeeded",
                    )
                )
                pos = await s.get(ConsumerPosition, "commitments")
                lat = await s.scalar(select(func.avg(WebhookAttempt.latency_ms)))
                print(f"mean attempt latency {lat:.1f} ms")
            at = pos.position if pos else 0
            print(f"(not yet marked succeeded: {pending}; gateway position {at})")

            await client.aclose()
    server.should_exit = True
    await asyncio.to_thread(drop_created)


if __name__ == "__main__":
    if not ON_POSTGRES:
        sys.exit("set SCRUTINY_TEST_POSTGRES_URL (the figures are for PostgreSQL)")
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(args[0] if args else 20000, args[1] if len(args) > 1 else 2000))
