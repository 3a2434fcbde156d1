"""The route table: which service owns each public path, and the streaming reverse proxy.

Order matters: the first rule whose path matches wins, so more specific rules come first
(`/v1/commitments/{id}/ratings` belongs to ratings, the rest of `/v1/commitments` to
commitments). The services' own `/v1/events` feeds, probes and metrics are internal and are not
routed. The gateway's own routes (e.g. the evaluation report) are registered before these.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.backends import Backends, ServiceUnavailableError
from gateway.backends.base import HOP_BY_HOP
from gateway.config import Settings
from gateway.edge.fairness import BackendShares, StagedBody, client_key, has_body, stage_body
from servicekit.problems import ProblemError
from servicekit.query import accepts_any_query


@dataclass(frozen=True)
class Rule:
    """Requests to `path` or below it go to `service`."""

    path: str
    service: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """A regex for the path itself and everything below it."""
        body = "/".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in self.path.split("/")
        )
        return re.compile(f"^{body}(/.*)?$")


ROUTES: tuple[Rule, ...] = (
    Rule("/v1/commitments/{commitment_id}/ratings", "ratings"),
    Rule("/v1/sources", "commitments"),
    Rule("/v1/policy-areas", "commitments"),
    Rule("/v1/commitments", "commitments"),
    Rule("/v1/targets", "commitments"),
    Rule("/v1/readings", "commitments"),
    Rule("/v1/milestones", "commitments"),
    Rule("/v1/self-assessments", "commitments"),
    Rule("/v1/lineage-links", "commitments"),
    Rule("/v1/commitment-imports", "commitments"),
    Rule("/v1/commitment-exports", "commitments"),
    Rule("/v1/calls-for-evidence", "evidence"),
    Rule("/v1/submissions", "evidence"),
    Rule("/v1/evaluations", "ratings"),
    Rule("/v1/response-deadlines", "ratings"),
)

# Request bodies the edge accepts per proxied path (regexes, first match wins); the owning
# service caps them again, usually lower. Uploads and bulk imports stream, so they may be large.
ATTACHMENT_UPLOAD = r"/v1/submissions/[^/]+/attachments(/.*)?"
COMMITMENT_IMPORT = r"/v1/commitment-imports(/.*)?"
_COMPILED = [(rule.pattern, rule) for rule in ROUTES]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Answers up to this size are read whole and sent in one piece; larger or unsized ones stream.
BUFFERED_MAX_BYTES = 256 * 1024
# Set by the gateway itself on the way out; the service's copy would duplicate it.
_RESPONSE_DROP = frozenset({"x-request-id", "date", "server"})
# The gateway sets Host for the service and propagates its own (validated) request id.
_REQUEST_DROP = frozenset({"host", "x-request-id"})


def body_limits(settings: Settings) -> list[tuple[str, int]]:
    """`(path regex, max bytes)` for every proxied path: uploads and imports first."""
    return [
        (ATTACHMENT_UPLOAD, settings.attachment_max_body_bytes),
        (COMMITMENT_IMPORT, settings.import_max_body_bytes),
        *(
            (rule.pattern.pattern.lstrip("^").rstrip("$"), settings.proxy_max_body_bytes)
            for rule in ROUTES
        ),
    ]


def service_for(path: str) -> str | None:
    """The service that owns a public path, or None if the gateway does not route it."""
    found = _rule_for(path)
    return None if found is None else found[1].service


def _rule_for(path: str) -> tuple[int, Rule, bool] | None:
    """The first rule matching `path`: its index, itself, and whether the path is below it."""
    for n, (pattern, rule) in enumerate(_COMPILED):
        match = pattern.match(path)
        if match:
            return n, rule, match.group(1) is not None
    return None


def _connection_tokens(headers: Any) -> set[str]:
    return {t.strip().lower() for t in headers.get("connection", "").split(",") if t.strip()}


def _request_headers(request: Request, size: int | None) -> list[tuple[str, str]]:
    # The body is sent as staged, so its length is known: Content-Length is the gateway's own.
    drop = HOP_BY_HOP | _REQUEST_DROP | {"content-length"} | _connection_tokens(request.headers)
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in drop]
    client = request.client.host if request.client else ""
    prior = request.headers.get("x-forwarded-for")
    if client:
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        headers.append(("X-Forwarded-For", f"{prior}, {client}" if prior else client))
    headers.append(("X-Forwarded-Proto", request.url.scheme))
    if "host" in request.headers:
        headers.append(("X-Forwarded-Host", request.headers["host"]))
    if size is not None:
        headers.append(("Content-Length", str(size)))
    return headers


class _Held:
    """What one proxied exchange holds until its answer has been passed on: the staged body
    and the caller's share of the backend's connections."""

    def __init__(self) -> None:
        self.staged: StagedBody | None = None
        self.release: Callable[[], None] | None = None

    async def close(self) -> None:
        if self.release is not None:
            self.release()
        if self.staged is not None:
            await self.staged.aclose()


class _StreamedAnswer(StreamingResponse):
    """A streamed answer that lets go of what it holds however the sending ends."""

    def __init__(self, body: AsyncIterator[bytes], status_code: int, held: _Held) -> None:
        super().__init__(body, status_code=status_code)
        self._held = held

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._held.close()


async def _send_upstream(request: Request, service: str, held: _Held) -> httpx.Response:
    """Stage the body, take the caller's share, then send: a slow uploader holds no backend
    connection while it trickles, and no caller holds more than its share."""
    app = request.app
    if has_body(request):
        held.staged = await stage_body(request, app.state.body_policy)
    shares: BackendShares = app.state.backend_shares
    held.release = await shares.acquire(client_key(request), service)
    staged = held.staged
    content: bytes | AsyncIterable[bytes] | None = None
    size: int | None = None
    if staged is not None and staged.size:
        content, size = await staged.finish(), staged.size
    backends: Backends = app.state.backends
    client = backends.by_name(service)
    upstream = client.http.build_request(
        request.method,
        # Re-quote the decoded path: control characters in it would make httpx refuse it.
        httpx.URL(
            path=quote(request.url.path, safe="/:@!$&'()*+,;=-._~"),
            query=request.url.query.encode("latin-1"),
        ),
        headers=_request_headers(request, size),
        content=content,
    )
    # Through the breaker; an idempotent call that failed to connect is retried, resending the
    # staged body from its start. A downstream 429/503 is an answer: passed through with its
    # Retry-After like any other.
    return await client.send(upstream, stream=True)


async def forward(request: Request, service: str) -> Response:
    """Send the request on to `service` and pass its answer back: small answers whole, large
    ones (downloads) streamed; bodies are read at the edge first (`gateway.edge.fairness`)."""
    held = _Held()
    try:
        resp = await _send_upstream(request, service, held)
    except ServiceUnavailableError as exc:
        await held.close()
        raise exc.problem from exc
    except ClientDisconnect:
        # The caller hung up while its body was being read: nobody is left to answer (499, as
        # nginx logs it), and nothing reached the service.
        await held.close()
        return Response(status_code=499)
    except BaseException:
        await held.close()
        raise

    drop = HOP_BY_HOP | _RESPONSE_DROP | _connection_tokens(resp.headers)
    # Raw pairs keep repeated headers (e.g. several Link or Set-Cookie lines) and the bytes as
    # sent; the body is passed on still encoded, so Content-Encoding/Length stay true.
    headers = [(k, v) for k, v in resp.headers.raw if k.decode("latin-1").lower() not in drop]
    response: Response
    if _small(resp):
        # Most answers are a few KiB: read them whole and answer in one piece. Streaming costs
        # a task group and a send per chunk, a third of the gateway's CPU per proxied read.
        try:
            content = b"".join([chunk async for chunk in resp.aiter_raw()])
        finally:
            await resp.aclose()
            await held.close()
        response = Response(content, status_code=resp.status_code)
    else:

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in resp.aiter_raw():
                    yield chunk
            finally:
                await resp.aclose()

        response = _StreamedAnswer(body(), resp.status_code, held)
    response.raw_headers = headers
    return response


def _small(resp: httpx.Response) -> bool:
    """Whether an answer declares a length small enough to buffer (downloads stream)."""
    length = resp.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= BUFFERED_MAX_BYTES


def _endpoint(service: str) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    async def proxy(request: Request) -> Response:
        return await forward(request, service)

    proxy.__doc__ = f"Forward to the {service} service."
    # The owning service checks the query against its own operation.
    return accepts_any_query(proxy)


_PROXY_OPERATION = "proxy_"


def proxy_router() -> APIRouter:
    """Routes for every rule of the table; kept out of the gateway's own document because the
    merged document describes them with the owning service's own operations."""
    router = APIRouter()
    for n, rule in enumerate(ROUTES):
        endpoint = _endpoint(rule.service)
        for suffix, kind in (("", "collection"), ("/{rest:path}", "below")):
            router.add_api_route(
                rule.path + suffix,
                endpoint,
                methods=METHODS,
                operation_id=f"{_PROXY_OPERATION}{rule.service}_{n}_{kind}",
                include_in_schema=False,
            )
    return router


class ProxyFastPath:
    """Sends proxied paths straight to `forward`, without walking the route table.

    The gateway has some sixty routes and the proxy's come last, after every route of its own; a
    py-spy profile of a proxied get-by-id (`python -m bench`, before this middleware) showed about a
    seventh of the gateway's CPU spent matching routes. This middleware sits just inside the others
    (rate limits, security headers, metrics still apply) and takes a request whose path the route
    table (`ROUTES`) gives to a service, unless one of the gateway's own routes claims that path
    (the composed report and scorecard live under proxied prefixes). Anything else goes on to the
    router as before; the proxy routes stay registered, so the answer is the same either way.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._own: list[re.Pattern[str]] | None = None
        self._routes: dict[tuple[int, bool], APIRoute] = {}

    def _learn(self, routes: Any) -> list[re.Pattern[str]]:
        """The gateway's own routes under proxied prefixes, and the proxy routes (metrics)."""
        own: list[re.Pattern[str]] = []
        for ctx in iter_route_contexts(routes):
            route = ctx.original_route
            if not isinstance(route, APIRoute):
                continue
            if route.operation_id and route.operation_id.startswith(_PROXY_OPERATION):
                n = int(route.operation_id.split("_")[2])
                self._routes[(n, route.operation_id.endswith("_below"))] = route
                continue
            if service_for(re.sub(r"{[^}]+}", "x", ctx.path or "")) is not None:
                own.append(re.compile(ctx.route.path_regex.pattern))  # type: ignore[attr-defined]
        return own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        if self._own is None:
            self._own = self._learn(scope["app"].routes)
        path: str = scope["path"]
        found = _rule_for(path)
        if found is None or any(p.match(path) for p in self._own):
            await self.app(scope, receive, send)
            return
        n, rule, below = found
        # The matched proxy route, as the router would have recorded it (metrics label by it).
        scope["route"] = self._routes.get((n, below))
        request = Request(scope, receive)
        try:
            response = await forward(request, rule.service)
        except ProblemError as exc:
            response = exc.to_response(path)
        await response(scope, receive, send)
