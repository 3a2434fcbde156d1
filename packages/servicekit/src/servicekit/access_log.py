"""One JSON access line per request, on every process, for an operator searching the logs.

The line is written by the `scrutiny.access` logger after the response has been sent (or the
request failed), inside the request-id middleware so it carries the request's id like every other
line. Its fields are documented in the README ("Logs"): uvicorn's own access log stays off
(`--no-access-log`) because it knows neither the route template, the client nor the request id.
"""

from __future__ import annotations

import logging
import re
import time

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.auth import remembered_principal

log = logging.getLogger("scrutiny.access")

# W3C Trace Context: version-traceid-parentid-flags; an all-zero trace id is invalid.
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def trace_id(scope: Scope) -> str:
    """The request's W3C trace id: its span's when traced (servicekit.tracing), else its
    `traceparent` header's, or `-` when it has none valid."""
    current = trace.get_current_span().get_span_context()
    if current.is_valid:
        return format(current.trace_id, "032x")
    for name, value in scope.get("headers", ()):
        if name == b"traceparent":
            found = _TRACEPARENT.fullmatch(value.decode("latin-1").strip())
            if found and found.group(1) != "0" * 32:
                return found.group(1)
    return "-"


def _client_id(scope: Scope) -> str:
    principal = remembered_principal(scope)
    return "-" if principal is None else principal.client_id


class AccessLogMiddleware:
    """Logs method, route template, status, duration, bytes, client and trace per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, sent = 500, 0

        async def _send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            duration_ms = round((time.perf_counter() - start) * 1000, 2)
            log.info(
                "%s %s %s %.2f ms",
                scope["method"],
                route,
                status,
                duration_ms,
                extra={
                    "trace_id": trace_id(scope),
                    "client_id": _client_id(scope),
                    "method": scope["method"],
                    "route": route,
                    "path": scope.get("path", ""),
                    "status": status,
                    "duration_ms": duration_ms,
                    "bytes": sent,
                },
            )
