"""The demo evidence loads through the public API, and loading it again adds nothing."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from evidence.models import Event
from scrutiny_cli.demo_evidence import (
    CALL,
    COMMITMENTS_IN_SCOPE,
    DHSC,
    ILLUSTRATIVE,
    MEMORANDUM,
    SUBMISSIONS,
    seed_evidence,
)


class LoopBridge(httpx.BaseTransport):
    """A synchronous transport that sends each request through an async client on `loop`.

    `seed_evidence` takes a sync `httpx.Client` (as the CLI uses); the service under test runs
    in this test's event loop, so the seed runs in a thread and its requests hop back here.
    """

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            r = await self.client.request(
                request.method,
                request.url.raw_path.decode(),
                content=request.read(),
                headers=request.headers,
            )
            return httpx.Response(r.status_code, headers=r.headers, content=r.content)

        return asyncio.run_coroutine_threadsafe(send(), self.loop).result(timeout=60)


async def _count_events(evidence_app) -> int:
    async with evidence_app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


async def test_seed_evidence_publishes_the_demo_and_is_idempotent(
    client, issuer, make_commitments, evidence_app
):
    made = await make_commitments(len(COMMITMENTS_IN_SCOPE))
    by_reference = {
        ref: {"id": ident} for ref, ident in zip(COMMITMENTS_IN_SCOPE, made, strict=True)
    }
    auth = issuer.auth(
        "evidence:moderate", client_id="scrutiny-demo", org="Scrutiny demo", ttl=3600
    )
    bridge = LoopBridge(client, asyncio.get_running_loop())

    def as_client(headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(transport=bridge, base_url="http://testserver", headers=headers)

    orgs = sorted({s["org"] for s in SUBMISSIONS} | {DHSC})
    submitters = {
        org: as_client(
            issuer.auth("evidence:submit", "admin", client_id=f"c{n}", org=org, ttl=3600)
        )
        for n, org in enumerate(orgs)
    }
    sync = as_client(auth)
    with sync:
        await asyncio.to_thread(seed_evidence, sync, by_reference, submitters)
        events = await _count_events(evidence_app)
        await asyncio.to_thread(seed_evidence, sync, by_reference, submitters)
        assert await _count_events(evidence_app) == events
    for c in submitters.values():
        c.close()

    calls = list((await client.get("/v1/calls-for-evidence")).json()["items"])
    [call] = [c for c in calls if c["title"] == CALL["title"]]
    assert call["commitment_ids"] == made
    answers = (
        await client.get("/v1/submissions", params={"call_id": call["id"], "page_size": 50})
    ).json()["items"]
    assert sorted(s["title"] for s in answers) == sorted(s["title"] for s in SUBMISSIONS)
    assert all(s["publication_reference"].startswith("DIG") for s in answers)
    # Each answer dated inside the 2022-23 call window, so none is late; the day it was loaded
    # stays visible as `recorded_at`.
    assert call["late_submissions_allowed"] is False
    for s in answers:
        assert CALL["opens_at"] < s["received_at"].replace("Z", "+00:00") < CALL["closes_at"]
        assert s["late"] is False
        assert s["recorded_at"] > s["received_at"]
    memoranda = (
        await client.get("/v1/submissions", params={"kind": "government_memorandum"})
    ).json()["items"]
    published = [*answers, *memoranda]
    assert all(s["status"] == "published" for s in published)
    anonymous = [s for s in published if s["consent"] == "publish_anonymously"]
    assert len(anonymous) == 1
    assert anonymous[0]["submitter"] is None
    # Illustrative evidence only from fictional organisations, and saying so; the memorandum
    # from the Department itself.
    memo = [s for s in published if s["kind"] == "government_memorandum"]
    assert [m["title"] for m in memo] == [MEMORANDUM["title"]]
    assert memo[0]["submitter"]["organisation"] == DHSC
    # The memorandum answers the published report, not the call: stand-alone, dated its day.
    assert memo[0]["call_id"] is None
    assert memo[0]["late"] is False
    assert memo[0]["received_at"] == "2023-04-17T00:00:00Z"
    for s in published:
        if s["kind"] == "government_memorandum":
            continue
        assert s["summary"].startswith(ILLUSTRATIVE)
        assert s["submitter"] is None or s["submitter"]["organisation"].endswith("(fictional)")
    r = await client.get("/v1/submissions", params={"q": "shared care records"})
    assert any("Northmoor" in s["title"] for s in r.json()["items"])
