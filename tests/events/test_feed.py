"""The gateway's event log: gathered from the three services, one total order, public by rule."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import func, select, update

from gateway.docs.openapi import OpenAPIConflictError, merge
from gateway.events.catalog import BY_TYPE, event_payload_components, is_known_pattern, matches
from gateway.models import ConsumerPosition, Event
from gateway.proxy.forward import service_for
from tests.events.conftest import PROBLEM, event_for, eventually, log_events, make_source, ref
from tests.evidence.helpers import submission


async def _commitment(gateway, writer) -> dict:
    area = await gateway.post(
        "/v1/policy-areas", json={"slug": ref("a").lower(), "name": "Area"}, headers=writer
    )
    source = await make_source(gateway, writer)
    r = await gateway.post(
        "/v1/commitments",
        json={
            "reference": ref("C"),
            "title": "A commitment",
            "text": "We will do a thing.",
            "policy_area_id": area.json()["id"],
            "source_id": source["id"],
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _known_to_evidence(stack, commitment_id: str) -> None:
    from evidence.models import KnownCommitment

    async def known() -> bool:
        async with stack.evidence_app.state.sessionmaker() as s:
            return await s.get(KnownCommitment, uuid.UUID(commitment_id)) is not None

    await eventually(known)


async def test_log_gathers_every_service_with_source_and_visibility(gateway, stack, writer, admin):
    c = await _commitment(gateway, writer)
    await _known_to_evidence(stack, c["id"])
    r = await gateway.post("/v1/submissions", json=submission([c["id"]]), headers=writer)
    assert r.status_code == 201, r.text
    sub = r.json()

    # Public events reach anonymous readers with their source and source-independent position.
    created = await event_for(gateway, c["id"], "commitment.created")
    assert created["source"] == "commitments"
    assert created["public"] is True
    assert created["payload"]["reference"] == c["reference"]
    assert created["resource_type"] == "commitment"

    # Unpublished evidence is private: an admin sees it (marked so), anonymous readers never.
    received = await event_for(gateway, sub["id"], "submission.received", admin)
    assert received["source"] == "evidence"
    assert received["public"] is False
    anonymous = await log_events(gateway)
    assert all(e["public"] for e in anonymous)
    assert sub["id"] not in {e["resource_id"] for e in anonymous}

    # The admin view is the whole log: positions 1..N, no gaps, no repeats.
    everything = await log_events(gateway, admin)
    positions = [e["position"] for e in everything]
    assert positions == list(range(1, len(positions) + 1))
    assert len({e["id"] for e in everything}) == len(everything)


@pytest.mark.usefixtures("admin")
async def test_log_is_ordered_per_source_and_deduplicated(gateway, stack, writer):
    """Source order is kept; reading a feed again from 0 adds nothing (source, source id)."""
    await make_source(gateway, writer)
    last = await make_source(gateway, writer)
    await event_for(gateway, last["id"], "source.created")
    maker = stack.gateway_app.state.sessionmaker
    consumer = stack.gateway_app.state.event_consumers["commitments"]
    async with maker() as s:
        before = await s.scalar(select(func.count()).select_from(Event))
    head = await consumer.position()
    # Rewind the gateway's position in the commitments feed: the whole feed is fetched again.
    async with maker() as s, s.begin():
        await s.execute(
            update(ConsumerPosition)
            .where(ConsumerPosition.name == "commitments")
            .values(position=0)
        )

    async def reread() -> bool:
        return await consumer.position() >= head

    await eventually(reread)
    async with maker() as s:
        after = await s.scalar(select(func.count()).select_from(Event))
        rows = (
            await s.execute(
                select(Event.source_position)
                .where(Event.source == "commitments")
                .order_by(Event.position)
            )
        ).all()
    assert after == before, "re-reading a feed duplicated events"
    source_positions = [r[0] for r in rows]
    assert source_positions == sorted(source_positions), "source order not kept"
    assert len(set(source_positions)) == len(source_positions)


@pytest.mark.usefixtures("writer")
async def test_service_feeds_mark_public_for_internal_readers(stack):
    import httpx

    from gateway.events.token import GatewayToken

    token = GatewayToken(
        stack.gateway_app.state.sessionmaker,
        stack.gateway_app.state.settings,
        stack.gateway_app.state.auth_settings,
    )
    transport = httpx.ASGITransport(app=stack.evidence_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://evidence") as ev:
        internal = await ev.get("/v1/events", headers=await token.headers())
        public = await ev.get("/v1/events")
    assert internal.status_code == 200
    assert public.status_code == 200
    assert all("public" in e for e in internal.json()["items"])
    assert all(e["public"] for e in public.json()["items"])


async def test_feed_pages_are_exactly_what_their_documented_models_write(
    gateway, stack, writer, admin
):
    """Feed pages are written straight from the rows; pydantic, reading them with the documented
    models and writing them again, must produce the very same bytes."""
    import httpx

    from gateway.events.schemas import GatewayEventPage
    from servicekit.outbox import EventPage

    await make_source(gateway, writer)
    await eventually(lambda: log_events(gateway, admin))
    logged = await gateway.get("/v1/events", params={"limit": 1000}, headers=admin)
    transport = httpx.ASGITransport(app=stack.commitments_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://commitments") as c:
        served = await c.get("/v1/events", params={"limit": 1000})
    for response, model in ((logged, GatewayEventPage), (served, EventPage)):
        assert response.status_code == 200
        assert response.json()["items"]
        assert response.headers["content-type"] == "application/json"
        assert model.model_validate_json(response.content).model_dump_json().encode() == (
            response.content
        )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"after": "abc"}, 422),
        ({"after": "-1"}, 422),
        ({"after": "1.5"}, 422),
        ({"after": str(2**64)}, 422),
        ({"after": str(2**62)}, 409),
        ({"limit": "0"}, 422),
        ({"limit": "1001"}, 422),
    ],
)
async def test_bad_positions_and_limits_are_documented_problems(gateway, params, status):
    r = await gateway.get("/v1/events", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    if status == 409:
        assert r.json()["type"] == "/problems/feed-position"


async def test_limit_and_paging(gateway, admin, writer):
    await make_source(gateway, writer)
    await make_source(gateway, writer)
    first = (await gateway.get("/v1/events", params={"limit": 1}, headers=admin)).json()
    assert len(first["items"]) == 1
    assert first["next_after"] == first["items"][0]["position"]
    second = await gateway.get(
        "/v1/events", params={"after": first["next_after"], "limit": 1}, headers=admin
    )
    assert second.json()["items"][0]["position"] == first["next_after"] + 1


async def test_every_type_in_the_log_is_catalogued(gateway, admin):
    types = {e["type"] for e in await log_events(gateway, admin)}
    assert types, "empty log"
    assert types <= set(BY_TYPE), f"not in the catalogue: {types - set(BY_TYPE)}"


async def test_event_types_route_and_patterns(gateway):
    r = await gateway.get("/v1/event-types")
    assert r.status_code == 200
    body = r.json()
    assert {"commitment.created", "submission.published"} <= {t["type"] for t in body["items"]}
    assert "submission.*" in body["wildcards"]
    assert "*" in body["wildcards"]
    assert is_known_pattern("submission.*")
    assert is_known_pattern("*")
    assert not is_known_pattern("nothing.*")
    assert not is_known_pattern("submission.exploded")
    assert matches(["submission.*"], "submission.published")
    assert not matches(["submission.*"], "submissions.published")
    assert not matches(["commitment.created"], "commitment.updated")


async def test_openapi_documents_the_gateways_feed_only(stack):
    assert service_for("/v1/events") is None
    assert service_for("/v1/events/1") is None
    # Merged with every service's own document, which each has its own /v1/events.
    services = [
        (name, app.openapi())
        for name, app in (
            ("commitments", stack.commitments_app),
            ("evidence", stack.evidence_app),
            ("ratings", stack.ratings_app),
        )
    ]
    assert all("/v1/events" in d["paths"] for _, d in services)
    try:
        doc = merge(stack.gateway_app.openapi(), services, service_for)
    except OpenAPIConflictError:
        # Another part's schemas clash (not the feed's); check the feed against one service.
        doc = merge(stack.gateway_app.openapi(), services[:1], service_for)
    op = doc["paths"]["/v1/events"]["get"]
    assert op["operationId"] == "list_events"
    assert "admin" in op["description"]
    assert set(op["responses"]) >= {"200", "401", "409", "422"}
    page = doc["components"]["schemas"]["GatewayEventPage"]
    assert page["properties"]["items"]["items"]["$ref"].endswith("/GatewayEvent")
    # Payloads are documented per resource type, beside an open `payload` (no union a
    # generator splits into duplicate models, and a new type still parses).
    doc = merge(
        stack.gateway_app.openapi(),
        services[:1],
        service_for,
        extra_schemas=event_payload_components(),
    )
    schemas = doc["components"]["schemas"]
    assert "oneOf" not in schemas["GatewayEvent"]
    assert (
        "CommitmentEventPayload" in schemas["GatewayEvent"]["properties"]["payload"]["description"]
    )
    assert "receipt_reference" in schemas["SubmissionEventPayload"]["properties"]
    assert "title" not in schemas["SubmissionEventPayload"]
    # The services' feed schema (EventPage) is not in the merged document.
    assert "EventPage" not in doc["components"]["schemas"]


async def test_a_redaction_reaches_every_public_copy(gateway, stack, writer, make_auth):
    """A passage redacted after publication is gone from the evidence feed, the gateway's log
    (and so webhook replays, which are sent from it), search and the page; the redacted event
    carries the redacted text for receivers to apply to what they hold."""
    moderator = await make_auth("evidence:moderate")
    c = await _commitment(gateway, writer)
    await _known_to_evidence(stack, c["id"])
    secret = f"hidden{uuid.uuid4().hex[:8]}"
    body = submission([c["id"]], body=f"Most acute trusts, says {secret}, have an EPR.")
    sub = (await gateway.post("/v1/submissions", json=body, headers=writer)).json()
    url = f"/v1/submissions/{sub['id']}"
    for action in ("accept", "publish"):
        r = await gateway.post(
            f"{url}/decisions", json={"action": action, "reason": "ok"}, headers=moderator
        )
        assert r.status_code == 201, r.text
    published = await event_for(gateway, sub["id"], "submission.published")
    assert secret in published["payload"]["body"]  # what the redaction must reach

    r = await gateway.post(
        f"{url}/redactions",
        json={"field": "body", "passage": secret, "reason": "Names a private person"},
        headers=moderator,
    )
    assert r.status_code == 201, r.text
    redacted = await event_for(gateway, sub["id"], "submission.redacted")
    assert secret not in redacted["payload"]["body"]

    log = [e for e in await log_events(gateway) if e["resource_id"] == sub["id"]]
    assert [e["type"] for e in log] == ["submission.published", "submission.redacted"]
    evidence = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=stack.evidence_app), base_url="http://evidence"
    )
    async with evidence:
        feed = (await evidence.get("/v1/events", params={"after": 0, "limit": 1000})).json()
    surfaces = {
        "gateway log": json.dumps(log),
        "evidence feed": json.dumps([e for e in feed["items"] if e["resource_id"] == sub["id"]]),
        "submission": (await gateway.get(url)).text,
        "search": (await gateway.get("/v1/submissions", params={"q": secret})).text,
        "page": (await gateway.get(f"/evidence/{sub['id']}")).text,
    }
    assert [name for name, text in surfaces.items() if secret in text] == []
    assert (await gateway.get("/v1/submissions", params={"q": secret})).json()["items"] == []
