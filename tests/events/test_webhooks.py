"""Webhooks end to end: subscribe, signed deliveries, retries, Retry-After, 410, redirects, hanging
receivers, disabling, replay, secret rotation, ownership."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.events.conftest import (
    DISABLE_AFTER,
    PROBLEM,
    SCHEDULE,
    event_for,
    eventually,
    make_source,
    ref,
)
from tests.evidence.helpers import submission


async def subscribe(gateway, auth, url, types=("source.created",), **extra) -> dict:
    r = await gateway.post(
        "/v1/webhook-subscriptions",
        json={"url": url, "event_types": list(types), **extra},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries(gateway, auth, sub_id, **params) -> list[dict]:
    r = await gateway.get(
        f"/v1/webhook-subscriptions/{sub_id}/deliveries", params=params, headers=auth
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def subscription(gateway, auth, sub_id) -> dict:
    r = await gateway.get(f"/v1/webhook-subscriptions/{sub_id}", headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


async def delivery_settled(gateway, auth, sub_id, status: str, within: float = 10) -> dict:
    async def check():
        items = await deliveries(gateway, auth, sub_id)
        return items[0] if items and items[0]["status"] == status else None

    return await eventually(check, within=within)


@pytest.fixture
async def hooks(make_auth):
    """Authorization of a new client with the `webhooks` scope."""
    return await make_auth("webhooks", org="Dashboard Ltd")


# --- subscriptions -----------------------------------------------------------------------------


async def test_create_shows_the_secret_once(gateway, hooks, receiver):
    r = await gateway.post(
        "/v1/webhook-subscriptions",
        json={"url": receiver.url("ok"), "event_types": ["submission.*", "commitment.created"]},
        headers=hooks,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["secret"].startswith("whsec_")
    assert r.headers["location"] == f"/v1/webhook-subscriptions/{body['id']}"
    assert r.headers["etag"]
    assert r.headers["cache-control"] == "no-store"
    assert body["active"] is True
    assert body["include_private"] is False
    got = await subscription(gateway, hooks, body["id"])
    assert "secret" not in got
    assert got["event_types"] == ["submission.*", "commitment.created"]


async def _own_subscriptions(gateway, auth) -> list[str]:
    r = await gateway.get("/v1/webhook-subscriptions", headers=auth)
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()["items"]]


async def test_a_subscribe_retried_with_its_key_replays_the_secret(gateway, hooks, receiver):
    body = {"url": receiver.url("ok"), "event_types": ["source.created"]}
    headers = {**hooks, "Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    again = await gateway.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["cache-control"] == "no-store"
    assert again.json()["id"] == first.json()["id"]
    # The retry learns the signing secret the first answer carried.
    assert again.json()["secret"] == first.json()["secret"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert await _own_subscriptions(gateway, hooks) == [first.json()["id"]]
    # Gone again, so later tests' events are not delivered to it too.
    path = f"/v1/webhook-subscriptions/{first.json()['id']}"
    assert (await gateway.delete(path, headers=hooks)).status_code == 204


async def test_a_subscribe_key_reused_with_another_body_is_422(gateway, hooks, receiver):
    body = {"url": receiver.url("ok"), "event_types": ["source.created"]}
    headers = {**hooks, "Idempotency-Key": str(uuid.uuid4())}
    first = await gateway.post("/v1/webhook-subscriptions", json=body, headers=headers)
    assert first.status_code == 201, first.text
    r = await gateway.post(
        "/v1/webhook-subscriptions",
        json={**body, "event_types": ["source.created", "commitment.created"]},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "/problems/idempotency-key-reused"
    assert await _own_subscriptions(gateway, hooks) == [first.json()["id"]]
    path = f"/v1/webhook-subscriptions/{first.json()['id']}"
    assert (await gateway.delete(path, headers=hooks)).status_code == 204


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"event_types": ["commitment.exploded"]}, "body.event_types.0"),
        ({"event_types": ["source.created", "nothing.*"]}, "body.event_types.1"),
        ({"event_types": []}, "body.event_types"),
        ({"url": "ftp://example.org/x"}, "body.url"),
        ({"url": "https://user:pw@example.org/x"}, "body.url"),
        ({"url": "https://example.org/x#frag"}, "body.url"),
        ({"secret": "mine"}, "body.secret"),
    ],
)
async def test_bad_subscriptions_are_422(gateway, hooks, receiver, body, pointer):
    full = {"url": receiver.url("ok"), "event_types": ["source.created"], **body}
    r = await gateway.post("/v1/webhook-subscriptions", json=full, headers=hooks)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert pointer in [e["pointer"] for e in r.json()["errors"]]


async def test_scopes(gateway, make_auth, receiver):
    body = {"url": receiver.url("ok"), "event_types": ["*"]}
    assert (await gateway.post("/v1/webhook-subscriptions", json=body)).status_code == 401
    other = await make_auth("evidence:submit")
    r = await gateway.post("/v1/webhook-subscriptions", json=body, headers=other)
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    hooks = await make_auth("webhooks")
    r = await gateway.post(
        "/v1/webhook-subscriptions", json={**body, "include_private": True}, headers=hooks
    )
    assert r.status_code == 403


async def test_owners_see_only_their_own(gateway, make_auth, admin, receiver):
    a, b = await make_auth("webhooks"), await make_auth("webhooks")
    sub = await subscribe(gateway, a, receiver.url("ok"))
    path = f"/v1/webhook-subscriptions/{sub['id']}"
    for method, suffix, kw in [
        ("GET", "", {}),
        ("PATCH", "", {"json": {"description": "x"}, "headers_extra": {"If-Match": "*"}}),
        ("DELETE", "", {}),
        ("POST", "/secret", {}),
        ("GET", "/deliveries", {}),
        ("POST", f"/deliveries/{uuid.uuid4()}/replay", {}),
    ]:
        headers = {**b, **kw.pop("headers_extra", {})}
        r = await gateway.request(method, path + suffix, headers=headers, **kw)
        assert r.status_code == 404, (method, suffix, r.text)
    listed_b = (await gateway.get("/v1/webhook-subscriptions", headers=b)).json()["items"]
    assert sub["id"] not in {s["id"] for s in listed_b}
    listed_a = (await gateway.get("/v1/webhook-subscriptions", headers=a)).json()["items"]
    assert [s["id"] for s in listed_a] == [sub["id"]]
    # An admin sees everyone's.
    assert (await gateway.get(path, headers=admin)).status_code == 200


async def test_patch_needs_if_match_and_checks_types(gateway, hooks, receiver):
    sub = await subscribe(gateway, hooks, receiver.url("ok"))
    path = f"/v1/webhook-subscriptions/{sub['id']}"
    r = await gateway.patch(path, json={"description": "d"}, headers=hooks)
    assert r.status_code == 428
    etag = (await gateway.get(path, headers=hooks)).headers["etag"]
    r = await gateway.patch(
        path, json={"event_types": ["bogus.type"]}, headers={**hooks, "If-Match": etag}
    )
    assert r.status_code == 422
    r = await gateway.patch(
        path,
        json={"description": "d", "event_types": ["rating.*"]},
        headers={**hooks, "If-Match": etag, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert r.json()["event_types"] == ["rating.*"]
    r = await gateway.patch(path, json={"description": "e"}, headers={**hooks, "If-Match": etag})
    assert r.status_code == 412
    assert (await gateway.delete(path, headers=hooks)).status_code == 204
    assert (await gateway.get(path, headers=hooks)).status_code == 404


# --- deliveries --------------------------------------------------------------------------------


async def test_signed_delivery_verifies_with_standardwebhooks(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("ok", name))
    src = await make_source(gateway, writer)
    event = await event_for(gateway, src["id"], "source.created")
    await eventually(lambda: _async(receiver.got(name)))
    call = receiver.got(name)[0]
    payload = Webhook(sub["secret"]).verify(call.body, call.headers)
    assert call.headers["webhook-id"] == event["id"]
    assert payload["type"] == "source.created"
    assert payload["data"] == event
    assert abs(int(call.headers["webhook-timestamp"]) - time.time()) < 30
    assert call.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(call.body, call.headers)
    d = await delivery_settled(gateway, hooks, sub["id"], "succeeded")
    assert d["event_id"] == event["id"]
    assert d["attempt_count"] == 1
    (attempt,) = d["attempts"]
    assert attempt["outcome"] == "succeeded"
    assert attempt["status_code"] == 204
    assert attempt["latency_ms"] is not None
    assert attempt["latency_ms"] >= 0
    # Only events after the subscription: none of the earlier sources.
    assert len(await deliveries(gateway, hooks, sub["id"])) == 1


async def _async(value):
    return value


async def test_failures_are_retried_on_the_schedule(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("flaky2", name))
    await make_source(gateway, writer)
    d = await delivery_settled(gateway, hooks, sub["id"], "succeeded")
    calls = receiver.got(name)
    assert len(calls) == 3
    assert len({c.headers["webhook-id"] for c in calls}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= SCHEDULE[0] * 0.9, gaps
    assert gaps[1] >= SCHEDULE[1] * 0.9, gaps
    assert [a["outcome"] for a in d["attempts"]] == ["failed", "failed", "succeeded"]
    assert [a["status_code"] for a in d["attempts"]] == [500, 500, 204]
    assert (await subscription(gateway, hooks, sub["id"]))["consecutive_failures"] == 0


async def test_retry_after_is_honoured(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("retry", name))
    await make_source(gateway, writer)
    await delivery_settled(gateway, hooks, sub["id"], "succeeded")
    first, second = receiver.got(name)
    # The schedule says 0.05 s; the receiver said 1 s.
    assert second.at - first.at >= 0.95


async def test_410_disables_at_once(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("gone", name))
    await make_source(gateway, writer)
    d = await delivery_settled(gateway, hooks, sub["id"], "failed")
    assert d["attempts"][0]["outcome"] == "gone"
    assert d["attempt_count"] == 1
    got = await subscription(gateway, hooks, sub["id"])
    assert got["active"] is False
    assert "410" in got["disabled_reason"]
    # A second subscription sees the next event; one fan-out transaction decides every
    # subscription's delivery of an event, so once it has its delivery the disabled one's
    # absence is final, not a matter of waiting long enough.
    control = uuid.uuid4().hex[:12]
    await subscribe(gateway, hooks, receiver.url("ok", control))
    later = await make_source(gateway, writer)
    await eventually(
        lambda: _async(any(later["id"].encode() in c.body for c in receiver.got(control)))
    )
    assert len(receiver.got(name)) == 1
    assert len(await deliveries(gateway, hooks, sub["id"])) == 1


async def test_redirects_are_not_followed(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("redirect", name))
    await make_source(gateway, writer)
    d = await delivery_settled(gateway, hooks, sub["id"], "failed")
    assert {a["outcome"] for a in d["attempts"]} == {"redirect"}
    assert d["attempt_count"] == len(SCHEDULE) + 1
    assert "not followed" in d["last_error"]
    assert receiver.got(f"{name}-redirected") == []


async def test_a_hanging_receiver_blocks_nothing(gateway, hooks, receiver, writer):
    hang, ok = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    # The hanging one first: a worker that delivered one at a time would wait out its timeout.
    slow = await subscribe(gateway, hooks, receiver.url("hang", hang))
    fine = await subscribe(gateway, hooks, receiver.url("ok", ok))
    await make_source(gateway, writer)
    await eventually(lambda: _async(receiver.got(ok)))
    d = await delivery_settled(gateway, hooks, slow["id"], "pending")

    async def timed_out():
        items = await deliveries(gateway, hooks, slow["id"])
        return items[0]["attempts"] and items[0]["attempts"][0]["outcome"] == "timeout"

    await eventually(timed_out, within=5)
    assert d["status"] == "pending"
    # The healthy receiver was served while the other one hung (its timeout is 1 s): its attempt
    # is on record before the hanging one's timed out. Ordered by the log, not by a wall-clock
    # bound, which a loaded machine misses without anything blocking.
    hung = (await deliveries(gateway, hooks, slow["id"]))[0]["attempts"][0]
    served = (await deliveries(gateway, hooks, fine["id"]))[0]["attempts"][0]
    assert served["outcome"] == "succeeded"
    at = datetime.fromisoformat
    assert at(served["attempted_at"]) < at(hung["attempted_at"]), (served, hung)


async def test_always_500_fails_then_replay_and_disable(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("fail", name))
    await make_source(gateway, writer)
    d = await delivery_settled(gateway, hooks, sub["id"], "failed")
    attempts = len(SCHEDULE) + 1
    assert d["attempt_count"] == attempts
    assert d["next_attempt_at"] is None
    got = await subscription(gateway, hooks, sub["id"])
    assert got["active"] is True
    assert got["consecutive_failures"] == attempts
    assert got["failing_since"] is not None

    replay = f"/v1/webhook-subscriptions/{sub['id']}/deliveries/{d['id']}/replay"
    r = await gateway.post(replay, headers=hooks)
    assert r.status_code == 202
    assert r.json()["status"] == "pending"

    async def disabled():
        s = await subscription(gateway, hooks, sub["id"])
        return s if not s["active"] else None

    s = await disabled_within(disabled)
    assert s["disabled_reason"] == f"{DISABLE_AFTER} failed attempts in a row"
    d = (await deliveries(gateway, hooks, sub["id"]))[0]
    assert d["attempt_count"] == DISABLE_AFTER
    assert any(a["replay"] for a in d["attempts"])
    # A disabled subscription cannot replay; re-enabling resumes the pending delivery.
    r = await gateway.post(replay, headers=hooks)
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    etag = (await gateway.get(f"/v1/webhook-subscriptions/{sub['id']}", headers=hooks)).headers[
        "etag"
    ]
    r = await gateway.patch(
        f"/v1/webhook-subscriptions/{sub['id']}",
        json={"active": True},
        headers={**hooks, "If-Match": etag},
    )
    assert r.status_code == 200
    assert r.json()["consecutive_failures"] == 0
    assert r.json()["disabled_reason"] is None

    async def resumed():
        return (await deliveries(gateway, hooks, sub["id"]))[0]["attempt_count"] > DISABLE_AFTER

    await eventually(resumed)


async def disabled_within(check, within: float = 10):
    return await eventually(check, within=within)


async def test_replay_sends_the_same_message_again(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("ok", name))
    await make_source(gateway, writer)
    d = await delivery_settled(gateway, hooks, sub["id"], "succeeded")
    r = await gateway.post(
        f"/v1/webhook-subscriptions/{sub['id']}/deliveries/{d['id']}/replay", headers=hooks
    )
    assert r.status_code == 202

    async def twice():
        return len(receiver.got(name)) == 2

    await eventually(twice)
    first, second = receiver.got(name)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    d = await delivery_settled(gateway, hooks, sub["id"], "succeeded")
    assert [a["replay"] for a in d["attempts"]] == [False, True]
    one = await gateway.get(
        f"/v1/webhook-subscriptions/{sub['id']}/deliveries/{d['id']}", headers=hooks
    )
    assert one.status_code == 200
    assert one.json()["attempt_count"] == 2
    missing = await gateway.post(
        f"/v1/webhook-subscriptions/{sub['id']}/deliveries/{uuid.uuid4()}/replay", headers=hooks
    )
    assert missing.status_code == 404


async def test_secret_rotation_signs_with_both_during_the_grace(gateway, hooks, receiver, writer):
    name = uuid.uuid4().hex[:12]
    sub = await subscribe(gateway, hooks, receiver.url("ok", name))
    r = await gateway.post(f"/v1/webhook-subscriptions/{sub['id']}/secret", headers=hooks)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    new = r.json()["secret"]
    assert new.startswith("whsec_")
    assert new != sub["secret"]
    assert r.json()["previous_secret_expires_at"] is not None
    await make_source(gateway, writer)
    await eventually(lambda: _async(receiver.got(name)))
    call = receiver.got(name)[0]
    assert len(call.headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(call.body, call.headers)
    Webhook(sub["secret"]).verify(call.body, call.headers)


async def test_private_events_only_for_admin_subscriptions(
    gateway, hooks, admin, receiver, writer, stack
):
    from tests.events.test_feed import _commitment, _known_to_evidence

    mine, theirs = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    my_sub = await subscribe(gateway, hooks, receiver.url("ok", mine), ["submission.*"])
    await subscribe(
        gateway, admin, receiver.url("ok", theirs), ["submission.*"], include_private=True
    )
    c = await _commitment(gateway, writer)
    await _known_to_evidence(stack, c["id"])
    r = await gateway.post("/v1/submissions", json=submission([c["id"]]), headers=writer)
    assert r.status_code == 201
    await eventually(lambda: _async(receiver.got(theirs)))
    payload = receiver.got(theirs)[0]
    assert b"submission.received" in payload.body
    # One fan-out transaction decides every subscription's delivery of the event: theirs has
    # arrived, so mine has none to come.
    assert await deliveries(gateway, hooks, my_sub["id"]) == []
    assert receiver.got(mine) == []


async def test_subscription_changes_are_logged_privately(gateway, hooks, admin, receiver):
    sub = await subscribe(gateway, hooks, receiver.url("ok"))
    e = await event_for(gateway, sub["id"], "webhook_subscription.created", admin)
    assert e["public"] is False
    assert "secret" not in e["payload"]
    assert e["source"] == "gateway"
    _ = ref()
