"""Fault injection: the suite as real processes on PostgreSQL, every process SIGKILLed and restarted
in turn while clients write, and nothing acknowledged or emitted is lost or duplicated.

Bounded (about a minute) and loopback only. Clients post submissions (with `Idempotency-Key`)
and PUT ratings through the gateway, retrying every failure with the same key and body, while
the test kills and restarts commitments, evidence, ratings and the gateway one after another. A
webhook receiver on loopback records every delivery. Afterwards:

- every acknowledged write exists exactly once;
- every feed is gap-free (positions 1..N, all events positioned);
- every consumer reached the end of its feed: evidence and ratings (their read models hold every
  commitment and submission) and the gateway (its log holds each source event exactly once);
- the receiver got every log event after its subscription, verified, exactly once after
  de-duplication by `webhook-id`.

Needs PostgreSQL (SIGKILL mid-transaction and several writers are what it is about); skipped with
the reason on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scrutiny_cli import credentials, suite
from tests.support.databases import NO_POSTGRES_REASON, ON_POSTGRES, fresh_database_url
from tests.support.tokens import chair_panel

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.processes,
    pytest.mark.skipif(not ON_POSTGRES, reason=NO_POSTGRES_REASON),
]

SUBMISSIONS = 30
COMMITMENTS = 12  # one rating PUT each
LEVELS = {
    "commitment_met": "good",
    "funding_and_resource": "requires_improvement",
    "impact": "requires_improvement",
    "appropriateness": "good",
}
# Fast polling, short leases, and retries that outlast every restart.
FAST_ENV = {
    "EVIDENCE_CONSUMER_INTERVAL_S": "0.05",
    "RATINGS_CONSUMER_INTERVAL_S": "0.05",
    "EVIDENCE_IDEMPOTENCY_LEASE_S": "3",
    "GATEWAY_EVENTS_POLL_INTERVAL_S": "0.05",
    "GATEWAY_WEBHOOKS_POLL_INTERVAL_S": "0.05",
    "GATEWAY_WEBHOOKS_ALLOW_HTTP": "true",
    "GATEWAY_WEBHOOKS_ALLOW_PRIVATE": "true",
    "GATEWAY_WEBHOOKS_TIMEOUT_S": "2",
    "GATEWAY_WEBHOOKS_LEASE_MARGIN_S": "1",
    "GATEWAY_WEBHOOKS_RETRY_SCHEDULE_S": json.dumps([0.2, 0.5] + [1.0] * 28),
    "GATEWAY_WEBHOOKS_DISABLE_AFTER_FAILURES": "10000",
    "GATEWAY_KEY_PUBLISH_DELAY_S": "0",
    "GATEWAY_RETRY_TIMEOUT_S": "1",
    "GATEWAY_BREAKER_COOLDOWN_S": "0.5",
    "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
    "SCRUTINY_JWKS_REFRESH_MIN_INTERVAL_S": "0",
}


def _free_port_base() -> int:
    for base in range(41000, 60000, 10):
        socks = []
        try:
            for port in range(base, base + 4):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


@dataclass
class Receiver:
    """Records every webhook request (headers and raw body)."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        return Response(status_code=204)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", rec.handle, methods=["POST"])]),
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    rec.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    yield rec
    server.should_exit = True
    thread.join(5)


class Suite:
    """The four processes, each restartable on its own."""

    def __init__(self, env: dict[str, str], port_base: int, log_dir: Path) -> None:
        self.env, self.port_base, self.log_dir = env, port_base, log_dir
        self.procs: dict[str, Any] = {}
        self.parts = {p.name: p for p in suite.PARTS}

    def start(self, name: str) -> None:
        self.procs[name] = suite.start_part(
            self.parts[name], self.env, self.port_base, self.log_dir
        )

    def wait_ready(self, name: str, timeout: float = 30) -> None:
        url = suite.url(self.port_base, self.parts[name]) + "/readyz"
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                assert self.procs[name].poll() is None, self.log(name)
                try:
                    if client.get(url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"{name} not ready:\n{self.log(name)}")

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        suite.stop(self.procs, grace=10)


RETRIES: list[str] = []


async def _retrying(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    deadline: float,
    retry_409: bool = True,
    **kw: Any,
) -> httpx.Response:
    """Send until a definite answer: transport errors, 5xx and 409 (key in flight) are retried."""
    while True:
        try:
            r = await client.request(method, url, **kw)
            if r.status_code < 500 and (r.status_code != 409 or not retry_409):
                return r
            RETRIES.append(f"{method} {url}: {r.status_code}")
        except httpx.HTTPError as exc:
            RETRIES.append(f"{method} {url}: {type(exc).__name__}")
        assert time.monotonic() < deadline, f"{method} {url} never succeeded"
        await asyncio.sleep(0.1)


async def _rows(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


# One scenario end to end (set-up, load with kills, then every check on the same state): its
# steps share a dozen locals, and split into functions they would only pass them around.
async def test_sigkill_each_process_in_turn_loses_nothing(  # noqa: C901
    tmp_path: Path, receiver: Receiver
):
    started = time.monotonic()
    port_base = _free_port_base()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    dbs = {
        p.name: await asyncio.to_thread(fresh_database_url, f"fault_{p.name}", tmp_path)
        for p in suite.PARTS
    }
    env = suite.environment(data_dir, port_base)
    env.update(FAST_ENV)
    env.update({f"{name.upper()}_DATABASE_URL": url for name, url in dbs.items()})
    await asyncio.to_thread(suite.migrate, env)
    env = await asyncio.to_thread(suite.with_service_clients, env)
    me = await asyncio.to_thread(
        credentials.create_client,
        env,
        "fault test",
        "Test Org",
        ["commitments:write", "evidence:submit", "ratings:write", "admin", "webhooks"],
    )
    processes = Suite(env, port_base, data_dir / "logs")
    gateway = suite.url(port_base, suite.PARTS[0])
    try:
        for name in processes.parts:
            processes.start(name)
        for name in processes.parts:
            await asyncio.to_thread(processes.wait_ready, name)
        async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:
            deadline = time.monotonic() + 120

            async def token() -> dict[str, str]:
                r = await _retrying(
                    client,
                    "POST",
                    "/oauth/token",
                    deadline=deadline,
                    data={"grant_type": "client_credentials", **me},
                )
                assert r.status_code == 200, r.text
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            auth = await token()

            async def setup_post(path: str, **kw: Any) -> httpx.Response:
                # Before the chaos, but the machine may be busy: retry what did not get through.
                return await _retrying(
                    client, "POST", path, deadline=deadline, retry_409=False, **kw
                )

            r = await setup_post(
                "/v1/webhook-subscriptions",
                json={"url": receiver.url, "event_types": ["*"], "include_private": True},
                headers=auth,
            )
            assert r.status_code == 201, r.text
            secret, start_position = r.json()["secret"], None

            # Data the writes need: commitments (known to evidence and ratings), an evaluation.
            area = await setup_post(
                "/v1/policy-areas",
                json={"slug": f"a-{uuid.uuid4().hex[:8]}", "name": "A"},
                headers=auth,
            )
            source = await setup_post(
                "/v1/sources",
                json={
                    "reference": f"S-{uuid.uuid4().hex[:8]}",
                    "title": "Plan",
                    "publisher": "DHSC",
                    "kind": "plan",
                },
                headers=auth,
            )
            commitment_ids = []
            for i in range(COMMITMENTS):
                c = await setup_post(
                    "/v1/commitments",
                    json={
                        "reference": f"F-{i}-{uuid.uuid4().hex[:6]}",
                        "title": f"C{i}",
                        "text": "We will.",
                        "policy_area_id": area.json()["id"],
                        "source_id": source.json()["id"],
                    },
                    headers=auth,
                )
                assert c.status_code == 201, c.text
                commitment_ids.append(c.json()["id"])

            async def evaluation() -> str:
                r = await client.post(
                    "/v1/evaluations",
                    json={
                        "title": "Fault test",
                        "body": "Panel",
                        "commitment_ids": commitment_ids,
                        # Only the panel rates: the loader's client chairs it.
                        "panel": chair_panel(auth),
                    },
                    headers=auth,
                )
                if r.status_code == 201:
                    return str(r.json()["id"])
                return ""

            async def evidence_knows() -> bool:
                rows = await _rows(dbs["evidence"], "SELECT id FROM known_commitments")
                return {str(r["id"]) for r in rows} >= set(commitment_ids)

            deadline_setup = time.monotonic() + 20
            while not await evidence_knows():
                assert time.monotonic() < deadline_setup, "evidence never learned the commitments"
                await asyncio.sleep(0.1)
            evaluation_id = ""
            while not evaluation_id:
                assert time.monotonic() < deadline_setup, "ratings never learned the commitments"
                evaluation_id = await evaluation()
                await asyncio.sleep(0.1)

            # --- load and chaos, at once ----------------------------------------------------
            acknowledged: dict[str, str] = {}
            rated: dict[str, int] = {}

            async def submit(i: int) -> None:
                key = f"fault-{i}-{uuid.uuid4().hex}"
                body: dict[str, Any] = {
                    "commitment_ids": [commitment_ids[i % COMMITMENTS]],
                    "kind": "written",
                    "title": f"Fault submission {i}",
                    "body": "Evidence.",
                    "stance": "mixed",
                    "consent": "publish",
                }
                r = await _retrying(
                    client,
                    "POST",
                    "/v1/submissions",
                    deadline=deadline,
                    json=body,
                    headers={**auth, "Idempotency-Key": key},
                )
                # 201 first time; 200 when a retry after a kill replays the stored answer.
                assert r.status_code in (200, 201), r.text
                acknowledged[r.json()["id"]] = body["title"]

            async def rate(cid: str) -> None:
                r = await _retrying(
                    client,
                    "PUT",
                    f"/v1/evaluations/{evaluation_id}/ratings/{cid}",
                    deadline=deadline,
                    json={"levels": LEVELS},
                    headers=auth,
                )
                # PUT: 201 when this call created the rating, 200 when a retry after a kill found
                # the first attempt's; which one depends on where the kill fell.
                assert r.status_code in (200, 201), r.text
                rated[cid] = r.status_code

            chaos_over = asyncio.Event()

            async def writers() -> None:
                # Write all through the chaos: submissions, and rating PUTs (first creates, then
                # the same PUT again, which must change nothing).
                i = 0
                while i < SUBMISSIONS or not chaos_over.is_set():
                    await submit(i)
                    await rate(commitment_ids[i % COMMITMENTS])
                    i += 1
                    await asyncio.sleep(0.05)

            async def chaos() -> None:
                for name in ("commitments", "evidence", "ratings", "gateway"):
                    await asyncio.sleep(0.7)
                    processes.kill(name)
                    await asyncio.sleep(0.3)
                    processes.start(name)
                    await asyncio.to_thread(processes.wait_ready, name)
                chaos_over.set()

            RETRIES.clear()
            await asyncio.gather(writers(), chaos())
            written = len(acknowledged)
            auth = await token()  # the gateway restarted; its tokens survive, but be safe

            # --- convergence ---------------------------------------------------------------
            async def heads() -> dict[str, int]:
                out = {}
                for name, url in dbs.items():
                    rows = await _rows(
                        url,
                        "SELECT count(*) AS n, max(position) AS head, "
                        "count(position) AS positioned FROM events",
                    )
                    n, head, positioned = rows[0]["n"], rows[0]["head"] or 0, rows[0]["positioned"]
                    out[name] = head if n == positioned == head else -1
                return out

            async def positions() -> dict[tuple[str, str], int]:
                out = {}
                for name in ("evidence", "ratings", "gateway"):
                    for r in await _rows(
                        dbs[name], "SELECT name, position FROM consumer_positions"
                    ):
                        out[(name, r["name"])] = r["position"]
                return out

            expected_consumers = {
                ("evidence", "commitments"): "commitments",
                ("ratings", "commitments"): "commitments",
                ("ratings", "evidence"): "evidence",
                ("gateway", "commitments"): "commitments",
                ("gateway", "evidence"): "evidence",
                ("gateway", "ratings"): "ratings",
                ("gateway", "webhooks"): "gateway",
            }

            def delivered_ids() -> set[str]:
                return {h["webhook-id"] for h, _ in receiver.calls}

            settle = time.monotonic() + 30
            while True:
                h, p = await heads(), await positions()
                caught_up = all(
                    h[src] >= 0 and p.get(c) == h[src] for c, src in expected_consumers.items()
                )
                log_ids = {
                    str(r["id"]) for r in await _rows(dbs["gateway"], "SELECT id FROM events")
                }
                if start_position is None:
                    sub = await _rows(
                        dbs["gateway"], "SELECT start_position FROM webhook_subscriptions"
                    )
                    start_position = sub[0]["start_position"]
                wanted = {
                    str(r["id"])
                    for r in await _rows(
                        dbs["gateway"],
                        f"SELECT id FROM events WHERE position > {int(start_position)}",
                    )
                }
                if caught_up and wanted <= delivered_ids() and log_ids:
                    break
                assert time.monotonic() < settle, (
                    f"did not converge: heads={h} positions={p} "
                    f"undelivered={len(wanted - delivered_ids())}"
                )
                await asyncio.sleep(0.2)

            # --- every acknowledged write exactly once --------------------------------------
            subs = await _rows(dbs["evidence"], "SELECT id, title FROM submissions")
            titles = [r["title"] for r in subs if r["title"].startswith("Fault submission")]
            assert len(titles) == written == len(set(titles)), "lost or duplicated submission"
            assert set(acknowledged) == {str(r["id"]) for r in subs}
            ratings = await _rows(
                dbs["ratings"],
                f"SELECT commitment_id FROM ratings WHERE evaluation_id = '{evaluation_id}'",
            )
            assert sorted(str(r["commitment_id"]) for r in ratings) == sorted(rated)
            assert len(rated) == COMMITMENTS
            # The chaos reached the clients: some requests failed and were retried.
            assert RETRIES, "no request ever failed: the kills missed the load"

            # --- every feed gap-free --------------------------------------------------------
            for name, url in dbs.items():
                rows = await _rows(url, "SELECT position FROM events ORDER BY position")
                assert [r["position"] for r in rows] == list(range(1, len(rows) + 1)), name

            # --- every event reached every consumer, once -----------------------------------
            known = await _rows(dbs["ratings"], "SELECT id FROM known_submissions")
            assert {str(row["id"]) for row in known} >= set(acknowledged)
            for name in ("evidence", "ratings"):
                rows = await _rows(dbs[name], "SELECT id FROM known_commitments")
                assert {str(row["id"]) for row in rows} >= set(commitment_ids), name
            for part in ("commitments", "evidence", "ratings"):
                imported = await _rows(
                    dbs["gateway"],
                    f"SELECT source_event_id, source_position FROM events "
                    f"WHERE source = '{part}' ORDER BY position",
                )
                originals = await _rows(dbs[part], "SELECT id FROM events")
                assert len(imported) == len(originals), f"{part}: log has duplicates or gaps"
                assert {str(r["source_event_id"]) for r in imported} == {
                    str(r["id"]) for r in originals
                }
                assert [r["source_position"] for r in imported] == list(
                    range(1, len(originals) + 1)
                ), f"{part}: log out of source order"

            # --- every webhook verified, each event exactly once after de-duplication -------
            hook = Webhook(secret)
            by_id: dict[str, bytes] = {}
            for headers, body in receiver.calls:
                hook.verify(body, headers)
                previous = by_id.setdefault(headers["webhook-id"], body)
                assert previous == body, "a redelivery changed the message"
            assert set(by_id) == wanted
    finally:
        processes.stop()
    elapsed = time.monotonic() - started
    print(
        f"fault test: {written} submissions and {len(rated)} ratings acknowledged, "
        f"{len(RETRIES)} failed requests retried; {len(receiver.calls)} webhook calls for "
        f"{len(by_id)} events, {len(receiver.calls) - len(by_id)} redelivered; {elapsed:.1f} s"
    )
    assert elapsed < 120
