"""Target URL rules (SSRF, DNS rebinding), the retry schedule and Retry-After, without a network."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.main import create_app
from gateway.webhooks import urls
from gateway.webhooks.service import parse_retry_after, retry_delay
from gateway.webhooks.worker import Job, WebhookWorker
from tests.events.conftest import PROBLEM, auth_settings, gateway_settings

PUBLIC = "93.184.216.34"


def resolver_of(mapping: dict[str, list[str]]) -> urls.Resolver:
    """A fake DNS: host → addresses; unknown hosts do not resolve."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host not in mapping:
            raise OSError("Name or service not known")
        return mapping[host]

    return resolve


FORBIDDEN = {
    "loopback.test": ["127.0.0.1"],
    "loopback6.test": ["::1"],
    "ten.test": ["10.1.2.3"],
    "rfc1918-172.test": ["172.16.0.9"],
    "rfc1918-192.test": ["192.168.1.1"],
    "metadata.test": ["169.254.169.254"],
    "linklocal6.test": ["fe80::1"],
    "cgnat.test": ["100.64.0.1"],
    "multicast.test": ["224.0.0.251"],
    "unspecified.test": ["0.0.0.0"],
    "reserved.test": ["240.0.0.1"],
    "ula.test": ["fd00::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "mixed.test": [PUBLIC, "10.0.0.1"],
}
RESOLVE = resolver_of({**FORBIDDEN, "hooks.example": [PUBLIC], "v6.example": ["2606:4700::1111"]})


@pytest.mark.parametrize("host", sorted(FORBIDDEN))
async def test_forbidden_ranges_after_resolution(host):
    with pytest.raises(urls.ForbiddenTargetError, match="resolves to"):
        await urls.check(
            f"https://{host}/x", allow_http=False, allow_private=False, resolver=RESOLVE
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://10.0.0.1:8443/x",
        "https://169.254.169.254/latest/meta-data",
    ],
)
async def test_forbidden_literal_addresses(url):
    with pytest.raises(urls.ForbiddenTargetError):
        await urls.check(url, allow_http=False, allow_private=False, resolver=RESOLVE)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example/x", "https"),
        ("ftp://hooks.example/x", "https"),
        ("https://u:p@hooks.example/x", "credentials"),
        ("https://hooks.example/x#f", "fragment"),
        ("https:///x", "no host"),
        ("https://nowhere.invalid/x", "does not resolve"),
        ("https://hooks.example:99999/x", "cannot be parsed"),
        ("https://hooks.example/" + "a" * 2100, "longer"),
    ],
)
async def test_malformed_targets(url, reason):
    with pytest.raises(urls.ForbiddenTargetError, match=reason):
        await urls.check(url, allow_http=False, allow_private=False, resolver=RESOLVE)


@pytest.mark.parametrize(
    ("literal", "form"),
    [
        ("2002:7f00:1::", "6to4 127.0.0.1"),
        ("2002:a00:1::1", "6to4 10.0.0.1"),
        # Teredo: the client's address is stored inverted (RFC 4380): 127.0.0.1 -> 80ff:fffe.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo client 127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254"),
        ("64:ff9b:1::c0a8:101", "NAT64 192.168.1.1"),
        ("::ffff:10.0.0.1", "IPv4-mapped 10.0.0.1"),
    ],
)
async def test_ipv4_inside_ipv6_is_judged_as_the_ipv4_host(literal, form):
    with pytest.raises(urls.ForbiddenTargetError, match=form):
        await urls.check(
            f"https://[{literal}]/x", allow_http=False, allow_private=False, resolver=RESOLVE
        )


async def test_public_targets_are_pinned_to_the_checked_address():
    t = await urls.check(
        "https://hooks.example/in?x=1", allow_http=False, allow_private=False, resolver=RESOLVE
    )
    assert t.url == f"https://{PUBLIC}/in?x=1"
    assert t.host_header == "hooks.example"
    assert t.extensions == {"sni_hostname": "hooks.example"}
    t6 = await urls.check(
        "https://v6.example:8443/", allow_http=False, allow_private=False, resolver=RESOLVE
    )
    assert t6.url == "https://[2606:4700::1111]:8443/"
    assert t6.host_header == "v6.example:8443"
    # Development switches: http allowed, private addresses allowed (and not pinned).
    dev = await urls.check(
        "http://localhost:9/x", allow_http=True, allow_private=True, resolver=RESOLVE
    )
    assert dev.url == "http://localhost:9/x"
    assert dev.host_header is None


def _job(url: str) -> Job:
    return Job(
        delivery_id=uuid.uuid4(),
        subscription_id=uuid.uuid4(),
        url=url,
        secrets=("whsec_" + "A" * 43 + "=",),
        message_id=str(uuid.uuid4()),
        body=b'{"type":"x"}',
        replay=False,
    )


async def test_delivery_rechecks_dns_and_connects_to_the_checked_address(events_gateway_db):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    answers = {"hooks.example": [PUBLIC]}

    async def rebinding(host: str, _port: int) -> list[str]:
        return answers[host]

    settings = gateway_settings(
        events_gateway_db, webhooks_allow_private=False, webhooks_allow_http=False
    )
    worker = WebhookWorker(
        None,  # type: ignore[arg-type]  # attempts need no database
        settings,
        transport=httpx.MockTransport(handler),
        resolver=rebinding,
    )
    try:
        ok = await worker.attempt(_job("https://hooks.example/in"))
        assert ok.outcome == "succeeded"
        assert ok.status_code == 204
        sent = seen[0]
        assert sent.url.host == PUBLIC
        assert sent.headers["host"] == "hooks.example"
        assert sent.extensions["sni_hostname"] == "hooks.example"
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(sent.headers)
        # The name now points at loopback: refused, and nothing is sent.
        answers["hooks.example"] = ["127.0.0.1"]
        refused = await worker.attempt(_job("https://hooks.example/in"))
        assert refused.outcome == "forbidden_address"
        assert "loopback" in (refused.error or "")
        assert len(seen) == 1
    finally:
        await worker.close()


async def test_stopping_does_not_wait_out_a_hanging_receiver(events_gateway_db):
    reached = asyncio.Event()

    async def hang(_request: httpx.Request) -> httpx.Response:
        reached.set()
        await asyncio.sleep(60)
        return httpx.Response(204)

    settings = gateway_settings(
        events_gateway_db,
        webhooks_allow_private=False,
        webhooks_allow_http=False,
        webhooks_timeout_s=30.0,
    )
    worker = WebhookWorker(
        None,  # type: ignore[arg-type]  # a stopped attempt records nothing
        settings,
        transport=httpx.MockTransport(hang),
        resolver=RESOLVE,
    )
    worker._start(_job("https://hooks.example/in"))
    await asyncio.wait_for(reached.wait(), 5)
    started = time.monotonic()
    await worker.close()
    # The attempt is stopped after the short shutdown grace, not after its 30 s timeout; its
    # lease (not recorded here) makes a later pass send it again.
    assert time.monotonic() - started < 10
    assert not worker.tasks
    assert not worker.attempting


@pytest.mark.usefixtures("stack")
async def test_subscribing_to_a_private_target_is_422(events_gateway_db, make_auth):
    strict = create_app(
        gateway_settings(
            events_gateway_db,
            webhooks_allow_private=False,
            webhooks_allow_http=False,
            webhooks_deliver=False,
        ),
        transports={},
        auth=auth_settings(),
        webhook_resolver=RESOLVE,
    )
    hooks = await make_auth("webhooks")
    async with LifespanManager(strict) as m:
        transport = httpx.ASGITransport(app=m.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            for url in (
                "https://metadata.test/x",
                "https://127.0.0.1/x",
                "http://hooks.example/x",
                "https://nowhere.invalid/x",
            ):
                r = await client.post(
                    "/v1/webhook-subscriptions",
                    json={"url": url, "event_types": ["*"]},
                    headers=hooks,
                )
                assert r.status_code == 422, (url, r.text)
                assert r.headers["content-type"] == PROBLEM
                assert r.json()["errors"][0]["pointer"] == "body.url"
            r = await client.post(
                "/v1/webhook-subscriptions",
                json={"url": "https://hooks.example/x", "event_types": ["*"]},
                headers=hooks,
            )
            assert r.status_code == 201, r.text


def test_retry_schedule_with_jitter(events_gateway_db):
    settings = gateway_settings(
        events_gateway_db,
        webhooks_retry_schedule_s=[5, 30, 120, 600],
        webhooks_retry_jitter=0.2,
    )
    rng = random.Random(7)
    for n, base in enumerate([5, 30, 120, 600], start=1):
        for _ in range(50):
            d = retry_delay(n, settings, rng)
            assert d is not None
            assert base * 0.8 <= d <= base * 1.2
    assert retry_delay(5, settings, rng) is None
    spread = {round(retry_delay(1, settings, rng) or 0, 3) for _ in range(20)}
    assert len(spread) > 1, "no jitter"


def test_default_schedule_is_documented():
    from gateway.config import Settings

    assert Settings(database_url="sqlite+aiosqlite://").webhooks_retry_schedule_s == [
        5,
        30,
        120,
        600,
        1800,
        3600,
        10800,
        21600,
        43200,
    ]


def test_retry_after_forms():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
