"""Request body caps answered as problem+json, counted while streaming (never buffered first)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.jsonutil import dumps


class BodyTooLarge(HTTPException):
    """The client sent more bytes than the route allows (an HTTPException so handlers render it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"The request body exceeds the limit of {limit} bytes for this operation."
        )


def _problem(limit: int, path: str) -> bytes:
    return dumps(
        {
            "type": "/problems/body-too-large",
            "title": "Content Too Large",
            "status": 413,
            "detail": f"The request body exceeds the limit of {limit} bytes for this operation.",
            "instance": path,
        }
    )


def _declared_length(scope: Scope) -> int:
    """The request's `Content-Length`, 0 when absent or not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class BodyLimitMiddleware:
    """413 as soon as `Content-Length` or the bytes received so far exceed the route's cap."""

    def __init__(
        self,
        app: ASGIApp,
        default_limit: int,
        overrides: Sequence[tuple[str, int]] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.overrides = [(re.compile(p), n) for p, n in overrides]

    def limit_for(self, path: str) -> int:
        """The cap for a path: the first matching override, else the default."""
        for pattern, limit in self.overrides:
            if pattern.fullmatch(path):
                return limit
        return self.default_limit

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        body = _problem(limit, scope.get("path", ""))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if _declared_length(scope) > limit:
            await self._reject(scope, send, limit)
            return
        received = 0
        started = rejected = False

        async def counting_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if started or rejected:
                        # Said once already, or the answer is on its way (e.g. a proxied
                        # service replied before reading everything): the app is only draining,
                        # so drop the excess rather than fail a response that has begun.
                        return {**message, "body": b""}
                    rejected = True
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(scope, send, limit)


# Request line and headers together, and how many header fields: past either the answer is 431
# (RFC 6585) before anything reads them further or passes them on.
MAX_HEADER_BYTES = 16 * 1024
MAX_HEADER_FIELDS = 100


class HeaderLimitMiddleware:
    """431 for a request whose request line and headers pass 16 KiB, or more than 100 fields.

    The server has parsed them by now; this keeps an oversized request from going further
    (logged, matched, verified, forwarded by the gateway to a service)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope.get("headers") or []
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in headers)
            if size > MAX_HEADER_BYTES or len(headers) > MAX_HEADER_FIELDS:
                body = dumps(
                    {
                        "type": "/problems/headers-too-large",
                        "title": "Request Header Fields Too Large",
                        "status": 431,
                        "detail": f"The request line and headers may take {MAX_HEADER_BYTES} "
                        f"bytes and {MAX_HEADER_FIELDS} fields at most.",
                        "instance": scope.get("path", ""),
                    }
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 431,
                        "headers": [
                            (b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
