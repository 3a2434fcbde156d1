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
