"""Fair share at the edge (#19's High finding): bodies are read at the edge before a backend
connection is taken for them, slow ones are a 408, and each client holds a bounded share of each
backend's connections — so one client's trickling uploads cannot starve everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from evidence.models import KnownCommitment
from gateway.backends.transport import BackendTransport
from gateway.edge.fairness import BackendShares, BodyPolicy, StagedBody
from tests.evidence.helpers import pdf, submission
from tests.gateway.conftest import bearer, token_for
from tests.gateway.replicas import client_of, replica

PROBLEM = "application/problem+json"


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(check, within: float = 10.0):
    deadline = time.monotonic() + within
    while not (result := await check()):
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
    return result


async def submitter_with_submission(stack, gateway, writer, make_client) -> tuple[str, str, str]:
    """A new evidence:submit client, its token, and one received submission of its own."""
    area = await gateway.post(
        "/v1/policy-areas", json={"slug": ref("a").lower(), "name": "Area"}, headers=writer
    )
    source = await gateway.post(
        "/v1/sources",
        json={"reference": ref("S"), "title": "Plan", "publisher": "DHSC", "kind": "plan"},
        headers=writer,
    )
    r = await gateway.post(
        "/v1/commitments",
        json={
            "reference": ref("C"),
            "title": "A commitment",
            "text": "We will do a thing.",
            "policy_area_id": area.json()["id"],
            "source_id": source.json()["id"],
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    commitment_id = r.json()["id"]

    async def known() -> bool:
        async with stack.evidence_app.state.sessionmaker() as s:
            return await s.get(KnownCommitment, uuid.UUID(commitment_id)) is not None

    await eventually(known)
    record, creds = await make_client("evidence:submit", org="Uploader Org")
    token = await token_for(gateway, creds)
    body = submission([commitment_id])
    r = await gateway.post("/v1/submissions", json=body, headers=bearer(token))
    assert r.status_code == 201, r.text
    return record["client_id"], token, r.json()["id"]


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """Serve an app whose lifespan already runs on a real socket, in this event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: asyncio.sleep(0, server.started))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", server
    finally:
        server.should_exit = True
        await task
        sock.close()


# --- the finding itself, over real sockets -----------------------------------------------------


async def test_a_hundred_slow_uploads_leave_other_clients_answered_within_a_second(
    stack, gateway_db, gateway, writer, make_client
):
    """100 uploads trickling from one client hold none of the gateway's 8 connections to the
    evidence service; another client's reads of the same service are answered in under 1 s."""
    client_id, token, sub_id = await submitter_with_submission(stack, gateway, writer, make_client)
    async with served(stack.evidence_app) as (evidence_url, _):
        settings: dict[str, Any] = {
            "evidence_url": evidence_url,
            "backend_max_connections": 8,
            # Patient enough that no upload is cut off while the test runs: what is shown is
            # that the trickles hold no connection, not that they are refused.
            "edge_body_min_rate_bytes_per_s": 1,
            "edge_body_grace_s": 60,
        }
        transports: dict[str, httpx.AsyncBaseTransport] = {
            "evidence": BackendTransport(max_connections=8)
        }
        async with (
            replica(stack, gateway_db, transports=transports, **settings) as app,
            served(app) as (gateway_url, server),
        ):
            host, port = gateway_url.removeprefix("http://").split(":")
            head = (
                f"POST /v1/submissions/{sub_id}/attachments HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {token}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
            ).encode()
            writers: list[asyncio.StreamWriter] = []
            for _ in range(100):
                _, w = await asyncio.open_connection(host, int(port))
                w.write(head + b"--b\r\n")
                writers.append(w)

            async def trickle() -> None:
                while True:
                    await asyncio.sleep(0.2)
                    for w in writers:
                        w.write(b"x")

            trickling = asyncio.create_task(trickle())
            try:
                await eventually(lambda: asyncio.sleep(0, len(server.server_state.tasks) >= 100))
                shares: BackendShares = app.state.backend_shares
                async with httpx.AsyncClient(base_url=gateway_url) as other:
                    for _ in range(10):
                        started = time.monotonic()
                        r = await other.get("/v1/submissions", params={"status": "published"})
                        took = time.monotonic() - started
                        assert r.status_code == 200, r.text
                        assert took < 1.0, f"answered in {took:.2f} s"
                        # The uploads are still arriving, holding no share of the backend.
                        assert shares.in_flight(f"client:{client_id}", "evidence") == 0
                assert not trickling.done()
            finally:
                trickling.cancel()
                for w in writers:
                    w.close()


# --- bodies read at the edge -------------------------------------------------------------------


async def test_a_body_that_falls_behind_the_minimum_rate_is_a_408_that_reaches_no_service(
    stack, gateway_db, writer
):
    policy: dict[str, Any] = {"edge_body_min_rate_bytes_per_s": 1000, "edge_body_grace_s": 0.2}
    async with replica(stack, gateway_db, **policy) as app, client_of(app) as c:
        before = len(stack.commitments.requests)

        rest_sent = False

        async def trickle() -> AsyncIterator[bytes]:
            nonlocal rest_sent
            yield b'{"reference": '
            await asyncio.sleep(5)
            rest_sent = True
            yield b'"late"}'

        r = await c.post(
            "/v1/sources", content=trickle(), headers={**writer, "Content-Type": "application/json"}
        )
        assert r.status_code == 408
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["connection"] == "close"
        assert r.json()["type"] == "/problems/request-timeout"
        assert "too slowly" in r.json()["detail"]
        assert not rest_sent, "answered while the body was still arriving"
        assert len(stack.commitments.requests) == before


async def test_a_body_not_complete_by_the_deadline_is_a_408(stack, gateway_db, writer):
    policy: dict[str, Any] = {"edge_body_min_rate_bytes_per_s": 1, "edge_body_deadline_s": 0.3}
    async with replica(stack, gateway_db, **policy) as app, client_of(app) as c:

        async def steady() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b" "
                await asyncio.sleep(0.05)

        r = await c.post(
            "/v1/sources", content=steady(), headers={**writer, "Content-Type": "application/json"}
        )
        assert r.status_code == 408
        assert "within 0.3 s" in r.json()["detail"]


async def test_a_large_upload_is_spooled_and_arrives_whole_with_its_length(
    stack, gateway_db, gateway, writer, make_client, tmp_path
):
    """Past the in-memory threshold the body goes to a file, and is sent on with a
    Content-Length (never chunked); the evidence service stores exactly what was sent."""
    _, token, sub_id = await submitter_with_submission(stack, gateway, writer, make_client)
    content = pdf(uuid.uuid4().hex) + b"%" + b"0" * (1024 * 1024)
    settings: dict[str, Any] = {
        "edge_body_memory_bytes": 64 * 1024,
        "edge_spool_dir": str(tmp_path),
    }
    async with replica(stack, gateway_db, **settings) as app, client_of(app) as c:
        before = len(stack.evidence.requests)
        r = await c.post(
            f"/v1/submissions/{sub_id}/attachments",
            files={"file": ("big.pdf", content, "application/pdf")},
            headers=bearer(token),
        )
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == hashlib.sha256(content).hexdigest()
        sent = stack.evidence.requests[before]
        assert int(sent.headers["content-length"]) > len(content)
        assert "transfer-encoding" not in sent.headers


async def test_uploads_past_the_staging_budget_are_a_503_and_give_their_bytes_back(
    stack, gateway_db, gateway, writer, make_client, tmp_path
):
    """All bodies being staged share one budget: an upload that would pass it is refused with a
    503 and `Retry-After` before any service sees it, and what it held is released, so the next
    upload that fits goes through."""
    _, token, sub_id = await submitter_with_submission(stack, gateway, writer, make_client)
    settings: dict[str, Any] = {
        "edge_body_memory_bytes": 64 * 1024,
        "edge_spool_dir": str(tmp_path),
        "edge_staged_budget_bytes": 512 * 1024,
    }
    async with replica(stack, gateway_db, **settings) as app, client_of(app) as c:

        async def upload(name: str, padding: int) -> httpx.Response:
            content = pdf(uuid.uuid4().hex) + b"%" + b"0" * padding
            return await c.post(
                f"/v1/submissions/{sub_id}/attachments",
                files={"file": (name, content, "application/pdf")},
                headers=bearer(token),
            )

        before = len(stack.evidence.requests)
        r = await upload("big.pdf", 1024 * 1024)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.headers["retry-after"] == "5"
        assert r.json()["type"] == "/problems/staging-full"
        assert len(stack.evidence.requests) == before
        assert app.state.body_policy.budget.used == 0
        r = await upload("small.pdf", 100 * 1024)
        assert r.status_code == 201, r.text
        assert app.state.body_policy.budget.used == 0


async def test_staged_bodies_stay_small_in_memory_and_can_be_sent_twice(tmp_path):
    policy = BodyPolicy(
        min_rate_bytes_per_s=1, grace_s=1, deadline_s=10, memory_bytes=1000, spool_dir=str(tmp_path)
    )
    small = StagedBody(policy)
    await small.append(b"x" * 1000)
    assert not small.spooled
    assert await small.finish() == b"x" * 1000

    big = StagedBody(policy)
    for n in range(50):
        await big.append(bytes([n]) * 999)
        # What sits in memory is the point: never more than the threshold and one piece.
        assert len(big._memory) <= 1000 + 999
    assert big.spooled
    stream = await big.finish()
    assert not isinstance(stream, bytes)
    expected = b"".join(bytes([n]) * 999 for n in range(50))
    for _ in range(2):  # a retry reads it again from the start
        assert b"".join([chunk async for chunk in stream]) == expected
    await big.aclose()


# --- shares of the backend pools ---------------------------------------------------------------


@dataclass
class Gate(httpx.AsyncBaseTransport):
    """Holds every request until opened, counting those waiting."""

    inner: httpx.AsyncBaseTransport
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.waiting += 1
        await self.opened.wait()
        return await self.inner.handle_async_request(request)


async def test_a_client_past_its_share_waits_then_gets_a_429_and_others_pass(
    stack, gateway_db, gateway, make_client
):
    gate = Gate(stack.evidence)
    settings: dict[str, Any] = {
        "backend_max_connections": 8,
        "backend_client_share": 0.25,  # two exchanges in flight per client
        "backend_share_wait_s": 0.2,
    }
    _, creds = await make_client("evidence:submit")
    greedy = bearer(await token_for(gateway, creds))
    async with (
        replica(stack, gateway_db, transports={"evidence": gate}, **settings) as app,
        client_of(app) as c,
        client_of(app, ip="10.9.8.7") as other,
    ):
        held = [asyncio.create_task(c.get("/v1/submissions", headers=greedy)) for _ in range(2)]
        await eventually(lambda: asyncio.sleep(0, gate.waiting == 2))
        r = await c.get("/v1/submissions", headers=greedy)
        assert r.status_code == 429
        assert r.json()["type"] == "/problems/too-many-in-flight"
        assert r.headers["retry-after"] == "1"
        assert gate.waiting == 2, "refused before it reached the service"
        # Someone else still gets through (to the gate), and everyone is answered once it opens.
        passing = asyncio.create_task(other.get("/v1/submissions"))
        await eventually(lambda: asyncio.sleep(0, gate.waiting == 3))
        gate.opened.set()
        for r in [*await asyncio.gather(*held), await passing]:
            assert r.status_code == 200, r.text
        shares: BackendShares = app.state.backend_shares
        assert shares._shares == {}, "nothing is left behind once all is answered"


async def test_a_waiting_request_takes_the_share_freed_by_one_that_finished():
    shares = BackendShares(permits=1, wait_s=5)
    release = await shares.acquire("client:a", "evidence")
    waiting = asyncio.create_task(shares.acquire("client:a", "evidence"))
    other = await shares.acquire("client:b", "evidence")  # another client is not in that queue
    await asyncio.sleep(0)
    assert not waiting.done()
    release()
    release()  # a second release changes nothing
    second = await waiting
    assert shares.in_flight("client:a", "evidence") == 1
    second()
    other()
    assert shares.in_flight("client:a", "evidence") == 0
