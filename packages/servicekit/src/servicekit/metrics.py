"""Prometheus metrics: request counts and latencies by route template, per app."""

from __future__ import annotations

import time

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
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


def install_metrics(app: FastAPI, service: str) -> None:
    """Add the middleware and `GET /metrics`."""
    registry = CollectorRegistry()
    app.add_middleware(MetricsMiddleware, registry=registry, service=service)
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
