"""What the edge and an open breaker cost: `.venv/bin/python -m bench.edge` (about 30 s).

Not a test (timings belong in a report, not in assertions): it times the pieces in-process,
with no network and no database, so the numbers are the gateway's own overhead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import statistics
import time
from types import SimpleNamespace
from typing import Any

import httpx

from gateway.backends.base import ServiceClient, ServiceUnavailableError
from gateway.backends.breaker import CircuitBreaker, CircuitOpenError
from gateway.config import Settings
from gateway.edge.middleware import (
    ClientDirectory,
    ClientLimits,
    EdgeMiddleware,
    RateLimiter,
    make_storage,
)
from servicekit.auth import AuthSettings, TokenVerifier
from tests.support.tokens import TestIssuer

N = 5000


async def _noop(_scope: Any, _receive: Any, send: Any) -> None:
    """The bare app: an empty 200, the ASGI signature's scope and receive unused."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _scope(app: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/v1/commitments",
        "method": "GET",
        "headers": headers,
        "client": ("10.0.0.1", 1234),
        "app": app,
    }


async def _time(call: Any, n: int = N) -> float:
    """Median of 5 runs of n calls, in microseconds per call."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            await call()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(runs)


async def edge_overhead(storage: str) -> dict[str, float]:
    """µs per request: the bare app, then behind the edge, anonymous and with a token."""
    issuer = TestIssuer()
    settings = Settings(rate_limit_per_minute=10**9, anonymous_rate_limit_per_minute=10**9)
    directory = ClientDirectory(ttl_s=3600)
    directory._cache["bench"] = (time.monotonic() + 10**6, ClientLimits(True, None))
    state = SimpleNamespace(
        token_verifier=TokenVerifier(issuer.settings()),
        client_directory=directory,
        sessionmaker=None,
        rate_limiter=RateLimiter(make_storage(storage)),
    )
    app = SimpleNamespace(state=state)
    edge = EdgeMiddleware(_noop, settings)
    token = issuer.token("commitments:write", client_id="bench", ttl=3600)
    anonymous = _scope(app, [])
    bearer = _scope(app, [(b"authorization", f"Bearer {token}".encode())])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(_message: Any) -> None:
        return None

    bare = await _time(lambda: _noop(anonymous, receive, send))
    anon = await _time(lambda: edge(anonymous, receive, send))
    with_token = await _time(lambda: edge(bearer, receive, send))
    await state.rate_limiter.close()
    return {"bare app": bare, "edge, anonymous": anon, "edge, bearer token": with_token}


async def breaker_costs() -> dict[str, float]:
    """µs: an open breaker's refusal, alone and through the client the proxy uses."""
    breaker = CircuitBreaker("x", failure_threshold=1, cooldown_s=3600)
    breaker.failure()

    async def refuse() -> None:
        with contextlib.suppress(CircuitOpenError):
            breaker.before_call()

    async with httpx.AsyncClient(base_url="http://127.0.0.1:9") as http:
        client = ServiceClient(http, breaker=breaker)
        request = http.build_request("GET", "/v1/commitments")

        async def send() -> None:
            with contextlib.suppress(ServiceUnavailableError):
                await client.send(request)

        return {
            "breaker.before_call refusal": await _time(refuse, 50_000),
            "ServiceClient.send refusal (503 problem)": await _time(send),
        }


async def connect_failure_ms() -> float:
    """What the same call costs without a breaker when nothing listens: ms per call."""
    async with httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=2) as http:
        client = ServiceClient(http, breaker=CircuitBreaker("x", failure_threshold=10**9))
        request = http.build_request("GET", "/v1/commitments")
        started = time.perf_counter()
        for _ in range(50):
            with contextlib.suppress(ServiceUnavailableError):
                await client.send(request)
        return (time.perf_counter() - started) / 50 * 1000


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            return True
    except OSError:
        return False


async def main() -> None:
    """Print the figures."""
    AuthSettings()  # fail early on a broken environment
    for storage in ["memory://"] + (["redis://127.0.0.1:6379/0"] if _redis_up() else []):
        for name, us in (await edge_overhead(storage)).items():
            print(f"{storage:28} {name:40} {us:8.1f} µs/request")
    for name, us in (await breaker_costs()).items():
        print(f"{'open breaker':28} {name:40} {us:8.2f} µs/call")
    ms = await connect_failure_ms()
    print(f"{'no breaker, port closed':28} {'connect refused, 3 attempts':40} {ms:8.2f} ms/call")


if __name__ == "__main__":
    asyncio.run(main())
