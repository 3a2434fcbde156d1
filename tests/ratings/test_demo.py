"""The demo data: the 2023 evaluation published with rationales and the Government's response,
loaded by `scrutiny_cli.demo_ratings.seed_ratings` over HTTP, twice (the second run is a no-op)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from ratings.models import Event
from scrutiny_cli import demo, demo_ratings
from tests.ratings.helpers import create_evaluation, make_area, make_source


class BridgeTransport(httpx.BaseTransport):
    """A sync transport for a worker thread that sends each request on the test's event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward the request to the in-process app and wait for its answer."""
        coro = self.client.request(
            request.method,
            request.url.raw_path.decode(),
            headers=request.headers,
            content=request.read(),
        )
        got = asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)
        return httpx.Response(got.status_code, headers=got.headers, content=got.content)


async def test_seed_ratings_publishes_the_2023_evaluation_idempotently(
    client, writer, issuer, commitments, cwriter, ratings_app
):
    prefix = uuid.uuid4().hex[:6]
    areas = {a["slug"]: await make_area(commitments, cwriter, a["name"]) for a in demo.POLICY_AREAS}
    source = await make_source(commitments, cwriter)
    by_reference: dict[str, dict[str, Any]] = {}
    for reference, slug, title, text, _due, _leads in demo.COMMITMENTS:
        r = await commitments.post(
            "/v1/commitments",
            json={
                "reference": f"{prefix}-{reference}",
                "title": title,
                "text": text,
                "policy_area_id": areas[slug],
                "source_id": source,
            },
            headers=cwriter,
        )
        assert r.status_code == 201, r.text
        by_reference[reference] = r.json()
    ids = [by_reference[r[0]]["id"] for r in demo.COMMITMENTS]
    everything = issuer.auth(
        "commitments:write",
        "ratings:write",
        "ratings:publish",
        client_id="scrutiny-demo",
        org="Scrutiny demo",
        ttl=3600,
    )
    r = await create_evaluation(
        client, everything, ids, **demo.EVALUATION, panel=demo.panel("scrutiny-demo")
    )
    assert r.status_code == 201, r.text
    evaluation = r.json()
    base = f"/v1/evaluations/{evaluation['id']}"
    # What the main seed does first: the nine draft ratings, levels only.
    for reference, levels, _ in demo.RATINGS:
        r = await client.put(
            f"{base}/ratings/{by_reference[reference]['id']}",
            json={"levels": dict(zip(demo.DIMENSIONS, levels, strict=True))},
            headers=everything,
        )
        assert r.status_code == 201, r.text
        # Only the panel writes: the test's default chair client is not on this one.
        r = await client.get(f"{base}/ratings/{by_reference[reference]['id']}", headers=writer)
        assert r.status_code == 404
    dhsc = issuer.auth("responses:write", client_id="dhsc", org=demo_ratings.RESPONDENT, ttl=3600)
    transport = BridgeTransport(client, asyncio.get_running_loop())

    def run() -> None:
        with (
            httpx.Client(
                transport=transport, base_url="http://testserver", headers=everything
            ) as sync,
            httpx.Client(transport=transport, base_url="http://testserver", headers=dhsc) as gov,
        ):
            demo_ratings.seed_ratings(sync, evaluation, by_reference, gov)

    await asyncio.to_thread(run)

    ev = (await client.get(base)).json()  # public now
    assert ev["status"] == "published"
    # The seeds name the chair and no one else; no scores were recorded, and the agreement
    # figures say so rather than inventing any.
    assert [(m["name"], m["role"]) for m in ev["panel"]] == [("Professor Dame Jane Dacre", "chair")]
    assert ev["chair"] == "Professor Dame Jane Dacre"
    agreement = (await client.get(f"{base}/agreement")).json()
    assert agreement["recorded"] is False
    assert agreement["overall"]["alpha"] is None
    assert "not recorded" in agreement["how_to_read"]
    assert (await client.get(f"{base}/scores")).json()["items"] == []
    assert ev["published_on"] == "2023-02-17"
    assert ev["publication"]["published_by"]["client_id"] == "scrutiny-demo"
    summary = (await client.get(f"{base}/summary")).json()
    for item, (reference, levels, overall) in zip(
        summary["commitments"], demo.RATINGS, strict=True
    ):
        rating = item["rating"]
        assert rating["status"] == "published"
        assert rating["levels"] == dict(zip(demo.DIMENSIONS, levels, strict=True))
        assert rating["overall"]["level"] == overall
        assert rating["rationales"] == demo_ratings.RATIONALES[reference]
        assert set(rating["rationales"]) == set(demo.DIMENSIONS)
    assert summary["commitments"][0]["rating"]["overall"]["explanation"] == (
        "floor of the mean of 3, 2, 2, 2 = 2.25 → 2 (requires_improvement)"
    )
    assert [a["overall"]["level"] for a in summary["policy_areas"]] == [
        "inadequate",
        "inadequate",
        "requires_improvement",
        "inadequate",
    ]
    assert summary["overall"]["level"] == demo.EVALUATION_OVERALL
    assert summary["overall"]["explanation"] == (
        "floor of the mean of 2, 2, 1, 2, 1, 2, 2, 1, 1 ≈ 1.56 → 1 (inadequate)"
    )
    responses = (await client.get(f"{base}/responses")).json()["items"]
    assert [(x["respondent"], x["position"], x["received_on"]) for x in responses] == [
        ("Department of Health and Social Care", "disputes", "2023-04-17")
    ]
    assert "inadequate" in responses[0]["text"]
    # The memorandum answers each of the nine commitments (6 and 7 jointly, in the same words).
    reference_of = {c["id"]: r for r, c in by_reference.items()}
    positions = {reference_of[i["commitment_id"]]: i["position"] for i in responses[0]["items"]}
    assert positions == {
        "PDHSC-1a": "already_in_hand",
        "PDHSC-1b": "already_in_hand",
        "PDHSC-1c": "already_in_hand",
        "PDHSC-2a": "already_in_hand",
        "PDHSC-2b": "under_consideration",
        "PDHSC-3a": "already_in_hand",
        "PDHSC-3b": "already_in_hand",
        "PDHSC-4a": "already_in_hand",
        "PDHSC-4b": "not_accepted",
    }
    texts = {reference_of[i["commitment_id"]]: i["text"] for i in responses[0]["items"]}
    assert texts["PDHSC-3a"] == texts["PDHSC-3b"]
    assert "broadly on track against the revised timelines" in texts["PDHSC-4b"]
    assert "180 services (of 352 total)" in texts["PDHSC-1b"]
    assert responses[0]["respondent"] == demo_ratings.RESPONDENT
    assert responses[0]["on_behalf_of"] is False  # recorded by the Department's own client
    # Every rationale is quoted or reported from the seeds, or says the seeds hold none.
    sources = ("(quoted in", "(as the Government response", "(the Chair, in", "Rated as published")
    for reasons in demo_ratings.RATIONALES.values():
        assert all(any(s in why for s in sources) for why in reasons.values())

    # Again: nothing changes, nothing is recorded. Every write commits its event with it (the
    # outbox) before it answers, so once the run has returned the outbox says all it wrote.
    async def versions() -> list[str]:
        paths = [base] + [f"{base}/ratings/{c['commitment_id']}" for c in summary["commitments"]]
        return [(await client.get(path)).headers["etag"] for path in paths]

    before, recorded = await versions(), await outbox_size(ratings_app)
    await asyncio.to_thread(run)
    assert await versions() == before
    assert await outbox_size(ratings_app) == recorded
    assert len((await client.get(f"{base}/responses")).json()["items"]) == 1


async def outbox_size(app: FastAPI) -> int:
    """How many events the ratings service has recorded (positioned on its feed or not yet)."""
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


def test_the_seed_seats_the_chair_for_the_client_it_signs_in_as(issuer):
    from scrutiny_cli import seed

    auth = issuer.auth("ratings:write", client_id="demo-loader-1")
    token = auth["Authorization"].removeprefix("Bearer ")
    assert demo.panel(seed._client_id(token)) == [
        {"name": "Professor Dame Jane Dacre", "role": "chair", "client_id": "demo-loader-1"}
    ]
