"""Prometheus metrics: request counts and latencies by route template, per app; served on the
app's own port (the embedded default) or, with `<PREFIX>_METRICS_PORT`, only on a port of their
own that the deployment keeps off the public network."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class MetricsMiddleware:
    """Counts requests by method, route template and status (templates keep cardinality bounded)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry, service: str) -> None:
        self.app = app
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests",
            ["service", "method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=registry,
        )
        self.service = service

    @staticmethod
    def _route(scope: Scope) -> str:
        # The router records the matched route in the scope; its template bounds cardinality.
        route = scope.get("route")
        return str(getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = self._route(scope)
            self.requests.labels(self.service, scope["method"], route, str(status)).inc()
            self.latency.labels(self.service, scope["method"], route).observe(
                time.perf_counter() - start
            )


def install_metrics(app: FastAPI, service: str, *, on_app_port: bool = True) -> CollectorRegistry:
    """Add the middleware, and `GET /metrics` on the app's own port unless `on_app_port` is
    false (then `metrics_server` serves the returned registry elsewhere)."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, registry=registry, service=service)
    if not on_app_port:
        return registry
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        operation_id="get_metrics",
        summary="Prometheus metrics",
        include_in_schema=False,
    )
    async def metrics() -> Response:
        """Metrics in the Prometheus text format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
    return registry


@contextlib.contextmanager
def metrics_server(registry: CollectorRegistry, host: str, port: int) -> Iterator[None]:
    """`/metrics` on its own port for the app's life (prometheus_client's threaded server: a
    scrape never waits on the event loop)."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
