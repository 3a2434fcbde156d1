"""Backend failures as a client meets them: retries only where safe, a breaker per backend."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from gateway.backends.breaker import CircuitBreaker, CircuitOpenError, State
from tests.gateway.replicas import client_of, replica

PROBLEM = "application/problem+json"


@dataclass
class Flaky(httpx.AsyncBaseTransport):
    """Fails the first `failures` calls with `exc`, then passes calls to `inner`; counts calls."""

    inner: httpx.AsyncBaseTransport
    failures: int = 0
    exc: type[httpx.TransportError] = httpx.ConnectError
    calls: list[str] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.method)
        if len(self.calls) <= self.failures:
            raise self.exc("simulated", request=request)
        return await self.inner.handle_async_request(request)


def ref(prefix: str = "S") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def source() -> dict[str, str]:
    return {"reference": ref(), "title": "Plan", "publisher": "DHSC", "kind": "plan"}


def state_of(breaker: CircuitBreaker) -> State:
    """The state now (a call, so a type checker does not carry an earlier check across the
    clock moving or requests in between)."""
    return breaker.state


async def test_idempotent_requests_are_retried_after_connect_errors(stack, gateway_db, writer):
    flaky = Flaky(stack.commitments, failures=2)
    async with (
        replica(stack, gateway_db, transports={"commitments": flaky}, retry_attempts=3) as app,
        client_of(app) as c,
    ):
        r = await c.get("/v1/sources")
        assert r.status_code == 200
        assert flaky.calls == ["GET"] * 3

        # POST with an Idempotency-Key: safe to send again, so retried.
        flaky.calls.clear()
        flaky.failures = 2
        r = await c.post(
            "/v1/sources", json=source(), headers={**writer, "Idempotency-Key": ref("k")}
        )
        assert r.status_code == 201, r.text
        assert flaky.calls == ["POST"] * 3

        # Plain POST: never retried, the client gets the 503 and decides.
        flaky.calls.clear()
        flaky.failures = 1
        r = await c.post("/v1/sources", json=source(), headers=writer)
        assert r.status_code == 503
        assert flaky.calls == ["POST"]
        assert r.headers["content-type"] == PROBLEM
        assert int(r.headers["retry-after"]) > 0

        # Retries are bounded: three attempts, then 503.
        flaky.calls.clear()
        flaky.failures = 10
        r = await c.get("/v1/sources")
        assert r.status_code == 503
        assert flaky.calls == ["GET"] * 3


async def test_a_timeout_is_not_retried(stack, gateway_db):
    # The request may have reached the service; a retry could double the load it is failing under.
    flaky = Flaky(stack.commitments, failures=1, exc=httpx.ReadTimeout)
    async with (
        replica(stack, gateway_db, transports={"commitments": flaky}) as app,
        client_of(app) as c,
    ):
        r = await c.get("/v1/sources")
        assert r.status_code == 504
        assert flaky.calls == ["GET"]


async def test_breaker_opens_answers_fast_and_recovers(stack, gateway_db):
    flaky = Flaky(stack.commitments, failures=10**6, exc=httpx.ConnectTimeout)
    async with replica(
        stack,
        gateway_db,
        transports={"commitments": flaky},
        retry_attempts=1,
        breaker_failure_threshold=3,
        breaker_cooldown_s=0.5,
    ) as app:
        breaker = app.state.backends.commitments.breaker
        async with client_of(app) as c:
            for _ in range(3):
                r = await c.get("/v1/commitments")
                assert r.status_code == 503
            assert len(flaky.calls) == 3
            assert state_of(breaker) is State.OPEN

            started = time.perf_counter()
            for _ in range(20):
                r = await c.get("/v1/commitments")
                assert r.status_code == 503
                assert r.headers["content-type"] == PROBLEM
            per_request = (time.perf_counter() - started) / 20
            assert len(flaky.calls) == 3, "an open breaker never touches the network"
            assert "not calling" in r.json()["detail"]
            assert 1 <= int(r.headers["retry-after"]) <= 1
            # The whole in-process round trip, ASGI stack included, stays in the low milliseconds.
            assert per_request < 0.05, per_request
            # Other backends are unaffected.
            assert (await c.get("/v1/evaluations")).status_code == 200

            # After the cool-down one probe goes through; the service is back, so it closes.
            flaky.failures = 0
            await asyncio.sleep(0.55)
            assert state_of(breaker) is State.HALF_OPEN
            r = await c.get("/v1/commitments")
            assert r.status_code == 200
            assert len(flaky.calls) == 4
            assert state_of(breaker) is State.CLOSED


async def test_failed_probe_reopens(stack, gateway_db):
    flaky = Flaky(stack.ratings, failures=10**6)
    async with replica(
        stack,
        gateway_db,
        transports={"ratings": flaky},
        retry_attempts=1,
        breaker_failure_threshold=1,
        breaker_cooldown_s=0.2,
    ) as app:
        breaker = app.state.backends.ratings.breaker
        async with client_of(app) as c:
            assert (await c.get("/v1/evaluations")).status_code == 503
            assert state_of(breaker) is State.OPEN
            await asyncio.sleep(0.25)
            assert (await c.get("/v1/evaluations")).status_code == 503
            assert len(flaky.calls) == 2
            assert state_of(breaker) is State.OPEN


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_half_open_admits_one_probe_at_a_time():
    clock = Clock()
    b = CircuitBreaker("x", failure_threshold=2, cooldown_s=10, clock=clock)
    assert b.before_call() is False
    b.failure()
    assert state_of(b) is State.CLOSED
    b.success()  # an answer resets the count: failures must be consecutive
    b.failure()
    b.failure()
    assert state_of(b) is State.OPEN
    clock.now = 4.2
    with pytest.raises(CircuitOpenError) as exc:
        b.before_call()
    assert exc.value.retry_after_s == 6
    clock.now = 10.0
    assert state_of(b) is State.HALF_OPEN
    assert b.before_call() is True  # the probe
    with pytest.raises(CircuitOpenError):
        b.before_call()  # everyone else still fails fast
    b.release()  # the probe was cancelled: another may probe
    assert b.before_call() is True
    b.success()
    assert state_of(b) is State.CLOSED
    assert b.before_call() is False


def test_breaker_rejection_costs_microseconds():
    b = CircuitBreaker("x", failure_threshold=1, cooldown_s=60)
    b.failure()
    n = 100_000
    started = time.perf_counter()
    for _ in range(n):
        with contextlib.suppress(CircuitOpenError):
            b.before_call()
    per_call = (time.perf_counter() - started) / n
    assert per_call < 20e-6, per_call
